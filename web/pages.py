"""Pages for inspectors, clerks and supervisors: the queues, the case page with its task forms and documents.
Thin views: parse, call the same engine service the JSON API calls, render. Every page works without JavaScript;
the BPMN diagram is the only thing drawn by a script. The intake forms (web/intake_pages.py) and the posts
catalogue (web/posts_pages.py) add their routes to the same `pages` blueprint; the template filters live in
web/formatting.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import partial

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from engine import (
    calendar,
    clear_zero,
    dashboard,
    deadline_review,
    documents,
    escalation,
    placements,
    posts,
    processes,
    regions,
    services,
)
from engine.actors import Actor, scope_prefix
from engine.db import db
from engine.errors import CaseChanged, Conflict, Forbidden
from engine.models import Case, User
from engine.services.cases import case_history, open_tasks, waiting_timers
from engine.services.tasks import count_tasks, own_head_refusal, task_actions
from engine.summaries import mask_id_number
from engine.validation import REGION_MESSAGE, REGION_RE, DataInvalid
from web import labels, messages
from web.api import now
from web.api.serializers import task_form
from web.auth import require_login, safe_local_url
from web.diagram import localized_diagram
from web.downloads import notice_pdf
from web.formatting import format_day, format_dt, format_money
from web.forms import form_case_version, schema_fields, split_errors
from web.forms import form_data as parse_form
from web.messages import N_

bp = Blueprint("pages", __name__)
bp.add_app_template_filter(format_dt, "dt")
bp.add_app_template_filter(format_day, "day")
bp.add_app_template_filter(format_money, "money")

PER_PAGE = 25
QUEUE_VIEWS = ("mine", "unassigned", "overdue", "all")


bp.before_request(require_login)


def actor() -> Actor:
    return Actor.of(current_user)


@bp.app_context_processor
def _helpers():
    from web.auth import LANGUAGES

    signed_in = Actor.of(current_user) if current_user.is_authenticated else None
    supervises = signed_in is not None and dashboard.may_view(signed_in)
    return {
        **labels.TEMPLATE_HELPERS,
        "message": messages.message,
        "schema_text": messages.schema_text,
        # The menu offers what the engine would allow.
        "can_post": signed_in is not None and posts.may_post(signed_in),
        "can_view_dashboard": supervises,
        "languages": LANGUAGES,
        "current_locale": str(get_locale()),
        "region_name": regions.region_name,
        # Told to everyone signed in: inspectors and clerks state these deadlines in their notices (QA).
        "holidays_missing": calendar.years_without_holidays(calendar.local_date(now())) if signed_in else [],
        # Told to the same people: the campaign's dates are a yearly setting that is easy to forget.
        "earlier_campaign": clear_zero.earlier_winter_campaign(calendar.local_date(now())) if supervises else None,
        # Stated deadlines a holiday file loaded since puts on another day: a bureau must decide them again.
        "deadlines_to_review": deadline_review.count_to_review(signed_in) if supervises else 0,
    }


# ---------------------------------------------------------------------------------------------------------------
# Queues.

def int_arg(name: str, default: int, low: int = 1, high: int = 10**6) -> int:
    try:
        return min(max(int(request.args.get(name, default)), low), high)
    except ValueError:
        return default


def region_arg() -> str | None:
    """The ?region= filter, None when empty. Anything but a six-digit code is the 400 page naming it: showing the
    whole area under a filter that was not applied would mislead. (A code no longer in force still filters: rows
    written with it stay reachable; the engine's reads check it is within the user's area.)"""
    region = (request.args.get("region") or "").strip()
    if not region:
        return None
    if not REGION_RE.match(region):
        raise DataInvalid({"region": REGION_MESSAGE})
    return region


def _status_arg() -> str | None:
    status = request.args.get("status") or None
    return status if status in labels.STATUS_LABELS else None


def _process_arg() -> str | None:
    process = request.args.get("process") or None
    return process if process in labels.PROCESS_LABELS else None


def _page_of_tasks(who: Actor, at: datetime, descending: bool, page: int, **filters):
    """One page of `list_tasks` (most urgent first), or of the reverse order: the reverse page is cut from the
    (at most two) ascending pages that hold it, so both orders go through the same paginated service call."""
    if not descending:
        return services.list_tasks(who, now=at, page=page, per_page=PER_PAGE, **filters)
    total = count_tasks(who, now=at, **filters)
    end = total - (page - 1) * PER_PAGE
    if end <= 0:
        return [], total
    start = max(0, end - PER_PAGE)
    first, last = start // PER_PAGE + 1, (end - 1) // PER_PAGE + 1
    rows = []
    for p in range(first, last + 1):
        rows.extend(services.list_tasks(who, now=at, page=p, per_page=PER_PAGE, total=total, **filters)[0])
    offset = (first - 1) * PER_PAGE
    return list(reversed(rows[start - offset:end - offset])), total


def _preload_users(user_ids: set[int]) -> list:
    """Load the users a list shows in one query (no N+1): the rows' relationships then resolve from the session's
    identity map. The identity map holds objects weakly, so the caller keeps the returned list until the page is
    rendered."""
    return list(db.session.scalars(select(User).where(User.id.in_(user_ids)))) if user_ids else []


@bp.get("/")
def index():
    return queue()


@bp.get("/tasks")
def queue():
    who, at = actor(), now()
    view = request.args.get("view") or "mine"
    if view not in QUEUE_VIEWS:
        view = "mine"
    sort = "-due" if request.args.get("sort") == "-due" else "due"
    page = int_arg("page", 1)
    filters = {"process": _process_arg(), "region": region_arg(), "status": _status_arg()}
    view_filters = {
        "mine": {"assigned": "me"},
        "unassigned": {"assigned": "unassigned"},
        "overdue": {"assigned": "any", "overdue": True},
        "all": {"assigned": "any"},
    }
    rows, total = _page_of_tasks(who, at, sort == "-due", page, **filters, **view_filters[view])
    counts = {
        name: total if name == view else count_tasks(who, now=at, **filters, **view_filters[name])
        for name in ("mine", "unassigned", "overdue")
    }
    return render_template(
        "queue.html", tasks=rows, total=total, page=page, per_page=PER_PAGE, view=view,
        sort=sort, filters=filters, counts=counts, at=at, region_choices=region_choices(who),
        actions={t.id: task_actions(who, t) for t in rows},
    )


def region_choices(who: Actor) -> list[regions.Region]:
    prefix = scope_prefix(who.region or "")
    return [r for r in regions.REGIONS.values() if r.code.startswith(prefix)]



def _task_action(service, done: str, task_id: str):
    """Claim or release a task (`service` is the engine call), flash the outcome and go back to the queue."""
    try:
        task = service(actor(), task_id, now())
    except (Conflict, Forbidden) as exc:
        flash(messages.message(exc.message), "error")
    else:
        flash(_(done, task=labels.task_label(task.name, task.title), case=task.case.number), "success")
    return redirect(safe_local_url(request.form.get("next"), url_for("pages.queue")))


@bp.post("/tasks/<task_id>/claim")
def claim(task_id: str):
    return _task_action(services.claim_task, N_("已认领：%(task)s（%(case)s）"), task_id)


@bp.post("/tasks/<task_id>/release")
def release(task_id: str):
    return _task_action(services.release_task, N_("已退回：%(task)s（%(case)s）"), task_id)


@bp.post("/tasks/<task_id>/complete")
def complete(task_id: str):
    who = actor()
    number = request.form.get("case_number", "")
    case = services.get_case(who, number)  # NotFound -> the 404 page
    task = next((t for t in open_tasks(case) if t.id == task_id), None)
    if task is None:
        return render_case(case, conflict=_("该任务已办结或已不存在，请刷新页面查看最新情况。"), status=409)
    schema = task_form(task, case.process_version_id)
    data = parse_form(schema, request.form)
    raw_version = request.form.get("case_version", "")
    case_version = form_case_version(raw_version)
    title = labels.task_label(task.name, task.title)
    try:
        services.complete_task(who, task_id, data, case_version, now())
    except (DataInvalid, Conflict, Forbidden) as exc:
        return render_refused_form(who, number, task_id, exc)
    flash(_("已办结：%(task)s", task=title), "success")
    return redirect(url_for("pages.case", number=number))


# ---------------------------------------------------------------------------------------------------------------
# Cases.

@bp.get("/cases")
def cases():
    who, at = actor(), now()
    page = int_arg("page", 1)
    status = _status_arg()
    q = (request.args.get("q") or "").strip()[:100] or None
    overdue = request.args.get("overdue") in ("1", "true", "on")
    filters = {"process": _process_arg(), "status": status, "region": region_arg(), "overdue": overdue, "q": q}
    rows, total = services.list_cases(who, now=at, page=page, per_page=PER_PAGE, **filters)
    return render_template("cases.html", cases=rows, total=total, page=page,
                           per_page=PER_PAGE, filters=filters, at=at, region_choices=region_choices(who))


def _event_detail(case: Case, event) -> str:
    d = event.detail or {}
    parts = []
    if d.get("task"):
        parts.append(labels.task_label(d["task"]))
    if isinstance(d.get("status"), list) and len(d["status"]) == 2 and d["status"][0] != d["status"][1]:
        parts.append(f"{labels.status_label(d['status'][0])} → {labels.status_label(d['status'][1])}")
    if event.kind == "task_completed" and isinstance(d.get("data"), dict):
        choices = _choice_titles(case, d.get("task"))
        for key in ("decision", "outcome", "approved", "action", "measures"):
            if key not in d["data"]:
                continue
            value = d["data"][key]
            if key == "approved":
                parts.append(_("同意") if value else _("不同意"))
            elif isinstance(value, str) and value in choices.get(key, {}):
                parts.append(messages.schema_text(choices[key][value]))
            else:
                parts.append(labels.value_label(value))
        # What the person wrote with the decision: an approver's comment, a supervision instruction, a reason.
        said = next((d["data"][k] for k in ("comment", "reason") if isinstance(d["data"].get(k), str)), "")
        if said.strip():
            parts.append(f"“{said.strip()[:200]}”")
    if d.get("level"):
        parts.append(str(labels.ESCALATION_LEVELS.get(d["level"], d["level"])))
    if d.get("number"):
        parts.append(d["number"])
    if event.kind == "case_opened" and d.get("process"):
        parts.append(labels.process_label(d["process"]))
    if event.kind == "timer_fired" and d.get("timer"):
        parts.append(labels.timer_label(d["timer"]))
    return _("；").join(str(p) for p in parts)


def _choice_titles(case: Case, task_name: str | None) -> dict[str, dict[str, str]]:
    """The titles the task's form gives its choices (x-enum-titles), by field, as the case's model version has
    them: a decision in the history reads as the form offered it ("岗位期满退出", not "post_ended")."""
    parsed = processes.parsed_by_id(case.process_version_id)
    meta = parsed.user_tasks.get(task_name or "")
    form = parsed.forms.get(meta.form_file) if meta and meta.form_file else None
    return {key: field["x-enum-titles"] for key, field in ((form or {}).get("properties") or {}).items()
            if isinstance(field, dict) and isinstance(field.get("x-enum-titles"), dict)}


def render_refused_form(who: Actor, number: str, form_key: str, exc: DataInvalid | Conflict | Forbidden):
    """The case page again, as it now stands, after the engine refused the form `form_key`: 400 with each field's
    message, 409 for a change made meanwhile (what was typed kept), 403 with the reason."""
    case = services.get_case(who, number)
    if isinstance(exc, DataInvalid):
        return render_case(case, form_errors={form_key: exc.fields}, form_values={form_key: request.form},
                           status=400)
    if isinstance(exc, Conflict):
        stale = isinstance(exc, CaseChanged)
        text = _("有人已修改了此案件，请重新加载页面后再办理。") if stale else messages.message(exc.message)
        return render_case(case, conflict=text, form_values={form_key: request.form}, status=409)
    return render_case(case, conflict=messages.message(exc.message), status=403)


# Sections of the case page that belong to one process (web/benefit_pages.py): process -> a function of the case,
# the signed-in user and the page's form errors and form values (keyed by form) that returns the section's
# template context.
CASE_SECTIONS: dict[str, Callable[[Case, Actor, dict, dict], dict]] = {}


def _sections(case: Case) -> tuple[list, list]:
    return documents.documents_for_case(case), escalation.escalations_for_case(case)


def render_case(case: Case, *, form_errors: dict | None = None, form_values: dict | None = None,
                conflict: str | None = None, revealed: str | None = None, status: int = 200):
    who, at = actor(), now()
    tasks = open_tasks(case)
    loaded = _preload_users({t.assignee_id for t in tasks if t.assignee_id})
    forms = {}
    for task in tasks:
        schema = task_form(task, case.process_version_id)
        fields = schema_fields(schema)
        errors = (form_errors or {}).get(task.id, {})
        forms[task.id] = {
            "fields": fields, "errors": errors, "other_errors": split_errors(fields, errors),
            "values": (form_values or {}).get(task.id),
            "actions": task_actions(who, task),
            # Who decides a task only the case's own bureau head may (a referral), said instead of the role alone.
            "own_head": (refusal := own_head_refusal(who, task)) and messages.message(refusal.message),
        }
    history = case_history(case)
    notices, escalations = _sections(case)
    summary = {k: v for k, v in (case.summary or {}).items() if v not in (None, "", [])}
    party_keys = [k for k in labels.SUMMARY_LABELS if k in summary and (
        k.endswith("_name") and k not in ("project_name",) or k.endswith("_id_number") or k == "employer_uscc")]
    for key in list(summary):
        if key.endswith("id_number") and isinstance(summary[key], str) and "*" not in summary[key]:
            summary[key] = mask_id_number(summary[key])  # whatever a summarizer forgot to mask
    fact_keys = [k for k in labels.SUMMARY_LABELS if k in summary and k not in party_keys]
    # An open match_post task: the posts the engine suggests (as GET /api/v1/cases/{number}/post-suggestions),
    # and the one chosen by a "choose" link (?post_id=) filled into the task's form.
    suggestions, match_task = None, next((t for t in tasks if t.name == "match_post"), None)
    if case.process == placements.PROCESS and match_task is not None:
        suggestions = placements.suggest_posts(who, case.number, at)[1]
        chosen = request.args.get("post_id", "")
        if ("work" in forms[match_task.id]["actions"] and forms[match_task.id]["values"] is None
                and any(str(p["id"]) == chosen for p in suggestions)):
            forms[match_task.id]["values"] = MultiDict({"post_id": chosen})
    section = CASE_SECTIONS.get(case.process)
    extra = section(case, who, form_errors or {}, form_values or {}) if section else {}
    waiting = [] if tasks else waiting_timers(case)
    response = current_app.make_response((render_template(
        "case.html", case=case, tasks=tasks, forms=forms, history=history, event_detail=partial(_event_detail, case),
        waiting=waiting,
        documents=notices, escalations=escalations, summary=summary, party_keys=party_keys,
        fact_keys=fact_keys, conflict=conflict, revealed=revealed, at=at,
        can_reveal=bool(case.subject_id_number),
        # The open tasks, else the timers the case waits on (the order's payment deadline, the bank's five days).
        highlight=json.dumps([t.name for t in tasks] or [t.name for t in waiting]), preloaded=loaded,
        post_suggestions=suggestions, match_task=match_task,
        can_match=match_task is not None and "work" in forms[match_task.id]["actions"], **extra,
    ), status))
    if revealed:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/cases/<number>")
def case(number: str):
    return render_case(services.get_case(actor(), number))


@bp.post("/cases/<number>/reveal")
def reveal(number: str):
    found, full = services.reveal_id_number(actor(), number, now())
    return render_case(found, revealed=full)


@bp.get("/cases/<number>/diagram.bpmn")
def diagram(number: str):
    found = services.get_case(actor(), number)
    files = found.process_version.files or {}
    xml = files.get(f"{found.process}.bpmn") or next((v for k, v in files.items() if k.endswith(".bpmn")), None)
    if xml is None:
        abort(404)
    return Response(localized_diagram(xml), mimetype="application/xml")


@bp.get("/documents/<row_id:document_id>")
def document(document_id: int):
    found = documents.document_in_scope(actor(), document_id)  # NotFound (also out of region) -> 404 page
    try:
        path = documents.path_of(found)
    except documents.FileLost:
        return render_template("errors/error.html", status=503, title=_("文书文件缺失"),
                               detail=_("文书文件缺失，请联系系统管理员从备份恢复")), 503
    if path is None:
        return render_template("errors/error.html", status=404, title=_("文书尚未生成"),
                               detail=_("该文书正在生成，请稍后刷新。")), 404
    return notice_pdf(path, found)


# ---------------------------------------------------------------------------------------------------------------
# Deadlines a holiday file loaded since puts on another day (engine/deadline_review.py).

@bp.get("/deadlines-to-review")
def deadlines_to_review():
    signed_in = actor()
    if not dashboard.may_view(signed_in):
        abort(403)
    return render_template("deadlines_to_review.html", rows=deadline_review.to_review(signed_in))


# The intake forms, the posts catalogue and the benefit payments register their routes on `bp`.
from web import benefit_pages, intake_pages, ledger_pages, posts_pages, rules_pages  # noqa: E402, F401

