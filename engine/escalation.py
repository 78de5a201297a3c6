"""The sweeper: fires what is due by the engine's clock and climbs the escalation ladder of DOMAIN.md.

`sweep(now)` selects due timers by their indexed fire time and handles each in its own transaction that also
claims it, with one statement on both databases: `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)
RETURNING` (SQLite, which has one writer at a time, drops the lock clause). A sweep that dies before its commit
leaves the timer pending for the next one; two sweepers never fire the same timer."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Integer, Row, String, Text, bindparam, func, insert, select, update
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from engine import audit, calendar, documents
from engine.actors import SYSTEM, Actor, region_filter, scope_prefix
from engine.clock import engine_context
from engine.db import UTCDateTime, db
from engine.models import Case, Task, Timer, User
from engine.regions import region_name
from engine.services._common import case_by_id, lost_race, rule_values
from engine.services.cases import NON_WORKFLOW_TASKS, TASK_CLOSED_HOOKS, load_workflow, project_case, runtime
from engine.text_patterns import NOTE_PATTERN

log = logging.getLogger(__name__)

LEVEL_ROLES = {1: None, 2: "supervisor", 3: "head"}
LEVEL_NAMES = {1: "一级督办（逾期提醒）", 2: "二级督办", 3: "三级督办（报分管领导）"}
SUPERVISION_TASK = "supervise_overdue"


class Escalation(db.Model):
    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36), index=True)
    task_name: Mapped[str] = mapped_column(String(64))
    task_title: Mapped[str] = mapped_column(String(128))
    region: Mapped[str] = mapped_column(String(12))
    level: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | resolved
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    supervision_task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    notified: Mapped[str] = mapped_column(Text, default="")  # who was told, for the history

    case: Mapped[Case] = relationship()


@dataclass
class SweepReport:
    fired: list[str] = field(default_factory=list)       # "WA-... payment_deadline"
    escalated: list[str] = field(default_factory=list)   # "WA-... investigate → level 2"
    skipped: int = 0                                      # claimed by another sweeper or lost a race
    errors: list[str] = field(default_factory=list)
    notices_rendered: int = 0
    # Who to notify per (region, role), looked up once per sweep rather than once per timer.
    people: dict[tuple[str, str], list[str]] = field(default_factory=dict, repr=False)

    def lines(self) -> list[str]:
        return [f"fired      {x}" for x in self.fired] + [f"escalated  {x}" for x in self.escalated] + [
            f"error      {x}" for x in self.errors]


def due_timer_ids(now: datetime, limit: int) -> list[int]:
    return list(db.session.scalars(
        select(Timer.id).where(Timer.status == "pending", Timer.fire_at <= now)
        .order_by(Timer.fire_at, Timer.id).limit(limit)
    ))


_TIMERS = Timer.__table__
_TASKS = Task.__table__
# One statement on both databases: lock the timer's row unless another sweeper holds it (SKIP LOCKED; SQLite has a
# single writer and drops the clause), mark it ours and read it back.
_CLAIM = (
    update(_TIMERS)
    .where(_TIMERS.c.id.in_(select(_TIMERS.c.id)
                            .where(_TIMERS.c.id == bindparam("timer_id"), _TIMERS.c.status == "pending")
                            .with_for_update(skip_locked=True)))
    .values(status="fired", claimed_at=bindparam("now"), claimed_by=bindparam("worker"))
    .returning(_TIMERS.c.id, _TIMERS.c.case_id, _TIMERS.c.kind, _TIMERS.c.spiff_task_id, _TIMERS.c.task_id,
               _TIMERS.c.name, _TIMERS.c.level, _TIMERS.c.fire_at)
)


def _claim(timer_id: int, now: datetime, worker: str) -> Row | None:
    """Lock and mark one timer inside the current transaction; None when someone else has it."""
    return db.session.connection().execute(_CLAIM, {"timer_id": timer_id, "now": now, "worker": worker}).first()


def _fire_bpmn(timer: Row, now: datetime, values: dict[str, Any], report: SweepReport) -> None:
    case = case_by_id(timer.case_id)
    parsed, workflow = load_workflow(case)
    before = case.status
    with engine_context(now, values):
        runtime.fire_due_timers(workflow)
        if runtime.waits_on(workflow, timer.spiff_task_id):
            # Never mark a timer fired that the workflow still waits on (it would be re-projected and spin).
            raise RuntimeError(f"timer {timer.name} of {case.number} did not fire at {now.isoformat()}")
        project_case(case, workflow, parsed, now, values, SYSTEM.username)
    audit.record(case, SYSTEM.username, "timer_fired",
                 {"timer": timer.name, "fire_at": timer.fire_at.isoformat(), "status": [before, case.status]}, now)
    report.fired.append(f"{case.number} {timer.name}")


def _supervisors(region: str, role: str, memo: dict[tuple[str, str], list[str]]) -> list[str]:
    """The nearest bureau's people in `role`: the county's own if it has any, else the prefecture's, and so on
    (remembered in `memo` for the rest of the sweep)."""
    if (region, role) in memo:
        return memo[(region, role)]

    users = db.session.scalars(select(User).where(User.active.is_(True), User.roles_csv.contains(role)))
    covering = [(len(scope_prefix(u.region)), u.username) for u in users
                if role in u.roles and region.startswith(scope_prefix(u.region))]
    nearest = max((depth for depth, _ in covering), default=None)
    found = memo[(region, role)] = sorted(name for depth, name in covering if depth == nearest)
    return found


@dataclass(frozen=True)
class _CaseRef:
    """What an escalation needs of its case (never the workflow state)."""

    id: int
    number: str
    process: str
    region: str


_CASES, _USERS = Case.__table__, User.__table__
_OVERDUE_TASK = (
    select(_TASKS.c.id, _TASKS.c.state, _TASKS.c.name, _TASKS.c.title, _TASKS.c.due_at, _TASKS.c.escalation_level,
           _USERS.c.username.label("assignee"), _CASES.c.id.label("case_id"), _CASES.c.number, _CASES.c.process,
           _CASES.c.region)
    .join(_CASES, _CASES.c.id == _TASKS.c.case_id).outerjoin(_USERS, _USERS.c.id == _TASKS.c.assignee_id)
    .where(_TASKS.c.id == bindparam("task_id"))
    # A user completing the task holds its row and next cancels this timer, which the sweeper holds: waiting here
    # was a deadlock (a second's stall, then PostgreSQL aborted one of the two). Not waiting, the timer is left to
    # the next sweep, which finds it cancelled or, if their step failed, escalates. (SQLite drops the clause.)
    .with_for_update(of=_TASKS, nowait=True)
)
_INSERT_TASK = insert(_TASKS)
_INSERT_TIMER = insert(_TIMERS)
_INSERT_ESCALATION = insert(Escalation.__table__)
# Only while the task is open: a user completing it at the same moment wins (on PostgreSQL this waits for their
# commit and then finds the task done).
# An escalation changes the case (a flag, a supervision task, its history): its version moves (API.md), so a form
# read before it gets a 409 and shows the escalation. Unconditional: the sweeper never loses to a user's write.
_CASE_CHANGED = update(_CASES).where(_CASES.c.id == bindparam("case_id")).values(version=_CASES.c.version + 1)
_RAISE_LEVEL = (update(_TASKS).where(_TASKS.c.id == bindparam("task_id"), _TASKS.c.state == "open")
                .values(escalation_level=bindparam("level")))


def _escalate(timer: Row, now: datetime, values: dict[str, Any], report: SweepReport) -> None:
    connection = db.session.connection()
    task = connection.execute(_OVERDUE_TASK, {"task_id": timer.task_id}).first()
    if task is None or task.state != "open":
        return  # done in the meantime: nothing to escalate
    level = timer.level
    if not connection.execute(_RAISE_LEVEL, {"task_id": task.id,
                                             "level": max(task.escalation_level, level)}).rowcount:
        return
    case = _CaseRef(task.case_id, task.number, task.process, task.region)
    told = [task.assignee] if task.assignee else []
    told += _supervisors(case.region, "supervisor", report.people)
    if level == 3:  # DOMAIN.md: level 3 goes to the region's head
        told += _supervisors(case.region, "head", report.people)
    escalation = {
        "case_id": case.id, "task_id": task.id, "task_name": task.name, "task_title": task.title,
        "region": case.region, "level": level, "status": "open", "due_at": task.due_at, "opened_at": now,
        "notified": ",".join(dict.fromkeys(told)), "supervision_task_id": None,
    }
    role = LEVEL_ROLES.get(level)
    if role:
        # A supervision task (督办) in the supervisor's (level 2) or the head's (level 3) queue.
        deadline = calendar.working_days_after(now, int(values[f"escalation_level{level}_days"]))
        escalation["supervision_task_id"] = str(uuid.uuid4())
        connection.execute(_INSERT_TASK, {
            "id": escalation["supervision_task_id"], "case_id": case.id, "process": case.process,
            "region": case.region, "name": SUPERVISION_TASK, "title": f"督办：{task.title}（{LEVEL_NAMES[level]}）",
            "role": role, "created_at": now, "due_at": deadline, "due_rule": None, "escalation_level": level,
        })
        documents.issue_notice(case, "supervision_notice", {
            "recipient": f"{region_name(case.region)}劳动保障监察机构" if case.process == "wage_arrears"
            else f"{region_name(case.region)}经办机构",
            "escalation_level": LEVEL_NAMES[level],
            "overdue_task": f"案件 {case.number} 的「{task.title}」",
            "due_on": calendar.local_date(task.due_at).isoformat() if task.due_at else "",
            "deadline": deadline.date().isoformat(),
            # The notice itself states the task, its due date, the days overdue, the level and what to do by
            # when: no facts or requirements that would say it all a second time.
            "legal_basis": ["《劳动保障监察条例》第十七条", "本局案件督办制度"],
        }, now, SYSTEM.username)
    connection.execute(_INSERT_ESCALATION, escalation)
    connection.execute(_CASE_CHANGED, {"case_id": case.id})
    next_level = level + 1
    if next_level in LEVEL_ROLES:
        key = f"escalation_level{next_level}_days"
        # Counted from when this level was due, or, after a scheduler outage of more than a day, from the day
        # before it was raised: the levels still come the rule's interval apart instead of all in one sweep.
        start = max(timer.fire_at, now - timedelta(days=1))
        connection.execute(_INSERT_TIMER, {
            "case_id": case.id, "kind": "task_due", "task_id": task.id, "spiff_task_id": None, "name": task.name,
            "level": next_level, "fire_at": calendar.working_days_after(start, int(values[key])),
        })
    audit.record(case, SYSTEM.username, "task_escalated",
                 {"task": task.name, "task_id": task.id, "level": level, "notified": told}, now)
    report.escalated.append(f"{case.number} {task.name} → level {level}")


# A timer that "loses a race" this many times in a row in this process is failing, not racing: a constraint the
# firing breaks every time reads like a concurrent insert, and would otherwise be retried quietly every sweep while
# its deadline never passes.
RACES_BEFORE_ERROR = 3
_lost_races: dict[int, int] = {}


def fire_timer(timer_id: int, now: datetime, worker: str, values: dict[str, Any], report: SweepReport) -> bool:
    """Claim and fire one timer in one transaction; False when another sweeper had it or the case moved on."""
    try:
        timer = _claim(timer_id, now, worker)
        if timer is None:
            db.session.rollback()
            _lost_races.pop(timer_id, None)
            report.skipped += 1
            return False
        if timer.kind == "bpmn":
            _fire_bpmn(timer, now, values, report)
        elif timer.kind == "task_due":
            _escalate(timer, now, values, report)
        db.session.commit()
        _lost_races.pop(timer_id, None)
        return True
    except Exception as exc:  # noqa: BLE001 - one broken case must not stop the sweep
        db.session.rollback()
        if lost_race(exc):  # a user changed the case at the same moment: the timer waits for the next sweep
            if len(_lost_races) > 10_000:  # timers cancelled after a lost race are never popped: keep it small
                _lost_races.clear()
            losses = _lost_races[timer_id] = _lost_races.get(timer_id, 0) + 1
            if losses < RACES_BEFORE_ERROR:
                report.skipped += 1
                log.info("timer %s left for the next sweep: %s", timer_id, type(exc).__name__)
                return False
            report.errors.append(f"timer {timer_id}: failed {losses} times in a row: {type(exc).__name__}: {exc}")
            log.error("timer %s failed %d times in a row", timer_id, losses, exc_info=exc)
            return False
        report.errors.append(f"timer {timer_id}: {type(exc).__name__}: {exc}")
        log.exception("timer %s failed", timer_id)
        return False


def sweep(now: datetime, *, batch: int = 500, worker: str = "sweeper", render_notices: bool = True,
          progress: Callable[[int, int], None] | None = None) -> SweepReport:
    """Fire every timer due at `now`, then render the notices waiting in the outbox."""
    report = SweepReport()
    values = rule_values()
    db.session.rollback()  # start from a clean transaction
    while True:
        ids = due_timer_ids(now, batch)
        db.session.rollback()
        if not ids:
            break
        handled = 0
        for i, timer_id in enumerate(ids, 1):
            handled += fire_timer(timer_id, now, worker, values, report)
            if progress:
                progress(len(report.fired) + len(report.escalated), len(report.fired) + len(report.escalated)
                         + len(ids) - i)
        if handled == 0:
            break  # everything left is someone else's or failing: do not spin
    if render_notices:
        report.notices_rendered = documents.render_pending(now)
    return report


def forecast(now: datetime, limit: int = 1000) -> list[dict[str, Any]]:
    """What a sweep at `now` would do, changing nothing (`flask sweep --dry-run`)."""
    rows = db.session.execute(
        select(Timer, Case.number).join(Case, Case.id == Timer.case_id)
        .where(Timer.status == "pending", Timer.fire_at <= now).order_by(Timer.fire_at).limit(limit)
    ).all()
    plan = []
    for timer, number in rows:
        action = f"fire {timer.name}" if timer.kind == "bpmn" else f"escalate {timer.name} to level {timer.level}"
        plan.append({"case": number, "fire_at": timer.fire_at, "action": action})
    return plan


# ---------------------------------------------------------------------------------------------------------------
# Resolution and reading.

def resolve_for_task(task_id: str, escalation_level: int, now: datetime) -> None:
    """The overdue task is done (or gone): its escalations resolve and their supervision tasks close. (Its pending
    deadline timers are cancelled by the projection, which sees the task is no longer ready.)"""
    if escalation_level == 0:  # raised with every escalation: 0 means there is none to resolve (most tasks)
        return
    for escalation in db.session.scalars(
        select(Escalation).where(Escalation.task_id == task_id, Escalation.status == "open")
    ):
        escalation.status = "resolved"
        escalation.resolved_at = now
        if escalation.supervision_task_id:
            supervision = db.session.get(Task, escalation.supervision_task_id)
            if supervision is not None and supervision.state == "open":
                supervision.state = "completed"
                supervision.completed_at = now
                supervision.completed_by = SYSTEM.username


def escalation_json(escalation: Escalation) -> dict[str, Any]:
    tz = calendar.get_timezone()
    return {
        "id": escalation.id, "case_number": escalation.case.number, "task_id": escalation.task_id,
        "task_name": escalation.task_name, "task_title": escalation.task_title, "region": escalation.region,
        "level": escalation.level, "status": escalation.status,
        "due_at": escalation.due_at.astimezone(tz).isoformat() if escalation.due_at else None,
        "opened_at": escalation.opened_at.astimezone(tz).isoformat(),
        "resolved_at": escalation.resolved_at.astimezone(tz).isoformat() if escalation.resolved_at else None,
        "notified": [x for x in escalation.notified.split(",") if x],
    }


def escalations_for_case(case: Case) -> list[Escalation]:
    return list(db.session.scalars(select(Escalation).where(Escalation.case_id == case.id).order_by(Escalation.id)))


def current_levels(actor: Actor, status: str | None = None):
    """The ids of each task's latest escalation in `actor`'s region: a task escalated to level 3 has three rows
    (one per level, for its history), but it is one escalation, at its current level. A task's rows resolve
    together (resolve_for_task), so the latest one carries the task's status."""
    E = Escalation
    query = select(func.max(E.id)).where(region_filter(E.region, actor)).group_by(E.task_id)
    return query.where(E.status == status) if status else query


def list_escalations(actor: Actor, *, status: str | None = None, page: int = 1,
                     per_page: int = 50) -> tuple[list[Escalation], int]:
    """Escalated tasks in `actor`'s region, each once at its current level (as the dashboard counts them), newest
    first; the case page's history keeps every level."""
    latest = current_levels(actor, status)
    total = db.session.scalar(select(func.count()).select_from(latest.subquery())) or 0
    query = select(Escalation).where(Escalation.id.in_(latest))
    # The case number comes in the same query (escalation_json shows it), without the case's workflow state.
    rows = db.session.scalars(query.options(joinedload(Escalation.case).load_only(Case.id, Case.number))
                              .order_by(Escalation.opened_at.desc(), Escalation.id.desc())
                              .offset((page - 1) * per_page).limit(per_page))
    return list(rows), total


SUPERVISION_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "title": "督办处理",
    "properties": {
        "action": {"type": "string", "title": "督办措施", "enum": ["urged", "reassigned", "reported"],
                   "x-enum-titles": {"urged": "已催办", "reassigned": "已改派", "reported": "已报告上级"}},
        "comment": {"type": "string", "title": "督办意见", "minLength": 1, "maxLength": 1000, "pattern": NOTE_PATTERN},
    },
    "required": ["action", "comment"],
    "additionalProperties": False,
}


def _complete_supervision(actor: Actor, task: Task, data: dict[str, Any], now: datetime) -> None:
    escalation = db.session.scalar(select(Escalation).where(Escalation.supervision_task_id == task.id))
    if escalation is not None and escalation.status == "open" and data["action"] == "reassigned":
        overdue = db.session.get(Task, escalation.task_id)
        if overdue is not None and overdue.state == "open":
            overdue.assignee_id = None  # back to the unassigned queue of the region


NON_WORKFLOW_TASKS[SUPERVISION_TASK] = (SUPERVISION_FORM, _complete_supervision)
TASK_CLOSED_HOOKS.append(resolve_for_task)
