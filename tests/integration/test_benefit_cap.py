"""The temporary types are capped across claims. DOMAIN.md section 2: 失业补助金 "up to 6 months in total";
临时生活补助 months by contribution (1 / 2 / 3), which this engine reads as the person's total too
(人社部发〔2020〕40号: 不超过3个月).
A later claim of the same person (same ID number, any region) gets what is left after the months granted on earlier
claims (paid, or still to pay; an overpaid month is recovered and does not count), or is refused by
benefit_entitlement E09-E11, and the decision says why."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from engine import benefit_payments, documents
from engine.actors import Actor
from engine.models import Case
from tests.conftest import at, make_user
from tests.factories import complete
from tests.integration.test_benefit_claim import ALLOWANCE, SUBSIDY, claim_data, docs_of, open_claim, pdf_text
from tests.integration.test_legal_limits import refused

FIRST = at("2021-02-01 10:00")
LATER = at("2021-09-01 10:00")
LATER_DATA = {"separation_date": "2021-08-20", "unemployment_registration_date": "2021-09-01"}


def _first_claim(clerk: Actor, paid_until: str = "2021-08-01 09:00", region: str = "532301", **overrides) -> Case:
    """A first claim, decided by the rules and paid up to `paid_until` (by default all of it: closed)."""
    case = open_claim(clerk, claim_data(**overrides), region=region, now=FIRST)
    assert case.status == "approved", case.summary["review_reasons"]
    benefit_payments.run_payments(at(paid_until))
    return case


def _later_claim(clerk: Actor, **overrides) -> Case:
    return open_claim(clerk, claim_data(**{**LATER_DATA, **overrides}), now=LATER)


def test_a_second_subsidy_after_six_months_is_refused(rates, clerk):
    first = _first_claim(clerk, contribution_months=6)
    assert first.summary["benefit_type"] == "unemployment_subsidy" and first.summary["months"] == 6
    case = _later_claim(clerk, contribution_months=9)
    s = case.summary
    assert case.status == "rejected" and s["benefit_type"] == "not_eligible" and s["decided_by"] == "rules"
    assert s["rule"]["id"] == "E10" and s["rule"]["inputs"]["subsidy_months_granted"] == 6
    assert "此前已领取失业补助金6个月" in s["rule"]["text"]
    assert benefit_payments.payments_for_case(case) == []
    documents.render_pending(LATER)
    [letter] = docs_of(case, "benefit_decision_refusal")
    text = pdf_text(letter)
    assert "不符合“此前累计领取失业补助金未满最长期限”的条件" in text
    assert "失业补助金已累计领满最长期限" in text and "E10" in text


def test_a_second_subsidy_gets_what_is_left(rates, clerk):
    # The first subsidy stopped on re-employment after February and March were paid: 4 of the 6 months are left.
    first = _first_claim(clerk, paid_until="2021-03-01 09:00", contribution_months=6)
    benefit_payments.stop_payments(clerk, first.number, {"reason": "reemployed", "note": "已就业"},
                                   at("2021-03-20 09:00"))
    case = _later_claim(clerk, contribution_months=9)
    s = case.summary
    assert case.status == "approved" and (s["benefit_type"], s["months"]) == ("unemployment_subsidy", 4)
    assert s["total_amount"] == str(Decimal(SUBSIDY) * 4)
    assert s["rule"]["id"] == "E07" and s["rule"]["amount"]["id"] == "A2"
    assert "减去此前已领取的月数" in s["rule"]["text"] and "此前已领取失业补助金2个月" in s["rule"]["text"]
    assert len(benefit_payments.payments_for_case(case)) == 4
    documents.render_pending(LATER)
    text = pdf_text(docs_of(case, "benefit_decision_approval")[0])
    assert "4个月" in text and "此前已领取失业补助金2个月" in text


def test_overpaid_months_do_not_count(rates, clerk):
    # Stopped from the day of the claim: February and March were paid but are to be recovered, so none counts.
    first = _first_claim(clerk, paid_until="2021-03-01 09:00", contribution_months=6)
    benefit_payments.stop_payments(clerk, first.number, {"reason": "reemployed", "note": "申领当日已就业",
                                                         "effective_on": "2021-02-01"}, at("2021-03-20 09:00"))
    case = _later_claim(clerk, contribution_months=9)
    assert case.summary["months"] == 6 and case.summary["rule"]["inputs"]["subsidy_months_granted"] == 0


def test_a_claim_elsewhere_counts(rates, clerk):
    far = Actor.of(make_user("clerk_sb", ["clerk"], "532322"))
    _first_claim(far, region="532322", contribution_months=6)
    case = _later_claim(clerk, contribution_months=9)
    assert case.status == "rejected" and case.summary["rule"]["id"] == "E10"


def test_a_subsidy_after_the_benefit_used_up_is_capped_too(rates, clerk):
    # Benefit drawn in full (E06 → subsidy), then again: E09 refuses.
    _first_claim(clerk, contribution_months=70, months_already_drawn=18)
    case = _later_claim(clerk, contribution_months=70, months_already_drawn=18)
    assert case.status == "rejected" and case.summary["rule"]["id"] == "E09"


@pytest.mark.parametrize("first_months,later_months,status,months,row", [
    (6, 8, "rejected", 0, "E11"),  # 3 months granted, the band still 3: none left
    (2, 6, "approved", 2, "E08"),  # 1 month granted, the band now 3: 2 left
])
def test_the_allowance_is_capped_by_its_band(rates, clerk, first_months, later_months, status, months, row):
    _first_claim(clerk, household="rural", contribution_months=first_months)
    case = _later_claim(clerk, household="rural", contribution_months=later_months)
    s = case.summary
    assert (case.status, s["months"], s["rule"]["id"]) == (status, months, row)
    if status == "approved":
        assert s["total_amount"] == str(Decimal(ALLOWANCE) * months)


def test_a_clerk_cannot_grant_a_subsidy_past_the_cap(rates, clerk, supervisor):
    _first_claim(clerk, contribution_months=6)
    # Voluntary with 12+ months: the clerk's queue (E05 suggests the subsidy, of which none is left).
    case = _later_claim(clerk, contribution_months=14, separation_reason="voluntary")
    assert case.status == "under_review"
    fields = refused(clerk, case, "review_claim", {"decision": "approve", "reason": "本人辞职"}, LATER)
    assert fields == {
        "approved_type": "申领人此前已领取失业补助金 6 个月，已达累计可领取的月数（人社部发〔2020〕40号）"}
    fields = refused(clerk, case, "review_claim", {"decision": "approve", "reason": "本人辞职",
                                                   "approved_type": "unemployment_subsidy", "approved_months": 1},
                     LATER)
    assert set(fields) == {"approved_type"}
    # Refusing is what is left (against the rules' suggestion: the supervisor approves).
    case = complete(clerk, case, "review_claim", {"decision": "reject", "reason": "失业补助金已领满6个月"},
                    LATER + timedelta(hours=1))
    assert case.status == "awaiting_approval"


def test_the_cap_message_has_english(app):
    from flask_babel import force_locale

    from web.messages import message

    with app.test_request_context(), force_locale("en"):
        assert message("申领人此前已领取失业补助金 6 个月，已达累计可领取的月数（人社部发〔2020〕40号）").startswith(
            "Unemployment subsidy: the claimant has already been granted 6 months, all that may be granted in total")


def test_the_refusal_reads_in_english_on_the_page(app, rates, clerk):
    from flask_babel import force_locale

    from web.labels import value_label

    _first_claim(clerk, contribution_months=6)
    case = _later_claim(clerk, contribution_months=9)
    with app.test_request_context(), force_locale("en"):
        english = value_label(case.summary["rule"])  # as the case page shows "Rule applied"
    assert english.startswith("Eligibility rule E10 (Urban household, insured under 1 year, already granted"), english
    assert "; granted on earlier claims: 6 months of unemployment subsidy, 0 months of temporary living" in english


def test_stopping_pays_the_months_that_began_before_the_stop(rates, clerk):
    """QA: a claim paid from its registration month (October) and decided in November had October and November
    still scheduled; stopping it on 28 November cancelled both, though the claimant was entitled to them."""
    case = open_claim(clerk, claim_data(separation_date="2021-01-10", unemployment_registration_date="2021-01-10"),
                      now=FIRST)
    assert case.status == "approved"
    stopped = benefit_payments.stop_payments(clerk, case.number, {"reason": "reemployed", "note": "已就业"},
                                             at("2021-02-20 09:00"))
    rows = {r.period: r.status for r in benefit_payments.payments_for_case(stopped)}
    assert rows["2021-01"] == rows["2021-02"] == "paid"  # January and February began before the stop
    assert {status for period, status in rows.items() if period >= "2021-03"} == {"cancelled"}
