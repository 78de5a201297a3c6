"""Rows to the JSON shapes of API.md."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import g, request

from engine import calendar, processes
from engine.clear_zero import seasonal_values
from engine.models import AuditEvent, Case, Task
from engine.services._common import rule_values
from engine.summaries import mask_personal_numbers
from engine.validation import with_rule_defaults
from web.api import now


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(calendar.get_timezone()).isoformat()


def task_form(task: Task, version_id: int) -> dict:
    """The task's form (JSON Schema), its rule defaults filled in with the values in force."""
    from engine.services.cases import NON_WORKFLOW_TASKS

    if task.name in NON_WORKFLOW_TASKS:
        return NON_WORKFLOW_TASKS[task.name][0]
    parsed = processes.parsed_by_id(version_id)
    meta = parsed.user_tasks.get(task.name)
    form = parsed.forms.get(meta.form_file, {}) if meta and meta.form_file else {}
    return with_rule_defaults(form, _rules_in_force)


def _rules_in_force() -> dict[str, Any]:
    # Read once per request (a task list shows many forms), and never carried into the next one: `g` lives as long
    # as the app context, which a test (or a CLI command) may keep across requests.
    current = request._get_current_object()
    cached = g.get("rule_values")
    if cached is None or cached[0] is not current:
        cached = g.rule_values = (current, seasonal_values(rule_values(), calendar.local_date(now())))
    return cached[1]


def task_json(task: Task, now: datetime, case: Case | None = None) -> dict[str, Any]:
    case = case or task.case
    return {
        "id": task.id,
        "case_number": case.number,
        # What a completion must send as case_version: a claim moves it, so the claim's answer carries it.
        "case_version": case.version,
        "process": task.process,
        "region": task.region,
        "name": task.name,
        "title": task.title,
        "role": task.role,
        "state": task.state,
        "assignee": task.assignee.username if task.assignee else None,
        "created_at": iso(task.created_at),
        "due_at": iso(task.due_at),
        "overdue": bool(task.state == "open" and task.due_at and task.due_at < now),
        "escalation_level": task.escalation_level,
        "due_rule": task.due_rule,
        "form": task_form(task, case.process_version_id),
    }


def event_json(event: AuditEvent) -> dict[str, Any]:
    # The chain hashes the full detail; the API shows ID numbers and bank accounts masked, as everywhere outside an
    # audited reveal.
    return {"seq": event.seq, "at": iso(event.at), "actor": event.actor, "kind": event.kind,
            "detail": mask_personal_numbers(event.detail), "hash": event.hash}


def case_json(case: Case) -> dict[str, Any]:
    return {
        "number": case.number,
        "process": case.process,
        # Only the hash: the version row also holds every model file.
        "process_version": processes.version_hash(case.process_version_id)[:12],
        "status": case.status,
        "region": case.region,
        "opened_at": iso(case.opened_at),
        "due_at": iso(case.due_at),
        "closed_at": iso(case.closed_at),
        "assignee": case.assignee.username if case.assignee else None,
        "version": case.version,
        "data": case.summary,
    }
