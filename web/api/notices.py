"""Documents, public verification and escalations."""

from __future__ import annotations

from flask import g, jsonify

from engine import documents, escalation, services
from web.api import bp, error, page_json, paging, query_choice, token_required
from web.api.openapi import EXTRA_PATHS, PAGING, _op, _p, _q
from web.api.views import CASE_SECTIONS
from web.downloads import notice_pdf

CASE_SECTIONS["documents"] = lambda case: [documents.document_json(d) for d in documents.documents_for_case(case)]
CASE_SECTIONS["escalations"] = lambda case: [escalation.escalation_json(e)
                                             for e in escalation.escalations_for_case(case)]


@bp.get("/cases/<number>/documents")
@token_required
def case_documents(number: str):
    case = services.get_case(g.actor, number)
    return jsonify([documents.document_json(d) for d in documents.documents_for_case(case)])


FILE_MISSING = "文书文件缺失，请联系系统管理员从备份恢复"


@bp.get("/documents/<row_id:document_id>")
@token_required
def document_pdf(document_id: int):
    document = documents.document_in_scope(g.actor, document_id)
    try:
        path = documents.path_of(document)
    except documents.FileLost:
        return error(503, "file_missing", FILE_MISSING)
    if path is None:
        return error(409, "not_ready", "文书正在生成，请稍后再试")
    return notice_pdf(path, document)


@bp.get("/verify/<code>")
def verify(code: str):
    found = documents.verify(code)
    if found is None:
        return error(404, "not_found", "未找到该验证码对应的文书")
    return jsonify(found)


@bp.get("/escalations")
@token_required
def list_escalations():
    page, per_page = paging()
    status = query_choice("status", ("open", "resolved"))
    rows, total = escalation.list_escalations(g.actor, status=status, page=page, per_page=per_page)
    return page_json([escalation.escalation_json(e) for e in rows], total, page, per_page)


EXTRA_PATHS.update({
    "/cases/{number}/documents": {"get": _op("Notices of a case", params=[_p("number")],
                                             ok={"type": "array", "items": {"type": "object"}})},
    "/documents/{id}": {"get": _op("A notice as PDF", params=[_p("id")], content="application/pdf",
                                   ok={"type": "string", "format": "binary"})},
    "/verify/{code}": {"get": _op("Check a notice's verification code (public, no personal data)",
                                  params=[_p("code")], auth=False)},
    "/escalations": {"get": _op("Escalated tasks in the caller's region, each once at its current level, newest "
                                "first (a case's escalations list every level)",
                                params=[_q("status", {"enum": ["open", "resolved"]}), *PAGING])},
})
