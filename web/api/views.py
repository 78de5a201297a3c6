"""API routes: parse, authorise, call one engine service, render JSON."""

from __future__ import annotations

from flask import current_app, g, jsonify, request
from sqlalchemy import text

from engine import accounts, api_tokens, calendar, services
from engine.actors import ROLES
from engine.db import db
from engine.errors import DataInvalid
from engine.services.cases import OPENING_ROLES, case_history, open_tasks, waiting_timers
from engine.validation import validate
from web.api import (
    bp,
    error,
    json_body,
    now,
    page_json,
    paging,
    query_bool,
    query_choice,
    query_region,
    token_required,
)
from web.api.schemas import COMPLETE_TASK_REQUEST, OPEN_CASE_REQUEST, TOKEN_REQUEST, case_statuses
from web.api.serializers import case_json, event_json, iso, task_json

# Extra sections of a case (documents, escalations), filled in by the modules that own them.
CASE_SECTIONS: dict = {"documents": lambda case: [], "escalations": lambda case: []}


def full_case_json(case) -> dict:
    at = now()
    body = case_json(case)
    body["tasks"] = [task_json(t, at, case) for t in open_tasks(case)]
    body["history"] = [event_json(e) for e in case_history(case)]
    body["waiting"] = [{"timer": t.name, "fire_at": iso(t.fire_at)} for t in waiting_timers(case)]
    for name, section in CASE_SECTIONS.items():
        body[name] = section(case)
    return body


@bp.post("/auth/token")
def issue_token():
    body = json_body(TOKEN_REQUEST)
    cfg = current_app.config
    user = accounts.authenticate(body["username"], body["password"], now(), address=request.remote_addr,
                                 max_failures=cfg["LOGIN_MAX_FAILURES"], lock_minutes=cfg["LOGIN_LOCK_MINUTES"],
                                 window_minutes=cfg["LOGIN_FAILURE_WINDOW_MINUTES"])
    if user is None:
        return error(401, "unauthorized", "用户名或密码错误")
    token = api_tokens.issue_token(user, now(), cfg["API_TOKEN_HOURS"])
    return jsonify({"token": token, "user": {"username": user.username, "roles": user.roles, "region": user.region}})


@bp.post("/auth/revoke")
@token_required
def revoke_token():
    token = request.headers["Authorization"].partition(" ")[2].strip()
    api_tokens.revoke_token(token, now())
    return jsonify({"revoked": True})


@bp.get("/health")
def health():
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # noqa: BLE001 - health reports, never raises
        db.session.rollback()
        database = "unavailable"
    scheduler_state = "stopped"
    if database == "ok":
        from engine.scheduler import sweeping

        if sweeping(current_app, now()):
            scheduler_state = "ok"
    body = {"status": "ok" if database == "ok" else "degraded", "database": database, "scheduler": scheduler_state,
            # Years whose deadlines fall back to Monday-Friday (engine.calendar): a monitor can tell an administrator.
            "holidays_missing": calendar.years_without_holidays(calendar.local_date(now()))}
    if database == "ok":
        # Stated deadlines a holiday file loaded since puts on another day, for a bureau to review
        # (engine/deadline_review.py): a monitor can alert on a count above zero.
        from engine.deadline_review import count_to_review

        body["deadlines_to_review"] = count_to_review()
    return jsonify(body), 200 if database == "ok" else 503


@bp.post("/cases")
@token_required
def open_case():
    body = json_body(OPEN_CASE_REQUEST)
    case = services.open_case(g.actor, body["process"], body["region"], body["data"], now())
    return jsonify(full_case_json(case)), 201


@bp.get("/cases")
@token_required
def list_cases():
    page, per_page = paging()
    process = query_choice("process", tuple(sorted(OPENING_ROLES)))
    region = query_region(prefix=True)
    q = request.args.get("q") or None
    if q is not None and len(q) > 100:
        raise DataInvalid({"q": "最多 100 个字符"})
    status = query_choice("status", case_statuses())
    rows, total = services.list_cases(g.actor, now=now(), process=process, status=status, region=region,
                                      overdue=query_bool("overdue"), q=q, page=page, per_page=per_page)
    return page_json([case_json(c) for c in rows], total, page, per_page)


@bp.get("/cases/<number>")
@token_required
def get_case(number: str):
    return jsonify(full_case_json(services.get_case(g.actor, number)))


@bp.get("/tasks")
@token_required
def list_tasks():
    page, per_page = paging()
    assigned = query_choice("assigned", ("me", "unassigned", "any"), "any")
    role = query_choice("role", tuple(r for r in ROLES if r != "admin"))
    process = query_choice("process", tuple(sorted(OPENING_ROLES)))
    region = query_region(prefix=True)
    at = now()
    rows, total = services.list_tasks(g.actor, now=at, assigned=assigned, role=role, region=region,
                                      overdue=query_bool("overdue"), process=process, page=page, per_page=per_page)
    return page_json([task_json(t, at) for t in rows], total, page, per_page)


@bp.post("/tasks/<task_id>/claim")
@token_required
def claim_task(task_id: str):
    return jsonify(task_json(services.claim_task(g.actor, task_id, now()), now()))


@bp.post("/tasks/<task_id>/release")
@token_required
def release_task(task_id: str):
    return jsonify(task_json(services.release_task(g.actor, task_id, now()), now()))


@bp.post("/tasks/<task_id>/complete")
@token_required
def complete_task(task_id: str):
    body = json_body()  # a body that is no JSON object (or nests too deep) is refused as such, task or not
    try:
        validate(COMPLETE_TASK_REQUEST, body)
    except DataInvalid:
        # A task that does not exist (or is out of scope) is a 404 whatever the fields: no use correcting them.
        services.task_in_scope(g.actor, task_id)
        raise
    case = services.complete_task(g.actor, task_id, body["data"], body["case_version"], now())
    return jsonify(full_case_json(case))


@bp.get("/openapi.json")
def openapi():
    from web.api.openapi import build_spec

    return jsonify(build_spec())
