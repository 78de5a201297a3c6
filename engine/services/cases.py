"""Opening cases, projecting workflow state onto rows, and reading cases within the actor's region."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy import bindparam, func, insert, or_, select, text, update
from sqlalchemy.orm import defer, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from engine import audit, calendar, processes
from engine.actors import Actor, region_filter, scope_prefix
from engine.clock import engine_context
from engine.db import db, like_escape
from engine.errors import CaseChanged, DataInvalid, Forbidden, NotFound
from engine.models import AuditEvent, Case, Task, Timer, User
from engine.rules import RULES
from engine.runtime import ParsedProcess, Runtime
from engine.services._common import case_by_id, case_in_scope, rule_values, transactional
from engine.summaries import project as summarize
from engine.validation import REGION_MESSAGE, is_region, validate

runtime: Runtime = processes.runtime

# Who may open which kind of case.
OPENING_ROLES = {
    "wage_arrears": ("inspector", "supervisor"),
    "benefit_claim": ("clerk", "supervisor"),
    "temp_job": ("clerk", "supervisor"),
}

# Hooks other modules add to: called as hook(case, data, parsed, now) inside open_case before projection,
# e.g. to refuse a second open benefit claim for the same person.
OPEN_CASE_CHECKS: dict[str, list] = {}
# Called as hook(case, before_status, data, now, by) after every projection that changed the status, in the same
# transaction (notices, payment schedules); `by` is who made the change (a username, or "system" for a timer).
STATUS_HOOKS: list = []
# Called as hook(case, task_name, form_data, data, now, actor) after a user task's completion is projected
# (notices that follow a decision).
TASK_COMPLETED_HOOKS: list = []
# Called as hook(task_id, escalation_level, now) when a user task is completed or cancelled (escalations resolve).
TASK_CLOSED_HOOKS: list = []
# Called as hook(case) after every write of a case's row, in the same transaction (the 131 projection).
CASE_WRITTEN_HOOKS: list = []
# Tasks that live only in the database, not in the workflow (supervision tasks of the escalation ladder):
# name -> (JSON Schema of the form, handler(actor, task, data, now)).
NON_WORKFLOW_TASKS: dict[str, tuple[dict, Any]] = {}


# One statement on both databases: no two cases ever get the same number.
_NEXT_CASE_NUMBER = text(
    "INSERT INTO case_sequences (prefix, region, year, last) VALUES (:p, :r, :y, 1) "
    "ON CONFLICT (prefix, region, year) DO UPDATE SET last = case_sequences.last + 1 RETURNING last"
)


def next_case_number(process: str, region: str, year: int) -> str:
    prefix = processes.PREFIXES.get(process, process[:2].upper())
    last = db.session.connection().execute(_NEXT_CASE_NUMBER, {"p": prefix, "r": region, "y": year}).scalar_one()
    return f"{prefix}-{region}-{year}-{last:06d}"


_OPEN_CASE_OF_PERSON = select(Case.number, Case.region).where(
    Case.process == bindparam("process"), Case.subject_id_number == bindparam("id_number"), Case.closed_at.is_(None),
    Case.id != bindparam("case_id")).limit(1)
OTHER_REGION_CASE = "（其他地区的案件）"


def open_case_of_person(case: Case, id_number: str) -> str | None:
    """How to name another open case of `case`'s process for the person with this ID number, if there is one: its
    number when it is in `case`'s own region, else OTHER_REGION_CASE. The one-open-case rule holds everywhere, but
    a case outside the region is not the opener's to see (it would answer 404), so its number is not told."""
    other = db.session.execute(_OPEN_CASE_OF_PERSON, {"process": case.process, "id_number": id_number.upper(),
                                                      "case_id": case.id}).first()
    if other is None:
        return None
    return other.number if other.region.startswith(scope_prefix(case.region)) else OTHER_REGION_CASE


def _due_from_rule(rule_key: str | None, now: datetime, values: dict[str, Any], used: int = 0) -> datetime | None:
    """The due time of a task that becomes ready at `now` under `rule_key`, `used` working days of it already spent
    (a paused clock)."""
    if not rule_key:
        return None
    # Every dueRule names a rule (checked when the process is parsed), and `values` holds every rule.
    amount = max(int(values[rule_key]) - used, 0)
    if RULES[rule_key].unit == "days":
        local = now.astimezone(calendar.get_timezone())
        return (local + timedelta(days=amount)).replace(hour=23, minute=59, second=59, microsecond=0)
    return calendar.working_days_after(now, amount)


_CASES = Case.__table__
_TASKS = Task.__table__
_EARLIER_ROUNDS = select(_TASKS.c.created_at, _TASKS.c.completed_at).where(
    _TASKS.c.case_id == bindparam("case_id"), _TASKS.c.name == bindparam("name"), _TASKS.c.state == "completed")


def _working_days_used(case_id: int, task_name: str) -> int:
    """Working days the task's earlier rounds on this case took, from when each became ready to its completion
    (a paused clock counts working days: parsing refuses dueClockPauses on a rule counted in calendar days)."""
    rows = db.session.connection().execute(_EARLIER_ROUNDS, {"case_id": case_id, "name": task_name})
    return sum(calendar.working_days_between(calendar.local_date(start), calendar.local_date(end))
               for start, end in rows)
_TIMERS = Timer.__table__
# The projection's reads and writes are plain statements, built once: a step costs a dozen short statements and no
# ORM flush (the ORM's unit of work was most of a step's cost).
_OPEN_TASKS = select(_TASKS.c.id, _TASKS.c.name, _TASKS.c.due_at, _TASKS.c.escalation_level).where(
    _TASKS.c.case_id == bindparam("case_id"), _TASKS.c.state == "open")
_PENDING_TIMERS = select(_TIMERS.c.id, _TIMERS.c.kind, _TIMERS.c.spiff_task_id, _TIMERS.c.task_id,
                         _TIMERS.c.fire_at).where(_TIMERS.c.case_id == bindparam("case_id"),
                                                  _TIMERS.c.status == "pending")
_CANCEL_TASK = (update(_TASKS).where(_TASKS.c.id == bindparam("task_id"), _TASKS.c.state == "open")
                .values(state="cancelled", completed_at=bindparam("now")))
_CANCEL_TIMER = update(_TIMERS).where(_TIMERS.c.id == bindparam("timer_id")).values(status="cancelled")
_MOVE_TIMER = update(_TIMERS).where(_TIMERS.c.id == bindparam("timer_id")).values(fire_at=bindparam("fire_at"))
_INSERT_TASKS = insert(_TASKS)
_INSERT_TIMERS = insert(_TIMERS)
# The columns to SET come from the parameters given (the where-clause names cannot be column names).
_WRITE_CASE = update(_CASES).where(_CASES.c.id == bindparam("case_id_"), _CASES.c.version == bindparam("read_version"))


def reflect(row: Any, values: dict[str, Any]) -> None:
    """Bring a loaded object up to date with what a plain statement just wrote, without marking it changed."""
    for key, value in values.items():
        set_committed_value(row, key, value)


def write_case(case: Case, changes: dict[str, Any], workflow: BpmnWorkflow | None = None) -> None:
    """Write a case's row: UPDATE ... WHERE version = the version read, so a concurrent change ends in a Conflict
    instead of a lost update. Every change of an opened case's projected fields comes through here, and every
    write of its workflow (given as `workflow`: its state is serialized here, and the live workflow kept for the
    next step once the transaction commits)."""
    version = case.version
    changes = {**changes, "version": version + 1}
    if workflow is not None:
        changes["workflow_state"] = runtime.dumps(workflow)
    written = db.session.connection().execute(
        _WRITE_CASE, {**changes, "case_id_": case.id, "read_version": version}).rowcount
    if written != 1:
        raise CaseChanged("案件已被他人修改，请刷新后重试")
    reflect(case, changes)
    if workflow is not None:
        processes.workflows.keep(db.session(), case.id, case.process_version_id, workflow, changes["workflow_state"])
    for hook in CASE_WRITTEN_HOOKS:
        hook(case)


def project_case(case: Case, workflow, parsed: ParsedProcess, now: datetime, values: dict[str, Any], by: str,
                 *, status_hooks: bool = True) -> dict:
    """Write the workflow state and every projection of it onto rows (the caller's transaction); `by` is who
    moved the workflow (for the status hooks). With `status_hooks=False` the caller runs them (run_status_hooks)
    once it has recorded the step that moved the case, so the history lists the step before what it caused."""
    connection = db.session.connection()
    view = runtime.inspect(workflow)
    data = view.data
    before = case.status
    projection = summarize(case.process, data)

    # User tasks: open rows the workflow no longer has are cancelled; new ready tasks get rows and due times.
    ready = {str(t.id): t for t in view.ready_user_tasks}
    open_rows = {row.id: row for row in connection.execute(_OPEN_TASKS, {"case_id": case.id})
                 if row.name not in NON_WORKFLOW_TASKS}
    for task_id, row in open_rows.items():
        if task_id not in ready:
            connection.execute(_CANCEL_TASK, {"task_id": task_id, "now": now})
            for hook in TASK_CLOSED_HOOKS:
                hook(task_id, row.escalation_level, now)
    new_tasks, new_due = [], []
    for task_id, task in ready.items():
        if task_id in open_rows:
            continue
        meta = parsed.user_tasks[task.task_spec.bpmn_id]
        # Version 1 is the case being opened: no earlier round to count, and no query on every opening.
        used = _working_days_used(case.id, meta.name) if meta.due_clock_pauses and case.version > 1 else 0
        due = _due_from_rule(meta.due_rule, now, values, used)
        new_tasks.append({"id": task_id, "case_id": case.id, "process": case.process, "region": case.region,
                          "name": meta.name, "title": meta.title, "role": meta.role, "created_at": now,
                          "due_at": due, "due_rule": meta.due_rule})
        if due is not None:
            new_due.append({"case_id": case.id, "kind": "task_due", "task_id": task_id, "spiff_task_id": None,
                            "name": meta.name, "level": 1, "fire_at": due})
    if new_tasks:
        connection.execute(_INSERT_TASKS, new_tasks)

    # Timers: waiting BPMN timers and task deadlines, both picked up by the sweeper by fire time.
    waiting = {str(t.id): (t, fire_at) for t, fire_at in view.waiting_timers}
    known = set()
    for timer in connection.execute(_PENDING_TIMERS, {"case_id": case.id}):
        if timer.kind == "bpmn" and timer.spiff_task_id in waiting:
            known.add(timer.spiff_task_id)
            if timer.fire_at != waiting[timer.spiff_task_id][1]:
                connection.execute(_MOVE_TIMER, {"timer_id": timer.id, "fire_at": waiting[timer.spiff_task_id][1]})
        elif timer.kind == "bpmn" or (timer.kind == "task_due" and timer.task_id not in ready):
            connection.execute(_CANCEL_TIMER, {"timer_id": timer.id})
    new_timers = [{"case_id": case.id, "kind": "bpmn", "spiff_task_id": spiff_id, "task_id": None,
                   "name": task.task_spec.bpmn_id or "", "level": 0, "fire_at": fire_at}
                  for spiff_id, (task, fire_at) in waiting.items() if spiff_id not in known] + new_due
    if new_timers:
        connection.execute(_INSERT_TIMERS, new_timers)

    # The case row.
    changes: dict[str, Any] = {
        "status": data.get("status") or case.status,
        "summary": projection.summary,
        "search_text": f"{case.number.lower()} {projection.search_text}",
        "subject_id_number": projection.subject_id_number,
        **projection.columns,
    }
    if workflow.is_completed() and case.closed_at is None:
        changes["closed_at"] = now
    # Case due time: the process's case clock, else the most urgent open task.
    if projection.due_at:
        changes["due_at"] = datetime.fromisoformat(projection.due_at)
    else:
        dues = [r.due_at for r in open_rows.values() if r.id in ready and r.due_at]
        dues += [t["fire_at"] for t in new_due]
        changes["due_at"] = min(dues) if dues else None
    write_case(case, changes, workflow)
    if status_hooks:
        run_status_hooks(case, before, data, now, by)
    return data


def run_status_hooks(case: Case, before: str, data: dict[str, Any], now: datetime, by: str) -> None:
    """The process modules' reactions to a case whose status moved from `before` (a closure notice, ...)."""
    if case.status != before:
        for hook in STATUS_HOOKS:
            hook(case, before, data, now, by)


_INSERT_CASE = insert(_CASES).returning(_CASES.c.id)


def _insert_case(values: dict[str, Any]) -> Case:
    """INSERT the case's row with a plain statement (the columns' defaults apply), then load it: an ORM flush of
    one new row cost several times as much as both statements."""
    return case_by_id(db.session.connection().execute(_INSERT_CASE, values).scalar_one())


@transactional
def open_case(actor: Actor, process: str, region: str, data: Any, now: datetime) -> Case:
    unknown = DataInvalid({"process": "未知的业务类型：" + " | ".join(sorted(OPENING_ROLES))})
    if process not in OPENING_ROLES:
        raise unknown
    if not is_region(region):
        raise DataInvalid({"region": REGION_MESSAGE})
    if not isinstance(data, dict):
        raise DataInvalid({"data": "类型应为对象"})
    if not any(actor.has_role(r) for r in OPENING_ROLES[process]):
        raise Forbidden("您的角色不能登记此类案件")
    if not actor.covers(region):
        raise Forbidden("不能在您的辖区以外登记案件")
    try:
        version_id, parsed = processes.current_version(process)
    except processes.UnknownProcess:  # its folder under bpmn/ is gone
        raise unknown from None
    data = validate(parsed.forms["intake.schema.json"], data, today=calendar.local_date(now))

    values = rule_values()
    number = next_case_number(process, region, calendar.local_date(now).year)
    start_data = dict(data)
    start_data.update({
        "case_number": number,
        "region": region,
        "received_at": now.astimezone(calendar.get_timezone()).isoformat(),
        "status": "received",
    })
    with engine_context(now, values):
        workflow = runtime.start(parsed, start_data)
    case = _insert_case({"number": number, "process": process, "process_version_id": version_id,
                         "status": "received", "region": region, "opened_at": now, "created_by": actor.username,
                         "workflow_state": ""})
    for check in OPEN_CASE_CHECKS.get(process, []):
        check(case, data, parsed, now)
    audit.record(case, actor.username, "case_opened", {"process": process, "region": region, "data": data}, now)
    with engine_context(now, values):
        project_case(case, workflow, parsed, now, values, actor.username)
    return case


def load_workflow(case: Case) -> tuple[ParsedProcess, BpmnWorkflow]:
    """The case's parsed process version and its workflow, live from the last step in this process when that is
    still what is stored (engine.workflow_cache), else restored from the stored state."""
    # By id: a parsed version is cached, so its stored files (the largest row there is) are not loaded again.
    parsed = processes.parsed_by_id(case.process_version_id)
    workflow = processes.workflows.take(db.session(), case.id, case.process_version_id, case.workflow_state)
    if workflow is None:
        workflow = runtime.loads(parsed, case.workflow_state)
    return parsed, workflow


# ---------------------------------------------------------------------------------------------------------------
# Reading.

def get_case(actor: Actor, number: str) -> Case:
    return case_in_scope(actor, number)


@transactional
def reveal_id_number(actor: Actor, number: str, now: datetime) -> tuple[Case, str]:
    """The full ID number of the case's subject (lists show it masked), once the reveal is written to the case's
    audit trail."""
    case = case_in_scope(actor, number)
    if not case.subject_id_number:
        raise NotFound(f"案件 {number} 不存在")
    audit.record(case, actor.username, "id_number_revealed", {"field": "subject_id_number"}, now)
    return case, case.subject_id_number


def case_history(case: Case) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.seq)))


def open_tasks(case: Case) -> list[Task]:
    return list(db.session.scalars(
        select(Task).where(Task.case_id == case.id, Task.state == "open").order_by(Task.due_at, Task.created_at)
    ))


def waiting_timers(case: Case) -> list[Timer]:
    """The model's timers the case waits on (a payment deadline, a post's end), soonest first: what a case with
    no open task is waiting for."""
    return list(db.session.scalars(
        select(Timer).where(Timer.case_id == case.id, Timer.kind == "bpmn", Timer.status == "pending")
        .order_by(Timer.fire_at)
    ))


def list_cases(
    actor: Actor, *, now: datetime, process: str | None = None, status: str | None = None,
    region: str | None = None, overdue: bool = False, q: str | None = None, page: int = 1, per_page: int = 50,
) -> tuple[list[Case], int]:
    query = select(Case).where(region_filter(Case.region, actor))
    if process:
        query = query.where(Case.process == process)
    if status:
        query = query.where(Case.status == status)
    if region:
        query = query.where(Case.region.like(scope_prefix(region) + "%"))
    if overdue:
        query = query.where(Case.closed_at.is_(None), Case.due_at < now)
    if q:
        # `%` and `_` typed in a search are the characters themselves, not LIKE's wildcards.
        needle = f"%{like_escape(q.strip().lower())}%"
        query = query.where(or_(Case.search_text.like(needle, escape="\\"),
                                Case.number.like(needle.upper(), escape="\\")))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if total <= (page - 1) * per_page:
        return [], total
    # The page's ids first, so the database sorts keys rather than whole rows with their workflow state; then
    # those rows, without the workflow state a list never shows.
    order = (Case.opened_at.desc(), Case.id.desc())
    ids = list(db.session.scalars(
        query.with_only_columns(Case.id).order_by(*order).offset((page - 1) * per_page).limit(per_page)
    ))
    rows = db.session.scalars(select(Case).where(Case.id.in_(ids)).order_by(*order).options(
        defer(Case.workflow_state), joinedload(Case.assignee).load_only(User.id, User.username, User.display_name)))
    return list(rows), total
