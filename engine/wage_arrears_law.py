"""The legal figures of a wage-arrears case, read from its data and the rules in force: what is still owed, which
measures need approval, the criminal-referral threshold, the ranges of fines and compensation, the employer's
blacklistings and the payment deadline an order gives. Used by the notices (engine.wage_arrears) and the form checks
(engine.wage_arrears_checks) alike."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy import select

from engine import calendar
from engine.clear_zero import CAMPAIGN_RULES, SEASONAL_RULES, seasonal_values
from engine.clock import rule_value
from engine.db import db
from engine.documents import Document
from engine.rules import RULES
from engine.sandbox import money, money_str

# The measures a supervisor must approve before they take effect (DOMAIN.md section 1: penalty, referral, blacklist
# and closing with money still owed); the model's gateway after choose_enforcement says the same, and a test holds
# the two together. The others take effect when they are chosen.
MEASURES_NEEDING_APPROVAL = frozenset({"penalty", "criminal_referral", "blacklist", "court_transfer"})


# A blacklisting lasts a year, two when the employer is listed again (DOMAIN.md section 1).
BLACKLIST_YEARS, BLACKLIST_REPEAT_YEARS = 1, 2


def verified_and_paid(data: Mapping[str, Any]) -> tuple[Decimal, Decimal]:
    """The verified arrears and the total paid so far (the running total of check_payment)."""
    return money(data.get("verified_amount") or "0"), money(data.get("amount_paid") or "0")


def outstanding(data: Mapping[str, Any]) -> Decimal:
    verified, paid = verified_and_paid(data)
    return max(verified - paid, Decimal(0))


def blacklistings(uscc: str | None) -> list[dict[str, Any]]:
    """The facts of every blacklist decision issued on an employer with this social credit code, in any case and
    region (the list is one for the whole country: a repeat counts wherever the first listing was)."""
    if not uscc:
        return []
    # Filtered by the database (JSON ->> on PostgreSQL, json_extract on SQLite): the list only grows.
    return list(db.session.scalars(select(Document.facts).where(
        Document.kind == "blacklist_decision", Document.facts["uscc"].as_string() == uscc)))


def payment_deadline_days(day: date) -> int:
    """The working days an order gives to pay on `day`: the campaign's, or the ordinary ones outside it."""
    keys = (*CAMPAIGN_RULES, *SEASONAL_RULES, *SEASONAL_RULES.values())
    return int(seasonal_values({key: rule_value(key) for key in keys}, day)["payment_deadline_days"])


# The criminal-referral threshold (DOMAIN.md section 1; the interpretation's art. 3): one worker owed wages of at
# least `criminal_threshold_months` months and at least the single amount, or ten or more workers owed at least the
# group amount in all. The head count is the interpretation's own; provinces set the amounts (and here the months).
GROUP_WORKERS = 10


REFERRAL_RULES = ("criminal_threshold_single_amount", "criminal_threshold_group_amount", "criminal_threshold_months")


@dataclass(frozen=True)
class ReferralThreshold:
    """The standard the arrears still owed reach, in words (`met`, for the referral letter), or else why they do not
    or cannot be shown to reach either (`shortfall`, for the refusal)."""

    met: str | None
    shortfall: str | None = None


def _period_months_short(data: Mapping[str, Any], months: int) -> str | None:
    """Why the arrears period is not `months` months or longer; None when it is."""
    start, end = data.get("period_from"), data.get("period_to")
    if not start or not end:
        return "案件未登记拖欠期间"
    # 1 October to 31 December is three months: the period ends the day before the same date `months` later.
    if date.fromisoformat(end) + timedelta(days=1) >= calendar.add_months(date.fromisoformat(start), months):
        return None
    return f"拖欠期间 {start} 至 {end} 不足{months}个月"


def referral_threshold(data: Mapping[str, Any], values: Mapping[str, Any]) -> ReferralThreshold:
    """Whether the arrears still owed (verified minus paid) reach the criminal-referral threshold, by the rules in
    `values`. The single branch needs one worker's amount: from the roster's per-worker amounts, or certain when the
    average per worker owed reaches it (someone is owed at least the average)."""
    single, group = money(values["criminal_threshold_single_amount"]), money(values["criminal_threshold_group_amount"])
    months = int(values["criminal_threshold_months"])
    owed = outstanding(data)
    workers = int(data.get("workers_owed") or 0)
    single_standard = f"拒不支付一名劳动者{months}个月以上的劳动报酬且数额在 {money_str(single)} 元以上"
    group_standard = f"拒不支付{GROUP_WORKERS}名以上劳动者的劳动报酬且数额累计在 {money_str(group)} 元以上"
    if workers >= GROUP_WORKERS and owed >= group:
        return ReferralThreshold(met=group_standard)
    roster = [money(w["amount_owed"]) for w in data.get("roster") or [] if isinstance(w, dict) and w.get("amount_owed")]
    short = [f"尚欠 {workers} 名劳动者工资共 {money_str(owed)} 元"]
    period_short = _period_months_short(data, months)
    if period_short:
        short.append(period_short)
    # One worker's amount: a roster amount (capped by what is still owed in all, checked first), or the average.
    by_roster = bool(roster) and max(roster) >= single
    by_average = workers >= 1 and owed >= single * workers
    if owed < single:
        short.append(f"尚欠总额不足 {money_str(single)} 元")
    elif not (by_roster or by_average):
        average = (f"人均尚欠 {(owed / workers).quantize(Decimal('0.01'), ROUND_DOWN)} 元" if workers
                   else "未核实被欠薪人数")
        if roster:
            short.append(f"{average}，名册中被拖欠最多的劳动者为 {money_str(max(roster))} 元，"
                         f"均不足 {money_str(single)} 元")
        else:
            short.append(f"{average}，不足 {money_str(single)} 元，且案件未登记载明每名劳动者被欠金额的劳动者名册，"
                         f"无法认定有一名劳动者被拖欠 {money_str(single)} 元以上")
    if len(short) == 1:
        return ReferralThreshold(met=single_standard)
    return ReferralThreshold(met=None, shortfall=f"不能认定达到移送公安机关的标准（{single_standard}，"
                                                 f"或{group_standard}）：" + "；".join(short))


def enforcement_out_of_range(penalty_amount: str | None, compensation_rate: int | None,
                             values: dict[str, Any]) -> dict[str, str]:
    """{field: message} for a fine or a compensation rate outside the range the rules in force allow."""
    errors = {}
    if penalty_amount is not None:
        low, high = money(values["penalty_min_amount"]), money(values["penalty_max_amount"])
        if not low <= money(penalty_amount) <= high:
            errors["penalty_amount"] = (f"罚款金额应在 {money_str(low)} 元至 {money_str(high)} 元之间"
                                        f"（{RULES['penalty_max_amount'].basis}）")
    if compensation_rate is not None:
        low, high = values["compensation_min_percent"], values["compensation_max_percent"]
        if not low <= compensation_rate <= high:
            errors["compensation_rate"] = (f"加付赔偿金比例应在应付金额的 {low}% 至 {high}% 之间"
                                           f"（{RULES['compensation_max_percent'].basis}）")
    return errors


# The rules of the procedure before a fine (行政处罚法 arts. 44, 45, 63, 64): what the prior notice grants and how
# long the model waits for the employer's answer.
PENALTY_NOTICE_RULES = ("penalty_defence_days", "penalty_hearing_request_days", "penalty_hearing_threshold")


def penalty_hearing_right(amount: str | Decimal, values: Mapping[str, Any]) -> bool:
    """Whether a fine of `amount` is a large one (较大数额罚款): the employer may then ask for a hearing."""
    return money(amount) >= money(values["penalty_hearing_threshold"])


def penalty_answer_days(amount: str | Decimal, values: Mapping[str, Any]) -> int:
    """The working days the employer has to answer the prior notice of a fine of `amount`: its defence period, or
    the hearing request period when the fine carries a hearing and that period is longer."""
    days = int(values["penalty_defence_days"])
    if penalty_hearing_right(amount, values):
        days = max(days, int(values["penalty_hearing_request_days"]))
    return days


def prior_notice(case: Any) -> Document | None:
    """The case's latest prior notice of a fine (行政处罚告知书): the one the decision now being made answers."""
    return db.session.scalar(select(Document).where(Document.case_id == case.id,
                                                     Document.kind == "penalty_prior_notice")
                             .order_by(Document.id.desc()).limit(1))


@dataclass(frozen=True, slots=True)
class NoPenaltyGround:
    """A statutory ground for not imposing the penalty notified: what the decision says after 鉴于, the provisions
    it cites, and whether it still finds a violation (which the employer may then contest)."""

    says: str
    basis: str
    finds_violation: bool


# The grounds of the decide_penalty form's drop_ground (行政处罚法 art. 57(1)(二) with art. 33(1) for a minor
# violation corrected in time; art. 57(1)(三) for facts not established).
NO_PENALTY_GROUNDS = {
    "minor_corrected": NoPenaltyGround("你单位违法行为轻微并及时改正，没有造成危害后果",
                                       "《中华人民共和国行政处罚法》第三十三条第一款、第五十七条第一款第二项", True),
    "first_offence_corrected": NoPenaltyGround("你单位系初次违法，且危害后果轻微并及时改正",
                                               "《中华人民共和国行政处罚法》第三十三条第一款、第五十七条第一款第二项",
                                               True),
    # The violation the fine was for, not the case's: the arrears may still be owed and enforced.
    "facts_not_established": NoPenaltyGround("本局拟给予行政处罚所依据的违法事实不能成立",
                                             "《中华人民共和国行政处罚法》第五十七条第一款第三项", False),
}
# 行政处罚法 art. 33(3): a party not penalised for a violation found is educated; the decision records it.
NO_PENALTY_EDUCATION = ("依据《中华人民共和国行政处罚法》第三十三条第三款，本局对你单位进行批评教育：你单位应当严格遵守"
                        "《保障农民工工资支付条例》等劳动保障法律法规，按时足额支付劳动者工资，杜绝此类违法行为再次发生。")
# A case on a model version whose form named no ground cites art. 57 alone.
NO_PENALTY_BASIS = "《中华人民共和国行政处罚法》第五十七条"


def listed_until(uscc: str | None, now: datetime) -> str | None:
    """The last day of the employer's listing in force, None when it is not listed today."""
    today = calendar.local_date(now).isoformat()
    return max((end for facts in blacklistings(uscc) if (end := facts.get("listed_until", "")) >= today),
               default=None)
