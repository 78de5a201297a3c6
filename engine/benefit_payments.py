"""The monthly payment schedule of an approved benefit claim (`benefit_payments`): created on approval, paid
month by month by a periodic job that tells the workflow (signals) when paying starts and ends, and stopped by a
clerk with a reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import SignalEventDefinition
from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine import audit, calendar
from engine.actors import SYSTEM, Actor
from engine.clock import engine_context
from engine.db import UTCDateTime, db
from engine.errors import CaseChanged, Conflict, Forbidden
from engine.models import Case
from engine.sandbox import BPMN_HELPERS, money_str
from engine.scheduler import PERIODIC_JOBS
from engine.services._common import case_by_id, case_in_scope, rule_values, transactional
from engine.services.cases import load_workflow, project_case, write_case
from engine.summaries import money_text
from engine.text_patterns import NOTE_PATTERN
from engine.validation import DataInvalid

# 《失业保险条例》第十五条: why a clerk may stop payments.
STOP_REASONS = {
    "reemployed": "重新就业",
    "refused_work": "无正当理由拒不接受当地人民政府指定部门或者机构介绍的适当工作",
    "refused_training": "无正当理由拒不接受当地人民政府指定部门或者机构提供的培训",
    "other": "其他依法停止领取的情形",
}
STOP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "停止发放失业保险待遇",
    "properties": {
        "reason": {"type": "string", "title": "停发原因", "enum": list(STOP_REASONS),
                   "x-enum-titles": STOP_REASONS},
        "note": {"type": "string", "title": "说明", "minLength": 1, "maxLength": 500, "pattern": NOTE_PATTERN},
        "effective_on": {"type": "string", "title": "停发生效日期（默认今天）", "format": "date"},
    },
    "required": ["reason", "note"],
    "additionalProperties": False,
}
PAYING_STATUSES = ("approved", "paying")
STOPPING_ROLES = ("clerk", "supervisor")  # (and administrators: Actor.has_role)
TOTALS = ("scheduled", "paid", "cancelled")  # the amounts GET /cases/{number}/payments totals, by status


class BenefitPayment(db.Model):
    """One month of an approved claim's schedule: scheduled -> paid, or cancelled when payments stop; paid ->
    overpaid when payments stop with an effective date on or before the month's first day (to be recovered)."""

    __tablename__ = "benefit_payments"
    __table_args__ = (
        UniqueConstraint("case_id", "seq"),
        Index("ix_benefit_payments_due", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    region: Mapped[str] = mapped_column(String(12))
    seq: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    due_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    status: Mapped[str] = mapped_column(String(16), default="scheduled")  # scheduled|paid|cancelled|overpaid
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When and why payments stopped, for a cancelled month and for an overpaid one (which keeps its paid_at).
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)



def create_schedule(case: Case, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The monthly schedule from `payment_start` (the first of the unemployment registration's month; on claims of
    model versions before the registration date was asked, of the month after the decision); one bulk insert (no
    ORM objects: the fast track writes a schedule for every approved claim)."""
    start = date.fromisoformat(data["payment_start"])
    amount = Decimal(money_str(data["monthly_amount"]))
    rows = []
    for i in range(int(data["months"])):
        due = calendar.add_months(start, i)
        rows.append({"case_id": case.id, "region": case.region, "seq": i + 1, "period": due.strftime("%Y-%m"),
                     "due_on": due, "amount": amount, "status": "scheduled"})
    db.session.connection().execute(insert(BenefitPayment.__table__), rows)
    return rows


# ---------------------------------------------------------------------------------------------------------------
# Months granted on earlier claims: DOMAIN.md caps 失业补助金 at 6 months in total, so a person's later claim gets
# only what is left.

# Months that count as granted: paid, or still to pay. An overpaid month is to be recovered (the claimant was not
# entitled to it) and a cancelled one was never paid.
GRANTED_STATUSES = ("paid", "scheduled")


def months_granted(id_number: str, benefit_type: str, *, except_case_id: int | None = None) -> int:
    """Months of `benefit_type` the person with this ID number was granted on their benefit claims (all regions),
    from the claims' payment schedules."""
    from engine.benefits import PROCESS

    query = (select(BenefitPayment.case_id, func.count(BenefitPayment.id))
             .join(Case, BenefitPayment.case_id == Case.id)
             .where(Case.process == PROCESS, Case.subject_id_number == str(id_number).upper(),
                    BenefitPayment.status.in_(GRANTED_STATUSES))
             .group_by(BenefitPayment.case_id))
    if except_case_id is not None:
        query = query.where(Case.id != except_case_id)
    counts = dict(db.session.execute(query).all())
    if not counts:
        return 0
    # A person has a handful of claims: their type is read from each claim's summary (JSON, not grouped by).
    summaries = db.session.execute(select(Case.id, Case.summary).where(Case.id.in_(list(counts))))
    return sum(counts[case_id] for case_id, summary in summaries
               if (summary or {}).get("benefit_type") == benefit_type)


# For the benefit_claim model (lookup_rates): months of the temporary types granted on earlier claims.
BPMN_HELPERS["months_granted"] = lambda id_number, benefit_type: months_granted(id_number, benefit_type)


# ---------------------------------------------------------------------------------------------------------------
# Payments.

def payments_for_case(case: Case) -> list[BenefitPayment]:
    return list(db.session.scalars(
        select(BenefitPayment).where(BenefitPayment.case_id == case.id).order_by(BenefitPayment.seq)
    ))


def payment_json(row: BenefitPayment) -> dict[str, Any]:
    return {
        "seq": row.seq, "period": row.period, "due_on": row.due_on.isoformat(), "amount": money_text(row.amount),
        "status": row.status,
        "paid_at": row.paid_at.astimezone(calendar.get_timezone()).isoformat() if row.paid_at else None,
        "cancelled_at": (row.cancelled_at.astimezone(calendar.get_timezone()).isoformat()
                         if row.cancelled_at else None),
        "cancel_reason": row.cancel_reason,
    }


def _signal(case: Case, name: str, payload: dict[str, Any], now: datetime, by: str) -> None:
    """Tell the case's workflow that something happened to its payments (`by` whom), and project the result."""
    parsed, workflow = load_workflow(case)
    values = rule_values()
    with engine_context(now, values):
        workflow.send_event(BpmnEvent(SignalEventDefinition(name), payload=payload))
        workflow.do_engine_steps()
        project_case(case, workflow, parsed, now, values, by)


def totals(rows: list[BenefitPayment]) -> dict[str, str]:
    """The amounts of `rows` by status (TOTALS): still to pay (`scheduled`), `paid` (the overpaid months apart:
    they are to be recovered, see `overpaid`) and `cancelled`."""
    return {status: money_str(sum((r.amount for r in rows if r.status == status), Decimal())) for status in TOTALS}


def may_stop(actor: Actor, case: Case | None = None) -> bool:
    """Whether `stop_payments` would let `actor` stop payments: their roles, and for `case` also whether it is a
    benefit claim still being paid. For pages, to offer the stop form only when it can succeed."""
    from engine.benefits import PROCESS

    if not any(actor.has_role(role) for role in STOPPING_ROLES):
        return False
    return case is None or (case.process == PROCESS and case.status in PAYING_STATUSES)


def overpaid(rows: list[BenefitPayment]) -> tuple[list[str], str]:
    """The periods of `rows` marked overpaid and their total, to be recovered from the claimant."""
    marked = [r for r in rows if r.status == "overpaid"]
    return [r.period for r in marked], money_str(sum((r.amount for r in marked), Decimal()))


@transactional
def stop_payments(actor: Actor, number: str, data: Any, now: datetime, case_version: int | None = None) -> Case:
    """A clerk stops an approved claim's payments (《失业保险条例》第十五条): months that began before the effective
    date and are not yet paid are paid with the stop, the remaining months are cancelled,
    months already paid for periods that begin on or after the effective date are marked overpaid (to be
    recovered; listed in the audit event and the case summary), and the claim ends as `stopped`. `case_version`
    (the case page's form gives it): the version the clerk saw, so that a month paid or a stop made since is
    reported as a change to reload instead of being stopped unseen."""
    from engine.benefits import PROCESS
    from engine.validation import validate

    case = case_in_scope(actor, number)
    if case.process != PROCESS:
        raise Conflict(f"案件 {number} 不是失业保险待遇申请")
    if not may_stop(actor):
        raise Forbidden("只有失业保险经办人员或主管可以停发待遇")
    if case_version is not None and case.version != case_version:
        raise CaseChanged(f"案件已被他人修改（当前版本 {case.version}），请刷新后重试")
    validate(STOP_SCHEMA, data)
    if case.status not in PAYING_STATUSES:
        raise Conflict(f"案件状态为 {case.status}，没有可停发的待遇")
    effective = date.fromisoformat(data["effective_on"]) if data.get("effective_on") else calendar.local_date(now)
    if effective > calendar.local_date(now):
        raise DataInvalid({"effective_on": "停发生效日期不能晚于今天"})
    received = (case.summary or {}).get("received_at")
    if received and effective < calendar.local_date(datetime.fromisoformat(received)):
        # Before the claim there was nothing to stop; a stop from its first month already marks every paid month.
        raise DataInvalid({"effective_on": f"停发生效日期不能早于申领日期（{received[:10]}）"})
    reason_text = f"{STOP_REASONS[data['reason']]}：{data['note'].strip()}"[:500]  # the column's length
    rows = payments_for_case(case)
    cancelled, settled = 0, []
    for row in rows:
        if row.status == "scheduled" and row.due_on < effective:
            # A month that began before the stop is still owed, paid with the stop rather than cancelled (QA: a
            # claim paid from its registration month can have such months no payment run has reached yet).
            row.status, row.paid_at = "paid", now
            settled.append(row.period)
        elif row.status == "scheduled":
            # Every later month not yet paid is cancelled.
            row.status, row.cancelled_at, row.cancel_reason = "cancelled", now, reason_text
            cancelled += 1
        elif row.status == "paid" and row.due_on >= effective:
            # Paid in advance on its first day for a month the claimant was no longer entitled to: recovered, so
            # never paid again nor counted as paid. A month that began before the effective date stays paid.
            row.status, row.cancelled_at, row.cancel_reason = "overpaid", now, reason_text
    periods, amount = overpaid(rows)
    audit.record(case, actor.username, "payments_stopped",
                 {"reason": data["reason"], "note": data["note"], "effective_on": effective.isoformat(),
                  "cancelled_months": cancelled, "paid_periods": settled, "overpaid_periods": periods,
                  "overpaid_amount": amount}, now)
    _signal(case, "payments_stopped", {"reason": data["reason"], "note": data["note"].strip(),
                                       "effective_on": effective.isoformat(), "by": actor.username,
                                       "overpaid_periods": periods, "overpaid_amount": amount}, now,
            actor.username)
    return case


def _pay_case(case_id: int, today: date, now: datetime) -> int:
    case = case_by_id(case_id)
    if case is None or case.status not in PAYING_STATUSES:
        return 0
    rows = payments_for_case(case)
    due = [r for r in rows if r.status == "scheduled" and r.due_on <= today]
    for row in due:
        row.status, row.paid_at = "paid", now
    if due:
        # The case row is written (its version moves) even when its status stays: a clerk stopping payments at the
        # same moment then conflicts with this run instead of cancelling a month this run has just paid.
        write_case(case, {})
        total = money_text(sum((r.amount for r in due), Decimal()))
        audit.record(case, SYSTEM.username, "payments_made", {"periods": [r.period for r in due], "amount": total},
                     now)
    if case.status == "approved" and any(r.status == "paid" for r in rows):
        _signal(case, "payments_started", {"first_period": rows[0].period}, now, SYSTEM.username)
    if case.status == "paying" and not any(r.status == "scheduled" for r in rows):
        _signal(case, "payments_finished", {"last_period": rows[-1].period}, now, SYSTEM.username)
    return len(due)


@dataclass
class PaymentRun:
    paid: int
    cases: int
    errors: list[str]


def run_payments(now: datetime, limit: int = 1000) -> PaymentRun:
    """Pay every scheduled month due by today and move the claims on (paying / closed); each claim in its own
    transaction, so one failure never holds back the others. Idempotent: paid months are never paid twice."""
    today = calendar.local_date(now)
    case_ids = list(db.session.scalars(
        select(BenefitPayment.case_id).where(BenefitPayment.status == "scheduled", BenefitPayment.due_on <= today)
        .group_by(BenefitPayment.case_id).order_by(BenefitPayment.case_id).limit(limit)
    ))
    db.session.commit()
    paid, cases, errors = 0, 0, []

    pay_case = transactional(_pay_case)
    for case_id in case_ids:
        for attempt in (1, 2):
            try:
                paid += pay_case(case_id, today, now)
                cases += 1
                break
            except Conflict as exc:
                # Another scheduler's run (or a clerk's stop) wrote the claim first: read it again, and pay only
                # what that left due. A claim taken by another run is not an error to report.
                if attempt == 2:
                    errors.append(f"case {case_id}: {type(exc).__name__}: {exc}")
            except Exception as exc:  # noqa: BLE001 - reported, retried on the next run
                errors.append(f"case {case_id}: {type(exc).__name__}: {exc}")
                break
    return PaymentRun(paid, cases, errors)


PERIODIC_JOBS["benefit_payments"] = run_payments

