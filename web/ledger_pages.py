"""The temporary-job service's reports on pages: the 131 report (engine/service131.py `report_131`) and the
return-visit ledger (回访台账, engine/ledger.py): its lists, the import of a county's .xlsx file, the three lists as
Excel and the bulk `temp_job` cases. Thin views: parse, call the same engine functions the JSON API calls
(web/api/placements.py), render; the engine checks who may do what and where. Routes on the `pages` blueprint
(web/pages.py)."""

from __future__ import annotations

import io
import re

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from engine import calendar, ledger, ledger_export, service131
from engine.actors import Actor
from engine.errors import EngineError, Forbidden
from engine.ledger_sheet import COLUMNS
from engine.placements import PRIORITY_GROUP_TITLES, PRIORITY_GROUPS
from engine.regions import region_name
from engine.validation import DataInvalid
from web import messages, pages
from web.api import now
from web.engine_texts import N_
from web.errors import TOO_LARGE_PAGES
from web.intake_pages import intake_regions
from web.pages import actor, bp, int_arg, region_arg, region_choices

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_QUERY = 50  # the longest name search, as the API's GET /ledger
ERRORS_SHOWN = 50  # the bad cells a refused import lists on the page (LedgerInvalid keeps up to 1000)
SKIPPED_SHOWN = 10  # the workers named when some could not have a case opened

# The lists of engine.ledger.LISTS in words (the engine's titles are its Excel sheets' names).
LIST_LABELS: dict[str, object] = {
    "going_home": _l("春节返乡人员清单"),
    "returning": _l("返岗人员清单"),
    "unemployed": _l("未就业人员清单"),
}

# The ledger's columns (engine.ledger_sheet.COLUMNS) in words: the list's headings and the field of a bad cell.
COLUMN_LABELS: dict[str, object] = {
    "name": _l("姓名"),
    "id_number": _l("身份证号码"),
    "phone": _l("联系电话"),
    "work_place": _l("就业地点"),
    "employer": _l("务工企业"),
    "job": _l("就业岗位"),
    "wage": _l("工资收入（元/月）"),
    "going_home": _l("是否返乡"),
    "home_date": _l("返乡时间"),
    "travel_mode": _l("出行方式"),
    "travel_number": _l("车牌号/航班号/列车号"),
    "wish_to_return": _l("返岗意愿"),
    "employed": _l("是否就业"),
    "unemployed_reason": _l("未就业原因"),
    "training_wish": _l("培训意愿"),
    "file": _l("文件"),
}

# The messages engine/ledger.py and engine/ledger_sheet.py raise (engine/ never imports Flask-Babel), shown through
# messages.message(); tests/integration/test_ledger_pages.py checks them against the engine's sources.
LEDGER_MESSAGES = (
    N_("只有经办人员或科室负责人可以管理回访台账"), N_("只有经办人员或科室负责人可以查看回访台账"),
    N_("不能导入您辖区以外的台账"), N_("不是有效的 Excel（.xlsx）文件"), N_("须为金额（元，最多两位小数）"),
    N_("须为“是”或“否”"), N_("返乡人员须填写返乡时间"), N_("未就业人员须填写未就业原因"),
    N_("工作表为空：第一行须为列名（姓名、身份证号码……）"),
    N_("公式没有计算结果：请在 Excel 中打开并保存后重新上传，或将公式粘贴为数值"),
    N_("台账只有列名，没有人员：列名下每行填写一人"),
    N_("找不到列名行：前5行中没有一行含有“姓名”“身份证号码”“联系电话”“是否返乡”“是否就业”等列名"),
)

# The ledger's messages with a number or a column in them: pattern -> translated template.
_DYNAMIC = [
    (re.compile(r"^与第(?P<n>\d+)行的身份证号码重复$"), _l("与第%(n)s行的身份证号码重复")),
    (re.compile(r"^缺少“(?P<n>[^”]+)”列$"), _l("缺少“%(n)s”列")),
]


def cell_message(text: str) -> str:
    """A bad cell's message (engine.ledger_sheet.RowError.message) in the user's language."""
    for pattern, template in _DYNAMIC:
        hit = pattern.match(text)
        if hit:
            value = hit.group("n")
            key = next((c.key for c in COLUMNS if c.title == value), None)
            return str(template) % {"n": COLUMN_LABELS[key] if key else value}
    return messages.message(text)




@bp.app_context_processor
def _ledger_menu():
    # The menu offers what the engine would allow; the 131 report is open to every signed-in user (the engine
    # scopes it to the user's region and checks no role).
    return {"can_use_ledger": current_user.is_authenticated and ledger.may_use_ledger(Actor.of(current_user))}


def _xlsx(content: bytes, name: str):
    """An Excel download under an ASCII name (region codes and dates only); never kept by a cache, since the ledger
    names people and their phones."""
    response = send_file(io.BytesIO(content), mimetype=XLSX, as_attachment=True, download_name=name, max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response


def _file_stem(region: str | None) -> str:
    return f"{region or 'all'}-{calendar.local_date(now()).isoformat()}"


# ---------------------------------------------------------------------------------------------------------------
# The 131 report.

@bp.get("/reports/131")
def report_131():
    who = actor()
    region = region_arg()
    report = service131.report_131(who, region)  # DataInvalid -> 400, another county's region -> the 404 page
    return render_template("report_131.html", report=report, region=region, region_choices=region_choices(who))


@bp.get("/reports/131.xlsx")
def report_131_xlsx():
    region = region_arg()
    content = ledger_export.report_131_bytes(actor(), region)
    return _xlsx(content, f"131-service-report-{_file_stem(region)}.xlsx")


# ---------------------------------------------------------------------------------------------------------------
# The return-visit ledger.

def _ledger_actor() -> Actor:
    who = actor()
    if not ledger.may_use_ledger(who):
        abort(403)
    return who


def _render_ledger(who: Actor, *, status: int = 200, upload: dict | None = None, cases: dict | None = None):
    """The ledger page: the list the query string asks for, the upload form (with its errors) and the cases form."""
    page = int_arg("page", 1)
    which = request.args.get("list") if request.args.get("list") in ledger.LISTS else None
    q = (request.args.get("q") or "").strip()
    filters = {"region": region_arg(), "list": which, "q": q}
    query_error = None
    if len(q) > MAX_QUERY:
        query_error = messages.message(f"最多 {MAX_QUERY} 个字符")
        rows, total = [], 0
        status = max(status, 400)
    else:
        rows, total = ledger.list_workers(who, region=filters["region"], which=which, q=q or None, page=page,
                                          per_page=pages.PER_PAGE)
    upload = upload or {}
    errors = upload.get("errors") or []
    return render_template(
        "ledger.html", workers=[ledger.worker_json(w) for w in rows], total=total, page=page,
        per_page=pages.PER_PAGE, filters=filters, query_error=query_error, max_query=MAX_QUERY,
        list_labels=LIST_LABELS, column_labels=COLUMN_LABELS, region_choices=region_choices(who),
        import_regions=intake_regions(who), upload=upload, row_errors=errors[:ERRORS_SHOWN],
        errors_shown=ERRORS_SHOWN, cell_message=cell_message, cases=cases or {},
        priority_groups=[(g, messages.message(PRIORITY_GROUP_TITLES[g])) for g in (*PRIORITY_GROUPS, "other")],
        max_upload_mb=_max_upload_mb(),
    ), status


def _max_upload_mb() -> str:
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    return f"{limit / (1024 * 1024):g}" if limit else ""


@bp.get("/ledger")
def ledger_list():
    return _render_ledger(_ledger_actor())


@bp.get("/ledger.xlsx")
def ledger_xlsx():
    region = region_arg()
    content, _counts = ledger_export.export_bytes(_ledger_actor(), region)
    return _xlsx(content, f"return-visit-ledger-{_file_stem(region)}.xlsx")


@bp.post("/ledger/import")
def ledger_import():
    """Import an .xlsx ledger into one county: all rows or none (engine.ledger.import_ledger)."""
    who = _ledger_actor()
    region = (request.form.get("region") or "").strip()
    values = {"region": region}

    def refused(problem: str | None = None, status: int = 400, **extra):
        return _render_ledger(who, status=status, upload={"problem": problem, "values": values, **extra})

    if not region:
        return refused(field_errors={"region": messages.message("必填")})
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return refused(field_errors={"file": _("请选择要导入的台账文件。")})
    if not upload.filename.lower().endswith(".xlsx"):
        return refused(field_errors={"file": _("只能导入 .xlsx 格式的 Excel 文件。")})
    content = upload.read()
    if not content:
        return refused(field_errors={"file": _("文件为空。")})
    try:
        result = ledger.import_ledger(who, io.BytesIO(content), region, now())
    except ledger.LedgerInvalid as exc:
        return refused(_("台账有 %(n)s 处错误，未导入任何数据。", n=exc.total), errors=exc.errors, total=exc.total)
    except DataInvalid as exc:
        return refused(field_errors={k if k in ("region", "file") else "file": messages.message(v)
                                     for k, v in exc.fields.items()})
    except Forbidden as exc:
        return refused(messages.message(exc.message), status=403)
    flash(_("已导入回访台账（%(region)s）：共 %(rows)s 行，新增 %(created)s 人，更新 %(updated)s 人。",
            region=region_name(result.region), rows=result.rows, created=result.created, updated=result.updated),
          "success")
    return redirect(url_for("pages.ledger_list"))


def _upload_too_large():
    """A ledger file over MAX_CONTENT_LENGTH, as an error on the file field of the page, not the error page. The
    body was refused while the form was parsed, before any view (and before the checks that need the form, CSRF
    included): nothing is read or changed, so the page is drawn as a GET would draw it, for a signed-in user who
    may use the ledger; anyone else gets the error page."""
    if (not current_user.is_authenticated or current_user.must_change_password
            or not ledger.may_use_ledger(actor())):
        return None
    problem = _("文件超过 %(mb)s MB 的上限，未导入任何数据：请将台账拆分为几个文件分别导入。", mb=_max_upload_mb())
    return _render_ledger(actor(), status=413, upload={"values": {}, "field_errors": {"file": problem}})


TOO_LARGE_PAGES["pages.ledger_import"] = _upload_too_large


@bp.post("/ledger/cases")
def ledger_cases():
    """Open a temp_job case for every unemployed worker in the region who wants work and has none yet
    (engine.ledger.create_cases, as POST /api/v1/ledger/cases)."""
    who = _ledger_actor()
    region = (request.form.get("region") or "").strip() or None
    group = request.form.get("priority_group") or None
    values = {"region": region or "", "priority_group": group or ""}
    try:
        result = ledger.create_cases(who, now(), region=region, priority_group=group)
    except DataInvalid as exc:
        return _render_ledger(who, status=400, cases={"values": values, "field_errors": {
            k: messages.message(v) for k, v in exc.fields.items()}})
    except EngineError as exc:  # another county's region (NotFound), a role that may not open cases (Forbidden)
        return _render_ledger(who, status=403 if isinstance(exc, Forbidden) else 404,
                              cases={"values": values, "problem": messages.message(exc.message)})
    opened, skipped = result["opened"], result["skipped"]
    if opened:
        flash(_("已登记 %(n)s 件临时性岗位求职案件。", n=len(opened)), "success")
    elif not skipped:
        flash(_("没有需要登记案件的人员（未就业、有返岗意愿且尚无案件）。"), "info")
    if skipped:
        shown = [f"{s['name']}（{'；'.join(messages.message(r) for r in s['reason'].split('；'))}）"
                 for s in skipped[:SKIPPED_SHOWN]]
        flash(_("%(n)s 人未能登记案件：%(names)s", n=len(skipped),
                names="、".join(shown) + ("……" if len(skipped) > SKIPPED_SHOWN else "")), "warn")
    if result["remaining"]:
        flash(_("还有 %(n)s 人待登记案件（每次最多登记 1000 人），请再次点击“登记案件”。", n=result["remaining"]),
              "warn")
    return redirect(url_for("pages.ledger_list"))
