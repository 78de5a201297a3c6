"""JSON API routes for temporary posts, matching, the return-visit ledger and the 131 report. Thin: parse,
call one engine service, render."""

from __future__ import annotations

import io

from flask import g, jsonify, request, send_file

from engine import calendar, ledger, ledger_export, ledger_sheet, placements, posts, service131
from engine.errors import DataInvalid
from engine.validation import MAX_ROW_ID
from web.api import (
    bp,
    json_body,
    now,
    page_json,
    paging,
    query_bool,
    query_choice,
    query_region,
    token_required,
)
from web.api.openapi import EXTRA_PATHS, _op, _p, _q
from web.api.views import full_case_json

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx(content: bytes, name: str):
    return send_file(io.BytesIO(content), mimetype=XLSX, as_attachment=True, download_name=name)


# ---------------------------------------------------------------------------------------------------------------
# Posts.

@bp.get("/posts")
@token_required
def list_posts():
    page, per_page = paging()
    status = query_choice("status", posts.POST_STATES)
    kind = query_choice("kind", posts.POST_KINDS)
    today = calendar.local_date(now())
    rows, total = posts.list_posts(g.actor, today, region=query_region(), status=status, kind=kind, page=page,
                                   per_page=per_page)
    return page_json([posts.post_json(p, today) for p in rows], total, page, per_page)


@bp.post("/posts")
@token_required
def create_post():
    at = now()
    post = posts.create_post(g.actor, json_body(), at)
    return jsonify(posts.post_json(post, calendar.local_date(at))), 201


# One rule for both methods: with a rule per method, an id past MAX_ROW_ID answered PATCH with 405 (Werkzeug names
# the GET rule's methods before the converter refuses the id) where GET answers 404.
@bp.route("/posts/<row_id:post_id>", methods=["GET", "PATCH"])
@token_required
def post_by_id(post_id: int):
    at = now()
    if request.method == "PATCH":
        post = posts.update_post(g.actor, post_id, json_body(), at)
    else:
        post = posts.post_in_scope(g.actor, post_id)
    return jsonify(posts.post_json(post, calendar.local_date(at)))


# ---------------------------------------------------------------------------------------------------------------
# Matching.

MATCH_POST_REQUEST = {
    "type": "object",
    "properties": {
        "post_id": {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID},
        "case_version": {"type": "integer", "minimum": 1},
        "note": {"type": "string", "maxLength": 1000},
    },
    "required": ["post_id", "case_version"],
    "additionalProperties": False,
}


@bp.get("/cases/<number>/post-suggestions")
@token_required
def post_suggestions(number: str):
    from web.api import query_int

    limit = query_int("limit", 10, 1, 50)
    case, items = placements.suggest_posts(g.actor, number, now(), limit)
    return jsonify({"case_number": case.number, "items": items})


@bp.post("/cases/<number>/match-post")
@token_required
def match_post(number: str):
    body = json_body(MATCH_POST_REQUEST)
    case = placements.refer_to_post(g.actor, number, body["post_id"], body["case_version"], now(), body.get("note"))
    return jsonify(full_case_json(case))


# ---------------------------------------------------------------------------------------------------------------
# The 131 report.

@bp.get("/reports/131")
@token_required
def report_131():
    return jsonify(service131.report_131(g.actor, query_region()))


@bp.get("/reports/131.xlsx")
@token_required
def report_131_xlsx():
    return _xlsx(ledger_export.report_131_bytes(g.actor, query_region()), "131-service-report.xlsx")


# ---------------------------------------------------------------------------------------------------------------
# The return-visit ledger.

def _upload() -> io.BytesIO:
    """The workbook from a multipart field `file` or from the raw body (Content-Type: the xlsx type)."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise DataInvalid({"file": "必填：请以 multipart 字段 file 上传 .xlsx 文件"})
        content = upload.read()
    elif request.mimetype in ledger_sheet.XLSX_TYPES:
        content = request.get_data(cache=False)
    else:
        raise DataInvalid({"file": "请上传 .xlsx 文件（multipart 字段 file，或请求体 Content-Type: " + XLSX + "）"})
    if not content:
        raise DataInvalid({"file": "文件为空"})
    return io.BytesIO(content)


@bp.post("/ledger")
@token_required
def import_ledger():
    region = request.args.get("region") or request.form.get("region") or None
    create_cases = query_bool("create_cases") or (request.form.get("create_cases") or "").lower() in ("true", "1")
    # Checked before the import commits: a bad value must not answer 400 for a file that was imported.
    priority_group = ledger.priority_group_of(request.args.get("priority_group") or request.form.get("priority_group"))
    source = _upload()
    try:
        result = ledger.import_ledger(g.actor, source, region, now())
    except ledger.LedgerInvalid as exc:
        # The usual error body, plus every bad row as {row, field, title, message}.
        return jsonify({"error": {"code": "validation_failed", "message": exc.message, "fields": exc.fields,
                                  "rows": [e.json() for e in exc.errors], "total": exc.total}}), 400
    body = result.json()
    if create_cases:
        body["cases"] = ledger.create_cases(g.actor, now(), region=result.region, priority_group=priority_group)
    return jsonify(body), 201


@bp.get("/ledger")
@token_required
def list_ledger():
    page, per_page = paging()
    which = query_choice("list", tuple(ledger.LISTS))
    q = request.args.get("q") or None
    if q is not None and len(q) > 50:
        raise DataInvalid({"q": "最多 50 个字符"})
    rows, total = ledger.list_workers(g.actor, region=query_region(), which=which, q=q, page=page, per_page=per_page)
    return page_json([ledger.worker_json(w) for w in rows], total, page, per_page)


@bp.get("/ledger.xlsx")
@token_required
def export_ledger():
    content, _ = ledger_export.export_bytes(g.actor, query_region())
    return _xlsx(content, "return-visit-ledger-lists.xlsx")


BULK_CASES_REQUEST = {
    "type": "object",
    "properties": {
        "region": {"type": "string", "format": "region"},
        "priority_group": {"type": "string", "enum": [*placements.PRIORITY_GROUPS, "other"]},
        "limit": {"type": "integer", "minimum": 1, "maximum": 10000},
    },
    "additionalProperties": False,
}


@bp.post("/ledger/cases")
@token_required
def ledger_cases():
    body = json_body(BULK_CASES_REQUEST)
    result = ledger.create_cases(g.actor, now(), region=body.get("region"),
                                 priority_group=body.get("priority_group"),
                                 limit=body.get("limit", 1000))
    return jsonify(result), 201 if result["opened"] else 200


# ---------------------------------------------------------------------------------------------------------------
# OpenAPI.

_POST = {"type": "object", "properties": {
    "id": {"type": "integer"}, "title": {"type": "string"}, "kind": {"enum": list(posts.POST_KINDS)},
    "employer": {"type": "string"}, "region": {"type": "string"}, "slots": {"type": "integer"},
    "filled": {"type": "integer"}, "free": {"type": "integer"}, "monthly_pay": {"type": "string"},
    "start_date": {"type": "string", "format": "date"}, "end_date": {"type": "string", "format": "date"},
    "status": {"enum": list(posts.POST_STATES), "description": "open: taking referrals; expired: past end_date "
               "(takes no referrals; a PATCH may still close it or move end_date); closed: closed by the bureau"}}}
_PAGE = {"type": "object", "properties": {"items": {"type": "array"}, "total": {"type": "integer"},
                                          "page": {"type": "integer"}, "per_page": {"type": "integer"}}}
_REGION = _q("region", {"type": "string", "pattern": "^[1-8][0-9]{5}$"})
_XLSX_OK = {"type": "string", "format": "binary"}

EXTRA_PATHS.update({
    "/posts": {
        "get": _op("Temporary posts in the caller's region", ok=_PAGE, params=[
            _REGION, _q("status", {"enum": list(posts.POST_STATES)}), _q("kind", {"enum": list(posts.POST_KINDS)}),
            _q("page", {"type": "integer"}), _q("per_page", {"type": "integer", "maximum": 200})]),
        "post": _op("Create a temporary post (at most temp_post_max_months long)",
                    body=posts.CREATE_POST_SCHEMA, ok=_POST, status="201"),
    },
    "/posts/{id}": {
        "get": _op("A temporary post", ok=_POST, params=[_p("id")]),
        "patch": _op("Edit or close a temporary post", body=posts.UPDATE_POST_SCHEMA, ok=_POST,
                     params=[_p("id")]),
    },
    "/cases/{number}/post-suggestions": {"get": _op(
        "Open posts for a temp_job case, best fit first (region, kind wished, start date, free slots)",
        params=[_p("number"), _q("limit", {"type": "integer", "minimum": 1, "maximum": 50})])},
    "/cases/{number}/match-post": {"post": _op(
        "Complete the case's match_post task with a post: takes a slot and issues the referral letter",
        body=MATCH_POST_REQUEST, params=[_p("number")])},
    "/reports/131": {"get": _op("Per region: people owed each part of the 131 service", params=[_REGION])},
    "/reports/131.xlsx": {"get": _op("The 131 report as Excel", params=[_REGION], content=XLSX, ok=_XLSX_OK)},
    "/ledger": {
        "post": {**_op("Import a return-visit ledger (.xlsx): all rows or none; bad rows named by row and field",
                       status="201", params=[_REGION, _q("create_cases", {"type": "boolean"}),
                                             _q("priority_group", {"type": "string"})],
                       errors=("400", "401", "403", "404", "409", "413")),  # the body is a file, not JSON
                 "requestBody": {"required": True, "content": {
                     "multipart/form-data": {"schema": {"type": "object", "properties": {
                         "file": {"type": "string", "format": "binary"}}, "required": ["file"]}},
                     XLSX: {"schema": _XLSX_OK}}}},
        "get": _op("Workers of the ledger (ID numbers masked)", ok=_PAGE, params=[
            _REGION, _q("list", {"enum": list(ledger.LISTS)}), _q("q", {"type": "string"}),
            _q("page", {"type": "integer"}), _q("per_page", {"type": "integer", "maximum": 200})]),
    },
    "/ledger.xlsx": {"get": _op("The three lists (going home, returning, unemployed) as Excel sheets",
                                params=[_REGION], content=XLSX, ok=_XLSX_OK)},
    "/ledger/cases": {"post": _op("Open temp_job cases for unemployed workers who want work (200 when none "
                                  "was opened)", body=BULK_CASES_REQUEST, status="201")},
})
EXTRA_PATHS["/ledger/cases"]["post"]["responses"]["200"] = EXTRA_PATHS["/ledger/cases"]["post"]["responses"]["201"]
