"""Fast-track unemployment benefit claims (process `benefit_claim`).

The decision itself lives in bpmn/benefit_claim/ (three DMN tables and the script tasks around them); this module
holds what the model needs from the database and what follows a decision:

* the one-open-claim-per-person check and the intake checks a JSON Schema cannot express;
* the review and approval forms checked against the limits a decision may not pass (engine/benefit_law.py) before
  the workflow moves;
* the decision letters (approval / refusal), issued through the notice outbox when the status changes;
* the approval creates the monthly payment schedule (engine/benefit_payments.py); the regional rates the model
  looks up live in engine/benefit_rates.py.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Index,
    and_,
)

from engine import calendar
from engine.actors import Actor
from engine.benefit_law import BENEFIT_TITLES, EXPANSION_NOTICE, beyond_the_law, rule_inputs
from engine.benefit_payments import STOP_REASONS, create_schedule
from engine.documents import issue_notice
from engine.errors import Conflict
from engine.models import Case
from engine.services.cases import OPEN_CASE_CHECKS, STATUS_HOOKS, open_case_of_person
from engine.services.tasks import TASK_FORM_CHECKS
from engine.summaries import Projection, mask_id_number, summarizer
from engine.validation import MINIMUM_WORKING_AGE, DataInvalid, age_on

PROCESS = "benefit_claim"

# Legal basis printed in the letters, per benefit type.
LEGAL_BASIS = {
    "unemployment_benefit": ["《失业保险条例》第十四条、第十七条、第十八条", "《失业保险金申领发放办法》"],
    "unemployment_subsidy": [EXPANSION_NOTICE],
    "temporary_living_allowance": [EXPANSION_NOTICE],
    "not_eligible": ["《失业保险条例》第十四条", EXPANSION_NOTICE],
}


# One open claim per person, also under a race between two clerks: a partial unique index on the case rows.
Index(
    "ux_cases_open_benefit_claim", Case.__table__.c.subject_id_number, unique=True,
    sqlite_where=and_(Case.__table__.c.process == PROCESS, Case.__table__.c.closed_at.is_(None)),
    postgresql_where=and_(Case.__table__.c.process == PROCESS, Case.__table__.c.closed_at.is_(None)),
)


# ---------------------------------------------------------------------------------------------------------------
# Opening a claim.
def _check_open(case: Case, data: dict[str, Any], parsed, now: datetime) -> None:
    separation = date.fromisoformat(data["separation_date"])
    if separation > calendar.local_date(now):
        raise DataInvalid({"separation_date": "离职日期不能晚于今天"})
    id_number = data["claimant"]["id_number"]
    if age_on(id_number, separation) < MINIMUM_WORKING_AGE:
        raise DataInvalid({"separation_date": "离职日期早于申领人年满16周岁（按身份证号码中的出生日期）"})
    # The benefit period runs from the unemployment registration (社会保险法第五十条), which follows the separation.
    registered_on = data.get("unemployment_registration_date")
    if registered_on is not None:
        if not data.get("registered_unemployed"):
            raise DataInvalid({"unemployment_registration_date": "未办理失业登记的，不填写办理失业登记日期"})
        registered = date.fromisoformat(registered_on)
        if registered > calendar.local_date(now):
            raise DataInvalid({"unemployment_registration_date": "办理失业登记日期不能晚于今天"})
        if registered < separation:
            raise DataInvalid({"unemployment_registration_date":
                               f"办理失业登记日期不能早于离职日期（{separation.isoformat()}）"})
    other = open_case_of_person(case, id_number)
    if other is not None:
        raise Conflict(f"该申领人已有未办结的失业保险待遇申请 {other}，不能重复申领")


OPEN_CASE_CHECKS.setdefault(PROCESS, []).append(_check_open)


# ---------------------------------------------------------------------------------------------------------------
# The review and approval forms (engine.services.tasks.TASK_FORM_CHECKS), held to what the law lets a decision grant
# (engine.benefit_law): no approval makes more lawful.

def _check_review(case: Case, form: dict[str, Any], workflow_data: Any, values: dict[str, Any],
                  now: datetime, actor: Actor) -> None:
    if form["decision"] != "approve":
        return
    summary = case.summary or {}
    benefit_type = form.get("approved_type") or summary.get("suggested_type") or "not_eligible"
    if benefit_type == "not_eligible":
        raise DataInvalid({"approved_type": "规则认定不符合条件：批准时须选择待遇类型"})
    errors = beyond_the_law(case, benefit_type, form.get("approved_months"), form.get("approved_monthly_amount"),
                            values)
    # The rules compute the amount from the rates the claim was decided on (benefit_amount.dmn): none, none to use.
    rates = rule_inputs(case).get("rates")
    if form.get("approved_monthly_amount") is None and not rates:
        errors.setdefault("approved_monthly_amount",
                          "无法按规则计算月发放标准（无生效的待遇标准）：批准时须填写月发放标准")
    if errors:
        raise DataInvalid(errors)


def _check_approval(case: Case, form: dict[str, Any], workflow_data: Any, values: dict[str, Any],
                    now: datetime, actor: Actor) -> None:
    # A decision made before these limits were checked is sent back, not approved.
    summary = case.summary or {}
    benefit_type = summary.get("benefit_type")
    if not form.get("approved") or benefit_type not in BENEFIT_TITLES or benefit_type == "not_eligible":
        return
    errors = beyond_the_law(case, benefit_type, summary.get("months"), summary.get("monthly_amount"), values)
    if errors:
        raise DataInvalid({"approved": "不能批准：" + "；".join(errors.values()) + "。请不予批准，退回重新审核"})


TASK_FORM_CHECKS.setdefault((PROCESS, "review_claim"), []).append(_check_review)
TASK_FORM_CHECKS.setdefault((PROCESS, "approve_claim"), []).append(_check_approval)


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
        subsidy, allowance = inputs.get("subsidy_months_granted"), inputs.get("allowance_months_granted")
        if subsidy or allowance:
            # Why a temporary type is refused or shortened: its total cap (benefit_entitlement E09-E11).
            parts.append(f"此前已领取失业补助金{subsidy or 0}个月、临时生活补助{allowance or 0}个月")
        rates = inputs.get("rates")
        if rates:
            parts.append(f"离职日期 {inputs.get('separation_date')} 适用 {rates['region']} "
                         f"自 {rates['effective_from']} 起执行的标准（{rates['benefit_rate_basis']}；"
                         f"低保标准 {rates['subsistence_rate']} 元/月）")
    return "；".join(str(p) for p in parts)


@summarizer(PROCESS)
def _summarize(data: dict[str, Any]) -> Projection:
    claimant = data.get("claimant") or {}
    stop = (data.get("payment_event") or {}) if data.get("status") == "stopped" else {}
    # Until the rules or a clerk decide, the workflow's benefit_type is only the suggestion (shown as suggested_type)
    # and its months are the benefit band's (0 for a suggested subsidy): not a decision to show as one.
    decided = data.get("decided_by") is not None
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
        # None on claims opened on a model version before it was asked.
        "unemployment_registration_date": data.get("unemployment_registration_date"),
        "seeking_work": data.get("seeking_work"),
        "received_at": data.get("received_at"),
        "benefit_type": data.get("benefit_type") if decided else None,
        "suggested_type": data.get("suggested_type"),
        "months": data.get("months") if decided else None,
        "monthly_amount": data.get("monthly_amount") if decided else None,
        "total_amount": data.get("total_amount") if decided else None,
        "decided_by": data.get("decided_by"),
        "decided_at": data.get("decided_at"),
        "rule": explain(data),
        "review_reasons": data.get("review_reasons") or [],
        "review_reason": data.get("review_reason"),
        "approval_comment": data.get("comment"),
        "payment_start": data.get("payment_start"),
        "stop_reason": data.get("stop_reason"),
        "stop_reason_title": STOP_REASONS.get(data.get("stop_reason") or ""),  # the page shows it for the code
        "stop_note": data.get("stop_note"),
        "stop_effective_on": stop.get("effective_on"),
        # Months paid for periods from the stop's effective date on, to be recovered (the stop's signal payload).
        "overpaid_periods": stop.get("overpaid_periods"),
        "overpaid_amount": stop.get("overpaid_amount"),
    }
    text = " ".join(str(x) for x in (claimant.get("name"), data.get("last_employer")) if x).lower()
    return Projection(summary=summary, search_text=text, subject_id_number=claimant.get("id_number"))


# ---------------------------------------------------------------------------------------------------------------
# Letters and the payment schedule, when the status changes.

def _period_title(day: date) -> str:
    return f"{day.year}年{day.month}月"


def _facts_paragraph(data: dict[str, Any]) -> str:
    received = (data.get("received_at") or "")[:10]
    reason = "非因本人意愿中断就业" if data.get("separation_reason") == "involuntary" else "因本人意愿中断就业"
    return (f"你于{received}申请失业保险待遇。经查，你于{data.get('separation_date')}与{data.get('last_employer')}"
            f"终止或解除劳动关系（{reason}），累计缴纳失业保险费{data.get('contribution_months')}个月，"
            f"已领取失业保险金{data.get('months_already_drawn')}个月，"
            f"{_registration_clause(data)}，"
            f"{'有' if data.get('seeking_work') else '无'}求职要求。")


def _registration_clause(data: dict[str, Any]) -> str:
    if not data.get("registered_unemployed"):
        return "未办理失业登记"
    registered_on = data.get("unemployment_registration_date")  # absent on claims of an older model version
    return f"于{registered_on}办理失业登记" if registered_on else "已办理失业登记"


def _on_status(case: Case, before: str, data: dict[str, Any], now: datetime, by: str) -> None:
    if case.process != PROCESS:
        return
    decider = "system" if data.get("decided_by") == "rules" else by
    name = (data.get("claimant") or {}).get("name") or "申领人"
    benefit_type = data.get("benefit_type") or "not_eligible"
    explanation = rule_text(data)
    if case.status == "approved":
        rows = create_schedule(case, data)
        registered_on = data.get("unemployment_registration_date")
        end = calendar.add_months(rows[0]["due_on"], len(rows)) - timedelta(days=1)
        # The period runs from the registration (its month paid in full); older model versions paid from the month
        # after the decision and recorded no registration date.
        start = date.fromisoformat(registered_on) if registered_on else rows[0]["due_on"]
        title = BENEFIT_TITLES[benefit_type]
        facts = [_facts_paragraph(data)]  # the letter's table states the type and the rule
        if data.get("decided_by") == "clerk" and data.get("review_reason"):
            facts.append(f"经办人员审核意见：{data['review_reason']}")
        issue_notice(case, "benefit_decision_approval", {
            "recipient": name, "benefit_type": benefit_type, "benefit_title": title,
            "monthly_amount": data["monthly_amount"], "months": len(rows), "start_date": start.isoformat(),
            "end_date": end.isoformat(), "registration_date": registered_on, "rule": explanation,
            "decided_by": data.get("decided_by"),
            "payment_schedule": [{"period": _period_title(r["due_on"]), "amount": str(r["amount"])} for r in rows],
            "payment_method": f"按月发放至本人社会保障卡金融账户（尾号{str(data.get('bank_account', ''))[-4:]}）",
            "facts": facts, "legal_basis": LEGAL_BASIS[benefit_type],
        }, now, decider)
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
            "facts": [_facts_paragraph(data)],  # the letter states the rule itself (rule_text)
            "legal_basis": LEGAL_BASIS["not_eligible"],
        }, now, decider)


STATUS_HOOKS.append(_on_status)
