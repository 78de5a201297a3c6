"""Figures the law bounds, refused on the task's form before the workflow moves (engine.services.tasks.
TASK_FORM_CHECKS): a payment above the verified arrears, a fine or a compensation rate outside its range, a benefit
beyond the maximum for its type. Each refusal is a 400 naming the field that changes nothing: no new case version,
no audit event, the task still open and unclaimed, the live workflow still kept for the next step."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from engine import benefit_payments, benefit_rates, services
from engine.actors import Actor
from engine.db import db
from engine.models import AuditEvent, Case, Task
from engine.rule_settings import set_rule
from engine.rules import RULES
from engine.sandbox import money
from engine.services.tasks import TASK_FORM_CHECKS
from engine.validation import DataInvalid
from tests.conftest import at
from tests.factories import complete, fire_due_timers, open_task, ordered_case, stored_workflow
from tests.integration.test_benefit_claim import OPENED, SUBSIDY, claim_data, open_claim

API = "/api/v1"
ISSUED = at("2021-03-01 10:00")  # payment due end of Thu 4 March
CHECKED = at("2021-03-05 09:00")


def state_of(case: Case) -> dict:
    """What any change to `case` would move; compared before and after a refused form."""
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    return {
        "version": case.version, "status": case.status, "summary": case.summary,
        "recovered": case.arrears_recovered, "workflow_state": case.workflow_state,
        "events": db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.case_id == case.id)),
        "tasks": sorted((t.name, t.state, t.assignee_id)
                        for t in db.session.scalars(select(Task).where(Task.case_id == case.id))),
    }


def refused(actor: Actor, case: Case, task_name: str, form: dict, now) -> dict[str, str]:
    """Complete `task_name` with `form`, expecting a refusal that changes nothing; returns the fields named."""
    before = state_of(case)
    task = open_task(case, task_name)
    with pytest.raises(DataInvalid) as bad:
        services.complete_task(actor, task.id, form, case.version, now)
    assert state_of(case) == before
    return bad.value.fields


# ---------------------------------------------------------------------------------------------------------------
# Wage arrears: the payment check.

def _at_payment_check(inspector: Actor, verified: str = "59100.00") -> Case:
    case = ordered_case(inspector, ISSUED, verified_amount=verified)
    fire_due_timers(CHECKED)
    db.session.refresh(case)
    assert open_task(case, "check_payment")
    return case


def test_amount_paid_above_the_verified_arrears_is_refused(ctx, inspector, workflow_source):
    case = _at_payment_check(inspector)
    fields = refused(inspector, case, "check_payment", {"amount_paid": "9999999.00"}, CHECKED)
    assert set(fields) == {"amount_paid"} and "59100.00" in fields["amount_paid"]
    assert set(refused(inspector, case, "check_payment", {"amount_paid": "59100.01"}, CHECKED)) == {"amount_paid"}
    stored_workflow(case)  # the refusals left the live workflow as it was written
    # Exactly what is owed clears the case, and only that is counted as recovered.
    case = complete(inspector, case, "check_payment", {"amount_paid": "59100.00"}, CHECKED)
    assert case.status == "cleared" and case.arrears_recovered == Decimal("59100.00")


def test_after_a_part_payment_the_total_may_reach_but_not_pass_the_arrears(ctx, inspector):
    case = _at_payment_check(inspector)
    case = complete(inspector, case, "check_payment", {"amount_paid": "40000.00"}, CHECKED)
    case = complete(inspector, case, "choose_enforcement", {"measures": ["emergency_advance"], "reason": "申请垫付"},
                    CHECKED + timedelta(hours=1))
    fields = refused(inspector, case, "check_payment", {"amount_paid": "60000.00"}, CHECKED + timedelta(days=3))
    # The message states what was recorded and what is still owed.
    assert "40000.00" in fields["amount_paid"] and "19100.00" in fields["amount_paid"]
    case = complete(inspector, case, "check_payment", {"amount_paid": "59100.00"}, CHECKED + timedelta(days=3))
    assert case.status == "cleared" and case.summary["amount_outstanding"] == "0.00"


@pytest.fixture
def fixed_clock(app) -> Iterator[None]:
    app.config["CLOCK"] = lambda: CHECKED
    yield
    app.config.pop("CLOCK", None)


def test_over_http_the_refusal_is_a_400_and_the_dashboard_does_not_move(client, ctx, inspector, supervisor,
                                                                       fixed_clock):
    case = _at_payment_check(inspector)
    tokens = {name: client.post(f"{API}/auth/token", json={"username": name, "password": "correct-horse-9"})
              .get_json()["token"] for name in ("insp_cx", "sup_cz")}

    def recovered() -> str:
        response = client.get(f"{API}/dashboard/clear-zero",
                              headers={"Authorization": f"Bearer {tokens['sup_cz']}"})
        assert response.status_code == 200, response.get_json()
        return response.get_json()["arrears_recovered"]

    before = recovered()
    task = open_task(case, "check_payment")
    response = client.post(f"{API}/tasks/{task.id}/complete",
                           json={"data": {"amount_paid": "9999999.00"}, "case_version": case.version},
                           headers={"Authorization": f"Bearer {tokens['insp_cx']}"})
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert any(key in ("amount_paid", "data.amount_paid") for key in error["fields"]), error
    assert recovered() == before


# ---------------------------------------------------------------------------------------------------------------
# Wage arrears: the fine and the extra compensation.

def _at_enforcement(inspector: Actor) -> Case:
    case = _at_payment_check(inspector)
    return complete(inspector, case, "check_payment", {"amount_paid": "0"}, CHECKED)


def _penalty(amount: str) -> dict:
    return {"measures": ["penalty", "blacklist"], "penalty_amount": amount, "reason": "逾期未支付"}


def test_the_fine_limits_are_rules_with_their_legal_basis():
    for key, default in (("penalty_min_amount", Decimal("2000")), ("penalty_max_amount", Decimal("20000"))):
        rule = RULES[key]
        assert (rule.default, rule.unit) == (default, "yuan") and "劳动保障监察条例" in rule.basis
    for key, default in (("compensation_min_percent", 50), ("compensation_max_percent", 100)):
        rule = RULES[key]
        assert (rule.default, rule.unit, rule.bounds) == (default, "percent", (50, 100))
        assert "第二十六条" in rule.basis


@pytest.mark.parametrize("amount", ["99999999.00", "20000.01", "1999.99", "0"])
def test_a_fine_outside_its_range_is_refused(ctx, inspector, amount):
    case = _at_enforcement(inspector)
    fields = refused(inspector, case, "choose_enforcement", _penalty(amount), CHECKED)
    assert set(fields) == {"penalty_amount"} and "2000.00" in fields["penalty_amount"]


@pytest.mark.parametrize("amount", ["2000.00", "20000"])
def test_the_range_of_the_fine_is_inclusive(ctx, inspector, supervisor, amount):
    case = _at_enforcement(inspector)
    case = complete(inspector, case, "choose_enforcement", _penalty(amount), CHECKED)
    case = complete(supervisor, case, "approve_enforcement", {"approved": True}, CHECKED + timedelta(hours=1))
    [notice] = [d for d in _documents(case) if d.kind == "penalty_prior_notice"]
    assert money(notice.facts["fine_amount"]) == money(amount)


def test_a_province_may_narrow_the_fine_and_the_compensation(ctx, inspector):
    set_rule("penalty_max_amount", "10000", "admin", CHECKED)
    set_rule("compensation_min_percent", "60", "admin", CHECKED)
    case = _at_enforcement(inspector)
    fields = refused(inspector, case, "choose_enforcement",
                     {"measures": ["penalty", "compensation_order"], "penalty_amount": "15000.00",
                      "compensation_rate": 55, "reason": "逾期未支付"}, CHECKED)
    assert set(fields) == {"penalty_amount", "compensation_rate"}
    assert "10000.00" in fields["penalty_amount"] and "60%" in fields["compensation_rate"]


def test_a_supervisor_cannot_approve_a_fine_chosen_before_the_check(ctx, inspector, supervisor, monkeypatch,
                                                                    workflow_source):
    case = _at_enforcement(inspector)
    # A case whose measures were chosen before the limits were checked (or under wider ones).
    with monkeypatch.context() as patched:
        patched.setitem(TASK_FORM_CHECKS, ("wage_arrears", "choose_enforcement"), [])
        case = complete(inspector, case, "choose_enforcement", _penalty("99999999.00"), CHECKED)
    fields = refused(supervisor, case, "approve_enforcement", {"approved": True}, CHECKED + timedelta(hours=1))
    assert set(fields) == {"approved"} and "罚款金额" in fields["approved"]
    stored_workflow(case)
    # Refusing the approval sends it back, where the fine is chosen again, within its range.
    case = complete(supervisor, case, "approve_enforcement", {"approved": False, "comment": "罚款超出法定幅度"},
                    CHECKED + timedelta(hours=2))
    assert set(refused(inspector, case, "choose_enforcement", _penalty("99999999.00"), CHECKED)) == {
        "penalty_amount"}
    case = complete(inspector, case, "choose_enforcement", _penalty("20000.00"), CHECKED + timedelta(hours=3))
    case = complete(supervisor, case, "approve_enforcement", {"approved": True}, CHECKED + timedelta(hours=4))
    [notice] = [d for d in _documents(case) if d.kind == "penalty_prior_notice"]
    assert notice.facts["fine_amount"] == "20000.00"


def _documents(case: Case) -> list:
    from engine import documents

    return documents.documents_for_case(case)


# ---------------------------------------------------------------------------------------------------------------
# Benefit claims: what a clerk may grant.

def _approve(**fields) -> dict:
    return {"decision": "approve", "reason": "同意", **fields}


def _voluntary(clerk: Actor, **overrides) -> Case:
    """Voluntary separation after 40 months of contributions (M4: up to 12 months of benefit): to the clerk, the
    rules suggesting the subsidy."""
    case = open_claim(clerk, claim_data(**{"contribution_months": 40, "separation_reason": "voluntary", **overrides}))
    assert case.status == "under_review" and case.summary["suggested_type"] == "unemployment_subsidy"
    return case


def test_a_subsidy_beyond_six_months_and_eighty_percent_is_refused(rates, clerk):
    case = _voluntary(clerk)
    fields = refused(clerk, case, "review_claim", _approve(approved_type="unemployment_subsidy", approved_months=24,
                                                          approved_monthly_amount="99999.00"), OPENED)
    assert set(fields) == {"approved_months", "approved_monthly_amount"}
    assert "6" in fields["approved_months"] and SUBSIDY in fields["approved_monthly_amount"]
    assert set(refused(clerk, case, "review_claim", _approve(approved_monthly_amount="1080.01"), OPENED)) == {
        "approved_monthly_amount"}
    # At the maximum it goes to the supervisor (a clerk's figures), who may approve it.
    case = complete(clerk, case, "review_claim", _approve(approved_months=6, approved_monthly_amount=SUBSIDY),
                    OPENED)
    assert case.status == "awaiting_approval"


def test_the_subsidy_limits_follow_the_rules_in_force(rates, clerk):
    set_rule("subsidy_max_months", "3", "admin", OPENED)
    set_rule("subsidy_rate_percent", "50", "admin", OPENED)
    case = _voluntary(clerk)
    fields = refused(clerk, case, "review_claim", _approve(approved_months=4, approved_monthly_amount="675.01"),
                     OPENED)
    assert set(fields) == {"approved_months", "approved_monthly_amount"} and "675.00" in fields[
        "approved_monthly_amount"]


def test_benefit_months_by_contribution_band_minus_those_drawn(rates, clerk):
    # 70 months (M5: up to 18), 5 already drawn: 13 left, at the region's benefit rate.
    case = _voluntary(clerk, contribution_months=70, months_already_drawn=5)
    benefit = {"approved_type": "unemployment_benefit"}
    fields = refused(clerk, case, "review_claim", _approve(**benefit, approved_months=14,
                                                          approved_monthly_amount="1350.01"), OPENED)
    assert set(fields) == {"approved_months", "approved_monthly_amount"} and "13" in fields["approved_months"]
    case = complete(clerk, case, "review_claim", _approve(**benefit, approved_months=13), OPENED)
    assert case.status == "awaiting_approval" and case.summary["months"] == 13


def test_no_benefit_months_left_refuses_the_type(rates, clerk):
    case = _voluntary(clerk, contribution_months=70, months_already_drawn=18)
    fields = refused(clerk, case, "review_claim", _approve(approved_type="unemployment_benefit"), OPENED)
    assert set(fields) == {"approved_type"}


def test_allowance_months_by_contribution_at_the_subsistence_rate(rates, clerk):
    # Rural, 4 months of contributions (M2: 2 months), filed late so it comes to the clerk.
    case = open_claim(clerk, claim_data(household="rural", contribution_months=4, separation_date="2020-11-01"))
    assert case.status == "under_review" and case.summary["suggested_type"] == "temporary_living_allowance"
    fields = refused(clerk, case, "review_claim", _approve(approved_months=3, approved_monthly_amount="680.01"),
                     OPENED)
    assert set(fields) == {"approved_months", "approved_monthly_amount"}
    assert "2" in fields["approved_months"] and "680.00" in fields["approved_monthly_amount"]
    case = complete(clerk, case, "review_claim", _approve(), OPENED)
    assert case.status == "approved" and (case.summary["months"], case.summary["monthly_amount"]) == (2, "680.00")


def test_no_allowance_from_twelve_months_of_contributions(rates, clerk):
    case = _voluntary(clerk)
    assert set(refused(clerk, case, "review_claim", _approve(approved_type="temporary_living_allowance"),
                       OPENED)) == {"approved_type"}


def test_a_zero_amount_is_refused_before_the_workflow_runs(rates, clerk):
    case = _voluntary(clerk)
    fields = refused(clerk, case, "review_claim", _approve(approved_monthly_amount="0"), OPENED)
    assert fields == {"approved_monthly_amount": "月发放标准须大于0"}
    assert set(refused(clerk, case, "review_claim", _approve(approved_monthly_amount="0.00"), OPENED)) == {
        "approved_monthly_amount"}


def test_approving_what_the_rules_refuse_needs_a_type(rates, clerk):
    # Not registered as unemployed (E01), filed late: to the clerk with nothing to grant.
    case = open_claim(clerk, claim_data(registered_unemployed=False, separation_date="2020-11-01"))
    assert case.status == "under_review" and case.summary["suggested_type"] == "not_eligible"
    assert set(refused(clerk, case, "review_claim", _approve(), OPENED)) == {"approved_type"}
    # Refusing needs no type.
    case = complete(clerk, case, "review_claim", {"decision": "reject", "reason": "未办理失业登记"}, OPENED)
    assert case.status == "rejected"


def test_without_rates_the_clerk_states_the_amount(rates, clerk):
    case = open_claim(clerk, claim_data(separation_date="2018-03-01", contribution_months=30),
                      now=at("2018-03-20 10:00"))
    assert case.status == "under_review" and case.summary["rule"]["inputs"]["rates"] is None
    assert set(refused(clerk, case, "review_claim", _approve(), at("2018-03-20 11:00"))) == {
        "approved_monthly_amount"}
    # No rates to bound it by: the supervisor approves the clerk's figure.
    case = complete(clerk, case, "review_claim", _approve(approved_monthly_amount="1200.00"),
                    at("2018-03-20 12:00"))
    assert case.status == "awaiting_approval"


def test_rates_loaded_after_the_claim_bound_the_clerks_amount(ctx, clerk):
    case = open_claim(clerk, claim_data(separation_date="2018-03-01", contribution_months=30),
                      now=at("2018-03-20 10:00"))
    benefit_rates.import_rates("region,effective_from,minimum_wage,benefit_rate,subsistence_rate\n"
                               "532301,2018-01-01,1500.00,,620.00\n", "test", at("2018-03-20 10:30"))
    db.session.commit()
    fields = refused(clerk, case, "review_claim", _approve(approved_monthly_amount="1400.00"),
                     at("2018-03-20 11:00"))
    assert set(fields) == {"approved_monthly_amount"} and "1350.00" in fields["approved_monthly_amount"]
    case = complete(clerk, case, "review_claim", _approve(approved_monthly_amount="1350.00"), at("2018-03-20 12:00"))
    assert case.status == "awaiting_approval"


def test_a_supervisor_cannot_approve_a_grant_beyond_the_law(rates, clerk, supervisor, monkeypatch, workflow_source):
    case = _voluntary(clerk)
    # A decision made before the limits were checked.
    with monkeypatch.context() as patched:
        patched.setitem(TASK_FORM_CHECKS, ("benefit_claim", "review_claim"), [])
        case = complete(clerk, case, "review_claim",
                        _approve(approved_months=24, approved_monthly_amount="99999.00"), OPENED)
    assert case.status == "awaiting_approval"
    fields = refused(supervisor, case, "approve_claim", {"approved": True}, OPENED + timedelta(hours=1))
    assert set(fields) == {"approved"} and "6" in fields["approved"] and SUBSIDY in fields["approved"]
    stored_workflow(case)
    assert benefit_payments.payments_for_case(case) == []
    # Sent back, the clerk decides again within the law and the supervisor approves.
    case = complete(supervisor, case, "approve_claim", {"approved": False, "comment": "超出法定标准"},
                    OPENED + timedelta(hours=2))
    case = complete(clerk, case, "review_claim", _approve(approved_months=6), OPENED + timedelta(hours=3))
    case = complete(supervisor, case, "approve_claim", {"approved": True}, OPENED + timedelta(hours=4))
    assert case.status == "approved"
    assert [p.amount for p in benefit_payments.payments_for_case(case)] == [Decimal(SUBSIDY)] * 6
