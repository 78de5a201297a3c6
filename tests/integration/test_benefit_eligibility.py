"""What a benefit claim may grant at all, and what stopping payments does to months already paid.

A clerk may go against the rules on a judgement (a resignation forced under 劳动合同法第三十八条 counts as
involuntary), never on the claimant's facts: registration, seeking work, contribution months and household decide
which types the law allows (DOMAIN.md section 2), on the review form and again on the supervisor's approval.
Stopping payments with an earlier effective date marks the months already paid for periods from that date on as
overpaid, to be recovered."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from engine import benefit_law, benefit_payments
from engine.actors import Actor
from engine.db import db
from engine.models import AuditEvent, Case
from engine.services.tasks import TASK_FORM_CHECKS
from tests.conftest import at
from tests.factories import complete, open_task, stored_workflow
from tests.integration.test_benefit_claim import ALLOWANCE, BENEFIT, FAST, OPENED, claim_data, open_claim
from tests.integration.test_legal_limits import refused

API = "/api/v1"
LATE = "2020-11-01"  # separated more than 60 days before OPENED: every such claim goes to the clerk's queue


def _late_claim(clerk: Actor, **overrides) -> Case:
    case = open_claim(clerk, claim_data(**{"separation_date": LATE, **overrides}))
    assert case.status == "under_review"
    return case


def _approve(**fields) -> dict:
    return {"decision": "approve", "reason": "经审核", **fields}


# ---------------------------------------------------------------------------------------------------------------
# Types the law does not allow this claimant: refused on the review form, whatever the months and amount.

NOT_ALLOWED = [
    # label, claimant facts, type granted, what the message states
    ("rural-6-subsidy", {"household": "rural", "contribution_months": 6}, "unemployment_subsidy",
     "享受临时生活补助，不享受失业补助金"),
    ("urban-6-allowance", {"contribution_months": 6}, "temporary_living_allowance", "限农村户籍"),
    ("urban-20-voluntary-allowance", {"contribution_months": 20, "separation_reason": "voluntary"},
     "temporary_living_allowance", "申领人为城镇户籍"),
    ("rural-20-voluntary-allowance", {"household": "rural", "contribution_months": 20,
                                      "separation_reason": "voluntary"},
     "temporary_living_allowance", "申领人累计缴费 20 个月"),
    ("entitled-subsidy", {"contribution_months": 70}, "unemployment_subsidy", "符合领取失业保险金的条件"),
    ("entitled-rural-allowance", {"household": "rural", "contribution_months": 12}, "temporary_living_allowance",
     "尚可领取 12 个月"),
    ("unregistered-benefit", {"registered_unemployed": False}, "unemployment_benefit", "须已办理失业登记"),
    ("unregistered-subsidy", {"registered_unemployed": False, "contribution_months": 6}, "unemployment_subsidy",
     "须已办理失业登记"),
    ("not-seeking-benefit", {"seeking_work": False}, "unemployment_benefit", "须有求职要求"),
    ("not-seeking-allowance", {"seeking_work": False, "household": "rural", "contribution_months": 6},
     "temporary_living_allowance", "须有求职要求"),
    ("urban-6-benefit", {"contribution_months": 6}, "unemployment_benefit", "须累计缴费满12个月"),
    ("voluntary-6-benefit", {"contribution_months": 6, "separation_reason": "voluntary"}, "unemployment_benefit",
     "申领人累计缴费 6 个月"),
    ("uninsured-subsidy", {"contribution_months": 0}, "unemployment_subsidy", "须失业前参加失业保险并缴费"),
    ("uninsured-rural-allowance", {"contribution_months": 0, "household": "rural"}, "temporary_living_allowance",
     "须失业前参加失业保险并缴费"),
]


@pytest.mark.parametrize("label,facts,benefit_type,condition", NOT_ALLOWED, ids=[n[0] for n in NOT_ALLOWED])
def test_a_type_the_law_does_not_allow_is_refused_on_review(rates, clerk, label, facts, benefit_type, condition):
    case = _late_claim(clerk, **facts)
    fields = refused(clerk, case, "review_claim", _approve(approved_type=benefit_type), OPENED)
    assert set(fields) == {"approved_type"} and condition in fields["approved_type"], fields
    assert fields["approved_type"] == benefit_law.ineligibility(case, benefit_type)
    # The months and the amount change nothing: the type itself is refused.
    fields = refused(clerk, case, "review_claim", _approve(approved_type=benefit_type, approved_months=1,
                                                           approved_monthly_amount="100.00"), OPENED)
    assert set(fields) == {"approved_type"}


def test_the_not_registered_claim_can_only_be_refused(rates, clerk):
    case = _late_claim(clerk, registered_unemployed=False)
    for benefit_type in ("unemployment_benefit", "unemployment_subsidy", "temporary_living_allowance"):
        fields = refused(clerk, case, "review_claim", _approve(approved_type=benefit_type), OPENED)
        assert "未办理失业登记" in fields["approved_type"]
    case = complete(clerk, case, "review_claim", {"decision": "reject", "reason": "未办理失业登记"}, OPENED)
    assert case.status == "rejected"
    assert case.summary["rule"]["refusal_condition"] == "已办理失业登记"


# ---------------------------------------------------------------------------------------------------------------
# What stays the clerk's judgement.

ALLOWED = [
    # Voluntary with 12+ months (E05): forced resignation -> the benefit, or the rules' subsidy.
    ("voluntary-40-benefit", {"contribution_months": 40, "separation_reason": "voluntary"}, "unemployment_benefit",
     "awaiting_approval"),
    ("voluntary-40-subsidy", {"contribution_months": 40, "separation_reason": "voluntary"}, "unemployment_subsidy",
     "approved"),
    ("rural-voluntary-40-subsidy", {"household": "rural", "contribution_months": 40,
                                    "separation_reason": "voluntary"}, "unemployment_subsidy", "approved"),
    # Benefit used up (E06): the subsidy.
    ("used-up-subsidy", {"contribution_months": 70, "months_already_drawn": 18}, "unemployment_subsidy",
     "approved"),
    # Under a year: urban the subsidy (E07), rural the allowance (E08), whatever the reason for leaving.
    ("urban-6-subsidy", {"contribution_months": 6}, "unemployment_subsidy", "approved"),
    ("urban-6-voluntary-subsidy", {"contribution_months": 6, "separation_reason": "voluntary"},
     "unemployment_subsidy", "approved"),
    ("rural-6-allowance", {"household": "rural", "contribution_months": 6}, "temporary_living_allowance",
     "approved"),
    # Entitled: the benefit.
    ("entitled-benefit", {"contribution_months": 70}, "unemployment_benefit", "approved"),
]


@pytest.mark.parametrize("label,facts,benefit_type,status", ALLOWED, ids=[a[0] for a in ALLOWED])
def test_the_types_the_law_allows_may_be_granted(rates, clerk, label, facts, benefit_type, status):
    case = _late_claim(clerk, **facts)
    assert benefit_law.ineligibility(case, benefit_type) is None
    case = complete(clerk, case, "review_claim", _approve(approved_type=benefit_type), OPENED)
    assert case.status == status and case.summary["benefit_type"] == benefit_type


@pytest.mark.parametrize("label,overrides,benefit_type", [(f[0], f[1], f[2]) for f in FAST],
                         ids=[f[0] for f in FAST])
def test_every_type_the_rules_grant_is_allowed(rates, clerk, label, overrides, benefit_type):
    # The check and the DMN tables agree: nothing the rules grant on the fast track would be refused.
    case = open_claim(clerk, claim_data(**overrides))
    assert case.summary["benefit_type"] == benefit_type
    assert benefit_law.ineligibility(case, benefit_type) is None


# ---------------------------------------------------------------------------------------------------------------
# The supervisor cannot approve what was decided before the check.

@pytest.mark.parametrize("facts,benefit_type,condition", [
    ({"household": "rural", "contribution_months": 6}, "unemployment_subsidy", "不享受失业补助金"),
    ({"registered_unemployed": False}, "unemployment_benefit", "未办理失业登记"),
])
def test_a_supervisor_cannot_approve_a_type_the_law_does_not_allow(rates, clerk, supervisor, monkeypatch,
                                                                   workflow_source, facts, benefit_type,
                                                                   condition):
    case = _late_claim(clerk, **facts)
    with monkeypatch.context() as patched:
        patched.setitem(TASK_FORM_CHECKS, ("benefit_claim", "review_claim"), [])
        case = complete(clerk, case, "review_claim", _approve(approved_type=benefit_type),
                        OPENED + timedelta(hours=1))
    assert case.status == "awaiting_approval" and case.summary["benefit_type"] == benefit_type
    fields = refused(supervisor, case, "approve_claim", {"approved": True}, OPENED + timedelta(hours=2))
    assert set(fields) == {"approved"} and condition in fields["approved"]
    assert fields["approved"].startswith("不能批准：")
    stored_workflow(case)
    assert benefit_payments.payments_for_case(case) == []
    # Sent back, the clerk decides within the law.
    case = complete(supervisor, case, "approve_claim", {"approved": False, "comment": "待遇类型不符合法定条件"},
                    OPENED + timedelta(hours=3))
    assert case.status == "under_review"


def test_over_http_the_type_is_a_400_naming_approved_type(client, rates, clerk):
    case = _late_claim(clerk, household="rural", contribution_months=6)
    token = client.post(f"{API}/auth/token", json={"username": "clerk_cx", "password": "correct-horse-9"}
                        ).get_json()["token"]
    task = open_task(case, "review_claim")
    response = client.post(f"{API}/tasks/{task.id}/complete",
                           json={"data": _approve(approved_type="unemployment_subsidy"),
                                 "case_version": case.version},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400, response.get_json()
    fields = response.get_json()["error"]["fields"]
    key = next(k for k in fields if k.endswith("approved_type"))
    assert "临时生活补助" in fields[key]


def test_the_refusals_have_english(app, rates, clerk):
    from flask_babel import force_locale

    from web.messages import message

    refusals = set()
    for seed, (_label, facts, benefit_type, _condition) in enumerate(NOT_ALLOWED, start=1):
        refusals.add(benefit_law.ineligibility(_late_claim(clerk, seed=seed, **facts), benefit_type))
    with app.test_request_context(), force_locale("en"):
        for text in refusals:
            english = message(text)
            assert english != text and not any("\u4e00" <= c <= "\u9fff" for c in english), text


# ---------------------------------------------------------------------------------------------------------------
# Stopping payments with an earlier effective date.

def _paying(clerk: Actor, paid_until: str = "2021-03-01 09:00") -> Case:
    """12 months of benefit from February 2021, the month of the unemployment registration (E04, M4), paid up to
    `paid_until` (by default February and March)."""
    case = open_claim(clerk, claim_data(contribution_months=12))
    benefit_payments.run_payments(at(paid_until))
    db.session.refresh(case)
    assert case.status == "paying"
    return case


def _stop_event(case: Case) -> dict:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id,
                                                       AuditEvent.kind == "payments_stopped")).one().detail


def test_months_paid_after_the_effective_date_are_overpaid(rates, clerk):
    case = _paying(clerk)
    case = benefit_payments.stop_payments(clerk, case.number, {"reason": "reemployed", "note": "2月15日已就业",
                                                               "effective_on": "2021-02-15"},
                                          at("2021-03-02 09:00"))
    assert case.status == "stopped"
    rows = benefit_payments.payments_for_case(case)
    assert [r.status for r in rows] == ["paid", "overpaid"] + ["cancelled"] * 10
    march = rows[1]
    assert march.paid_at == at("2021-03-01 09:00") and march.cancelled_at == at("2021-03-02 09:00")
    assert march.cancel_reason == "重新就业：2月15日已就业"
    # The audit event and the case summary say which months must be recovered.
    event = _stop_event(case)
    assert (event["overpaid_periods"], event["overpaid_amount"]) == (["2021-03"], BENEFIT)
    assert event["cancelled_months"] == 10 and event["effective_on"] == "2021-02-15"
    assert (case.summary["overpaid_periods"], case.summary["overpaid_amount"]) == (["2021-03"], BENEFIT)
    # An overpaid month is never paid again nor counted as due.
    assert benefit_payments.run_payments(at("2022-03-01 09:00")).paid == 0
    assert [r.status for r in benefit_payments.payments_for_case(case)] == ["paid", "overpaid"] + ["cancelled"] * 10
    assert benefit_payments.overpaid(benefit_payments.payments_for_case(case)) == (["2021-03"], BENEFIT)


def test_a_month_begun_before_the_effective_date_stays_paid(rates, clerk):
    case = _paying(clerk, paid_until="2021-04-01 09:00")  # February to April paid
    case = benefit_payments.stop_payments(clerk, case.number, {"reason": "refused_work", "note": "拒绝推荐岗位",
                                                               "effective_on": "2021-03-15"},
                                          at("2021-04-10 09:00"))
    assert [r.status for r in benefit_payments.payments_for_case(case)] == (
        ["paid", "paid", "overpaid"] + ["cancelled"] * 9)
    assert case.summary["overpaid_periods"] == ["2021-04"] and case.summary["overpaid_amount"] == BENEFIT


def test_from_the_first_day_of_a_paid_month_that_month_is_overpaid(rates, clerk):
    case = _paying(clerk, paid_until="2021-04-01 09:00")
    case = benefit_payments.stop_payments(clerk, case.number, {"reason": "reemployed", "note": "3月1日入职",
                                                               "effective_on": "2021-03-01"},
                                          at("2021-04-10 09:00"))
    statuses = [r.status for r in benefit_payments.payments_for_case(case)]
    assert statuses == ["paid", "overpaid", "overpaid"] + ["cancelled"] * 9
    assert _stop_event(case)["overpaid_amount"] == str(Decimal(BENEFIT) * 2)


def test_a_stop_effective_today_overpays_nothing(rates, clerk):
    case = _paying(clerk)
    case = benefit_payments.stop_payments(clerk, case.number, {"reason": "reemployed", "note": "已就业"},
                                          at("2021-03-10 09:00"))
    assert [r.status for r in benefit_payments.payments_for_case(case)] == ["paid", "paid"] + ["cancelled"] * 10
    assert (case.summary["overpaid_periods"], case.summary["overpaid_amount"]) == ([], "0.00")
    assert _stop_event(case)["overpaid_periods"] == []


def test_an_allowance_stopped_before_its_months_began(rates, clerk):
    # Rural, 6 months (E08): 3 months of allowance from February, the registration month; February and March
    # paid; re-employed on the day of the claim.
    case = open_claim(clerk, claim_data(household="rural", contribution_months=6, seed=2))
    benefit_payments.run_payments(at("2021-03-01 09:00"))
    case = benefit_payments.stop_payments(clerk, case.number, {"reason": "reemployed", "note": "已就业",
                                                               "effective_on": "2021-02-01"},
                                          at("2021-03-02 09:00"))
    assert [r.status for r in benefit_payments.payments_for_case(case)] == ["overpaid", "overpaid", "cancelled"]
    assert case.summary["overpaid_amount"] == str(Decimal(ALLOWANCE) * 2)


def test_over_http_the_payment_list_shows_what_to_recover(client, rates, clerk):
    case = _paying(clerk)
    token = client.post(f"{API}/auth/token", json={"username": "clerk_cx", "password": "correct-horse-9"}
                        ).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    before = client.get(f"{API}/cases/{case.number}/payments", headers=headers).get_json()
    assert before["overpaid"] == {"periods": [], "amount": "0.00"}
    stopped = client.post(f"{API}/cases/{case.number}/payments/stop",
                          json={"reason": "reemployed", "note": "已就业", "effective_on": "2021-02-15"},
                          headers=headers)
    assert stopped.status_code == 200, stopped.get_json()
    body = stopped.get_json()
    assert body["data"]["overpaid_periods"] == ["2021-03"] and body["data"]["overpaid_amount"] == BENEFIT
    assert [p["status"] for p in body["payments"]][:3] == ["paid", "overpaid", "cancelled"]
    payments = client.get(f"{API}/cases/{case.number}/payments", headers=headers).get_json()
    assert payments["items"][1]["status"] == "overpaid" and payments["items"][1]["paid_at"]
    assert payments["totals"] == {"scheduled": "0.00", "paid": BENEFIT, "cancelled": "13500.00"}
    assert payments["overpaid"] == {"periods": ["2021-03"], "amount": BENEFIT}
    history = client.get(f"{API}/cases/{case.number}", headers=headers).get_json()["history"]
    [event] = [e for e in history if e["kind"] == "payments_stopped"]
    assert event["detail"]["overpaid_periods"] == ["2021-03"]
