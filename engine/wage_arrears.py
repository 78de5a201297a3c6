"""Wage-arrears notices: which decision issues which notice, with the facts it states."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select

from engine import calendar
from engine.actors import Actor, scope_prefix
from engine.clear_zero import CAMPAIGN_RULES, SEASONAL_RULES, seasonal_values
from engine.clock import rule_value
from engine.db import db
from engine.documents import Document, issue_notice
from engine.models import Case, Task, User
from engine.regions import issuing_region
from engine.rules import RULES
from engine.sandbox import money, money_str
from engine.services.cases import OPEN_CASE_CHECKS, STATUS_HOOKS, TASK_COMPLETED_HOOKS
from engine.services.tasks import TASK_FORM_CHECKS
from engine.validation import DataInvalid

REJECTION_GROUNDS = "《劳动保障监察条例》第十七条；《关于实施〈劳动保障监察条例〉若干规定》第十七条"
CLOSED_STATUSES = {"cleared": "欠薪已全部清偿，案件办结。", "withdrawn": "经调查核实，未发现拖欠工资行为，案件撤销。",
                   "transferred": "案件已移送公安机关依法处理。"}
# The measures a supervisor must approve before they take effect (DOMAIN.md section 1: penalty, referral, blacklist
# and closing with money still owed); the model's gateway after choose_enforcement says the same, and a test holds
# the two together. The others take effect when they are chosen.
MEASURES_NEEDING_APPROVAL = frozenset({"penalty", "criminal_referral", "blacklist", "court_transfer"})
# A blacklisting lasts a year, two when the employer is listed again (DOMAIN.md section 1).
BLACKLIST_YEARS, BLACKLIST_REPEAT_YEARS = 1, 2


def _day(value: str | None, now: datetime) -> str:
    if value:
        return calendar.local_date(datetime.fromisoformat(value)).isoformat()
    return calendar.local_date(now).isoformat()


def _employer(data: dict[str, Any]) -> str:
    return (data.get("employer") or {}).get("name") or "用人单位"


def _complainant(data: dict[str, Any]) -> str:
    return (data.get("complainant") or {}).get("name") or "投诉人"


def _project(data: dict[str, Any]) -> str:
    # "鹿城镇安置房二期" reads "鹿城镇安置房二期项目", but a name that already says 项目 or 工程 keeps its own word.
    name = (data.get("project") or {}).get("name") or ""
    return name if name.endswith(("项目", "工程")) else f"{name}项目"


def _verified_and_paid(data: Mapping[str, Any]) -> tuple[Decimal, Decimal]:
    """The verified arrears and the total paid so far (the running total of check_payment)."""
    return money(data.get("verified_amount") or "0"), money(data.get("amount_paid") or "0")


def _unpaid_fact(data: dict[str, Any], *, to_employer: bool = True) -> str:
    """What is still owed, as the notices state it (after a part payment the verified total is not owed): to the
    employer 你单位, to anyone else (the bank, the government) the employer by name."""
    verified, paid = _verified_and_paid(data)
    who = "你单位" if to_employer else _employer(data)
    if paid > 0:
        return (f"经核实，{who}拖欠劳动者工资{money_str(verified)}元，经责令限期支付，逾期仅支付{money_str(paid)}元，"
                f"尚欠{money_str(verified - paid)}元未支付。")
    return f"经核实，{who}拖欠劳动者工资{money_str(verified)}元，经责令限期支付，逾期仍未支付。"


def _matter(data: dict[str, Any]) -> str:
    return f"你反映{_employer(data)}拖欠工资的投诉"


def _outstanding(data: Mapping[str, Any]) -> Decimal:
    verified, paid = _verified_and_paid(data)
    return max(verified - paid, Decimal(0))


def _local_day(moment: datetime) -> str:
    return calendar.local_date(moment).isoformat()


def blacklistings(uscc: str | None) -> list[dict[str, Any]]:
    """The facts of every blacklist decision issued on an employer with this social credit code, in any case and
    region (the list is one for the whole country: a repeat counts wherever the first listing was)."""
    if not uscc:
        return []
    return [facts for facts in db.session.scalars(select(Document.facts).where(Document.kind == "blacklist_decision"))
            if (facts or {}).get("uscc") == uscc]


def _payment_deadline_days(day: date) -> int:
    """The working days an order gives to pay on `day`: the campaign's, or the ordinary ones outside it."""
    keys = (*CAMPAIGN_RULES, *SEASONAL_RULES, *SEASONAL_RULES.values())
    return int(seasonal_values({key: rule_value(key) for key in keys}, day)["payment_deadline_days"])


def _measures_take_effect(case: Case, data: dict[str, Any], now: datetime, who: str) -> None:
    """Issue the notices of the measures chosen, once they are in force (chosen, or approved when one of them needs
    approval). The referral letter waits for the head's approval; a court transfer ends in the closure notice."""
    measures = data.get("measures") or []
    outstanding, workers = _outstanding(data), int(data.get("workers_owed") or 0)
    today = calendar.local_date(now)
    if "penalty" in measures:
        issue_notice(case, "penalty_decision", {
            "recipient": _employer(data), "penalty": "罚款",
            "fine_amount": data.get("penalty_amount") or "2000.00",
            "deadline": (today + timedelta(days=15)).isoformat(),
            # The fine of 2,000-20,000 is for obstructing the inspection (DOMAIN.md; 条例 art. 30): the reason the
            # inspector gave states what the employer did.
            "facts": [_unpaid_fact(data), data.get("reason") or ""],
            "legal_basis": ["《劳动保障监察条例》第三十条"],
        }, now, who)
    if "compensation_order" in measures:
        rate = int(data.get("compensation_rate") or rule_value("compensation_min_percent"))
        compensation = (outstanding * rate / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
        issue_notice(case, "compensation_order", {
            "recipient": _employer(data), "amount_owed": money_str(outstanding), "compensation_rate": rate,
            "compensation_amount": money_str(compensation), "worker_count": workers,
            "deadline": _local_day(calendar.working_days_after(now, _payment_deadline_days(today))),
            "facts": [_unpaid_fact(data)],
            "legal_basis": ["《劳动保障监察条例》第二十六条", "《保障农民工工资支付条例》第五十四条"],
        }, now, who)
    if "wage_deposit" in measures:
        # The bank's five working days, as the model's wait before the payment check counts them (deposit_due_at;
        # not read from the data: a set that also refers the case never reaches that step and may hold an old one).
        deadline = _local_day(calendar.working_days_after(now, int(rule_value("wage_deposit_bank_days"))))
        issue_notice(case, "wage_deposit_notice", {
            "recipient": data.get("deposit_bank") or "工资保证金经办银行", "depositor": _employer(data),
            "amount": money_str(outstanding), "worker_count": workers, "deadline": deadline,
            "project": (data.get("project") or {}).get("name"),
            "facts": [_unpaid_fact(data, to_employer=False)],
            "legal_basis": ["《保障农民工工资支付条例》第三十二条", "《工程建设领域农民工工资保证金规定》第十五条"],
        }, now, who)
    if "emergency_advance" in measures:
        issue_notice(case, "emergency_advance_request", {
            "recipient": f"{issuing_region(case.region).name}人民政府", "employer": _employer(data),
            "amount": money_str(outstanding), "worker_count": workers,
            "project": (data.get("project") or {}).get("name"),
            "facts": [_unpaid_fact(data, to_employer=False)],
            "legal_basis": ["《国务院办公厅关于全面治理拖欠农民工工资问题的意见》（国办发〔2016〕1号）"],
        }, now, who)
    if "blacklist" in measures:
        uscc = (data.get("employer") or {}).get("uscc")
        repeat = bool(blacklistings(uscc))
        years = BLACKLIST_REPEAT_YEARS if repeat else BLACKLIST_YEARS
        issue_notice(case, "blacklist_decision", {
            "recipient": _employer(data), "uscc": uscc, "years": years, "repeat": repeat,
            "listed_from": today.isoformat(),
            "listed_until": (calendar.add_months(today, 12 * years) - timedelta(days=1)).isoformat(),
            "facts": [_unpaid_fact(data)],
            "legal_basis": ["《保障农民工工资支付条例》第四十八条"],
        }, now, who)


def _on_task_completed(case: Case, task: str, form: dict[str, Any], data: dict[str, Any], now: datetime,
                       actor: Actor) -> None:
    if case.process != "wage_arrears":
        return
    who = actor.username
    if task == "review_complaint" and form.get("decision") == "accept":
        issue_notice(case, "acceptance_notice", {
            "recipient": _complainant(data), "matter": _matter(data), "received_on": _day(data.get("received_at"), now),
            "time_limit": "六十个工作日",
            "conclude_by": _day(data["case_due_at"], now) if data.get("case_due_at") else None,
            "legal_basis": [RULES["acceptance_review_days"].basis, RULES["case_conclusion_days"].basis],
        }, now, who)
    elif task == "review_complaint" and form.get("decision") in ("reject", "redirect"):
        notice = {
            "recipient": _complainant(data), "matter": _matter(data), "received_on": _day(data.get("received_at"), now),
            "reason": form.get("reason") or "不属于劳动保障监察管辖范围",
            "legal_basis": [REJECTION_GROUNDS],
        }
        if form.get("decision") == "redirect":
            notice["redirect_to"] = form.get("reason")
        issue_notice(case, "non_acceptance_notice", notice, now, who)
    elif task == "receive_material" and form.get("received") is False:
        issue_notice(case, "non_acceptance_notice", {
            "recipient": _complainant(data), "matter": _matter(data), "received_on": _day(data.get("received_at"), now),
            "reason": "逾期未补正材料", "facts": ["本局已书面告知补正材料，你逾期未补正。"],
            "legal_basis": [REJECTION_GROUNDS],
        }, now, who)
    elif task == "issue_order":
        issue_notice(case, "rectification_order", {
            "recipient": _employer(data), "amount_owed": data.get("verified_amount", "0.00"),
            "worker_count": int(data.get("workers_owed") or 0), "deadline": _day(data.get("payment_due_at"), now),
            "facts": [
                f"经调查，你单位在{_project(data)}中拖欠"
                f"{int(data.get('workers_owed') or 0)}名劳动者"
                f"{data.get('period_from', '')}至{data.get('period_to', '')}期间工资"
                f"共计{data.get('verified_amount')}元。",
            ],
            "legal_basis": ["《保障农民工工资支付条例》第五十四条", "《劳动保障监察条例》第二十六条"],
            "requirements": [f"限你单位于{_day(data.get('payment_due_at'), now)}前足额支付上述工资，"
                             "并将支付凭证报送本局。"],
        }, now, who)
    elif ((task == "choose_enforcement" and not MEASURES_NEEDING_APPROVAL & set(form["measures"]))
          or (task == "approve_enforcement" and form.get("approved"))):
        _measures_take_effect(case, data, now, who)
    elif task == "approve_referral" and form.get("approved") and "criminal_referral" in (data.get("measures") or []):
        # The referral is decided by the head (移送案件规定第五条), not by the supervisor's approval of the measures.
        verified, paid = _verified_and_paid(data)
        outstanding = verified - paid
        facts = [f"{_employer(data)}拖欠{int(data.get('workers_owed') or 0)}名劳动者工资{outstanding}元，"
                 "经责令支付后逾期仍不支付，涉嫌拒不支付劳动报酬罪。"]
        # The letter cites the standard the arrears reach, by the rules in force (the head's approval checked it).
        threshold = referral_threshold(data, {key: rule_value(key) for key in REFERRAL_RULES})
        if threshold.met:
            facts.append(f"上述欠薪已达到涉嫌犯罪案件移送标准：{threshold.met}。")
        issue_notice(case, "criminal_referral", {
            "recipient": f"{issuing_region(case.region).name}公安局", "suspect": _employer(data),
            "offence": "拒不支付劳动报酬罪", "amount_owed": str(outstanding),
            "worker_count": int(data.get("workers_owed") or 0),
            "attachments": ["立案审批表", "调查询问笔录", "限期整改指令书及送达回证", "工资清单"],
            "facts": facts,
            "legal_basis": ["《中华人民共和国刑法》第二百七十六条之一", "《行政执法机关移送涉嫌犯罪案件的规定》",
                            RULES["criminal_threshold_group_amount"].basis],
        }, now, who)


def _on_status(case: Case, before: str, data: dict[str, Any], now: datetime, by: str) -> None:
    if case.process != "wage_arrears" or case.status not in CLOSED_STATUSES:
        return
    outcome = CLOSED_STATUSES[case.status]
    if case.status == "transferred" and data.get("receiving_unit") and data.get("transferred_on"):
        outcome = f"案件已于{data['transferred_on']}移送{data['receiving_unit']}依法处理。"
    if case.status == "transferred" and _outstanding(data) > 0:
        # Closed without the money paid: the complainant is told what is still owed and where it now stands.
        outcome += (f"截至结案，用人单位尚欠劳动者工资{money_str(_outstanding(data))}元未支付，"
                    "你可以依法通过司法途径主张权利。")
    issue_notice(case, "case_closure_notice", {
        "recipient": _complainant(data), "outcome": [outcome],
        "closed_on": _day(None, now), "amount_recovered": data.get("amount_paid") or "0.00",
        "worker_count": int(data.get("workers_owed") or data.get("workers_count") or 0),
        "facts": [f"{_matter(data)}，本局已依法处理完毕。"],
        "legal_basis": [RULES["case_conclusion_days"].basis],
    }, now, "system")


# ---------------------------------------------------------------------------------------------------------------
# Intake and form checks a JSON Schema cannot say, refused before anything is written.

def _check_period(case: Case, data: dict[str, Any], parsed: Any, now: datetime) -> None:
    # The arrears period runs forwards and has ended by the day the complaint is received: wages not yet due are
    # not in arrears. (After the intake schema: both dates are valid YYYY-MM-DD.)
    start, end = date.fromisoformat(data["period_from"]), date.fromisoformat(data["period_to"])
    received = calendar.local_date(now)
    if end < start:
        raise DataInvalid({"period_to": "拖欠截止日期不能早于拖欠起始日期"})
    if end > received:
        raise DataInvalid({"period_to": f"拖欠截止日期不能晚于投诉登记日期（{received.isoformat()}）"})


NO_ARREARS_AMOUNT = ("调查结论为“未发现拖欠工资”时，核实欠薪金额应为 0；"
                     "核实有欠薪的，请选择“责令限期支付”或“用人单位已自行支付”")
NO_ARREARS_WORKERS = ("调查结论为“未发现拖欠工资”时，被欠薪人数应为 0；"
                      "核实有欠薪的，请选择“责令限期支付”或“用人单位已自行支付”")


def _check_investigation(case: Case, form: dict[str, Any], workflow_data: Any, values: dict[str, Any],
                         now: datetime, actor: Actor) -> None:
    errors = {}
    # The second inspector an investigation needs (劳动保障监察条例 art. 16) is another inspector of the case's region.
    partner = form.get("co_inspector")
    if partner is not None:
        problem = co_inspector_problem(partner, case.region, actor)
        if problem:
            errors["co_inspector"] = problem
    # "No arrears" withdraws the case (DOMAIN.md: withdrawn = no arrears found): with arrears stated it would close
    # them unpaid and take them off the figures ("不解决不销账"). Checked here rather than in the form's schema so
    # that cases running on an earlier version of the form are held to it too.
    if form.get("outcome") == "no_arrears":
        if money(form["verified_amount"]) > 0:
            errors["verified_amount"] = NO_ARREARS_AMOUNT
        if form["workers_owed"] > 0:
            errors["workers_owed"] = NO_ARREARS_WORKERS
    if errors:
        raise DataInvalid(errors)


def co_inspector_problem(username: str, region: str, actor: Actor) -> str | None:
    """Why `username` cannot be the second inspector of an investigation `actor` makes in `region`; None if they can."""
    if username == actor.username:
        return "共同调查的监察员须为另一人：调查、检查不得少于两名监察员"
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or "inspector" not in user.roles or not region.startswith(
            scope_prefix(user.region)):
        return f"{username} 不是本案辖区在职的劳动保障监察员"
    return None


def _check_payment(case: Case, form: dict[str, Any], workflow_data: Any, values: dict[str, Any],
                   now: datetime, actor: Actor) -> None:
    # `amount_paid` is the total paid so far (API.md), so it may not pass the verified arrears: more would clear
    # the case and count money never owed as recovered ("不解决不销账" the other way round).
    summary = case.summary or {}
    verified = summary.get("verified_amount")
    if verified is not None and money(form["amount_paid"]) > money(verified):
        recorded, owed = summary.get("amount_paid") or "0.00", summary.get("amount_outstanding") or verified
        raise DataInvalid({"amount_paid": f"累计已支付金额不得超过核实欠薪金额 {verified} 元"
                                          f"（此前已记录支付 {recorded} 元，尚欠 {owed} 元）"})
    # Nor can a total go down: a lower one would un-count money already recovered and reopen arrears paid.
    recorded = summary.get("amount_paid")
    if recorded is not None and money(form["amount_paid"]) < money(recorded):
        raise DataInvalid({"amount_paid": f"累计已支付金额不得低于此前已记录的累计支付金额 {recorded} 元"
                                          "（应填写截至本次核查的支付总额）"})


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
    verified, paid = _verified_and_paid(data)
    outstanding = max(verified - paid, Decimal(0))
    workers = int(data.get("workers_owed") or 0)
    single_standard = f"拒不支付一名劳动者{months}个月以上的劳动报酬且数额在 {money_str(single)} 元以上"
    group_standard = f"拒不支付{GROUP_WORKERS}名以上劳动者的劳动报酬且数额累计在 {money_str(group)} 元以上"
    if workers >= GROUP_WORKERS and outstanding >= group:
        return ReferralThreshold(met=group_standard)
    roster = [money(w["amount_owed"]) for w in data.get("roster") or [] if isinstance(w, dict) and w.get("amount_owed")]
    short = [f"尚欠 {workers} 名劳动者工资共 {money_str(outstanding)} 元"]
    period_short = _period_months_short(data, months)
    if period_short:
        short.append(period_short)
    # One worker's amount: a roster amount (capped by what is still owed in all, checked first), or the average.
    by_roster = bool(roster) and max(roster) >= single
    by_average = workers >= 1 and outstanding >= single * workers
    if outstanding < single:
        short.append(f"尚欠总额不足 {money_str(single)} 元")
    elif not (by_roster or by_average):
        average = (f"人均尚欠 {(outstanding / workers).quantize(Decimal('0.01'), ROUND_DOWN)} 元" if workers
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


def _check_enforcement(case: Case, form: dict[str, Any], workflow_data: Any, values: dict[str, Any],
                       now: datetime, actor: Actor) -> None:
    errors = enforcement_out_of_range(form.get("penalty_amount"), form.get("compensation_rate"), values)
    measures = set(form["measures"])
    if {"criminal_referral", "court_transfer"} <= measures:
        # Either ends the case with its transfer: to the police for the crime, or to the court with money owed.
        errors["measures"] = "移送公安机关与移送人民法院不能同时选择：涉嫌犯罪的，先移送公安机关"
    elif "criminal_referral" in measures:
        shortfall = referral_threshold(workflow_data(), values).shortfall  # the summary lacks period and roster
        if shortfall:
            errors["measures"] = shortfall
    if "blacklist" in measures and "measures" not in errors:
        until = _listed_until((case.summary or {}).get("employer_uscc"), now)
        if until:
            errors["measures"] = f"该用人单位已列入失信联合惩戒对象名单，列入期限至 {until}，不能重复列入"
    if "wage_deposit" in measures and measures & {"criminal_referral", "court_transfer"} and "measures" not in errors:
        # The bank has five working days to pay and the payment check follows; a transfer would close the case (or
        # a refused referral send it back) without that check, and a second draw could then ask for the money again.
        errors["measures"] = "动用工资保证金须待银行支付期满并核查履行情况后再决定移送：请先单独选择动用工资保证金"
    if errors:
        raise DataInvalid(errors)


def _listed_until(uscc: str | None, now: datetime) -> str | None:
    """The last day of the employer's listing in force, None when it is not listed today."""
    today = _local_day(now)
    return max((end for facts in blacklistings(uscc) if (end := facts.get("listed_until", "")) >= today),
               default=None)


def _check_approval(case: Case, form: dict[str, Any], workflow_data: Any, values: dict[str, Any],
                    now: datetime, actor: Actor) -> None:
    # A supervisor's approval does not make an unlawful measure lawful: a fine out of range or a referral below the
    # threshold, chosen before they were checked (or before the province changed the rules), is sent back.
    measures = (case.summary or {}).get("measures") or []
    if not form.get("approved") or not {"penalty", "compensation_order", "criminal_referral", "blacklist"} & set(
            measures):
        return
    summary = case.summary or {}
    # Another case may have listed the employer since this one chose to.
    until = _listed_until(summary.get("employer_uscc"), now) if "blacklist" in measures else None
    if until:
        raise DataInvalid({"approved": f"不能批准：该用人单位已列入失信联合惩戒对象名单，列入期限至 {until}，"
                                       "不能重复列入。请不予同意，退回重新确定处置措施"})
    if not {"penalty", "compensation_order", "criminal_referral"} & set(measures):
        return
    # The summary carries the fine and the rate of the measures chosen; a case projected before it did, and the
    # referral threshold (periods, roster), need the workflow's data.
    data = workflow_data() if "criminal_referral" in measures or not (
        {"penalty_amount", "compensation_rate"} & set(summary)) else summary
    errors = enforcement_out_of_range(data.get("penalty_amount") if "penalty" in measures else None,
                                      data.get("compensation_rate") if "compensation_order" in measures else None,
                                      values)
    if "criminal_referral" in measures:
        shortfall = referral_threshold(data, values).shortfall
        if shortfall:
            errors["criminal_referral"] = shortfall
    if errors:
        raise DataInvalid({"approved": "不能批准：" + "；".join(errors.values())
                                       + "。请不予同意，退回重新确定处置措施"})


def _check_referral_approval(case: Case, form: dict[str, Any], workflow_data: Any, values: dict[str, Any],
                              now: datetime, actor: Actor) -> None:
    # The head's approval decides the referral (and issues the letter): held to the threshold by the rules in force
    # when it is given, as the supervisor's was (a province may have raised the amounts in between).
    if not form.get("approved"):
        return
    shortfall = referral_threshold(workflow_data(), values).shortfall  # the summary lacks period and roster
    if shortfall:
        raise DataInvalid({"approved": f"不能批准移送：{shortfall}。请不批准移送，退回重新确定处置措施"})


_TRANSFER_TASKS = ("transfer_case", "transfer_to_court")


def _check_transfer(case: Case, form: dict[str, Any], workflow_data: Any, values: dict[str, Any],
                    now: datetime, actor: Actor) -> None:
    # The case is recorded as transferred on the day it was: not on a day still to come, nor before the transfer
    # was approved (the day the transfer task opened), which the closure notice would then state.
    today = calendar.local_date(now)
    day = date.fromisoformat(form["transferred_on"])
    if day > today:
        raise DataInvalid({"transferred_on": f"移送日期不能晚于今天（{today.isoformat()}）"})
    approved = db.session.scalar(select(Task.created_at).where(
        Task.case_id == case.id, Task.name.in_(_TRANSFER_TASKS), Task.state == "open"))
    if approved is not None and day < calendar.local_date(approved):
        raise DataInvalid({"transferred_on": f"移送日期不能早于批准移送的日期（{_local_day(approved)}）"})


def _check_case_deadline(case: Case, form: dict[str, Any], workflow_data: Any, values: dict[str, Any],
                         now: datetime, actor: Actor) -> None:
    # One extension (DOMAIN.md): after it, the model ends the clock's review on "extend" without moving anything,
    # so the supervisor would believe the case extended. `case_extended` is set by the model's extension step.
    summary = case.summary or {}
    if form.get("decision") == "extend" and summary.get("case_extended"):
        due = _day(summary.get("case_due_at"), now)
        raise DataInvalid({"decision": f"办案期限只能延长一次：本案办案期限已延长至 {due}，不能再次延长，"
                                       "请选择“不延期，督促按期办结”"})


TASK_COMPLETED_HOOKS.append(_on_task_completed)
STATUS_HOOKS.append(_on_status)
OPEN_CASE_CHECKS.setdefault("wage_arrears", []).append(_check_period)
TASK_FORM_CHECKS.setdefault(("wage_arrears", "investigate"), []).append(_check_investigation)
TASK_FORM_CHECKS.setdefault(("wage_arrears", "check_payment"), []).append(_check_payment)
TASK_FORM_CHECKS.setdefault(("wage_arrears", "choose_enforcement"), []).append(_check_enforcement)
TASK_FORM_CHECKS.setdefault(("wage_arrears", "approve_enforcement"), []).append(_check_approval)
TASK_FORM_CHECKS.setdefault(("wage_arrears", "approve_referral"), []).append(_check_referral_approval)
TASK_FORM_CHECKS.setdefault(("wage_arrears", "transfer_case"), []).append(_check_transfer)
TASK_FORM_CHECKS.setdefault(("wage_arrears", "transfer_to_court"), []).append(_check_transfer)
TASK_FORM_CHECKS.setdefault(("wage_arrears", "review_case_deadline"), []).append(_check_case_deadline)
