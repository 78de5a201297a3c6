"""Claiming, releasing, completing and listing user tasks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.orm import joinedload

from engine import audit, processes
from engine.actors import Actor, region_filter, scope_prefix
from engine.calendar import local_date
from engine.clock import engine_context
from engine.db import db
from engine.errors import CaseChanged, Conflict, DataInvalid, EngineError, Forbidden, NotFound
from engine.models import Case, Task, User
from engine.regions import region_name
from engine.runtime import ParsedProcess
from engine.services._common import rule_values, transactional
from engine.services.cases import (
    NON_WORKFLOW_TASKS,
    TASK_CLOSED_HOOKS,
    TASK_COMPLETED_HOOKS,
    load_workflow,
    project_case,
    reflect,
    run_status_hooks,
    runtime,
    write_case,
)
from engine.validation import validate

_TASKS = Task.__table__
_COMPLETE = (update(_TASKS).where(_TASKS.c.id == bindparam("task_id"), _TASKS.c.state == "open")
             .values(state=bindparam("state"), completed_at=bindparam("completed_at"),
                     completed_by=bindparam("completed_by"), assignee_id=bindparam("assignee_id")))

# Checks of a task's form against the case that a JSON Schema cannot express (an amount paid above what is owed, a
# fine outside its legal range), keyed by (process, task name), added to by the process modules at import:
# check(case, form, workflow_data, values, now, actor) raises DataInvalid({"field": "message"}). They run after the
# schema and before the task is claimed or the workflow moves, so a refusal changes nothing. `case.summary` is the
# workflow data as projected at the case's current version: read it where it suffices; `workflow_data()` restores
# the stored workflow's data (a full restore, so only when the summary lacks what the check needs); `values` are
# the rules in force.
TASK_FORM_CHECKS: dict[tuple[str, str], list[Callable[..., None]]] = {}

# Tasks of the `head` lane that only the head of the case's own bureau may claim and work, keyed by (process, task
# name), added to by the process modules at import (a criminal referral: 国务院令第310号 art. 5). A head of a higher
# bureau covers the case's region and sees the case, but does not decide for the bureau that handles it; an
# administrator's role does not stand in for the head either. Releasing such a task and supervising it when
# overdue are unaffected. Kept here rather than in the models: the rule is the law's, so it binds every running
# case at once, whatever process version it started on, and the queues can filter on it in SQL.
OWN_HEAD_TASKS: set[tuple[str, str]] = set()


def own_head_refusal(actor: Actor, task: Task) -> Forbidden | None:
    """Why `actor` may not claim or work `task` when it is one of OWN_HEAD_TASKS and they are not a head whose
    own region is the case's; None otherwise."""
    if (task.process, task.name) not in OWN_HEAD_TASKS:
        return None
    if "head" in actor.roles and actor.region == task.region:
        return None
    return Forbidden(f"{task.title}须由办案机关（{region_name(task.region)}）负责人办理")


def _own_head_filter(actor: Actor):
    """SQL for "not one of OWN_HEAD_TASKS that `actor` may not act on": what own_head_refusal allows, plus the
    tasks the actor holds (a claim made before the rule, kept in view to be released)."""
    restricted = or_(*(and_(Task.process == process, Task.name == name) for process, name in sorted(OWN_HEAD_TASKS)))
    allowed = [~restricted]
    if "head" in actor.roles:
        allowed.append(Task.region == actor.region)
    if actor.user_id is not None:
        allowed.append(Task.assignee_id == actor.user_id)
    return or_(*allowed)


# A change made without the case version it was made against (the form or request lost it).
CASE_VERSION_REQUIRED = "必填，须为整数（案件当前版本号）"

_IN_SCOPE: dict[str, Any] = {}


def task_in_scope(actor: Actor, task_id: str) -> Task:
    # Built once per region scope (building and keying the statement cost more than running it); the case comes
    # in the same query, as every caller needs it next.
    query = _IN_SCOPE.get(actor.scope)
    if query is None:
        query = _IN_SCOPE[actor.scope] = (select(Task).options(joinedload(Task.case))
                                          .where(Task.id == bindparam("task_id"), region_filter(Task.region, actor)))
    task = db.session.scalar(query, {"task_id": str(task_id)})
    if task is None:
        raise NotFound(f"任务 {task_id} 不存在")
    return task


def _refusal(actor: Actor, task: Task, action: str) -> EngineError | None:
    """Why `actor` may not "claim", "release" or "work" (complete) `task` now, as the error the service raises;
    None when they may. The services enforce it; pages offer only what it allows (task_actions)."""
    if task.state != "open":
        return Conflict("该任务已办结")
    held_by_other = task.assignee_id not in (None, actor.user_id)
    if action == "release":
        return Forbidden("只能退回自己认领的任务") if held_by_other and not actor.has_role("supervisor") else None
    own_head = own_head_refusal(actor, task)  # before the role: it names the role and the bureau
    if own_head is not None:
        return own_head
    if not actor.has_role(task.role):
        return Forbidden(f"此任务须由「{task.role}」角色办理")
    if held_by_other:
        return Conflict(f"该任务已由 {task.assignee.username} 认领")
    return None


def _require(actor: Actor, task: Task, action: str) -> None:
    refusal = _refusal(actor, task, action)
    if refusal is not None:
        raise refusal


def task_actions(actor: Actor, task: Task) -> frozenset[str]:
    """What `actor` may do with `task` now, for pages to offer only what will succeed: "claim" (nobody holds it
    yet), "release" (somebody holds it) and "work", each when the service would allow it."""
    actions = set()
    if task.assignee_id is None and _refusal(actor, task, "claim") is None:
        actions.add("claim")
    if task.assignee_id is not None and _refusal(actor, task, "release") is None:
        actions.add("release")
    if _refusal(actor, task, "work") is None:
        actions.add("work")
    return frozenset(actions)


@transactional
def claim_task(actor: Actor, task_id: str, now: datetime) -> Task:
    task = task_in_scope(actor, task_id)
    _require(actor, task, "claim")
    if task.assignee_id == actor.user_id:
        return task  # already theirs: a retried claim changes nothing (no new version for everyone else to reload)
    # Conditional update: of two people claiming at once, exactly one gets the task.
    claimed = db.session.execute(
        update(Task)
        .where(Task.id == task.id, Task.state == "open",
               (Task.assignee_id.is_(None)) | (Task.assignee_id == actor.user_id))
        .values(assignee_id=actor.user_id)
    ).rowcount
    if not claimed:
        db.session.refresh(task)
        _require(actor, task, "claim")  # done meanwhile, or someone else's now: the refusal says which
        raise Conflict("并发修改冲突，请刷新后重试")  # changed and changed back meanwhile: try again
    case = db.session.get(Case, task.case_id)
    write_case(case, {"assignee_id": actor.user_id})
    audit.record(case, actor.username, "task_claimed", {"task": task.name, "task_id": task.id}, now)
    db.session.refresh(task)
    return task


@transactional
def release_task(actor: Actor, task_id: str, now: datetime) -> Task:
    task = task_in_scope(actor, task_id)
    _require(actor, task, "release")
    if task.assignee_id is not None:
        case = db.session.get(Case, task.case_id)
        # The case is nobody's any more when its holder was the one who held this task; either way the case
        # changed, so its version moves (API.md: with every change).
        write_case(case, {"assignee_id": None} if case.assignee_id == task.assignee_id else {})
        task.assignee_id = None
        audit.record(case, actor.username, "task_released", {"task": task.name, "task_id": task.id}, now)
    return task


@transactional
def complete_task(actor: Actor, task_id: str, data: Any, case_version: Any, now: datetime) -> Case:
    task = task_in_scope(actor, task_id)
    _require(actor, task, "work")
    if isinstance(case_version, bool) or not isinstance(case_version, int):
        raise DataInvalid({"case_version": CASE_VERSION_REQUIRED})
    if not isinstance(data, dict):
        raise DataInvalid({"data": "类型应为对象"})
    case = db.session.get(Case, task.case_id)
    if case.version != case_version:
        raise CaseChanged(f"案件已被他人修改（当前版本 {case.version}），请刷新后重试")
    if task.name in NON_WORKFLOW_TASKS:
        schema, handler = NON_WORKFLOW_TASKS[task.name]
        data = validate(schema, data, today=local_date(now))
        handler(actor, task, data, now)
        task.state, task.completed_at, task.completed_by = "completed", now, actor.username
        task.assignee_id = task.assignee_id or actor.user_id
        write_case(case, {})  # the workflow did not move, but the case did (its tasks, its history)
        audit.record(case, actor.username, "task_completed", {"task": task.name, "task_id": task.id, "data": data},
                     now)
        db.session.flush()
        return case
    parsed = processes.parsed_by_id(case.process_version_id)
    meta = parsed.user_tasks[task.name]
    if meta.form_file:
        data = validate(parsed.forms[meta.form_file], data, today=local_date(now))
    values = rule_values()
    checks = TASK_FORM_CHECKS.get((case.process, task.name))
    if checks:
        workflow_data = _stored_data(parsed, case)
        for check in checks:
            check(case, data, workflow_data, values, now, actor)
    # Conditional: of two completions at once, exactly one changes the row (the other waits for the row lock on
    # PostgreSQL, then finds the task done).
    completion = {"state": "completed", "completed_at": now, "completed_by": actor.username,
                  "assignee_id": task.assignee_id or actor.user_id}
    if db.session.connection().execute(_COMPLETE, {"task_id": task.id, **completion}).rowcount != 1:
        raise Conflict("该任务已办结")
    reflect(task, completion)
    # Only now, when the step will run: a refused form or a lost race leaves the live workflow for the next step.
    parsed, workflow = load_workflow(case)
    with engine_context(now, values):
        runtime.complete_user_task(workflow, UUID(task.id), data)
        before = case.status
        for hook in TASK_CLOSED_HOOKS:
            hook(task.id, task.escalation_level, now)
        data_after = project_case(case, workflow, parsed, now, values, actor.username, status_hooks=False)
        audit.record(case, actor.username, "task_completed",
                     {"task": task.name, "task_id": task.id, "data": data, "status": [before, case.status]}, now)
        # After the step's own event: the history lists the check that cleared a case before its closure notice.
        run_status_hooks(case, before, data_after, now, actor.username)
        for hook in TASK_COMPLETED_HOOKS:
            hook(case, task.name, data, data_after, now, actor)
    return case


def _stored_data(parsed: ParsedProcess, case: Case) -> Callable[[], dict[str, Any]]:
    """The case's workflow data, restored from its stored state on the first call. Not the live workflow: a check
    that refuses must leave that one kept for the step that will run (engine.workflow_cache)."""

    @cache
    def data() -> dict[str, Any]:
        return runtime.inspect(runtime.loads(parsed, case.workflow_state)).data

    return data


def _open_tasks_query(
    actor: Actor, *, now: datetime, assigned: str = "any", role: str | None = None, region: str | None = None,
    overdue: bool = False, process: str | None = None, status: str | None = None,
):
    """Open tasks in the actor's region and roles (without the OWN_HEAD_TASKS of bureaus not their own), narrowed
    by the queue's filters."""
    query = select(Task).where(Task.state == "open", region_filter(Task.region, actor))
    # OWN_HEAD_TASKS are tasks of the head's lane: only a list that can show that lane's tasks needs the filter
    # (an inspector's queue at 100,000 cases took four times as long with it).
    if OWN_HEAD_TASKS and (role == "head" if role else actor.has_role("head")):
        query = query.where(_own_head_filter(actor))
    if status:  # the case's status
        query = query.where(Task.case_id.in_(select(Case.id).where(Case.status == status)))
    if role:
        query = query.where(Task.role == role)
    elif not actor.has_role("admin"):
        query = query.where(Task.role.in_(actor.roles))
    if assigned == "me":
        query = query.where(Task.assignee_id == actor.user_id)
    elif assigned == "unassigned":
        query = query.where(Task.assignee_id.is_(None))
    if region:
        query = query.where(Task.region.like(scope_prefix(region) + "%"))
    if process:
        query = query.where(Task.process == process)
    if overdue:
        query = query.where(Task.due_at < now)
    return query


def count_tasks(actor: Actor, *, now: datetime, **filters: Any) -> int:
    """How many open tasks list_tasks would list with these filters (a queue's badge), in one query."""
    query = _open_tasks_query(actor, now=now, **filters)
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


def list_tasks(
    actor: Actor, *, now: datetime, page: int = 1, per_page: int = 50, total: int | None = None, **filters: Any,
) -> tuple[list[Task], int]:
    """One page of open tasks, most urgent first, and their total (counted unless the caller already has it from
    `count_tasks` with the same filters). Filters as `_open_tasks_query`."""
    query = _open_tasks_query(actor, now=now, **filters)
    if total is None:
        total = count_tasks(actor, now=now, **filters)
    if total <= (page - 1) * per_page:
        return [], total
    # Three small steps instead of sorting every matching row: the due time of the page's last task, read from the
    # queue index alone; the ids due by then (the page and its ties), sorted; then those rows with their cases and
    # assignees in one query (no query per row, and none of the cases' workflow state).
    order = (Task.due_at.is_(None), Task.due_at, Task.created_at, Task.id)
    last = min(page * per_page, total) - 1
    cutoff = db.session.scalar(
        query.with_only_columns(Task.due_at).order_by(Task.due_at.is_(None), Task.due_at).offset(last).limit(1)
    )
    page_query = query.where(Task.due_at <= cutoff) if cutoff is not None else query
    ids = list(db.session.scalars(
        page_query.with_only_columns(Task.id).order_by(*order).offset((page - 1) * per_page).limit(per_page)
    ))
    rows = db.session.scalars(
        select(Task).where(Task.id.in_(ids))
        .options(joinedload(Task.case).load_only(Case.id, Case.number, Case.status, Case.process_version_id,
                                                 Case.version),
                 joinedload(Task.assignee).load_only(User.id, User.username, User.display_name))
        .order_by(*order)
    )
    return list(rows), total
