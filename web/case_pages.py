"""The case page: its tasks with their forms, the summary, history, documents, escalations and diagram, a process's
own sections (CASE_SECTIONS), a task's form completed from it and the page again after a refused form. Routes on
the `pages` blueprint."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import partial

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from engine import documents, escalation, placements, processes, services
from engine.actors import Actor
from engine.errors import CaseChanged, Conflict, Forbidden
from engine.models import Case
from engine.services.cases import case_history, open_tasks, waiting_timers
from engine.services.tasks import own_head_refusal, task_actions
from engine.summaries import mask_id_number
from engine.validation import DataInvalid
from web import labels, messages
from web.api import now
from web.api.serializers import task_form
from web.diagram import localized_diagram
from web.downloads import notice_pdf
from web.forms import TEXTAREA_FROM, form_case_version, schema_fields, split_errors
from web.forms import form_data as parse_form
from web.pages import _preload_users, actor, bp


def _event_detail(case: Case, event) -> str:
    d = event.detail or {}
    parts = []
    if d.get("task"):
        parts.append(labels.task_label(d["task"]))
    if isinstance(d.get("status"), list) and len(d["status"]) == 2 and d["status"][0] != d["status"][1]:
        before, after = (labels.status_label(code, case.process) for code in d["status"])
        parts.append(f"{before} → {after}")
    if event.kind == "task_completed" and isinstance(d.get("data"), dict):
        fields = _form_fields(case, d.get("task"))
        for key in ("decision", "outcome", "approved", "action", "measures", "penalty_outcome"):
            if key not in d["data"]:
                continue
            value = d["data"][key]
            choices = (fields.get(key) or {}).get("x-enum-titles") or {}
            if key == "approved":
                parts.append(_("同意") if value else _("不同意"))
            elif isinstance(value, str) and value in choices:
                parts.append(messages.schema_text(choices[value]))
            else:
                parts.append(labels.value_label(value))
        # The amounts the step recorded (a payment check's totals, the amount verified, a fine), then what the
        # person wrote with it (findings, a check's note, a reason, an approver's comment): without them the history
        # of a case read "履行情况核查" with no word of what was paid or found (QA).
        for key, field in fields.items():
            value = d["data"].get(key)
            if field.get("format") == "money" and isinstance(value, str) and _is_amount(value):
                parts.append(_("%(field)s：%(value)s", field=messages.schema_text(field.get("title") or key),
                               value=f"{Decimal(value):,.2f}"))
        written = [k for k, f in fields.items() if _written_by_hand(f)] or ["comment", "reason"]
        for key in written:
            said = d["data"].get(key)
            if isinstance(said, str) and said.strip():
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


def _form_fields(case: Case, task_name: str | None) -> dict[str, dict]:
    """The properties of the task's form, as the case's model version has them, in the form's order: a decision in
    the history reads as the form offered it ("岗位期满退出", not "post_ended")."""
    parsed = processes.parsed_by_id(case.process_version_id)
    meta = parsed.user_tasks.get(task_name or "")
    form = parsed.forms.get(meta.form_file) if meta and meta.form_file else None
    return {key: field for key, field in ((form or {}).get("properties") or {}).items() if isinstance(field, dict)}


def _written_by_hand(field: dict) -> bool:
    """A free text of the form (a textarea: findings, a note, a reason, a comment), not a name or a choice."""
    return (field.get("type") == "string" and "enum" not in field and "format" not in field
            and (field.get("maxLength") or 0) > TEXTAREA_FROM)


def _is_amount(value: str) -> bool:
    try:
        return Decimal(value).is_finite()
    except InvalidOperation:
        return False


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
