"""Wage-arrears domain rules refused on the task's form before the workflow moves (DOMAIN.md section 1): no
withdrawal as "no arrears" while verified arrears remain, a criminal referral only when the threshold is met (on
choosing it, on the supervisor's approval and on the head's), a total paid that never goes down, and one extension
of the case clock.
Each refusal is a 400 naming the field that changes nothing (tests/integration/test_legal_limits.py `refused`)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from engine import documents, services
from engine.actors import Actor
from engine.db import db
from engine.models import Case
from engine.rule_settings import set_rule
from engine.rules import RULES
from engine.services.cases import open_tasks
from engine.services.tasks import TASK_FORM_CHECKS
from engine.summaries import project
from tests.conftest import at
from tests.factories import (
    REVIEW_ACCEPT,
    _valid_ric,
    complete,
    fire_due_timers,
    investigate_data,
    open_task,
    stored_workflow,
    wage_arrears_intake,
)
from tests.integration.test_legal_limits import refused
from tests.integration.test_wage_arrears_process import REFERRAL

API = "/api/v1"
OPENED = at("2021-02-01 09:00")  # a Monday; the case clock runs to the end of Thu 29 April
INVESTIGATED = at("2021-02-22 10:00")
ISSUED = at("2021-03-01 10:00")  # payment due at the end of Thu 4 March
CHECKED = at("2021-03-05 09:00")


def _accepted(inspector: Actor, **intake) -> Case:
    case = services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(**intake), OPENED)
    return complete(inspector, case, "review_complaint", REVIEW_ACCEPT, OPENED + timedelta(hours=1))


def _tokens(client, *names: str) -> dict[str, str]:
    return {name: client.post(f"{API}/auth/token", json={"username": name, "password": "correct-horse-9"})
            .get_json()["token"] for name in names}


def _english(app, text: str) -> str:
    """An engine message as a page shows it in English (web.messages.message)."""
    from flask_babel import force_locale

    from web.messages import message

    with app.test_request_context(), force_locale("en"):
        return message(text)


def _http_complete(client, token: str, case: Case, task_name: str, form: dict) -> dict:
    task = open_task(case, task_name)
    response = client.post(f"{API}/tasks/{task.id}/complete", json={"data": form, "case_version": case.version},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    return {key.removeprefix("data."): message for key, message in error["fields"].items()}


# ---------------------------------------------------------------------------------------------------------------
# 1. "No arrears found" while verified arrears remain.

def test_no_arrears_with_verified_arrears_is_refused(ctx, inspector, workflow_source):
    case = _accepted(inspector)
    fields = refused(inspector, case, "investigate", investigate_data("no_arrears", "50000.00", 5), INVESTIGATED)
    assert set(fields) == {"verified_amount", "workers_owed"}
    assert "未发现拖欠工资" in fields["verified_amount"] and "未发现拖欠工资" in fields["workers_owed"]
    assert all("must be 0" in _english(ctx, fields[name]) for name in ("verified_amount", "workers_owed"))
    assert set(refused(inspector, case, "investigate", investigate_data("no_arrears", "0.01", 0),
                       INVESTIGATED)) == {"verified_amount"}
    assert set(refused(inspector, case, "investigate", investigate_data("no_arrears", "0.00", 3),
                       INVESTIGATED)) == {"workers_owed"}
    stored_workflow(case)  # the refusals left the live workflow as it was written
    # Nothing verified: withdrawn, and the closure notice says so.
    case = complete(inspector, case, "investigate", investigate_data("no_arrears", "0", 0), INVESTIGATED)
    assert case.status == "withdrawn" and case.summary["amount_outstanding"] == "0.00"
    [closure] = [d for d in documents.documents_for_case(case) if d.kind == "case_closure_notice"]
    assert "未发现拖欠工资" in closure.facts["outcome"][0]


def test_verified_arrears_go_on_to_an_order(ctx, inspector):
    case = _accepted(inspector)
    case = complete(inspector, case, "investigate", investigate_data("order", "50000.00", 5), INVESTIGATED)
    assert case.status == "investigating" and open_task(case, "issue_order")
    assert case.summary["amount_outstanding"] == "50000.00" and case.workers_owed == 5


def test_an_order_without_arrears_names_the_amount_in_chinese(ctx, inspector):
    case = _accepted(inspector)
    fields = refused(inspector, case, "investigate", investigate_data("order", "0.00", 0), INVESTIGATED)
    assert set(fields) == {"verified_amount", "workers_owed"}
    assert "须大于 0" in fields["verified_amount"]


def test_over_http_no_arrears_with_arrears_is_a_400(client, ctx, inspector):
    case = _accepted(inspector)
    token = _tokens(client, "insp_cx")["insp_cx"]
    fields = _http_complete(client, token, case, "investigate", investigate_data("no_arrears", "50000.00", 5))
    assert set(fields) == {"verified_amount", "workers_owed"}
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "investigating"


def test_a_withdrawn_case_shows_what_was_verified_not_zero():
    # A case withdrawn with arrears recorded (before the check above) must not drop off the figures.
    data = {**wage_arrears_intake(), "status": "withdrawn", "verified_amount": "50000.00", "workers_owed": 5,
            "amount_paid": "0.00"}
    projection = project("wage_arrears", data)
    assert projection.summary["amount_outstanding"] == "50000.00" and projection.summary["workers_owed"] == 5
    assert projection.columns["arrears_outstanding"] == Decimal("50000.00")
    assert projection.columns["workers_owed"] == 5
    # Withdrawn after finding nothing: nothing owed.
    nothing = project("wage_arrears", {**data, "verified_amount": "0.00", "workers_owed": 0})
    assert nothing.columns["arrears_outstanding"] == 0 and nothing.columns["workers_owed"] == 0
    # A complaint never taken on counts nothing: its amount was claimed, never verified.
    for status in ("rejected", "redirected"):
        closed = project("wage_arrears", {**wage_arrears_intake(), "status": status})
        assert closed.columns["arrears_outstanding"] == 0 and closed.columns["workers_owed"] == 0


# ---------------------------------------------------------------------------------------------------------------
# 2. The criminal-referral threshold.

def _enforcement(inspector: Actor, verified: str, workers: int, *, paid: str = "0", **intake) -> Case:
    """A case of 532301 at choose_enforcement: `verified` owed to `workers` workers, `paid` of it paid."""
    case = _accepted(inspector, **intake)
    case = complete(inspector, case, "investigate", investigate_data("order", verified, workers), INVESTIGATED)
    case = complete(inspector, case, "issue_order", {"payment_deadline_days": 3}, ISSUED)
    fire_due_timers(CHECKED)
    db.session.refresh(case)
    case = complete(inspector, case, "check_payment", {"amount_paid": paid}, CHECKED)
    assert case.status == "enforcement" and open_task(case, "choose_enforcement")
    return case


def _roster(*amounts: str) -> list[dict]:
    return [{"name": f"劳动者{i}", "id_number": _valid_ric(f"53230119900101{i:03d}"), "amount_owed": amount}
            for i, amount in enumerate(amounts, start=1)]


def _transferred(case: Case, inspector: Actor, supervisor: Actor, head: Actor) -> Case:
    """A chosen referral approved by the supervisor, decided by the head and transferred by the inspector."""
    case = complete(supervisor, case, "approve_enforcement", {"approved": True}, CHECKED + timedelta(hours=1))
    case = complete(head, case, "approve_referral", {"approved": True}, CHECKED + timedelta(hours=2))
    return complete(inspector, case, "transfer_case",
                    {"transferred_on": "2021-03-05", "receiving_unit": "楚雄市公安局"}, CHECKED + timedelta(hours=3))


def test_the_referral_thresholds_are_rules_with_their_legal_basis():
    months = RULES["criminal_threshold_months"]
    assert (months.default, months.unit) == (3, "months")
    assert months.basis == RULES["criminal_threshold_single_amount"].basis
    assert (RULES["criminal_threshold_single_amount"].default,
            RULES["criminal_threshold_group_amount"].default) == (Decimal("10000"), Decimal("60000"))


def test_a_referral_of_800_yuan_is_refused(ctx, inspector, workflow_source):
    case = _enforcement(inspector, "800.00", 10)
    fields = refused(inspector, case, "choose_enforcement", REFERRAL, CHECKED)
    assert set(fields) == {"measures"}
    message = fields["measures"]
    assert "800.00" in message and "60000.00" in message and "10000.00" in message
    stored_workflow(case)
    # The other measures may still be chosen.
    case = complete(inspector, case, "choose_enforcement", {"measures": ["emergency_advance"], "reason": "申请垫付"},
                    CHECKED)
    assert open_task(case, "check_payment")


@pytest.mark.parametrize(("verified", "paid", "met"), [
    ("60000.00", "0", True), ("100000.00", "40000.00", True), ("59999.99", "0", False),
    ("100000.00", "40000.01", False),
])
def test_ten_workers_and_the_group_amount_outstanding(ctx, inspector, supervisor, county_head, verified, paid, met):
    case = _enforcement(inspector, verified, 10, paid=paid, roster=_roster(*["5000.00"] * 10))
    if not met:
        assert set(refused(inspector, case, "choose_enforcement", REFERRAL, CHECKED)) == {"measures"}
        return
    case = complete(inspector, case, "choose_enforcement", REFERRAL, CHECKED)
    assert _transferred(case, inspector, supervisor, county_head).status == "transferred"


def test_nine_workers_do_not_make_a_group(ctx, inspector):
    # 90,000 owed to 9 workers: not the group branch; the average (10,000) makes one worker's amount certain.
    case = _enforcement(inspector, "90000.00", 9)
    complete(inspector, case, "choose_enforcement", REFERRAL, CHECKED)
    case = _enforcement(inspector, "89999.99", 9)
    message = refused(inspector, case, "choose_enforcement", REFERRAL, CHECKED)["measures"]
    assert "人均尚欠 9999.99 元" in message and "名册" in message  # the average is never rounded up to the standard


def test_one_worker_owed_the_single_amount_over_three_months(ctx, inspector, supervisor, county_head):
    case = _enforcement(inspector, "10000.00", 1, period_from="2020-10-01", period_to="2020-12-31")
    case = complete(inspector, case, "choose_enforcement", REFERRAL, CHECKED)
    assert _transferred(case, inspector, supervisor, county_head).status == "transferred"


def test_one_worker_over_less_than_three_months_is_refused(ctx, inspector):
    case = _enforcement(inspector, "50000.00", 1, period_from="2020-10-02", period_to="2020-12-31")
    message = refused(inspector, case, "choose_enforcement", REFERRAL, CHECKED)["measures"]
    assert "2020-10-02" in message and "3个月" in message


def test_without_per_worker_amounts_the_single_branch_cannot_be_shown(ctx, inspector):
    # 30,000 owed to 5 workers (6,000 on average) and no roster: nothing shows one worker owed 10,000.
    case = _enforcement(inspector, "30000.00", 5)
    message = refused(inspector, case, "choose_enforcement", REFERRAL, CHECKED)["measures"]
    assert "6000.00" in message and "名册" in message


def test_a_roster_shows_the_worker_owed_the_single_amount(ctx, inspector):
    case = _enforcement(inspector, "30000.00", 5, roster=_roster("12000.00", "4500.00", "4500.00", "4500.00",
                                                                  "4500.00"))
    case = complete(inspector, case, "choose_enforcement", REFERRAL, CHECKED)
    assert open_task(case, "approve_enforcement")


def test_the_verified_average_counts_even_with_a_roster_below_it(ctx, inspector):
    # The roster (the complaint's amounts) shows 6,000 each, but 100,000 was verified for 5 workers: someone is
    # owed at least 20,000.
    case = _enforcement(inspector, "100000.00", 5, roster=_roster(*["6000.00"] * 5))
    complete(inspector, case, "choose_enforcement", REFERRAL, CHECKED)


def test_a_roster_below_the_single_amount_is_refused(ctx, inspector):
    case = _enforcement(inspector, "30000.00", 5, roster=_roster(*["6000.00"] * 5))
    message = refused(inspector, case, "choose_enforcement", REFERRAL, CHECKED)["measures"]
    assert "名册" in message and "6000.00" in message


def test_a_roster_amount_counts_only_up_to_what_is_still_owed(ctx, inspector):
    # The roster (at the complaint) shows 12,000 for one worker, but only 8,000 is still owed in all.
    case = _enforcement(inspector, "30000.00", 5, paid="22000.00",
                        roster=_roster("12000.00", "4500.00", "4500.00", "4500.00", "4500.00"))
    message = refused(inspector, case, "choose_enforcement", REFERRAL, CHECKED)["measures"]
    assert "8000.00" in message


def test_the_thresholds_follow_the_rules_in_force(ctx, inspector):
    set_rule("criminal_threshold_months", "6", "admin", OPENED)
    case = _enforcement(inspector, "20000.00", 1)  # September to December 2020: four months
    message = refused(inspector, case, "choose_enforcement", REFERRAL, CHECKED)["measures"]
    assert "6个月" in message
    set_rule("criminal_threshold_months", "3", "admin", OPENED)
    set_rule("criminal_threshold_single_amount", "20000.01", "admin", OPENED)
    assert "20000.01" in refused(inspector, case, "choose_enforcement", REFERRAL, CHECKED)["measures"]
    set_rule("criminal_threshold_single_amount", "5000", "admin", OPENED)
    set_rule("criminal_threshold_group_amount", "30000", "admin", OPENED)
    complete(inspector, case, "choose_enforcement", REFERRAL, CHECKED)


def test_a_supervisor_cannot_approve_a_referral_below_the_threshold(ctx, inspector, supervisor, monkeypatch,
                                                                    workflow_source):
    case = _enforcement(inspector, "800.00", 10)
    # A referral chosen before the threshold was checked.
    with monkeypatch.context() as patched:
        patched.setitem(TASK_FORM_CHECKS, ("wage_arrears", "choose_enforcement"), [])
        case = complete(inspector, case, "choose_enforcement", REFERRAL, CHECKED)
    fields = refused(supervisor, case, "approve_enforcement", {"approved": True}, CHECKED + timedelta(hours=1))
    assert set(fields) == {"approved"} and "800.00" in fields["approved"] and "不予同意" in fields["approved"]
    stored_workflow(case)
    assert not [d for d in documents.documents_for_case(case) if d.kind == "criminal_referral"]
    # Refused, it goes back to choosing the measures.
    case = complete(supervisor, case, "approve_enforcement", {"approved": False, "comment": "未达到移送标准"},
                    CHECKED + timedelta(hours=2))
    assert case.status == "enforcement" and open_task(case, "choose_enforcement")


def test_a_head_cannot_approve_a_referral_below_the_threshold(ctx, inspector, supervisor, county_head, workflow_source):
    # 60,000.00 owed to 10 workers, approved by the supervisor; the province then raises the group amount before the
    # head decides: the head's approval is held to the rules in force when it is given.
    case = _enforcement(inspector, "100000.00", 10, paid="40000.00")
    case = complete(inspector, case, "choose_enforcement", REFERRAL, CHECKED)
    case = complete(supervisor, case, "approve_enforcement", {"approved": True}, CHECKED + timedelta(hours=1))
    set_rule("criminal_threshold_group_amount", "80000", "admin", CHECKED + timedelta(hours=1))
    fields = refused(county_head, case, "approve_referral", {"approved": True}, CHECKED + timedelta(hours=2))
    assert set(fields) == {"approved"}
    assert "80000.00" in fields["approved"] and "60000.00" in fields["approved"] and "不批准" in fields["approved"]
    stored_workflow(case)
    assert not [d for d in documents.documents_for_case(case) if d.kind == "criminal_referral"]
    # Not approved, it goes back to choosing the measures, where the referral is refused too.
    case = complete(county_head, case, "approve_referral", {"approved": False, "comment": "未达到移送标准"},
                    CHECKED + timedelta(hours=3))
    assert case.status == "enforcement" and open_task(case, "choose_enforcement")
    assert set(refused(inspector, case, "choose_enforcement", REFERRAL, CHECKED + timedelta(hours=4))) == {
        "measures"}


def test_the_referral_letter_is_issued_on_the_heads_decision(ctx, inspector, supervisor, county_head):
    case = _enforcement(inspector, "100000.00", 10, paid="40000.00")
    case = complete(inspector, case, "choose_enforcement",
                    {"measures": ["blacklist", "criminal_referral"], "reason": "拒不支付，数额较大"}, CHECKED)
    case = complete(supervisor, case, "approve_enforcement", {"approved": True}, CHECKED + timedelta(hours=1))
    # The blacklisting is decided on the supervisor's approval; the referral is not, yet.
    kinds = [d.kind for d in documents.documents_for_case(case)]
    assert "blacklist_decision" in kinds and "criminal_referral" not in kinds
    case = complete(county_head, case, "approve_referral", {"approved": True}, CHECKED + timedelta(hours=2))
    kinds = [d.kind for d in documents.documents_for_case(case)]
    assert kinds.count("criminal_referral") == 1 and kinds.count("blacklist_decision") == 1
    assert open_task(case, "transfer_case")


def test_the_referral_letter_states_the_threshold_met(ctx, inspector, supervisor, county_head):
    case = _enforcement(inspector, "100000.00", 10, paid="40000.00")
    case = complete(inspector, case, "choose_enforcement", REFERRAL, CHECKED)
    case = complete(supervisor, case, "approve_enforcement", {"approved": True}, CHECKED + timedelta(hours=1))
    case = complete(county_head, case, "approve_referral", {"approved": True}, CHECKED + timedelta(hours=2))
    [letter] = [d for d in documents.documents_for_case(case) if d.kind == "criminal_referral"]
    assert letter.facts["amount_owed"] == "60000.00"
    assert any("移送标准" in fact and "10名以上" in fact and "60000.00" in fact for fact in letter.facts["facts"])
    assert RULES["criminal_threshold_group_amount"].basis in letter.facts["legal_basis"]


# ---------------------------------------------------------------------------------------------------------------
# 3. The total paid so far never goes down.

def test_a_total_paid_below_the_one_recorded_is_refused(ctx, inspector, workflow_source):
    case = _enforcement(inspector, "100000.00", 10, paid="60000.00")
    case = complete(inspector, case, "choose_enforcement", {"measures": ["emergency_advance"], "reason": "申请垫付"},
                    CHECKED)
    fields = refused(inspector, case, "check_payment", {"amount_paid": "10000"}, CHECKED + timedelta(days=1))
    assert set(fields) == {"amount_paid"} and "60000.00" in fields["amount_paid"]
    assert "already recorded, 60000.00 yuan" in _english(ctx, fields["amount_paid"])
    assert set(refused(inspector, case, "check_payment", {"amount_paid": "59999.99"},
                       CHECKED + timedelta(days=1))) == {"amount_paid"}
    stored_workflow(case)
    # The same total (nothing more paid) goes back to enforcement; recovered stays.
    case = complete(inspector, case, "check_payment", {"amount_paid": "60000.00"}, CHECKED + timedelta(days=1))
    assert case.status == "enforcement" and case.arrears_recovered == Decimal("60000.00")
    case = complete(inspector, case, "choose_enforcement", {"measures": ["emergency_advance"], "reason": "申请垫付"},
                    CHECKED + timedelta(days=1))
    case = complete(inspector, case, "check_payment", {"amount_paid": "100000"}, CHECKED + timedelta(days=2))
    assert case.status == "cleared" and case.arrears_recovered == Decimal("100000.00")


# ---------------------------------------------------------------------------------------------------------------
# 4. One extension of the case clock.

def _extended_and_due_again(inspector: Actor, supervisor: Actor) -> Case:
    case = _accepted(inspector)
    assert case.summary["case_due_at"] == "2021-04-29T23:59:59+08:00"
    fire_due_timers(at("2021-04-30 00:00"))
    db.session.refresh(case)
    case = complete(supervisor, case, "review_case_deadline", {"decision": "extend", "reason": "案情复杂，需延期"},
                    at("2021-04-30 09:00"))
    assert case.summary["case_due_at"] == "2021-06-15T23:59:59+08:00" and case.summary["case_extended"] is True
    fire_due_timers(at("2021-06-16 00:00"))
    db.session.refresh(case)
    assert open_task(case, "review_case_deadline")
    return case


def test_a_second_extension_is_refused(ctx, inspector, supervisor, workflow_source):
    case = _extended_and_due_again(inspector, supervisor)
    fields = refused(supervisor, case, "review_case_deadline", {"decision": "extend", "reason": "再次延期"},
                     at("2021-06-16 09:00"))
    assert set(fields) == {"decision"}
    assert fields["decision"].startswith("办案期限只能延长一次") and "2021-06-15" in fields["decision"]
    assert "extended only once" in _english(ctx, fields["decision"])
    stored_workflow(case)
    # Concluding closes the clock's review; the due time stays where the one extension put it.
    case = complete(supervisor, case, "review_case_deadline", {"decision": "conclude", "reason": "督促按期办结"},
                    at("2021-06-16 09:00"))
    assert case.summary["case_due_at"] == "2021-06-15T23:59:59+08:00"
    assert [t.name for t in open_tasks(case) if t.name != "supervise_overdue"] == ["investigate"]


def test_over_http_a_second_extension_is_a_400(client, ctx, inspector, supervisor):
    case = _extended_and_due_again(inspector, supervisor)
    token = _tokens(client, "sup_cz")["sup_cz"]
    fields = _http_complete(client, token, case, "review_case_deadline", {"decision": "extend", "reason": "再次延期"})
    assert set(fields) == {"decision"} and "只能延长一次" in fields["decision"]
