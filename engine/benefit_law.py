"""What a benefit decision may grant under the law (失业保险条例 arts. 14, 17, 18; the 2020-21 temporary types): a
clerk may go against the rules' suggestion (a supervisor approves that), never grant a type the law does not allow
the claimant nor go past the law's maximum months and monthly amount for the type granted. engine.benefits checks
the review and approval forms with these."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine import benefit_rates
from engine.benefit_payments import months_granted
from engine.models import Case
from engine.rules import RULES
from engine.sandbox import money, money_str

BENEFIT_TITLES = {
    "unemployment_benefit": "失业保险金",
    "unemployment_subsidy": "失业补助金",
    "temporary_living_allowance": "临时生活补助",
    "not_eligible": "不符合领取条件",
}
# The temporary types' basis, printed in the letters too.
EXPANSION_NOTICE = "《人力资源社会保障部 财政部关于扩大失业保险保障范围的通知》（人社部发〔2020〕40号）"
_BENEFIT_ARTICLES = "《失业保险条例》第十七条、第十八条"
# 《失业保险条例》第十四条: 缴费满1年 (as in benefit_months.dmn M4 and benefit_entitlement.dmn E04). The messages
# below state it in full, so that they match their translations in web/messages.py.
_BENEFIT_MIN_CONTRIBUTION_MONTHS = 12


def rule_inputs(case: Case) -> dict[str, Any]:
    """The facts the rules decided on (the summary's `rule` inputs)."""
    return ((case.summary or {}).get("rule") or {}).get("inputs") or {}


def _months_left(band: Any, drawn: Any) -> int | None:
    """失业保险金 months still to draw: the contribution band's months less those drawn (None: no band known)."""
    return None if band is None else int(band) - int(drawn or 0)


def _rates(case: Case, inputs: dict[str, Any], values: dict[str, Any]) -> dict[str, str] | None:
    """The rates the decision used; when there were none at intake, those loaded since for the separation date."""
    if inputs.get("rates"):
        return inputs["rates"]
    separation = (case.summary or {}).get("separation_date")
    return benefit_rates.rates_on(case.region, separation, values["benefit_rate_percent"]) if separation else None


def granted_before(case: Case, benefit_type: str) -> int:
    """Months of a temporary type granted on the claimant's earlier claims: as the rules saw them, or (a claim
    opened on a model version that did not look them up) from the payment schedules now."""
    key = {"unemployment_subsidy": "subsidy_months_granted",
           "temporary_living_allowance": "allowance_months_granted"}[benefit_type]
    inputs = rule_inputs(case)
    if key in inputs:
        return int(inputs[key] or 0)
    if not case.subject_id_number:
        return 0
    return months_granted(case.subject_id_number, benefit_type, except_case_id=case.id)


def legal_maximum(case: Case, benefit_type: str, values: dict[str, Any]) -> tuple[int | None, Decimal | None, str]:
    """The most months and the highest monthly amount the law allows this claimant for `benefit_type` (None: the
    claim does not tell, e.g. no rates), and the basis to cite; from the inputs the rules saw (the summary's `rule`).
    The temporary types are capped in total: the months granted on earlier claims are subtracted."""
    inputs = rule_inputs(case)
    rates = _rates(case, inputs, values)
    if benefit_type == "unemployment_benefit":
        # Months by contribution band, minus those already drawn; the region's benefit rate.
        band = inputs.get("max_benefit_months")
        months = _months_left(band, inputs.get("months_already_drawn"))
        return months, money(rates["benefit_rate"]) if rates else None, _BENEFIT_ARTICLES
    if benefit_type == "unemployment_subsidy":
        amount = (money(money_str(money(rates["benefit_rate"]) * values["subsidy_rate_percent"] / 100))
                  if rates else None)
        months = max(int(values["subsidy_max_months"]) - granted_before(case, benefit_type), 0)
        return months, amount, RULES["subsidy_max_months"].basis
    # Temporary living allowance: months by contribution band (none from 12 months on), less those granted before;
    # the subsistence rate.
    band = inputs.get("allowance_months")
    amount = money(rates["subsistence_rate"]) if rates else None
    months = None if band is None else max(int(band) - granted_before(case, benefit_type), 0)
    return months, amount, EXPANSION_NOTICE


def ineligibility(case: Case, benefit_type: str) -> str | None:
    """Why the law does not allow this claimant `benefit_type` at all (None: it may be granted), from the facts the
    rules saw (the summary's `rule` inputs, else the summary). Registration, seeking work, contribution months and
    household are facts no decision can change; whether a separation was involuntary is the clerk's judgement (a
    resignation forced under 劳动合同法第三十八条 counts as involuntary), so a recorded voluntary separation does not
    bar 失业保险金 here: the supervisor approves that judgement."""
    summary = case.summary or {}
    inputs = rule_inputs(case)

    def fact(key: str) -> Any:
        return inputs[key] if key in inputs else summary.get(key)

    # benefit_entitlement.dmn E01 / E02: no type at all without them.
    if not fact("registered_unemployed"):
        return "申领人未办理失业登记：享受失业保险待遇须已办理失业登记（《失业保险条例》第十四条）"
    if not fact("seeking_work"):
        return "申领人无求职要求：享受失业保险待遇须有求职要求（《失业保险条例》第十四条）"
    contributions = int(fact("contribution_months") or 0)
    insured_a_year = contributions >= _BENEFIT_MIN_CONTRIBUTION_MONTHS
    if benefit_type == "unemployment_benefit":
        if not insured_a_year:
            return f"失业保险金须累计缴费满12个月（《失业保险条例》第十四条），申领人累计缴费 {contributions} 个月"
        return None  # months left: legal_maximum
    # The temporary types are for the insured (E03) who are not entitled to the benefit (E04).
    if contributions < 1:
        return ("申领人未缴纳失业保险费：享受失业补助金或临时生活补助须失业前参加失业保险并缴费"
                "（人社部发〔2020〕40号）")
    band = fact("max_benefit_months")
    left = _months_left(band, fact("months_already_drawn"))
    if insured_a_year and fact("separation_reason") == "involuntary" and left is not None and left > 0:
        return (f"申领人符合领取失业保险金的条件（累计缴费满12个月、非因本人意愿中断就业、已办理失业登记并有求职要求，"
                f"尚可领取 {left} 个月）：应核定失业保险金，不享受失业补助金和临时生活补助")
    # Rural and insured under a year: the allowance instead of the subsidy (E07 / E08).
    rural_under_a_year = fact("household") == "rural" and not insured_a_year
    if benefit_type == "unemployment_subsidy" and rural_under_a_year:
        return "农村户籍、参保不满12个月的申领人享受临时生活补助，不享受失业补助金（人社部发〔2020〕40号）"
    if benefit_type == "temporary_living_allowance" and not rural_under_a_year:
        if fact("household") != "rural":
            return "临时生活补助限农村户籍、参保不满12个月的申领人（人社部发〔2020〕40号），申领人为城镇户籍"
        return (f"临时生活补助限农村户籍、参保不满12个月的申领人（人社部发〔2020〕40号），"
                f"申领人累计缴费 {contributions} 个月")
    return None


def beyond_the_law(case: Case, benefit_type: str, months: int | None, monthly_amount: str | None,
                   values: dict[str, Any]) -> dict[str, str]:
    """{review form field: message} for a grant of `benefit_type` the law does not allow this claimant; `months`
    and `monthly_amount` None: as the rules compute them."""
    refusal = ineligibility(case, benefit_type)
    if refusal is not None:
        return {"approved_type": refusal}  # the type's months and amount are moot
    title = BENEFIT_TITLES[benefit_type]
    max_months, max_amount, basis = legal_maximum(case, benefit_type, values)
    errors = {}
    before = granted_before(case, benefit_type) if benefit_type != "unemployment_benefit" else 0
    if max_months is not None and max_months < 1 and before:
        errors["approved_type"] = f"申领人此前已领取{title} {before} 个月，已达累计可领取的月数（{basis}）"
    elif max_months is not None and max_months < 1:
        errors["approved_type"] = f"按累计缴费月数和已领取月数，申领人可领取{title}的月数为0（{basis}）"
    elif max_months is not None and months is not None and months > max_months:
        errors["approved_months"] = f"{title}最多核定 {max_months} 个月（{basis}）"
    if monthly_amount is not None:
        if money(monthly_amount) <= 0:
            errors["approved_monthly_amount"] = "月发放标准须大于0"
        elif max_amount is not None and money(monthly_amount) > max_amount:
            errors["approved_monthly_amount"] = f"{title}月发放标准最高 {money_str(max_amount)} 元（{basis}）"
    return errors
