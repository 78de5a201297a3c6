"""Wage-arrears notices: which decision issues which notice, with the facts it states."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from engine import calendar, processes
from engine.actors import Actor
from engine.clock import current_now, rule_value
from engine.documents import Document, issue_notice
from engine.models import Case
from engine.regions import issuing_region
from engine.rules import RULES
from engine.sandbox import BPMN_HELPERS, money, money_str
from engine.services.cases import STATUS_HOOKS, TASK_COMPLETED_HOOKS
from engine.wage_arrears_law import (
    BLACKLIST_REPEAT_YEARS,
    BLACKLIST_YEARS,
    MEASURES_NEEDING_APPROVAL,
    NO_PENALTY_BASIS,
    NO_PENALTY_EDUCATION,
    NO_PENALTY_GROUNDS,
    PENALTY_NOTICE_RULES,
    REFERRAL_RULES,
    blacklistings,
    outstanding,
    payment_deadline_days,
    penalty_answer_days,
    penalty_hearing_right,
    prior_notice,
    referral_threshold,
    verified_and_paid,
)
from pdfs.formatting import cn_date

# The two-year limit and the disputes for arbitration or a court (条例 arts. 20, 21); the five working days and the
# conditions of acceptance (若干规定 art. 18).
REJECTION_GROUNDS = "《劳动保障监察条例》第二十条、第二十一条；《关于实施〈劳动保障监察条例〉若干规定》第十八条"


CLOSED_STATUSES = {"cleared": "欠薪已全部清偿，案件办结。", "withdrawn": "经调查核实，未发现拖欠工资行为，案件撤销。",
                   "transferred": "案件已移送公安机关依法处理。"}


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


def _unpaid_fact(data: dict[str, Any], *, to_employer: bool = True) -> str:
    """What is still owed, as the notices state it (after a part payment the verified total is not owed): to the
    employer 你单位, to anyone else (the bank, the government) the employer by name."""
    verified, paid = verified_and_paid(data)
    who = "你单位" if to_employer else _employer(data)
    if paid >= verified > 0:  # the wages are paid; what remains (compensation, a fine) is stated beside this
        return f"经核实，{who}拖欠劳动者工资{money_str(verified)}元，经责令限期支付，逾期后已全部支付。"
    if paid > 0:
        return (f"经核实，{who}拖欠劳动者工资{money_str(verified)}元，经责令限期支付，逾期仅支付{money_str(paid)}元，"
                f"尚欠{money_str(verified - paid)}元未支付。")
    return f"经核实，{who}拖欠劳动者工资{money_str(verified)}元，经责令限期支付，逾期仍未支付。"


def _matter(data: dict[str, Any]) -> str:
    return f"你反映{_employer(data)}拖欠工资的投诉"


def _local_day(moment: datetime) -> str:
    return calendar.local_date(moment).isoformat()


# The fine of 2,000-20,000 is for obstructing the inspection (DOMAIN.md; 条例 art. 30).
PENALTY_BASIS = "《劳动保障监察条例》第三十条"


def _penalty_facts(data: dict[str, Any], now: datetime) -> list[str]:
    """One paragraph of what the employer did: the wages, the compensation ordered and still unpaid, and what the
    inspector found when choosing the fine (its reason). One fact, not a second numbered violation (QA).
    Compensation is unpaid only once its time to pay has run: ordered with the fine (one approval, one date), the
    employer has not yet failed to pay it, and the notice may not say so (QA)."""
    fact = _unpaid_fact(data)
    ordered = money(data.get("compensation_amount") or "0")
    unpaid = ordered - money(data.get("compensation_paid") or "0")
    due = data.get("compensation_due_at")  # none on a model version before the deadline was recorded
    if unpaid > 0 and (not due or datetime.fromisoformat(due) < now):
        fact += f"经责令加付赔偿金{money_str(ordered)}元，尚有{money_str(unpaid)}元未支付。"
    reason = (data.get("reason") or "").strip().rstrip("。")
    return [f"{fact}{reason}。" if reason else fact]


def _hears_the_employer(case: Case) -> bool:
    """Whether the case's model decides a fine only after the prior notice and the employer's answer (the step
    decide_penalty); a case still running on an earlier version decides it on the approval, as that version did."""
    return "decide_penalty" in processes.parsed_by_id(case.process_version_id).user_tasks


def _measures_take_effect(case: Case, data: dict[str, Any], now: datetime, who: str) -> None:
    """Issue the notices of the measures chosen, once they are in force (chosen, or approved when one of them needs
    approval). The referral letter waits for the head's approval; a court transfer ends in the closure notice. A
    fine is not decided here: the employer is first told of it and may answer (行政处罚法 arts. 44, 45, 62), and
    the decision follows the model's step decide_penalty."""
    measures = data.get("measures") or []
    owed, workers = outstanding(data), int(data.get("workers_owed") or 0)
    today = calendar.local_date(now)
    if "penalty" in measures and _hears_the_employer(case):
        values = {key: rule_value(key) for key in PENALTY_NOTICE_RULES}
        amount = data["penalty_amount"]  # the form requires it with this measure
        issue_notice(case, "penalty_prior_notice", {
            "recipient": _employer(data), "penalty": "罚款", "fine_amount": amount,
            "facts": _penalty_facts(data, now), "legal_basis": [PENALTY_BASIS],
            "defence_days": int(values["penalty_defence_days"]),
            "hearing": penalty_hearing_right(amount, values),
            "hearing_days": int(values["penalty_hearing_request_days"]),
        }, now, who)
    elif "penalty" in measures:
        issue_notice(case, "penalty_decision", {
            "recipient": _employer(data), "penalty": "罚款", "fine_amount": data["penalty_amount"],
            "facts": _penalty_facts(data, now), "legal_basis": [PENALTY_BASIS],
        }, now, who)
    if "compensation_order" in measures:
        rate = int(data["compensation_rate"])  # the form requires it with this measure
        # The model's step that puts the measures in force (set_measures_in_force) computed the amount and the
        # deadline the payment check waits for; a case on an earlier model version has neither.
        amount = data.get("compensation_amount")
        amount = amount if amount and money(amount) > 0 else money_str(owed * rate / 100)
        due = data.get("compensation_due_at")
        deadline = (calendar.local_date(datetime.fromisoformat(due)).isoformat() if due else
                    _local_day(calendar.working_days_after(now, payment_deadline_days(today))))
        issue_notice(case, "compensation_order", {
            "recipient": _employer(data), "amount_owed": money_str(owed), "compensation_rate": rate,
            "compensation_amount": amount, "worker_count": workers, "deadline": deadline,
            "facts": [_unpaid_fact(data)],
            "legal_basis": ["《劳动保障监察条例》第二十六条", "《中华人民共和国劳动合同法》第八十五条"],
        }, now, who)
    if "wage_deposit" in measures:
        # The bank's five working days, as the model's wait before the payment check counts them (deposit_due_at;
        # not read from the data: a set that also refers the case never reaches that step and may hold an old one).
        deadline = _local_day(calendar.working_days_after(now, int(rule_value("wage_deposit_bank_days"))))
        issue_notice(case, "wage_deposit_notice", {
            "recipient": data["deposit_bank"], "depositor": _employer(data),  # required with the measure
            "amount": money_str(owed), "worker_count": workers, "deadline": deadline,
            "project": (data.get("project") or {}).get("name"),
            "facts": [_unpaid_fact(data, to_employer=False)],
            "legal_basis": ["《保障农民工工资支付条例》第三十二条", "《工程建设领域农民工工资保证金规定》第十五条"],
        }, now, who)
    if "emergency_advance" in measures:
        issue_notice(case, "emergency_advance_request", {
            "recipient": f"{issuing_region(case.region).name}人民政府", "employer": _employer(data),
            "amount": money_str(owed), "worker_count": workers,
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


def _hearing_note(notice: Document | None, form: dict[str, Any], intended: str, final: str) -> str:
    """The decision's paragraph on the procedure before it: the prior notice (number and date), what the employer
    answered, the bureau's review and, for a lower fine, the change and why (行政处罚法 arts. 44, 45, 64)."""
    hearing = bool(notice and notice.facts.get("hearing"))
    rights = "陈述、申辩和要求听证" if hearing else "陈述、申辩"
    if notice is not None:
        issued = cn_date(date.fromisoformat(notice.facts["issued_on"]))
        parts = [f"本局于{issued}向你单位发出《行政处罚告知书》（{notice.number}），"
                 f"告知你单位拟作出行政处罚的事实、理由、依据及依法享有的{rights}的权利。"]
    else:
        parts = [f"本局已告知你单位拟作出行政处罚的事实、理由、依据及依法享有的{rights}的权利。"]
    if form.get("hearing_requested"):
        held = cn_date(date.fromisoformat(form["hearing_held_on"]))
        parts.append(f"你单位要求举行听证，本局于{held}依法举行了听证。")
    if form.get("defence_stated"):
        parts.append("你单位在规定期限内提出了陈述、申辩。")
    if not form.get("hearing_requested") and not form.get("defence_stated"):
        parts.append("你单位在规定期限内未提出陈述、申辩" + ("，亦未要求听证。" if hearing else "。"))
    if form.get("defence_review"):
        parts.append("经复核，" + form["defence_review"].strip().rstrip("。；;，,.") + "。")
    if form.get("penalty_outcome") == "reduce":
        parts.append(f"本局决定将罚款金额由{intended}元减为{final}元，理由："
                     + form["penalty_outcome_reason"].strip().rstrip("。；;，,.") + "。")
    return "".join(parts)


def _decide_penalty(case: Case, form: dict[str, Any], data: dict[str, Any], now: datetime, who: str) -> None:
    """The decision once the employer's time to answer the prior notice has run, with the procedure before it
    stated (行政处罚法 art. 57): the fine as notified or lower (never higher: art. 45), or none."""
    intended = money_str(data["penalty_amount"])
    notice = prior_notice(case)
    if form["penalty_outcome"] == "drop":
        _no_penalty(case, form, data, notice, intended, now, who)
        return
    final = money_str(form["final_penalty_amount"]) if form["penalty_outcome"] == "reduce" else intended
    # The facts the employer was told of and answered (行政处罚法 art. 44), as the decision not to fine states them:
    # recomputed now they could add a fact never notified (compensation unpaid since, never checked).
    issue_notice(case, "penalty_decision", {
        "recipient": _employer(data), "penalty": "罚款", "fine_amount": final,
        "facts": notice.facts["facts"] if notice else _penalty_facts(data, now), "legal_basis": [PENALTY_BASIS],
        "hearing_note": _hearing_note(notice, form, intended, final),
    }, now, who)


def _no_penalty(case: Case, form: dict[str, Any], data: dict[str, Any], notice: Document | None, intended: str,
                now: datetime, who: str) -> None:
    """The decision not to impose the fine notified (不予行政处罚决定书): the employer that was told of the fine is
    told in writing that it is not imposed, on the facts it was told of, after its answer, why and on which
    ground; a violation found but not penalised is recorded with the education art. 33(3) requires. The rights of
    review and litigation are printed whatever the ground, as official formats of this decision do: the worker
    who complained is an interested party too."""
    ground = NO_PENALTY_GROUNDS.get(form.get("drop_ground"))  # none on a model version whose form had no ground
    issue_notice(case, "no_penalty_decision", {
        "recipient": _employer(data), "penalty": "罚款", "fine_amount": intended,
        "facts": notice.facts["facts"] if notice else _penalty_facts(data, now),
        "hearing_note": _hearing_note(notice, form, intended, intended),
        "reason": form["penalty_outcome_reason"],  # the form requires it with this outcome
        "ground": ground.says if ground else None,
        "legal_basis": [ground.basis if ground else NO_PENALTY_BASIS],
        "education": NO_PENALTY_EDUCATION if ground and ground.finds_violation else None,
        "rights": True,
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
        if form.get("redirect_to"):  # the competent body (a model version before the field named none)
            notice["redirect_to"] = form["redirect_to"]
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
            "legal_basis": ["《劳动保障监察条例》第十八条", "《劳动保障监察条例》第二十六条"],
            "requirements": [f"限你单位于{_day(data.get('payment_due_at'), now)}前足额支付上述工资，"
                             "并将支付凭证报送本局。"],
        }, now, who)
    elif ((task == "choose_enforcement" and not MEASURES_NEEDING_APPROVAL & set(form["measures"]))
          or (task == "approve_enforcement" and form.get("approved"))):
        _measures_take_effect(case, data, now, who)
    elif task == "decide_penalty":
        _decide_penalty(case, form, data, now, who)
    elif task == "approve_referral" and form.get("approved") and "criminal_referral" in (data.get("measures") or []):
        # The referral is decided by the head (移送案件规定第五条), not by the supervisor's approval of the measures.
        owed = outstanding(data)
        facts = [f"{_employer(data)}拖欠{int(data.get('workers_owed') or 0)}名劳动者工资{money_str(owed)}元，"
                 "经责令支付后逾期仍不支付，涉嫌拒不支付劳动报酬罪。"]
        # The letter cites the standard the arrears reach, by the rules in force (the head's approval checked it).
        threshold = referral_threshold(data, {key: rule_value(key) for key in REFERRAL_RULES})
        if threshold.met:
            facts.append(f"上述欠薪已达到涉嫌犯罪案件移送标准：{threshold.met}。")
        issue_notice(case, "criminal_referral", {
            "recipient": f"{issuing_region(case.region).name}公安局", "suspect": _employer(data),
            "offence": "拒不支付劳动报酬罪", "amount_owed": money_str(owed),
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
    owed = outstanding(data)
    if case.status == "transferred" and owed > 0:
        # Closed without the money paid: the complainant is told what is still owed and where it now stands.
        outcome += (f"截至结案，用人单位尚欠劳动者工资{money_str(owed)}元未支付，"
                    "你可以依法通过司法途径主张权利。")
    compensation = money(data.get("compensation_paid") or "0")
    issue_notice(case, "case_closure_notice", {
        "recipient": _complainant(data), "outcome": [outcome],
        "closed_on": _day(None, now), "amount_recovered": data.get("amount_paid") or "0.00",
        # The compensation ordered (条例 art. 26) and paid to the workers besides their wages (QA: left unsaid).
        "compensation_recovered": money_str(compensation) if compensation > 0 else None,
        "worker_count": int(data.get("workers_owed") or data.get("workers_count") or 0),
        "facts": [f"{_matter(data)}，本局已依法处理完毕。"],
        "legal_basis": [RULES["case_conclusion_days"].basis],
    }, now, "system")


def _helper_order_payment_days() -> int:
    """The working days an order gives to pay today (the campaign's, or the ordinary ones): for the model's
    compensation deadline."""
    return payment_deadline_days(calendar.local_date(current_now()))


def _helper_penalty_answer_days(amount: str) -> int:
    """The working days the employer has to answer the prior notice of a fine of `amount` (defence, or a hearing
    request for a large fine): how long the model waits before the decision."""
    return penalty_answer_days(amount, {key: rule_value(key) for key in PENALTY_NOTICE_RULES})


# For the wage_arrears model (the sandbox reads its helpers live).
BPMN_HELPERS["order_payment_days"] = _helper_order_payment_days
BPMN_HELPERS["penalty_answer_days"] = _helper_penalty_answer_days

TASK_COMPLETED_HOOKS.append(_on_task_completed)
STATUS_HOOKS.append(_on_status)
