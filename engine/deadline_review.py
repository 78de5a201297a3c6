"""Stored deadlines after a holiday file is loaded (engine/holidays/README.md).

Until a year's official holiday file is loaded, deadlines reaching that year are counted Monday–Friday, and they are
stored: a task's due time, the workflow's timers, the case's due date. Loading the file later does not change them.
`reconcile(now)` runs after the files load (the scheduler's first sweep in each process, `flask holidays check`):

- A deadline is checked by computing it again from what it was computed from, once under the calendar now loaded
  and once under the calendar as it was before the file (the loaded days of the file's years left out: Monday–Friday,
  or chinese_calendar for a year it knows). It is stale when the stored value is what the old calendar gives and not
  what the loaded one gives. Both conditions matter: a value neither gives was computed from another input (a rule
  value changed since), not from the missing holidays, and is left alone.
- Internal deadlines — a user task's due time (tasks.due_at, its `task_due` timer, the case's due date when it is
  the most urgent task's) — are corrected, with an audit event per case saying what moved and why. Only tasks not
  yet escalated: an escalation already raised was told to people and stays.
- Deadlines a notice states or the legal clock sets — the workflow's timers in wage arrears (payment and
  compensation deadlines, the penalty defence period, the wage-deposit wait, the case clock) and the case's
  conclusion date — are not moved: the party was told that date, and a bureau must re-decide it. They are listed in
  `deadline_reviews` for supervisors (the banner, `flask holidays check`, /api/v1/health).

A listed deadline counts as reviewed once the stored value it was listed for is gone: its timer fired, was cancelled
or moved (the case went past it, or the deadline was decided again), or for the conclusion date, the case was closed
or its due date changed (an extension). Nothing else has to be recorded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint, and_, func, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from engine import audit, calendar, processes
from engine.actors import Actor, region_filter
from engine.db import UTCDateTime, db
from engine.models import Case, Task, Timer
from engine.rules import RULES
from engine.stated_deadlines import CASE_DUE, STATED_TIMERS, stale

log = logging.getLogger(__name__)

AUDIT_KIND = "deadlines_recalculated"
REASON = "holiday_file_loaded"


class DeadlineReview(db.Model):
    """A stated deadline computed before its year's holiday file was loaded, which the loaded calendar puts on
    another day: listed for a bureau to review (it is not moved). Open while the stored value is still in force."""

    __tablename__ = "deadline_reviews"
    __table_args__ = (UniqueConstraint("case_id", "name", "stored_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    # The model's timer (its BPMN id, e.g. payment_deadline) or "case_due" for the case's conclusion date.
    name: Mapped[str] = mapped_column(String(64))
    # The pending timer row holding the stored value; null for the case's conclusion date (cases.due_at).
    timer_id: Mapped[int | None] = mapped_column(ForeignKey("timers.id"), nullable=True)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime)
    correct_at: Mapped[datetime] = mapped_column(UTCDateTime)
    listed_at: Mapped[datetime] = mapped_column(UTCDateTime)




# --------------------------------------------------------------------------------------------------- reconcile


@dataclass
class Report:
    corrected: list[str] = field(default_factory=list)  # "WA-... investigate 2027-02-08 → 2027-02-15"
    listed: int = 0  # stated deadlines newly listed for review


def _first_affected() -> datetime | None:
    years = calendar.override_years()
    if not years:
        return None
    return datetime.combine(date(min(years), 1, 1), datetime.min.time(), tzinfo=calendar.get_timezone())


def reconcile(now: datetime) -> Report:
    """Correct the internal deadlines and list the stated ones the loaded holiday files changed; one transaction,
    committed here. Safe to run in several processes at once (a lost race is retried once: the winner's work is
    then found done)."""
    from engine.services._common import lost_race

    for attempt in (1, 2):
        try:
            report = _reconcile(now)
            db.session.commit()
            return report
        except Exception as exc:
            db.session.rollback()
            if attempt == 2 or not lost_race(exc):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _reconcile(now: datetime) -> Report:
    from engine.services._common import rule_values

    report = Report()
    since = _first_affected()
    if since is None:
        return report
    values = rule_values()
    _correct_tasks(since, values, now, report)
    _list_stated(since, values, now, report)
    return report


def _correct_tasks(since: datetime, values: dict[str, Any], now: datetime, report: Report) -> None:
    from engine.services.cases import NON_WORKFLOW_TASKS, _working_days_used, write_case

    rows = db.session.scalars(
        select(Task).where(Task.state == "open", Task.due_at >= since, Task.due_rule.is_not(None),
                           Task.escalation_level == 0).order_by(Task.case_id, Task.created_at)).all()
    moves: dict[int, list[tuple[Task, datetime, datetime]]] = {}
    for task in rows:
        rule = RULES.get(task.due_rule or "")
        if rule is None or rule.unit == "days" or task.name in NON_WORKFLOW_TASKS:
            continue  # calendar days do not depend on holidays
        case = db.session.get(Case, task.case_id)
        parsed = processes.parsed_by_id(case.process_version_id)
        pauses = any(m.name == task.name and m.due_clock_pauses for m in parsed.user_tasks.values())
        used = _working_days_used(case.id, task.name) if pauses else 0
        days = max(int(values[task.due_rule]) - used, 0)
        correct = stale(task.due_at, lambda c, t=task, n=days: c.after(t.created_at, n), task.created_at)
        if correct is not None:
            moves.setdefault(case.id, []).append((task, task.due_at, correct))

    for case_id, moved in moves.items():
        case = db.session.get(Case, case_id)
        detail: dict[str, Any] = {"reason": REASON, "tasks": []}
        for task, old, new in moved:
            db.session.execute(update(Task).where(Task.id == task.id).values(due_at=new))
            db.session.execute(update(Timer).where(Timer.task_id == task.id, Timer.kind == "task_due",
                                                   Timer.status == "pending", Timer.level == 1).values(fire_at=new))
            detail["tasks"].append({"task": task.name, "from": old.isoformat(), "to": new.isoformat()})
            report.corrected.append(f"{case.number} {task.name} {calendar.local_date(old)} → "
                                    f"{calendar.local_date(new)}")
        changes: dict[str, Any] = {}
        if not (case.summary or {}).get("case_due_at"):  # the case's due date is its most urgent task's
            db.session.flush()
            due = db.session.scalar(select(func.min(Task.due_at)).where(
                Task.case_id == case.id, Task.state == "open", Task.name.not_in(list(NON_WORKFLOW_TASKS) or [""])))
            if due != case.due_at:
                detail["case_due_at"] = {"from": case.due_at.isoformat() if case.due_at else None,
                                         "to": due.isoformat() if due else None}
                changes["due_at"] = due
        write_case(case, changes)  # the version moves: a concurrent step or reconcile is a conflict
        audit.record(case, "system", AUDIT_KIND, detail, now)


def _workflow_data(case: Case) -> dict[str, Any]:
    from engine.services.cases import load_workflow, runtime

    _, workflow = load_workflow(case)
    return dict(runtime.inspect(workflow).data)


def _list_stated(since: datetime, values: dict[str, Any], now: datetime, report: Report) -> None:
    candidates: dict[int, list[Timer]] = {}
    for timer in db.session.scalars(select(Timer).where(Timer.kind == "bpmn", Timer.status == "pending",
                                                        Timer.fire_at >= since)):
        candidates.setdefault(timer.case_id, []).append(timer)
    open_cases = select(Case.id).where(Case.closed_at.is_(None), Case.due_at >= since,
                                       Case.process.in_(list(STATED_TIMERS)))
    for case_id in db.session.scalars(open_cases):
        candidates.setdefault(case_id, [])
    known = {(r.case_id, r.name, r.stored_at) for r in db.session.scalars(
        select(DeadlineReview).where(DeadlineReview.case_id.in_(list(candidates) or [0])))}
    for case_id, timers in sorted(candidates.items()):
        case = db.session.get(Case, case_id)
        specs = STATED_TIMERS.get(case.process)
        if not specs or case.closed_at is not None:
            continue
        data = None
        stored: list[tuple[str, int | None, datetime]] = [(t.name, t.id, t.fire_at) for t in timers
                                                          if t.name in specs]
        if CASE_DUE in specs and case.due_at is not None and case.due_at >= since:
            stored.append((CASE_DUE, None, case.due_at))
        for name, timer_id, value in stored:
            if (case.id, name, value) in known:
                continue
            if data is None:
                data = _workflow_data(case)
                data["_order_issued_at"] = _order_issued_at(case)
            start_key, compute = specs[name]
            if not data.get(start_key):
                continue
            try:
                started = datetime.fromisoformat(data[start_key])
                correct = stale(value, lambda c, f=compute, d=data: f(d, values, c), started)
            except (KeyError, TypeError, ValueError):
                log.exception("deadline %s of %s could not be recomputed", name, case.number)
                continue
            if correct is not None:
                db.session.add(DeadlineReview(case_id=case.id, name=name, timer_id=timer_id, stored_at=value,
                                              correct_at=correct, listed_at=now))
                report.listed += 1


def _order_issued_at(case: Case) -> str | None:
    """When the rectification order was issued: its task's completion (the step that set payment_due_at)."""
    issued = db.session.scalar(select(func.max(Task.completed_at)).where(
        Task.case_id == case.id, Task.name == "issue_order", Task.state == "completed"))
    return issued.isoformat() if issued else None


# --------------------------------------------------------------------------------------------------- reading


def _open_condition():
    return or_(
        and_(DeadlineReview.timer_id.is_not(None), Timer.status == "pending",
             Timer.fire_at == DeadlineReview.stored_at),
        and_(DeadlineReview.timer_id.is_(None), Case.closed_at.is_(None), Case.due_at == DeadlineReview.stored_at),
    )


def _open_query(columns, actor: Actor | None):
    query = (select(*columns).select_from(DeadlineReview)
             .join(Case, Case.id == DeadlineReview.case_id)
             .outerjoin(Timer, Timer.id == DeadlineReview.timer_id)
             .where(_open_condition()))
    if actor is not None:
        query = query.where(region_filter(Case.region, actor))
    return query


def count_to_review(actor: Actor | None = None) -> int:
    """How many listed deadlines still stand (within the actor's region, when given)."""
    return db.session.scalar(_open_query([func.count(DeadlineReview.id)], actor)) or 0


@dataclass(frozen=True)
class ToReview:
    case_number: str
    name: str
    stored_at: datetime
    correct_at: datetime


def to_review(actor: Actor | None = None) -> list[ToReview]:
    rows = db.session.execute(_open_query([Case.number, DeadlineReview.name, DeadlineReview.stored_at,
                                           DeadlineReview.correct_at], actor)
                              .order_by(DeadlineReview.stored_at, Case.number))
    return [ToReview(*row) for row in rows]


# --------------------------------------------------------------------------------------------------- scheduler

_reconciled: list[tuple] = []


def reconcile_job(now: datetime) -> None:
    """After each process's start (and whenever its loaded holiday days change): reconcile once."""
    fingerprint = tuple(calendar.loaded_days())
    if _reconciled and _reconciled[0] == fingerprint:
        return
    report = reconcile(now)
    _reconciled[:] = [fingerprint]
    if report.corrected or report.listed:
        log.warning("holiday files: %d task deadlines corrected, %d stated deadlines listed for review",
                    len(report.corrected), report.listed)


def _register() -> None:
    from engine.scheduler import PERIODIC_JOBS

    PERIODIC_JOBS["holiday_deadlines"] = reconcile_job


_register()
