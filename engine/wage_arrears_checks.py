"""Wage-arrears intake and form checks a JSON Schema cannot say (engine.services.tasks.TASK_FORM_CHECKS), refused
before anything is written: legal limits, dates, and decisions that contradict the case."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from engine import calendar
from engine.actors import Actor, scope_prefix
from engine.db import db
from engine.documents import Document
from engine.models import Case, Task, User
from engine.sandbox import money, money_str
from engine.services.cases import OPEN_CASE_CHECKS
from engine.services.tasks import OWN_HEAD_TASKS, TASK_FORM_CHECKS
from engine.validation import DataInvalid
from engine.wage_arrears_law import (
    enforcement_out_of_range,
    listed_until,
    penalty_hearing_right,
    prior_notice,
    referral_threshold,
)


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
    _check_compensation_paid(summary, form.get("compensation_paid"))


def _check_compensation_paid(summary: dict[str, Any], paid: str | None) -> None:
    """The compensation ordered (条例 art. 26) is checked with the wages: its running total is required once it is
    ordered, within the amount ordered and never lower than before; a case without the order has none to record."""
    ordered = money(summary.get("compensation_amount") or "0")
    if ordered <= 0:
        if paid is not None and money(paid) > 0:
            raise DataInvalid({"compensation_paid": "本案未责令加付赔偿金，无需填写"})
        return
    if paid is None:
        raise DataInvalid({"compensation_paid": f"本案已责令加付赔偿金 {money_str(ordered)} 元："
                                                "须填写累计已支付的加付赔偿金（未支付的填 0）"})
    if money(paid) > ordered:
        raise DataInvalid({"compensation_paid": f"累计已支付加付赔偿金不得超过责令加付的 {money_str(ordered)} 元"})
    recorded = summary.get("compensation_paid") or "0.00"
    if money(paid) < money(recorded):
        raise DataInvalid({"compensation_paid": f"累计已支付加付赔偿金不得低于此前已记录的 {recorded} 元"})


def _check_enforcement(case: Case, form: dict[str, Any], workflow_data: Any, values: dict[str, Any],
                       now: datetime, actor: Actor) -> None:
    errors = enforcement_out_of_range(form.get("penalty_amount"), form.get("compensation_rate"), values)
    measures = set(form["measures"])
    if {"criminal_referral", "court_transfer"} <= measures:
        # Either ends the case with its transfer: to the police for the crime, or to the court with money owed.
        errors["measures"] = "移送公安机关与移送人民法院不能同时选择：涉嫌犯罪的，先移送公安机关"
    elif "penalty" in measures and measures & {"criminal_referral", "court_transfer"}:
        # A fine is decided only after its prior notice and the employer's answer (行政处罚法 arts. 44, 45, 62),
        # which the model waits for once the measures are in force; an approved transfer goes straight to the
        # head or the court and ends the case, so a fine chosen with it would be decided unheard or not at all.
        # Simplest lawful order: the fine on its own first (a fine decided before a referral is offset against a
        # criminal fine: 行政执法机关移送涉嫌犯罪案件的规定 art. 11), or the transfer alone.
        errors["measures"] = PENALTY_WITH_TRANSFER
    elif "criminal_referral" in measures:
        shortfall = referral_threshold(workflow_data(), values).shortfall  # the summary lacks period and roster
        if shortfall:
            errors["measures"] = shortfall
    if "measures" not in errors:
        # One fine per violation (行政处罚法 art. 29), one compensation order per case: a case that comes back to
        # the measures (still unpaid, or a refused referral) may not repeat a decision already issued.
        repeated = _already_issued(case, measures & set(ONCE_PER_CASE))
        if repeated:  # each named, so one correction clears them all
            errors["measures"] = "；".join(message.format(number=number) for message, number in repeated)
    if "blacklist" in measures and "measures" not in errors:
        until = listed_until((case.summary or {}).get("employer_uscc"), now)
        if until:
            errors["measures"] = f"该用人单位已列入失信联合惩戒对象名单，列入期限至 {until}，不能重复列入"
    if "wage_deposit" in measures and measures & {"criminal_referral", "court_transfer"} and "measures" not in errors:
        # The bank has five working days to pay and the payment check follows; a transfer would close the case (or
        # a refused referral send it back) without that check, and a second draw could then ask for the money again.
        errors["measures"] = "动用工资保证金须待银行支付期满并核查履行情况后再决定移送：请先单独选择动用工资保证金"
    if errors:
        raise DataInvalid(errors)


# The ground of a decision not to fine belongs to that decision only.
DROP_GROUND_ONLY = "仅在不予罚款时填写：按告知的金额罚款或减少罚款金额的，无需填写"

PENALTY_WITH_TRANSFER = ("罚款须先送达行政处罚告知书、听取陈述申辩后方能决定（《中华人民共和国行政处罚法》第四十四条、"
                         "第四十五条），移送则结束本案：行政处罚不能与移送公安机关或移送人民法院同时选择，请分别决定")


# Measures a case may take once: the notice that takes each, and what a second choice of it is told.
ONCE_PER_CASE = {
    "penalty": ("penalty_decision", "本案已作出罚款决定（{number}），对同一违法行为不得给予两次以上罚款的行政处罚"
                                    "（《中华人民共和国行政处罚法》第二十九条）"),
    "compensation_order": ("compensation_order", "本案已责令加付赔偿金（{number}），不能重复责令"),
}


def _already_issued(case: Case, measures: set[str]) -> list[tuple[str, str]]:
    """(message, document number) of each of `measures` whose notice this case has already issued."""
    if not measures:
        return []
    kinds = {ONCE_PER_CASE[m][0]: m for m in measures}
    rows = db.session.execute(select(Document.kind, Document.number).where(
        Document.case_id == case.id, Document.kind.in_(kinds)).order_by(Document.id))
    found = {kinds[kind]: number for kind, number in rows}
    return [(message, found[m]) for m, (_kind, message) in ONCE_PER_CASE.items() if m in found]


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
    until = listed_until(summary.get("employer_uscc"), now) if "blacklist" in measures else None
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


def _check_penalty_decision(case: Case, form: dict[str, Any], workflow_data: Any, values: dict[str, Any],
                            now: datetime, actor: Actor) -> None:
    # The decision after the prior notice: never heavier than notified (行政处罚法 art. 45), within the range the
    # rules in force allow, a hearing only where the notice granted one and held before the decision (art. 64).
    intended = money(workflow_data()["penalty_amount"])  # the amount notified
    notice = prior_notice(case)
    # What the notice granted stands, even if the province has moved the threshold since.
    granted = notice.facts.get("hearing") if notice else penalty_hearing_right(intended, values)
    notified_on = date.fromisoformat(notice.facts["issued_on"]) if notice else None
    errors: dict[str, str] = {}
    if form["hearing_requested"] and not granted:
        errors["hearing_requested"] = (f"拟罚款 {money_str(intended)} 元未达到较大数额罚款标准 "
                                       f"{money_str(values['penalty_hearing_threshold'])} 元，告知书未告知听证权利："
                                       "当事人提出听证要求的，在复核意见中说明")
    held = form.get("hearing_held_on")
    if held and not form["hearing_requested"]:
        errors["hearing_held_on"] = "当事人未要求听证的，无需填写听证日期"
    elif held:
        today = calendar.local_date(now)
        if date.fromisoformat(held) > today:
            errors["hearing_held_on"] = f"听证日期不能晚于今天（{today.isoformat()}）：须举行听证后方可作出决定"
        elif notified_on and date.fromisoformat(held) < notified_on:
            errors["hearing_held_on"] = f"听证日期不能早于行政处罚告知书的日期（{notified_on.isoformat()}）"
    outcome, final = form["penalty_outcome"], form.get("final_penalty_amount")
    if outcome != "drop" and form.get("drop_ground") is not None:
        errors["drop_ground"] = DROP_GROUND_ONLY
    if outcome != "reduce" and final is not None:
        errors["final_penalty_amount"] = "仅在减少罚款金额时填写：按告知的金额罚款或不予罚款的，无需填写"
    elif outcome == "reduce":
        out_of_range = enforcement_out_of_range(final, None, values).get("penalty_amount")
        if money(final) >= intended:
            errors["final_penalty_amount"] = (f"减少后的罚款金额应低于告知的拟罚款金额 {money_str(intended)} 元"
                                              "（不得因当事人陈述、申辩而给予更重的处罚：《中华人民共和国行政处罚法》"
                                              "第四十五条）")
        elif out_of_range:
            errors["final_penalty_amount"] = out_of_range
    elif outcome == "impose":
        # The province may have narrowed the range since the fine was approved.
        out_of_range = enforcement_out_of_range(money_str(intended), None, values).get("penalty_amount")
        if out_of_range:
            errors["penalty_outcome"] = f"告知的拟罚款金额 {money_str(intended)} 元已不在现行幅度内：{out_of_range}"
    if errors:
        raise DataInvalid(errors)


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
    if approved is not None and day < (approved_on := calendar.local_date(approved)):
        raise DataInvalid({"transferred_on": f"移送日期不能早于批准移送的日期（{approved_on.isoformat()}）"})


def _check_material(case: Case, form: dict[str, Any], workflow_data: Any, values: dict[str, Any],
                    now: datetime, actor: Actor) -> None:
    # "Not supplied in time" rejects the complaint with a notice saying the time ran out (你逾期未补正): while the
    # time given is still running the complainant may yet supply it (若干规定 art. 18), so it is refused until the
    # task's deadline (rule material_wait_days) has passed.
    if form.get("received") is not False:
        return
    due = db.session.scalar(select(Task.due_at).where(
        Task.case_id == case.id, Task.name == "receive_material", Task.state == "open"))
    if due is not None and now <= due:
        day = calendar.local_date(due).isoformat()
        raise DataInvalid({"received": f"补正期限（至 {day}）尚未届满，投诉人仍可补正，不能按逾期未补正不予受理；"
                                       "材料已补正的请选择“是”"})


def _check_case_deadline(case: Case, form: dict[str, Any], workflow_data: Any, values: dict[str, Any],
                         now: datetime, actor: Actor) -> None:
    # One extension (DOMAIN.md): after it, the model ends the clock's review on "extend" without moving anything,
    # so the supervisor would believe the case extended. `case_extended` is set by the model's extension step.
    summary = case.summary or {}
    if form.get("decision") == "extend" and summary.get("case_extended"):
        due = calendar.local_date(datetime.fromisoformat(summary["case_due_at"])).isoformat()
        raise DataInvalid({"decision": f"办案期限只能延长一次：本案办案期限已延长至 {due}，不能再次延长，"
                                       "请选择“不延期，督促按期办结”"})


OPEN_CASE_CHECKS.setdefault("wage_arrears", []).append(_check_period)
TASK_FORM_CHECKS.setdefault(("wage_arrears", "investigate"), []).append(_check_investigation)
TASK_FORM_CHECKS.setdefault(("wage_arrears", "check_payment"), []).append(_check_payment)
TASK_FORM_CHECKS.setdefault(("wage_arrears", "choose_enforcement"), []).append(_check_enforcement)
TASK_FORM_CHECKS.setdefault(("wage_arrears", "approve_enforcement"), []).append(_check_approval)
TASK_FORM_CHECKS.setdefault(("wage_arrears", "approve_referral"), []).append(_check_referral_approval)
TASK_FORM_CHECKS.setdefault(("wage_arrears", "decide_penalty"), []).append(_check_penalty_decision)
TASK_FORM_CHECKS.setdefault(("wage_arrears", "transfer_case"), []).append(_check_transfer)
TASK_FORM_CHECKS.setdefault(("wage_arrears", "transfer_to_court"), []).append(_check_transfer)
TASK_FORM_CHECKS.setdefault(("wage_arrears", "review_case_deadline"), []).append(_check_case_deadline)
TASK_FORM_CHECKS.setdefault(("wage_arrears", "receive_material"), []).append(_check_material)
# 《行政执法机关移送涉嫌犯罪案件的规定》(国务院令第310号) art. 5: the referral report is approved by the handling
# body's own chief (本机关正职负责人或者主持工作的负责人), not by a head of the bureau above it.
OWN_HEAD_TASKS.add(("wage_arrears", "approve_referral"))
