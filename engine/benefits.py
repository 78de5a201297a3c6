"""Fast-track unemployment benefit claims (process `benefit_claim`).

The decision itself lives in bpmn/benefit_claim/ (three DMN tables and the script tasks around them); this module
holds what the model needs from the database and what follows a decision:

* regional rates with effective dates (`benefit_rates`), loaded from CSV, looked up by the model through the
  `benefit_rates(region, separation_date)` helper, so a decision uses the rates in force on the separation date;
* the one-open-claim-per-person check and the intake checks a JSON Schema cannot express;
* the decision letters (approval / refusal), issued through the notice outbox when the status changes;
* the monthly payment schedule (`benefit_payments`): created on approval, paid month by month by a periodic job
  that tells the workflow (signals) when paying starts and ends, and stopped by a clerk with a reason.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
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
    and_,
    bindparam,
    insert,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine import audit, calendar
from engine.actors import SYSTEM, Actor
from engine.db import UTCDateTime, db
from engine.documents import issue_notice
from engine.errors import Conflict, Forbidden
from engine.models import Case, Task
from engine.runtime import BPMN_HELPERS, engine_context, rule_value
from engine.services._common import case_in_scope, rule_values, transactional
from engine.services.cases import OPEN_CASE_CHECKS, STATUS_HOOKS, load_workflow, project_case, runtime
from engine.summaries import Projection, mask_id_number, summarizer
from engine.validation import REGION_RE, DataInvalid

PROCESS = "benefit_claim"

BENEFIT_TITLES = {
    "unemployment_benefit": "失业保险金",
    "unemployment_subsidy": "失业补助金",
    "temporary_living_allowance": "临时生活补助",
    "not_eligible": "不符合领取条件",
}
# Legal basis printed in the letters, per benefit type.
_EXPANSION_NOTICE = "《人力资源社会保障部 财政部关于扩大失业保险保障范围的通知》（人社部发〔2020〕40号）"
LEGAL_BASIS = {
    "unemployment_benefit": ["《失业保险条例》第十四条、第十七条、第十八条", "《失业保险金申领发放办法》"],
    "unemployment_subsidy": [_EXPANSION_NOTICE],
    "temporary_living_allowance": [_EXPANSION_NOTICE],
    "not_eligible": ["《失业保险条例》第十四条", _EXPANSION_NOTICE],
}
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
        "note": {"type": "string", "title": "说明", "minLength": 1, "maxLength": 500, "pattern": "\\S"},
        "effective_on": {"type": "string", "title": "停发生效日期（默认今天）", "format": "date"},
    },
    "required": ["reason", "note"],
    "additionalProperties": False,
}
PAYING_STATUSES = ("approved", "paying")
CENT = Decimal("0.01")


# ---------------------------------------------------------------------------------------------------------------
# Tables.

class BenefitRate(db.Model):
    """A region's figures from a date on: minimum wage, benefit rate (blank = the rule's percentage of the
    minimum wage) and subsistence (低保) rate."""

    __tablename__ = "benefit_rates"
    __table_args__ = (UniqueConstraint("region", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = mapped_column(String(12))
    effective_from: Mapped[date] = mapped_column(Date)
    minimum_wage: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    benefit_rate: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), nullable=True)
    subsistence_rate: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    note: Mapped[str] = mapped_column(String(200), default="")
    imported_by: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BenefitPayment(db.Model):
    """One month of an approved claim's schedule: scheduled -> paid, or cancelled when payments stop."""

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
    status: Mapped[str] = mapped_column(String(16), default="scheduled")  # scheduled | paid | cancelled
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)


# One open claim per person, also under a race between two clerks: a partial unique index on the case rows.
Index(
    "ux_cases_open_benefit_claim", Case.__table__.c.subject_id_number, unique=True,
    sqlite_where=and_(Case.__table__.c.process == PROCESS, Case.__table__.c.closed_at.is_(None)),
    postgresql_where=and_(Case.__table__.c.process == PROCESS, Case.__table__.c.closed_at.is_(None)),
)


# ---------------------------------------------------------------------------------------------------------------
# Rates.

def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _candidates(region: str) -> list[str]:
    """The region itself, then its prefecture, then its province: the most specific rate wins."""
    out = []
    for code in (region, region[:4] + "00", region[:2] + "0000"):
        if code not in out:
            out.append(code)
    return out


_BUILT: dict[str, Any] = {}  # statements built once (building one costs more than running it)


def _rates_query():
    query = _BUILT.get("rates")
    if query is None:
        query = _BUILT["rates"] = (
            select(BenefitRate).where(BenefitRate.region.in_(bindparam("regions", expanding=True)),
                                      BenefitRate.effective_from <= bindparam("on"))
            .order_by(BenefitRate.effective_from.desc())
        )
    return query


def rate_in_force(region: str, on: date) -> BenefitRate | None:
    """The latest rates effective on `on` of the most specific region that has any (county, prefecture,
    province)."""
    rows = db.session.scalars(_rates_query(), {"regions": _candidates(region), "on": on}).all()
    for code in _candidates(region):
        for row in rows:
            if row.region == code:
                return row
    return None


def rate_facts(row: BenefitRate, percent: int | Decimal | None = None) -> dict[str, str]:
    """What a decision records of the rates it used (strings: money never becomes a float)."""
    if row.benefit_rate is not None:
        benefit, basis = row.benefit_rate, f"地区公布的失业保险金标准 {_money(row.benefit_rate)} 元/月"
    else:
        pct = Decimal(str(percent if percent is not None else rule_value("benefit_rate_percent")))
        benefit = row.minimum_wage * pct / 100
        basis = f"最低工资 {_money(row.minimum_wage)} 元/月 × {pct}%"
    return {
        "region": row.region,
        "effective_from": row.effective_from.isoformat(),
        "minimum_wage": _money(row.minimum_wage),
        "benefit_rate": _money(benefit),
        "benefit_rate_basis": basis,
        "subsistence_rate": _money(row.subsistence_rate),
    }


def _helper_benefit_rates(region: str, separation_date: str) -> dict[str, str] | None:
    row = rate_in_force(str(region), date.fromisoformat(str(separation_date)[:10]))
    return rate_facts(row) if row is not None else None


def _helper_days_between(start: str, end: str) -> int:
    """Calendar days from the date of `start` to the (Beijing) date of `end`."""
    first = date.fromisoformat(str(start)[:10])
    last = datetime.fromisoformat(str(end))
    if last.tzinfo is not None:
        last = last.astimezone(calendar.get_timezone())
    return (last.date() - first).days


def _register_helpers() -> None:
    # The runtime's sandbox reads its helpers from its environment's globals, built when the runtime was made.
    helpers = {"benefit_rates": _helper_benefit_rates, "days_between": _helper_days_between}
    BPMN_HELPERS.update(helpers)
    runtime.script_engine.environment.globals.update(helpers)


_register_helpers()

RATE_COLUMNS = ("region", "effective_from", "minimum_wage", "benefit_rate", "subsistence_rate", "note")


def _parse_money(text: str, where: str, errors: dict[str, str], *, optional: bool = False) -> Decimal | None:
    text = (text or "").strip()
    if not text:
        if not optional:
            errors[where] = "必填"
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        errors[where] = "金额须为数字，如 1500.00"
        return None
    if not value.is_finite() or value <= 0 or value != value.quantize(CENT):
        errors[where] = "金额须为正数，最多两位小数"
        return None
    return value


@dataclass
class ImportResult:
    created: int
    updated: int


def import_rates(text: str, actor_name: str, now: datetime) -> ImportResult:
    """Load rates from CSV text (header: region,effective_from,minimum_wage,benefit_rate,subsistence_rate[,note]).

    All or nothing: any bad cell raises DataInvalid naming `line N.column`; a (region, effective_from) already
    loaded is updated. Does not commit."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in RATE_COLUMNS[:5] if c not in header]
    if missing:
        raise DataInvalid({"header": "缺少列：" + ", ".join(missing)}, "CSV 表头不正确")
    errors: dict[str, str] = {}
    parsed: dict[tuple[str, date], dict[str, Any]] = {}
    for line_no, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        where = f"line {line_no}"
        region = row.get("region", "")
        if not REGION_RE.match(region):
            errors[f"{where}.region"] = "行政区划代码须为6位数字"
        try:
            effective = date.fromisoformat(row.get("effective_from", ""))
        except ValueError:
            errors[f"{where}.effective_from"] = "日期格式须为 YYYY-MM-DD"
            effective = None
        minimum = _parse_money(row.get("minimum_wage", ""), f"{where}.minimum_wage", errors)
        benefit = _parse_money(row.get("benefit_rate", ""), f"{where}.benefit_rate", errors, optional=True)
        subsistence = _parse_money(row.get("subsistence_rate", ""), f"{where}.subsistence_rate", errors)
        if minimum is not None and benefit is not None and benefit > minimum:
            errors[f"{where}.benefit_rate"] = "失业保险金标准不得高于最低工资标准（《失业保险条例》第十八条）"
        if effective is not None and (region, effective) in parsed:
            errors[f"{where}.effective_from"] = "同一地区同一生效日期重复"
        if effective is not None and REGION_RE.match(region):
            parsed[(region, effective)] = {"minimum_wage": minimum, "benefit_rate": benefit,
                                           "subsistence_rate": subsistence, "note": row.get("note", "")[:200]}
    if errors:
        raise DataInvalid(errors, "CSV 数据有误，未导入任何一行")
    if not parsed:
        raise DataInvalid({"file": "没有数据行"})
    created = updated = 0
    for (region, effective), values in parsed.items():
        row = db.session.scalar(
            select(BenefitRate).where(BenefitRate.region == region, BenefitRate.effective_from == effective)
        )
        if row is None:
            row = BenefitRate(region=region, effective_from=effective)
            db.session.add(row)
            created += 1
        else:
            updated += 1
        row.minimum_wage = values["minimum_wage"]
        row.benefit_rate = values["benefit_rate"]
        row.subsistence_rate = values["subsistence_rate"]
        row.note = values["note"]
        row.imported_by = actor_name
        row.imported_at = now
    db.session.flush()
    return ImportResult(created, updated)


def list_rates(region: str | None = None) -> list[BenefitRate]:
    query = select(BenefitRate).order_by(BenefitRate.region, BenefitRate.effective_from)
    if region:
        query = query.where(BenefitRate.region.in_(_candidates(region)) | BenefitRate.region.like(region + "%"))
    return list(db.session.scalars(query))


def rate_json(row: BenefitRate) -> dict[str, Any]:
    facts = rate_facts(row)
    return {
        "id": row.id, "region": row.region, "effective_from": facts["effective_from"],
        "minimum_wage": facts["minimum_wage"],
        "benefit_rate": _money(row.benefit_rate) if row.benefit_rate is not None else None,
        "benefit_rate_in_effect": facts["benefit_rate"], "benefit_rate_basis": facts["benefit_rate_basis"],
        "subsistence_rate": facts["subsistence_rate"], "note": row.note,
    }


# ---------------------------------------------------------------------------------------------------------------
# Opening a claim.

def _local_today(now: datetime) -> date:
    return now.astimezone(calendar.get_timezone()).date()


def _check_open(case: Case, data: dict[str, Any], parsed, now: datetime) -> None:
    separation = date.fromisoformat(data["separation_date"])
    id_number = data["claimant"]["id_number"]
    birth = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    if separation > _local_today(now):
        raise DataInvalid({"separation_date": "离职日期不能晚于今天"})
    if separation.year - birth.year - ((separation.month, separation.day) < (birth.month, birth.day)) < 16:
        raise DataInvalid({"separation_date": "离职日期早于申领人年满16周岁（按身份证号码中的出生日期）"})
    query = _BUILT.get("open_claim")
    if query is None:
        query = _BUILT["open_claim"] = select(Case.number).where(
            Case.process == PROCESS, Case.subject_id_number == bindparam("id_number"), Case.closed_at.is_(None),
            Case.id != bindparam("case_id"))
    other = db.session.scalar(query, {"id_number": id_number, "case_id": case.id})
    if other is not None:
        raise Conflict(f"该申领人已有未办结的失业保险待遇申请 {other}，不能重复申领")


OPEN_CASE_CHECKS.setdefault(PROCESS, []).append(_check_open)


# ---------------------------------------------------------------------------------------------------------------
# What the case row shows.

def explain(data: dict[str, Any]) -> dict[str, Any] | None:
    """The `rule` of the API: which row of which table applied, with the inputs it saw."""
    decision = data.get("decision_rule")
    if not decision:
        return None
    return {
        "decision": decision.get("decision"),
        "id": decision.get("id"),
        "description": decision.get("annotation"),
        "refusal_condition": decision.get("refusal_condition") or None,
        "months": decision.get("months"),
        "amount": decision.get("amount"),
        "inputs": data.get("rule_inputs"),
        "text": rule_text(data),
    }


def rule_text(data: dict[str, Any]) -> str:
    """One sentence citing the rows that applied, for the case page and the letter."""
    decision = data.get("decision_rule") or {}
    parts = []
    if decision.get("id"):
        parts.append(f"资格认定规则 {decision['id']}（{decision.get('annotation')}）")
    months = decision.get("months") or {}
    if months.get("id") and data.get("benefit_type") not in (None, "not_eligible"):
        parts.append(f"期限规则 {months['id']}（{months.get('annotation')}）")
    amount = decision.get("amount") or {}
    if amount.get("id") and data.get("benefit_type") not in (None, "not_eligible"):
        parts.append(f"标准规则 {amount['id']}（{amount.get('annotation')}）")
    inputs = data.get("rule_inputs") or {}
    if inputs:
        parts.append(
            f"输入：累计缴费{inputs.get('contribution_months')}个月，已领取{inputs.get('months_already_drawn')}个月，"
            f"{'非因本人意愿' if inputs.get('separation_reason') == 'involuntary' else '因本人意愿'}离职，"
            f"{'农村' if inputs.get('household') == 'rural' else '城镇'}户籍，"
            f"{'已' if inputs.get('registered_unemployed') else '未'}办理失业登记，"
            f"{'有' if inputs.get('seeking_work') else '无'}求职要求"
        )
        rates = inputs.get("rates")
        if rates:
            parts.append(f"离职日期 {inputs.get('separation_date')} 适用 {rates['region']} "
                         f"自 {rates['effective_from']} 起执行的标准（{rates['benefit_rate_basis']}；"
                         f"低保标准 {rates['subsistence_rate']} 元/月）")
    return "；".join(str(p) for p in parts)


@summarizer(PROCESS)
def _summarize(data: dict[str, Any]) -> Projection:
    claimant = data.get("claimant") or {}
    summary = {
        "claimant_name": claimant.get("name"),
        "claimant_id_number": mask_id_number(claimant.get("id_number")),
        "household": claimant.get("household"),
        "last_employer": data.get("last_employer"),
        "separation_date": data.get("separation_date"),
        "separation_reason": data.get("separation_reason"),
        "contribution_months": data.get("contribution_months"),
        "months_already_drawn": data.get("months_already_drawn"),
        "registered_unemployed": data.get("registered_unemployed"),
        "seeking_work": data.get("seeking_work"),
        "received_at": data.get("received_at"),
        "benefit_type": data.get("benefit_type"),
        "suggested_type": data.get("suggested_type"),
        "months": data.get("months"),
        "monthly_amount": data.get("monthly_amount"),
        "total_amount": data.get("total_amount"),
        "decided_by": data.get("decided_by"),
        "decided_at": data.get("decided_at"),
        "rule": explain(data),
        "review_reasons": data.get("review_reasons") or [],
        "review_reason": data.get("review_reason"),
        "approval_comment": data.get("comment"),
        "payment_start": data.get("payment_start"),
        "stop_reason": data.get("stop_reason"),
        "stop_note": data.get("stop_note"),
    }
    text = " ".join(str(x) for x in (claimant.get("name"), data.get("last_employer")) if x).lower()
    return Projection(summary=summary, search_text=text, subject_id_number=claimant.get("id_number"))


# ---------------------------------------------------------------------------------------------------------------
# Letters and the payment schedule, when the status changes.

def _add_months(first: date, n: int) -> date:
    month = first.month - 1 + n
    return date(first.year + month // 12, month % 12 + 1, 1)


def _period_title(day: date) -> str:
    return f"{day.year}年{day.month}月"


def _decider(case: Case, data: dict[str, Any]) -> str:
    if data.get("decided_by") == "rules":
        return "system"
    last = db.session.scalar(
        select(Task.completed_by).where(Task.case_id == case.id, Task.state == "completed")
        .order_by(Task.completed_at.desc())
    )
    return last or "system"


def _facts_paragraph(data: dict[str, Any]) -> str:
    received = (data.get("received_at") or "")[:10]
    reason = "非因本人意愿中断就业" if data.get("separation_reason") == "involuntary" else "因本人意愿中断就业"
    return (f"你于{received}申请失业保险待遇。经查，你于{data.get('separation_date')}与{data.get('last_employer')}"
            f"终止或解除劳动关系（{reason}），累计缴纳失业保险费{data.get('contribution_months')}个月，"
            f"已领取失业保险金{data.get('months_already_drawn')}个月，"
            f"{'已' if data.get('registered_unemployed') else '未'}办理失业登记，"
            f"{'有' if data.get('seeking_work') else '无'}求职要求。")


def _create_schedule(case: Case, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The monthly schedule from the first of the month after the decision; one bulk insert (no ORM objects:
    the fast track writes a schedule for every approved claim)."""
    start = date.fromisoformat(data["payment_start"])
    amount = Decimal(data["monthly_amount"]).quantize(CENT)
    rows = []
    for i in range(int(data["months"])):
        due = _add_months(start, i)
        rows.append({"case_id": case.id, "region": case.region, "seq": i + 1, "period": due.strftime("%Y-%m"),
                     "due_on": due, "amount": amount, "status": "scheduled"})
    db.session.connection().execute(insert(BenefitPayment.__table__), rows)
    return rows


def _on_status(case: Case, before: str, data: dict[str, Any], now: datetime) -> None:
    if case.process != PROCESS:
        return
    name = (data.get("claimant") or {}).get("name") or "申领人"
    benefit_type = data.get("benefit_type") or "not_eligible"
    explanation = rule_text(data)
    if case.status == "approved":
        rows = _create_schedule(case, data)
        start = rows[0]["due_on"]
        end = date.fromordinal(_add_months(start, len(rows)).toordinal() - 1)
        title = BENEFIT_TITLES[benefit_type]
        facts = [_facts_paragraph(data), f"核定待遇类型：{title}。适用规则：{explanation}。"]
        if data.get("decided_by") == "clerk" and data.get("review_reason"):
            facts.append(f"经办人员审核意见：{data['review_reason']}")
        issue_notice(case, "benefit_decision_approval", {
            "recipient": name, "benefit_type": benefit_type, "benefit_title": title,
            "monthly_amount": data["monthly_amount"], "months": len(rows), "start_date": start.isoformat(),
            "end_date": end.isoformat(), "rule": explanation, "decided_by": data.get("decided_by"),
            "payment_schedule": [{"period": _period_title(r["due_on"]), "amount": str(r["amount"])} for r in rows],
            "payment_method": f"按月发放至本人社会保障卡金融账户（尾号{str(data.get('bank_account', ''))[-4:]}）",
            "facts": facts, "legal_basis": LEGAL_BASIS[benefit_type],
        }, now, _decider(case, data))
    elif case.status == "rejected":
        decision = data.get("decision_rule") or {}
        if data.get("decided_by") == "clerk":
            reason = data.get("review_reason") or "经审核不符合条件"
            condition = decision.get("refusal_condition") or "失业保险待遇领取条件"
        else:
            reason = decision.get("annotation") or "不符合条件"
            condition = decision.get("refusal_condition") or "失业保险待遇领取条件"
        issue_notice(case, "benefit_decision_refusal", {
            "recipient": name, "rule": condition, "reason": reason, "rule_text": explanation,
            "decided_by": data.get("decided_by"),
            "facts": [_facts_paragraph(data), f"适用规则：{explanation}。"],
            "legal_basis": LEGAL_BASIS["not_eligible"],
        }, now, _decider(case, data))


STATUS_HOOKS.append(_on_status)


# ---------------------------------------------------------------------------------------------------------------
# Payments.

def payments_for_case(case: Case) -> list[BenefitPayment]:
    return list(db.session.scalars(
        select(BenefitPayment).where(BenefitPayment.case_id == case.id).order_by(BenefitPayment.seq)
    ))


def payment_json(row: BenefitPayment) -> dict[str, Any]:
    return {
        "seq": row.seq, "period": row.period, "due_on": row.due_on.isoformat(), "amount": _money(row.amount),
        "status": row.status,
        "paid_at": row.paid_at.astimezone(calendar.get_timezone()).isoformat() if row.paid_at else None,
        "cancelled_at": (row.cancelled_at.astimezone(calendar.get_timezone()).isoformat()
                         if row.cancelled_at else None),
        "cancel_reason": row.cancel_reason,
    }


def _signal(case: Case, name: str, payload: dict[str, Any], now: datetime) -> None:
    """Tell the case's workflow that something happened to its payments, and project the result."""
    parsed, workflow = load_workflow(case)
    values = rule_values()
    with engine_context(now, values):
        workflow.send_event(BpmnEvent(SignalEventDefinition(name), payload=payload))
        workflow.do_engine_steps()
        project_case(case, workflow, parsed, now, values)


@transactional
def stop_payments(actor: Actor, number: str, data: Any, now: datetime) -> Case:
    """A clerk stops an approved claim's payments (《失业保险条例》第十五条): the remaining months are cancelled
    and the claim ends as `stopped`."""
    from engine.validation import validate

    case = case_in_scope(actor, number)
    if case.process != PROCESS:
        raise Conflict(f"案件 {number} 不是失业保险待遇申请")
    if not (actor.has_role("clerk") or actor.has_role("supervisor")):
        raise Forbidden("只有失业保险经办人员或主管可以停发待遇")
    validate(STOP_SCHEMA, data)
    if case.status not in PAYING_STATUSES:
        raise Conflict(f"案件状态为 {case.status}，没有可停发的待遇")
    effective = date.fromisoformat(data["effective_on"]) if data.get("effective_on") else _local_today(now)
    if effective > _local_today(now):
        raise DataInvalid({"effective_on": "停发生效日期不能晚于今天"})
    reason_text = f"{STOP_REASONS[data['reason']]}：{data['note'].strip()}"
    cancelled = 0
    for row in payments_for_case(case):
        # Months already paid stay paid; every month not yet paid is cancelled.
        if row.status == "scheduled":
            row.status, row.cancelled_at, row.cancel_reason = "cancelled", now, reason_text
            cancelled += 1
    audit.record(case, actor.username, "payments_stopped",
                 {"reason": data["reason"], "note": data["note"], "effective_on": effective.isoformat(),
                  "cancelled_months": cancelled}, now)
    _signal(case, "payments_stopped", {"reason": data["reason"], "note": data["note"].strip(),
                                       "effective_on": effective.isoformat(), "by": actor.username}, now)
    return case


def _pay_case(case_id: int, today: date, now: datetime) -> int:
    case = db.session.get(Case, case_id)
    if case is None or case.status not in PAYING_STATUSES:
        return 0
    rows = payments_for_case(case)
    due = [r for r in rows if r.status == "scheduled" and r.due_on <= today]
    for row in due:
        row.status, row.paid_at = "paid", now
    if due:
        audit.record(case, SYSTEM.username, "payments_made",
                     {"periods": [r.period for r in due], "amount": _money(sum((r.amount for r in due), Decimal()))},
                     now)
    if case.status == "approved" and any(r.status == "paid" for r in rows):
        _signal(case, "payments_started", {"first_period": rows[0].period}, now)
    if case.status == "paying" and not any(r.status == "scheduled" for r in rows):
        _signal(case, "payments_finished", {"last_period": rows[-1].period}, now)
    return len(due)


@dataclass
class PaymentRun:
    paid: int
    cases: int
    errors: list[str]


def run_payments(now: datetime, limit: int = 1000) -> PaymentRun:
    """Pay every scheduled month due by today and move the claims on (paying / closed); each claim in its own
    transaction, so one failure never holds back the others. Idempotent: paid months are never paid twice."""
    today = _local_today(now)
    case_ids = list(db.session.scalars(
        select(BenefitPayment.case_id).where(BenefitPayment.status == "scheduled", BenefitPayment.due_on <= today)
        .group_by(BenefitPayment.case_id).order_by(BenefitPayment.case_id).limit(limit)
    ))
    db.session.commit()
    paid, cases, errors = 0, 0, []

    for case_id in case_ids:
        try:
            paid += transactional(_pay_case)(case_id, today, now)
            cases += 1
        except Exception as exc:  # noqa: BLE001 - reported, retried on the next run
            errors.append(f"case {case_id}: {type(exc).__name__}: {exc}")
    return PaymentRun(paid, cases, errors)


def _periodic(now: datetime) -> object:
    return run_payments(now)


def _register_job() -> None:
    from engine.scheduler import PERIODIC_JOBS

    PERIODIC_JOBS["benefit_payments"] = _periodic


_register_job()


def rate_in_force_json(region: str, on: str) -> dict[str, str] | None:
    """The rates a claim separated on `on` would use (API and CLI)."""
    try:
        day = date.fromisoformat(on)
    except ValueError:
        raise DataInvalid({"on": "日期格式须为 YYYY-MM-DD"}) from None
    row = rate_in_force(region, day)
    return rate_facts(row, rule_values()["benefit_rate_percent"]) if row is not None else None
