"""Wage-arrears notices: which decision issues which notice, with the facts it states."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from engine import calendar
from engine.actors import Actor
from engine.documents import issue_notice
from engine.models import Case
from engine.regions import issuing_region
from engine.rules import RULES
from engine.sandbox import money, money_str
from engine.services.cases import OPEN_CASE_CHECKS, STATUS_HOOKS, TASK_COMPLETED_HOOKS
from engine.services.tasks import TASK_FORM_CHECKS
from engine.validation import DataInvalid

REJECTION_GROUNDS = "《劳动保障监察条例》第十七条；《关于实施〈劳动保障监察条例〉若干规定》第十七条"
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


def _matter(data: dict[str, Any]) -> str:
    return f"你反映{_employer(data)}拖欠工资的投诉"


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
    elif task == "approve_enforcement" and form.get("approved"):
        measures = data.get("measures") or []
        if "penalty" in measures:
            issue_notice(case, "penalty_decision", {
                "recipient": _employer(data), "penalty": "罚款",
                "fine_amount": data.get("penalty_amount") or "2000.00",
                "deadline": (calendar.local_date(now) + timedelta(days=15)).isoformat(),
                "facts": [f"你单位拖欠劳动者工资{data.get('verified_amount')}元，经责令限期支付逾期仍未支付。"],
                "legal_basis": ["《劳动保障监察条例》第二十六条、第三十条", "《保障农民工工资支付条例》第五十七条"],
            }, now, who)
        if "criminal_referral" in measures:
            outstanding = money(data.get("verified_amount") or "0") - money(data.get("amount_paid") or "0")
            issue_notice(case, "criminal_referral", {
                "recipient": f"{issuing_region(case.region).name}公安局", "suspect": _employer(data),
                "offence": "拒不支付劳动报酬罪", "amount_owed": str(outstanding),
                "worker_count": int(data.get("workers_owed") or 0),
                "attachments": ["立案审批表", "调查询问笔录", "限期整改指令书及送达回证", "工资清单"],
                "facts": [f"{_employer(data)}拖欠{int(data.get('workers_owed') or 0)}名劳动者工资{outstanding}元，"
                          "经责令支付后逾期仍不支付，涉嫌拒不支付劳动报酬罪。"],
                "legal_basis": ["《中华人民共和国刑法》第二百七十六条之一", "《行政执法机关移送涉嫌犯罪案件的规定》"],
            }, now, who)


def _on_status(case: Case, before: str, data: dict[str, Any], now: datetime, by: str) -> None:
    if case.process != "wage_arrears" or case.status not in CLOSED_STATUSES:
        return
    issue_notice(case, "case_closure_notice", {
        "recipient": _complainant(data), "outcome": [CLOSED_STATUSES[case.status]],
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


def _check_payment(case: Case, form: dict[str, Any], workflow_data: Any, values: dict[str, Any],
                   now: datetime) -> None:
    # `amount_paid` is the total paid so far (API.md), so it may not pass the verified arrears: more would clear
    # the case and count money never owed as recovered ("不解决不销账" the other way round).
    summary = case.summary or {}
    verified = summary.get("verified_amount")
    if verified is not None and money(form["amount_paid"]) > money(verified):
        recorded, owed = summary.get("amount_paid") or "0.00", summary.get("amount_outstanding") or verified
        raise DataInvalid({"amount_paid": f"累计已支付金额不得超过核实欠薪金额 {verified} 元"
                                          f"（此前已记录支付 {recorded} 元，尚欠 {owed} 元）"})


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
                       now: datetime) -> None:
    errors = enforcement_out_of_range(form.get("penalty_amount"), form.get("compensation_rate"), values)
    if errors:
        raise DataInvalid(errors)


def _check_approval(case: Case, form: dict[str, Any], workflow_data: Any, values: dict[str, Any],
                    now: datetime) -> None:
    # A supervisor's approval does not make an unlawful fine lawful: a measure chosen before the limits were
    # checked (or before the province narrowed them) is sent back, not approved.
    measures = (case.summary or {}).get("measures") or []
    if not form.get("approved") or not {"penalty", "compensation_order"} & set(measures):
        return
    data = workflow_data()  # the summary does not carry the amounts
    errors = enforcement_out_of_range(data.get("penalty_amount") if "penalty" in measures else None,
                                      data.get("compensation_rate") if "compensation_order" in measures else None,
                                      values)
    if errors:
        raise DataInvalid({"approved": "不能批准：" + "；".join(errors.values())
                                       + "。请不予同意，退回重新确定处置措施"})


TASK_COMPLETED_HOOKS.append(_on_task_completed)
STATUS_HOOKS.append(_on_status)
OPEN_CASE_CHECKS.setdefault("wage_arrears", []).append(_check_period)
TASK_FORM_CHECKS.setdefault(("wage_arrears", "check_payment"), []).append(_check_payment)
TASK_FORM_CHECKS.setdefault(("wage_arrears", "choose_enforcement"), []).append(_check_enforcement)
TASK_FORM_CHECKS.setdefault(("wage_arrears", "approve_enforcement"), []).append(_check_approval)
