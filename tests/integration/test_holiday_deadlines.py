"""Deadlines stored before their year's holiday file was loaded (engine/deadline_review.py): task deadlines are
corrected with an audit event; deadlines a notice states are listed for review, not moved."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import calendar, deadline_review, services
from engine.db import db
from engine.models import AuditEvent, Case, Timer
from tests.conftest import at
from tests.factories import REVIEW_ACCEPT, complete, fire_due_timers, investigate_data, open_task, wage_arrears_intake
from tests.integration.test_pages import FreshContextClient, sign_in, text_of

# The 2027 arrangement as the administrator would load it (the part these tests need): chinese_calendar 1.11 does
# not know 2027, so until it is loaded 2027 counts Monday–Friday.
HOLIDAYS_2027 = ("date,kind,name\n2027-01-01,holiday,元旦\n"
                 + "".join(f"2027-02-{d:02d},holiday,春节\n" for d in range(6, 13)))


@pytest.fixture
def no_holiday_files():
    calendar.clear_overrides()
    yield
    calendar.clear_overrides()


def load_2027(tmp_path) -> None:
    (tmp_path / "2027.csv").write_text(HOLIDAYS_2027, encoding="utf-8")
    calendar.load_holiday_dir(tmp_path)


def ordered_2027(inspector) -> Case:
    """The QA example: a case filed 27 Jan 2027, an order on 3 Feb 2027 with 3 working days to pay."""
    case = services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(), at("2027-01-27 09:00"))
    case = complete(inspector, case, "review_complaint", REVIEW_ACCEPT, at("2027-01-27 10:00"))
    case = complete(inspector, case, "investigate", investigate_data(), at("2027-02-01 10:00"))
    return complete(inspector, case, "issue_order", {"payment_deadline_days": 3}, at("2027-02-03 10:00"))


def day(moment) -> str:
    return calendar.local_date(moment).isoformat()


def pending_timer(case: Case, name: str) -> Timer:
    return db.session.scalar(select(Timer).where(Timer.case_id == case.id, Timer.name == name,
                                                 Timer.status == "pending"))


def test_a_stated_deadline_is_listed_not_moved_and_a_task_deadline_is_corrected(app, inspector, no_holiday_files,
                                                                                 tmp_path):
    ordered = ordered_2027(inspector)
    assert day(pending_timer(ordered, "payment_deadline").fire_at) == "2027-02-08"  # inside the Spring Festival
    # A complaint received on 3 Feb 2027: 5 working days to review, counted Monday–Friday.
    fresh = services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(), at("2027-02-03 11:00"))
    assert day(open_task(fresh, "review_complaint").due_at) == "2027-02-10"
    assert deadline_review.reconcile(at("2027-02-03 12:00")).listed == 0  # nothing loaded: nothing to compare

    load_2027(tmp_path)
    report = deadline_review.reconcile(at("2027-02-04 09:00"))
    db.session.expire_all()

    # The order's payment deadline was served on the employer: listed with the date the calendar now gives, kept.
    listed = {r.name: r for r in deadline_review.to_review() if r.case_number == ordered.number}
    assert (day(listed["payment_deadline"].stored_at), day(listed["payment_deadline"].correct_at)) == (
        "2027-02-08", "2027-02-15")
    assert day(pending_timer(ordered, "payment_deadline").fire_at) == "2027-02-08"
    # The case clock (60 working days from filing, crossing the holiday) and the conclusion date too.
    assert {"case_clock", "case_due"} <= set(listed)
    assert day(listed["case_due"].correct_at) > day(listed["case_due"].stored_at)

    # The review task's due time is the bureau's own: corrected, with its timer and the case's due date, audited.
    fresh = db.session.get(Case, fresh.id)
    task = open_task(fresh, "review_complaint")
    assert day(task.due_at) == "2027-02-17"
    assert day(db.session.scalar(select(Timer.fire_at).where(Timer.task_id == task.id,
                                                             Timer.status == "pending"))) == "2027-02-17"
    assert day(fresh.due_at) == "2027-02-17"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.case_id == fresh.id,
                                                       AuditEvent.kind == "deadlines_recalculated"))
    assert event.actor == "system"
    assert event.detail["tasks"][0]["task"] == "review_complaint"
    assert event.detail["reason"] == "holiday_file_loaded"
    assert any(line.startswith(f"{fresh.number} review_complaint 2027-02-10 → 2027-02-17")
               for line in report.corrected)
    assert not [r for r in deadline_review.to_review() if r.case_number == fresh.number]

    # Running it again (another process, a restart) changes nothing more.
    again = deadline_review.reconcile(at("2027-02-04 10:00"))
    assert (again.corrected, again.listed) == ([], 0)
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.case_id == fresh.id,
                                                         AuditEvent.kind == "deadlines_recalculated")) == event.id

    # The command names each deadline to review and fails while any is left.
    result = app.test_cli_runner().invoke(args=["holidays", "check", "--now", "2027-02-04T11:00+08:00"])
    assert result.exit_code == 1, result.output
    assert f"REVIEW {ordered.number} payment_deadline: stored 2027-02-08, under the loaded calendar 2027-02-15" \
        in result.output


def test_deadlines_computed_with_the_file_loaded_are_not_listed(app, inspector, no_holiday_files, tmp_path):
    load_2027(tmp_path)
    ordered = ordered_2027(inspector)
    assert day(pending_timer(ordered, "payment_deadline").fire_at) == "2027-02-15"
    fresh = services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(), at("2027-02-03 11:00"))
    # A case of a year chinese_calendar knows is not touched either.
    services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(), at("2021-02-03 11:00"))
    report = deadline_review.reconcile(at("2027-02-04 09:00"))
    assert (report.corrected, report.listed) == ([], 0)
    assert deadline_review.to_review() == []
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.case_id == fresh.id,
                                                         AuditEvent.kind == "deadlines_recalculated")) is None
    result = app.test_cli_runner().invoke(args=["holidays", "check", "--now", "2027-02-04T11:00+08:00"])
    assert result.exit_code == 0, result.output


def test_supervisors_see_the_deadlines_to_review_until_the_case_is_past_them(app, ctx, inspector, supervisor,
                                                                             no_holiday_files, tmp_path, monkeypatch):
    """A listed deadline counts as reviewed once the stored value is no longer in force: its timer fired, was
    cancelled or moved, or (the conclusion date) the case was closed or its due date changed."""
    clock = {"now": at("2027-02-04 09:00")}
    monkeypatch.setitem(app.config, "CLOCK", lambda: clock["now"])
    ordered = ordered_2027(inspector)
    number, case_id = ordered.number, ordered.id
    load_2027(tmp_path)
    deadline_review.reconcile(at("2027-02-04 09:00"))
    db.session.remove()
    listed = deadline_review.count_to_review()
    assert listed >= 3

    client = FreshContextClient(app, app.response_class, use_cookies=True)
    assert sign_in(client, supervisor.username).status_code == 302
    page = text_of(client.get("/tasks"))
    assert f"{listed}个已告知当事人的期限是在载入节假日安排之前计算的" in page
    assert client.get("/api/v1/health").get_json()["deadlines_to_review"] == listed
    listing = text_of(client.get("/deadlines-to-review"))
    assert number in listing and "整改期限届满" in listing and "2027年2月15日" in listing
    inspector_client = FreshContextClient(app, app.response_class, use_cookies=True)
    assert sign_in(inspector_client, inspector.username).status_code == 302
    assert 'id="deadlines-to-review"' not in inspector_client.get("/tasks").get_data(as_text=True)
    assert inspector_client.get("/deadlines-to-review").status_code == 403

    # The payment deadline passes (the timer fires): that one is behind the case.
    fire_due_timers(at("2027-02-09 00:30"))
    db.session.remove()
    assert deadline_review.count_to_review() == listed - 1
    # The employer paid in full: the case is cleared and closed, its case clock gone with it.
    case = db.session.get(Case, case_id)
    complete(inspector, case, "check_payment", {"amount_paid": "100000.00"}, at("2027-02-09 10:00"))
    db.session.remove()
    assert db.session.get(Case, case_id).closed_at is not None
    assert deadline_review.count_to_review() == 0
    assert 'id="deadlines-to-review"' not in client.get("/tasks").get_data(as_text=True)
    assert client.get("/api/v1/health").get_json()["deadlines_to_review"] == 0
