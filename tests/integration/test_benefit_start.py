"""When the benefit starts: 社会保险法第五十条 — 领取期限自办理失业登记之日起计算. The intake records the date of the
unemployment registration; the payment schedule starts in that month (paid in full), so the months between the
registration and the decision are not lost, and the approval letter states the date. Claims opened on the model
version before the date was asked keep working as they started."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from engine import benefit_payments, documents, processes
from engine.db import db
from engine.models import Case, ProcessVersion
from engine.validation import DataInvalid
from tests.conftest import at
from tests.factories import complete
from tests.integration.test_benefit_claim import BENEFIT, OPENED, claim_data, docs_of, open_claim, pdf_text
from tests.integration.test_pages import sign_in, text_of

# The benefit_claim model files as they were before the registration date was asked (a running claim's version).
BEFORE = Path(__file__).resolve().parent / "data" / "benefit_claim_before_registration_date"


def test_registered_before_the_decision_paid_from_the_registration_month(rates, clerk):
    # Left on 15 January, registered on the 20th, decided on 1 February: January and February are both due.
    case = open_claim(clerk, claim_data(contribution_months=12, separation_date="2021-01-15",
                                        unemployment_registration_date="2021-01-20"))
    assert case.status == "approved" and case.summary["unemployment_registration_date"] == "2021-01-20"
    assert case.summary["payment_start"] == "2021-01-01"
    rows = benefit_payments.payments_for_case(case)
    assert [r.period for r in rows] == [f"2021-{m:02d}" for m in range(1, 13)]  # 12 months, January in full
    # The first run after the decision pays January and February at once.
    run = benefit_payments.run_payments(at("2021-02-01 11:00"))
    assert (run.paid, run.errors) == (2, [])
    documents.render_pending(OPENED)
    [letter] = docs_of(case, "benefit_decision_approval")
    assert letter.facts["registration_date"] == "2021-01-20" and letter.facts["start_date"] == "2021-01-20"
    text = pdf_text(letter)
    assert "办理失业登记日期2021年1月20日" in text
    assert "12个月（2021年1月20日至2021年12月31日；自办理失业登记之日起计算，登记当月按整月发放）" in text
    assert "第1期2021年1月" in text and "第12期2021年12月" in text
    assert "于2021年1月20日办理失业登记" in text  # the facts paragraph


def test_a_claim_decided_on_the_first_of_february_is_paid_for_february(rates, clerk):
    # The review's example: registered and decided on 1 February 2021; February used to be lost.
    case = open_claim(clerk, claim_data(contribution_months=12, unemployment_registration_date="2021-02-01"))
    first = benefit_payments.payments_for_case(case)[0]
    assert (first.period, first.amount) == ("2021-02", Decimal(BENEFIT))


def test_a_clerk_decision_weeks_later_still_pays_from_the_registration(rates, clerk):
    case = open_claim(clerk, claim_data(contribution_months=40, separation_reason="voluntary",
                                        unemployment_registration_date="2021-01-25"))
    assert case.status == "under_review"
    case = complete(clerk, case, "review_claim", {"decision": "approve", "reason": "确系本人辞职"},
                    at("2021-03-10 10:00"))
    assert case.status == "approved"
    rows = benefit_payments.payments_for_case(case)
    assert [r.period for r in rows] == ["2021-01", "2021-02", "2021-03", "2021-04", "2021-05", "2021-06"]


def _without(data: dict, key: str) -> dict:
    return {k: v for k, v in data.items() if k != key}


@pytest.mark.parametrize("label,data,message", [
    ("missing", _without(claim_data(), "unemployment_registration_date"), "必填"),
    ("after-today", claim_data(unemployment_registration_date="2021-02-02"), "办理失业登记日期不能晚于今天"),
    ("before-separation", claim_data(unemployment_registration_date="2021-01-14"),
     "办理失业登记日期不能早于离职日期（2021-01-15）"),
    ("not-registered", {**claim_data(registered_unemployed=False), "unemployment_registration_date": "2021-01-20"},
     "未办理失业登记的，不填写办理失业登记日期"),
    ("not-a-date", claim_data(unemployment_registration_date="2021-02-30"), None),
])
def test_the_registration_date_is_checked_at_intake(rates, clerk, label, data, message):
    with pytest.raises(DataInvalid) as bad:
        open_claim(clerk, data)
    assert "unemployment_registration_date" in bad.value.fields, bad.value.fields
    if message:
        assert bad.value.fields["unemployment_registration_date"] == message
    assert db.session.scalar(select(Case.id)) is None


def test_not_registered_needs_no_date_and_is_refused_as_before(rates, clerk):
    case = open_claim(clerk, claim_data(registered_unemployed=False))
    assert case.status == "rejected" and case.summary["rule"]["id"] == "E01"
    assert case.summary["unemployment_registration_date"] is None


def test_the_intake_date_messages_have_english(app):
    from web.messages import message

    with app.test_request_context(), force_locale("en"):
        assert message("办理失业登记日期不能晚于今天") == "The date of unemployment registration cannot be after today"
        assert message("未办理失业登记的，不填写办理失业登记日期") == (
            "Leave the date of unemployment registration empty when the claimant has not registered")
        assert message("办理失业登记日期不能早于离职日期（2021-01-15）") == (
            "The date of unemployment registration cannot be before the separation date (2021-01-15)")


# ---------------------------------------------------------------------------------------------------------------
# A claim opened on the model version before the date was asked.

@pytest.fixture
def before_version(rates, monkeypatch) -> ProcessVersion:
    """The earlier version stored, and opening a claim made on it (as a claim opened before the upgrade was)."""
    files = {f.name: f.read_text(encoding="utf-8") for f in sorted(BEFORE.iterdir())}
    version = ProcessVersion(process="benefit_claim", content_hash=processes.content_hash(files), files=files,
                             created_at=datetime(2021, 1, 1, tzinfo=UTC))
    db.session.add(version)
    db.session.commit()
    current = processes.current_version
    monkeypatch.setattr(processes, "current_version", lambda process: (
        (version.id, processes.parsed(version)) if process == "benefit_claim" else current(process)))
    return version


def test_a_claim_on_the_earlier_version_is_decided_and_paid_as_it_started(before_version, clerk, client):
    data = _without(claim_data(contribution_months=12), "unemployment_registration_date")
    case = open_claim(clerk, data)
    assert case.process_version_id == before_version.id
    assert case.status == "approved" and case.summary["unemployment_registration_date"] is None
    # That version paid from the month after the decision; its claims keep it.
    assert benefit_payments.payments_for_case(case)[0].period == "2021-03"
    documents.render_pending(OPENED)
    [letter] = docs_of(case, "benefit_decision_approval")
    text = pdf_text(letter)
    assert "办理失业登记日期" not in text and "已办理失业登记" in text
    assert "2021年3月1日至2022年2月28日" in text
    # The case page shows it without the date.
    sign_in(client, clerk.username)
    page = client.get(f"/cases/{case.number}")
    assert page.status_code == 200 and "办理失业登记日期" not in text_of(page)


def test_a_reviewed_claim_on_the_earlier_version_is_approved(before_version, clerk):
    data = _without(claim_data(contribution_months=40, separation_reason="voluntary"),
                    "unemployment_registration_date")
    case = open_claim(clerk, data)
    assert case.status == "under_review"
    case = complete(clerk, case, "review_claim", {"decision": "approve", "reason": "确系本人辞职"},
                    OPENED + timedelta(hours=2))
    assert case.status == "approved" and case.summary["months"] == 6
    assert benefit_payments.payments_for_case(case)[0].period == "2021-03"
