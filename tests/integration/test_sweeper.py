"""Time travel through wage-arrears cases with `now` injected: timers, the escalation ladder, notices."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading

import pytest
from sqlalchemy import func, select, update

from engine import documents, escalation, services
from engine.db import db
from engine.errors import Conflict
from engine.models import AuditEvent, Case, Task, Timer
from engine.services.cases import open_tasks
from engine.validation import DataInvalid
from tests.conftest import TEST_DB_URL, at, requires_postgres
from tests.factories import complete, investigate_data, ordered_case, wage_arrears_intake


def _task_names(case):
    return sorted(t.name for t in open_tasks(case))


def test_payment_timer_due_before_spring_festival_fires_on_the_10th_not_in_the_holiday(ctx, inspector):
    case = ordered_case(inspector, at("2021-02-09 10:00"), deadline_days=1)
    timer = db.session.scalar(select(Timer).where(Timer.case_id == case.id, Timer.name == "payment_deadline"))
    assert timer.fire_at == at("2021-02-10 23:59:59")

    assert escalation.sweep(at("2021-02-10 23:59:58")).fired == []
    db.session.refresh(case)
    assert case.status == "order_issued" and _task_names(case) == []

    report = escalation.sweep(at("2021-02-10 23:59:59"))
    assert report.fired == [f"{case.number} payment_deadline"]
    db.session.refresh(case)
    assert _task_names(case) == ["check_payment"]
    # One working day to check: the holiday 11-17 Feb does not count.
    check = open_tasks(case)[0]
    assert check.due_at == at("2021-02-18 23:59:59")
    # A second sweep fires nothing again.
    assert escalation.sweep(at("2021-02-12 09:00")).fired == []


def test_unpaid_order_leads_to_payment_check_and_the_escalation_ladder(ctx, inspector, supervisor):
    from tests.conftest import make_user

    make_user("head_cz", ["head"], "532300")
    case = ordered_case(inspector, at("2021-03-01 10:00"))  # due end of Thu 2021-03-04
    escalation.sweep(at("2021-03-05 08:00"))
    db.session.refresh(case)
    check = open_tasks(case)[0]
    # One working day after Fri 5 March is Mon 8 March.
    assert check.name == "check_payment" and check.due_at == at("2021-03-08 23:59:59")

    # Level 1: flagged, the assignee's supervisor is told, no supervision task yet.
    assert escalation.sweep(at("2021-03-08 23:59:58")).escalated == []
    report = escalation.sweep(at("2021-03-09 00:00"))
    assert report.escalated == [f"{case.number} check_payment → level 1"]
    db.session.refresh(check)
    assert check.escalation_level == 1
    first = db.session.scalars(select(escalation.Escalation)).one()
    assert first.level == 1 and "sup_cz" in first.notified
    assert db.session.scalar(select(func.count()).where(Task.name == "supervise_overdue")) == 0

    # Level 2 two working days after the deadline (Tue 9, Wed 10 March): a supervision task and notice.
    assert escalation.sweep(at("2021-03-10 23:00")).escalated == []
    report = escalation.sweep(at("2021-03-11 00:00"))
    assert report.escalated == [f"{case.number} check_payment → level 2"]
    supervision = db.session.scalars(select(Task).where(Task.name == "supervise_overdue")).one()
    assert supervision.role == "supervisor" and supervision.state == "open"
    notice = db.session.scalars(select(documents.Document).where(documents.Document.kind == "supervision_notice")).one()
    assert notice.status == "rendered" and "督" in notice.number

    # Level 3 goes to the region's head: a supervision task in the head's queue, and the head is told.
    escalation.sweep(at("2021-03-13 00:00"))
    heads = db.session.scalars(select(Task).where(Task.name == "supervise_overdue", Task.role == "head")).all()
    assert len(heads) == 1
    third = db.session.scalars(select(escalation.Escalation).where(escalation.Escalation.level == 3)).one()
    assert "head_cz" in third.notified.split(",") and "sup_cz" in third.notified.split(",")
    assert "head_cz" not in first.notified.split(",")
    assert escalation.sweep(at("2021-04-30 00:00")).escalated == []  # the ladder ends at level 3

    # Doing the task resolves every escalation and closes the supervision tasks.
    db.session.refresh(case)
    case = complete(inspector, case, "check_payment", {"amount_paid": "120000.00", "note": "已全额支付"},
                     at("2021-03-15 10:00"))
    assert case.status == "cleared"
    states = {e.status for e in db.session.scalars(select(escalation.Escalation))}
    assert states == {"resolved"}
    assert {t.state for t in db.session.scalars(select(Task).where(Task.name == "supervise_overdue"))} == {
        "completed"}
    kinds = [e.kind for e in db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id))]
    assert kinds.count("task_escalated") == 3


def test_after_a_scheduler_outage_the_levels_still_come_their_interval_apart(ctx, inspector, supervisor):
    case = ordered_case(inspector, at("2021-03-01 10:00"))
    escalation.sweep(at("2021-03-05 08:00"))  # the payment deadline passes: check_payment is due Mon 8 March
    # The scheduler was down for two weeks: one sweep raises level 1 only, not all three levels at once.
    report = escalation.sweep(at("2021-03-22 09:00"))
    assert report.escalated == [f"{case.number} check_payment → level 1"]
    assert escalation.sweep(at("2021-03-23 09:00")).escalated == []
    assert escalation.sweep(at("2021-03-25 00:00")).escalated == [f"{case.number} check_payment → level 2"]


def test_a_supervisor_reassigning_an_overdue_task_frees_it_and_moves_the_case_version(ctx, inspector, supervisor):
    case = ordered_case(inspector, at("2021-03-01 10:00"))
    escalation.sweep(at("2021-03-05 08:00"))
    check = open_tasks(case)[0]
    services.claim_task(inspector, check.id, at("2021-03-05 09:00"))
    for moment in ("2021-03-09 00:00", "2021-03-11 00:00"):  # levels 1 and 2: a supervision task
        escalation.sweep(at(moment))
    supervision = db.session.scalars(select(Task).where(Task.name == "supervise_overdue")).one()
    db.session.refresh(case)
    version = case.version
    with pytest.raises(DataInvalid) as blank:
        services.complete_task(supervisor, supervision.id, {"action": "urged", "comment": "   "}, version,
                               at("2021-03-11 09:00"))
    assert set(blank.value.fields) == {"comment"}
    done = services.complete_task(supervisor, supervision.id, {"action": "reassigned", "comment": "改由他人办理"},
                                  version, at("2021-03-11 09:00"))
    assert done.version > version
    db.session.refresh(check)
    assert check.state == "open" and check.assignee_id is None  # back in the region's unassigned queue
    assert db.session.get(Task, supervision.id).state == "completed"


def test_the_head_has_the_level_3_interval_to_act(ctx, inspector, supervisor):
    from engine import rule_settings
    from tests.conftest import make_user

    make_user("head_cz", ["head"], "532300")
    rule_settings.set_rule("escalation_level3_days", "5", "admin", at("2021-03-01 09:00"))
    case = ordered_case(inspector, at("2021-03-01 10:00"))
    for moment in ("2021-03-05 08:00", "2021-03-09 00:00", "2021-03-11 00:00"):
        escalation.sweep(at(moment))
    # Level 2 was due at the end of Wed 10 March: level 3 comes 5 working days later, at the end of Wed 17 March.
    assert escalation.sweep(at("2021-03-17 23:00")).escalated == []
    assert escalation.sweep(at("2021-03-18 00:00")).escalated == [f"{case.number} check_payment → level 3"]
    head = db.session.scalars(select(Task).where(Task.name == "supervise_overdue", Task.role == "head")).one()
    supervisor_task = db.session.scalars(select(Task).where(Task.name == "supervise_overdue",
                                                            Task.role == "supervisor")).one()
    # Each supervision task has its own level's interval: 5 working days from Thu 18 March, 2 from Thu 11 March.
    assert head.due_at == at("2021-03-25 23:59:59") and supervisor_task.due_at == at("2021-03-15 23:59:59")


def test_an_escalation_moves_the_case_version_and_a_second_claim_does_not(ctx, inspector, supervisor):
    case = ordered_case(inspector, at("2021-03-01 10:00"))
    escalation.sweep(at("2021-03-05 08:00"))
    check = open_tasks(case)[0]
    services.claim_task(inspector, check.id, at("2021-03-05 09:00"))
    db.session.refresh(case)
    held = case.version
    services.claim_task(inspector, check.id, at("2021-03-05 09:01"))  # a retry, a double click
    db.session.refresh(case)
    claims = db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id,
                                                         AuditEvent.kind == "task_claimed")).all()
    assert case.version == held and len(claims) == 1
    escalation.sweep(at("2021-03-09 00:00"))  # level 1: the case is flagged, its history grows
    db.session.refresh(case)
    assert case.version == held + 1
    with pytest.raises(Conflict):  # a form read before the escalation
        services.complete_task(inspector, check.id, {"amount_paid": "120000.00"}, held, at("2021-03-09 09:00"))


def test_the_supervision_notice_says_each_thing_once(ctx, inspector, supervisor):
    from tests.integration.test_benefit_claim import pdf_text

    case = ordered_case(inspector, at("2021-03-01 10:00"))
    for moment in ("2021-03-05 08:00", "2021-03-09 00:00", "2021-03-11 00:00"):
        escalation.sweep(at(moment))
    notice = db.session.scalars(select(documents.Document).where(documents.Document.kind == "supervision_notice")).one()
    text = pdf_text(notice)
    assert case.number in text and text.count("2021年3月8日") == 1 and "届满" not in text
    assert text.count("逾期仍未办结") == 1 and "逾期未办结的，将逐级督办" not in text


def test_sixty_working_day_clock_goes_to_the_supervisor(ctx, inspector, supervisor):
    case = services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(), at("2021-02-01 09:00"))
    case = complete(inspector, case, "review_complaint", {"decision": "accept", "reason": "符合受理条件"},
                     at("2021-02-01 10:00"))
    clock = db.session.scalar(select(Timer).where(Timer.case_id == case.id, Timer.name == "case_clock"))
    # 60 working days from 1 Feb 2021, skipping the Spring Festival and Qingming, counting 7 and 20 Feb: 29 April;
    # the review comes 5 working days before it, so that an extension is approved within the period.
    assert case.due_at == at("2021-04-29 23:59:59")
    assert clock.fire_at == at("2021-04-23 23:59:59")
    assert escalation.sweep(at("2021-04-23 12:00")).fired == []
    report = escalation.sweep(at("2021-04-24 00:00"))
    assert f"{case.number} case_clock" in report.fired
    db.session.refresh(case)
    review = next(t for t in open_tasks(case) if t.name == "review_case_deadline")
    assert review.role == "supervisor"
    case = services.complete_task(supervisor, review.id, {"decision": "extend", "reason": "需异地调查取证"},
                                  case.version, at("2021-04-26 09:00"))
    assert case.summary["case_extended"] is True
    # +30 working days from 29 April: Labour Day (1-5 May, 8 May worked) and Dragon Boat (12-14 June) skipped.
    assert case.due_at == at("2021-06-15 23:59:59")


def test_a_step_taken_after_a_timers_time_but_before_the_sweep_leaves_the_timer_to_the_sweep(ctx, inspector):
    """The case clock's time passes; the inspector completes a step before the scheduler's next sweep (a minute
    later, or hours after an outage). The supervisor's deadline review must still come."""
    case = services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(), at("2021-02-01 09:00"))
    case = complete(inspector, case, "review_complaint", {"decision": "accept"}, at("2021-02-01 10:00"))
    escalation.sweep(at("2021-04-23 12:00"))  # the investigation's escalations; the clock fires at 23:59:59
    db.session.refresh(case)
    case = complete(inspector, case, "investigate", investigate_data(), at("2021-04-24 08:00"))
    assert db.session.scalar(select(Timer.status).where(Timer.name == "case_clock")) == "pending"
    report = escalation.sweep(at("2021-04-24 08:01"))
    assert report.fired == [f"{case.number} case_clock"] and report.errors == []
    db.session.refresh(case)
    assert _task_names(case) == ["issue_order", "review_case_deadline"]


def test_a_timer_due_when_the_other_branchs_last_task_is_done_still_fires(ctx, inspector, supervisor):
    """The payment deadline passes while the supervisor's deadline review is open; the review is done before the
    sweep. The case must not be left with no task and no timer: the payment check comes at the sweep."""
    case = services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(), at("2021-02-01 09:00"))
    case = complete(inspector, case, "review_complaint", {"decision": "accept"}, at("2021-02-01 10:00"))
    escalation.sweep(at("2021-04-24 00:00"))  # the case clock: review_case_deadline
    db.session.refresh(case)
    case = complete(inspector, case, "investigate", investigate_data(), at("2021-04-26 09:00"))
    case = complete(inspector, case, "issue_order", {"payment_deadline_days": 3}, at("2021-04-26 10:00"))
    due = db.session.scalar(select(Timer.fire_at).where(Timer.name == "payment_deadline"))
    assert due == at("2021-04-29 23:59:59")
    case = complete(supervisor, case, "review_case_deadline", {"decision": "conclude", "reason": "督促按期办结"},
                    at("2021-04-30 09:00"))
    assert _task_names(case) == []
    assert escalation.sweep(at("2021-04-30 09:01")).fired == [f"{case.number} payment_deadline"]
    db.session.refresh(case)
    assert _task_names(case) == ["check_payment"]


def test_render_failure_is_retried_and_the_notice_is_not_lost(ctx, inspector, monkeypatch):
    import pdfs

    real_render = pdfs.render
    calls = {"n": 0}

    def flaky(kind, facts):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("font cache unavailable")
        return real_render(kind, facts)

    monkeypatch.setattr(pdfs, "render", flaky)
    case = services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(), at("2021-02-01 09:00"))
    case = complete(inspector, case, "review_complaint", {"decision": "accept", "reason": "符合受理条件"},
                     at("2021-02-01 10:00"))
    db.session.refresh(case)
    assert case.status == "investigating"  # the case moved on whatever the renderer does
    assert documents.render_pending(at("2021-02-01 10:00")) == 0
    notice = db.session.scalars(select(documents.Document)).one()
    assert notice.status == "pending" and notice.attempts == 1 and "font cache" in notice.last_error
    assert documents.render_pending(at("2021-02-01 10:01")) == 0  # backing off
    assert documents.render_pending(at("2021-02-01 10:05")) == 1
    db.session.refresh(notice)
    assert notice.status == "rendered" and notice.sha256 and documents.path_of(notice).exists()


def test_dry_run_changes_nothing(ctx, inspector, app):
    case = ordered_case(inspector, at("2021-03-01 10:00"))
    before = db.session.scalar(select(func.count(AuditEvent.id)))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["sweep", "--now", "2021-03-10T09:00+08:00", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "fire payment_deadline" in result.output and case.number in result.output
    assert "nothing changed" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count(AuditEvent.id))) == before
    assert db.session.scalar(select(Timer.status).where(Timer.name == "payment_deadline")) == "pending"

    result = runner.invoke(args=["sweep", "--now", "2021-03-05T09:00+08:00"])
    assert result.exit_code == 0, result.output
    assert f"fired      {case.number} payment_deadline" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(Timer.status).where(Timer.name == "payment_deadline")) == "fired"


def test_sweep_killed_between_claim_and_commit_leaves_the_timer_to_the_next_sweep(ctx, inspector, tmp_path):
    case = ordered_case(inspector, at("2021-03-01 10:00"))
    db.session.commit()
    # A real process dies (os._exit) after claiming the timer and before its commit.
    script = textwrap.dedent(f"""
        import os
        from config import TestConfig, _normalise_db_url
        from web import create_app
        from engine import escalation
        from datetime import datetime
        from zoneinfo import ZoneInfo

        class Cfg(TestConfig):
            SQLALCHEMY_DATABASE_URI = _normalise_db_url({TEST_DB_URL!r})
        app = create_app(Cfg)
        real = escalation._fire_bpmn
        def dying(timer, now, values, report):
            real(timer, now, values, report)
            os._exit(3)  # killed after the claim and the firing, before the commit
        escalation._fire_bpmn = dying
        with app.app_context():
            escalation.sweep(datetime(2021, 3, 5, 9, tzinfo=ZoneInfo("Asia/Shanghai")))
    """)
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    db.session.expire_all()
    timer = db.session.scalar(select(Timer).where(Timer.name == "payment_deadline"))
    assert timer.status == "pending"
    assert _task_names(db.session.get(Case, case.id)) == []

    report = escalation.sweep(at("2021-03-05 09:00"))
    assert report.fired == [f"{case.number} payment_deadline"]
    db.session.expire_all()
    assert _task_names(db.session.get(Case, case.id)) == ["check_payment"]
    assert escalation.sweep(at("2021-03-05 09:01")).fired == []


@requires_postgres()
def test_two_sweepers_at_once_fire_each_timer_exactly_once(app, ctx, inspector):
    numbers = [ordered_case(inspector, at("2021-03-01 10:00")).number for _ in range(6)]
    db.session.commit()
    barrier = threading.Barrier(2)
    reports = []

    def run():
        with app.app_context():
            barrier.wait()
            reports.append(escalation.sweep(at("2021-03-05 09:00"), worker=threading.current_thread().name,
                                            render_notices=False))
            db.session.remove()

    threads = [threading.Thread(target=run, name=f"sweeper-{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    fired = sorted(x for r in reports for x in r.fired)
    assert fired == sorted(f"{n} payment_deadline" for n in numbers)
    db.session.expire_all()
    events = db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.kind == "timer_fired"))
    assert events == len(numbers)
    checks = db.session.scalar(select(func.count(Task.id)).where(Task.name == "check_payment"))
    assert checks == len(numbers)


def test_documents_api_and_public_verification(ctx, client, inspector):
    from tests.conftest import make_user  # noqa: F401 - inspector fixture made the user

    case = ordered_case(inspector, at("2021-03-01 10:00"))
    escalation.sweep(at("2021-03-01 11:00"))
    token = client.post("/api/v1/auth/token", json={"username": "insp_cx", "password": "correct-horse-9"}).json["token"]
    auth = {"Authorization": f"Bearer {token}"}
    listed = client.get(f"/api/v1/cases/{case.number}/documents", headers=auth).json
    kinds = {d["kind"] for d in listed}
    assert {"acceptance_notice", "rectification_order"} <= kinds
    order = next(d for d in listed if d["kind"] == "rectification_order")
    with client.get(order["url"], headers=auth) as pdf:
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
        # Named by its number, and for ASCII-only clients by its verification code (unique, unlike the digits
        # left of a Chinese number).
        disposition = pdf.headers["Content-Disposition"]
    from urllib.parse import quote

    assert f'filename=notice-{order["verification_code"]}.pdf' in disposition
    assert "filename*=UTF-8''" + quote(f'{order["number"]}.pdf') in disposition

    public = client.get(f"/api/v1/verify/{order['verification_code']}")
    assert public.status_code == 200
    assert public.json["number"] == order["number"] and public.json["sha256"] == order["sha256"]
    assert "李建国" not in public.get_data(as_text=True)  # no personal data
    assert client.get("/api/v1/verify/AAAA-BBBB-CCCC").status_code == 404

    # Another county's inspector cannot fetch it: it looks like it does not exist.
    make_user("insp_sb", ["inspector"], "532322")
    other = client.post("/api/v1/auth/token", json={"username": "insp_sb", "password": "correct-horse-9"}).json
    resp = client.get(order["url"], headers={"Authorization": f"Bearer {other['token']}"})
    assert resp.status_code == 404 and resp.json["error"]["code"] == "not_found"


def test_escalations_api_lists_in_scope(ctx, client, inspector, supervisor):
    ordered_case(inspector, at("2021-03-01 10:00"))
    escalation.sweep(at("2021-03-05 08:00"))  # the payment deadline passed: check_payment, due end of 8 March
    escalation.sweep(at("2021-03-09 00:00"))
    token = client.post("/api/v1/auth/token", json={"username": "sup_cz", "password": "correct-horse-9"}).json["token"]
    body = client.get("/api/v1/escalations?status=open", headers={"Authorization": f"Bearer {token}"}).json
    assert body["total"] == 1 and body["items"][0]["task_name"] == "check_payment"
    assert body["items"][0]["level"] == 1
    bad = client.get("/api/v1/escalations?status=maybe", headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 400 and "status" in bad.json["error"]["fields"]


def test_an_escalated_task_is_one_escalation_at_its_current_level_in_the_api_as_on_the_dashboard(
        ctx, client, inspector, supervisor):
    from engine import dashboard

    case = ordered_case(inspector, at("2021-03-01 10:00"))
    for moment in ("2021-03-05 08:00", "2021-03-09 00:00", "2021-03-11 00:00", "2021-03-13 00:00"):
        escalation.sweep(at(moment))  # check_payment overdue: levels 1, 2 and 3
    token = client.post("/api/v1/auth/token", json={"username": "sup_cz", "password": "correct-horse-9"}).json["token"]
    h = {"Authorization": f"Bearer {token}"}
    body = client.get("/api/v1/escalations?status=open", headers=h).json
    assert body["total"] == 1 == dashboard.open_escalations(supervisor)[1]
    assert [(e["case_number"], e["task_name"], e["level"]) for e in body["items"]] == [
        (case.number, "check_payment", 3)]
    assert client.get("/api/v1/escalations", headers=h).json["total"] == 1
    # The case keeps every level in its history.
    levels = [e["level"] for e in client.get(f"/api/v1/cases/{case.number}", headers=h).json["escalations"]]
    assert levels == [1, 2, 3]
    db.session.refresh(case)
    complete(inspector, case, "check_payment", {"amount_paid": "120000.00"}, at("2021-03-15 10:00"))
    assert client.get("/api/v1/escalations?status=open", headers=h).json["total"] == 0
    resolved = client.get("/api/v1/escalations?status=resolved", headers=h).json
    assert resolved["total"] == 1 and resolved["items"][0]["level"] == 3


def test_a_case_changed_while_its_timer_fires_leaves_the_timer_to_the_next_sweep(ctx, inspector, monkeypatch):
    case = ordered_case(inspector, at("2021-03-01 10:00"))
    real_load = escalation.load_workflow

    def load_then_someone_edits(row):
        loaded = real_load(row)
        # A user's completion commits between the sweeper's read of the case and its write.
        db.session.execute(update(Case).where(Case.id == row.id).values(version=Case.version + 1)
                           .execution_options(synchronize_session=False))
        return loaded

    monkeypatch.setattr(escalation, "load_workflow", load_then_someone_edits)
    report = escalation.sweep(at("2021-03-05 09:00"), render_notices=False)
    assert report.fired == [] and report.errors == [] and report.skipped == 1
    db.session.expire_all()
    assert _task_names(db.session.get(Case, case.id)) == []
    assert db.session.scalar(select(Timer.status).where(Timer.name == "payment_deadline")) == "pending"

    monkeypatch.setattr(escalation, "load_workflow", real_load)
    assert escalation.sweep(at("2021-03-05 09:01")).fired == [f"{case.number} payment_deadline"]


def test_a_timer_that_fails_the_same_way_every_sweep_is_reported_as_an_error_not_a_race(ctx, inspector, monkeypatch,
                                                                                          caplog):
    from sqlalchemy.exc import IntegrityError

    case = ordered_case(inspector, at("2021-03-01 10:00"))

    def broken(*_args, **_kwargs):  # a constraint the firing breaks every time (not another sweeper's insert)
        raise IntegrityError("INSERT INTO escalations ...", {}, Exception("UNIQUE constraint failed"))

    monkeypatch.setattr(escalation, "_fire_bpmn", broken)
    reports = [escalation.sweep(at(f"2021-03-05 09:0{minute}"), render_notices=False) for minute in range(3)]
    # Once or twice it may be a race: left for the next sweep without a word above INFO.
    assert [(r.skipped, r.errors) for r in reports[:2]] == [(1, []), (1, [])]
    # The third time in a row it is a fault: an error in the sweep's report (the scheduler logs it) and the log.
    assert reports[2].skipped == 0 and len(reports[2].errors) == 1
    assert "failed 3 times in a row" in reports[2].errors[0] and "UNIQUE constraint failed" in reports[2].errors[0]
    assert any(r.levelname == "ERROR" and "3 times in a row" in r.getMessage() for r in caplog.records)

    monkeypatch.undo()
    assert escalation.sweep(at("2021-03-05 09:10")).fired == [f"{case.number} payment_deadline"]
    assert escalation._lost_races == {}  # a timer that fires starts its count again


def test_claim_is_conditional(ctx, inspector):
    ordered_case(inspector, at("2021-03-01 10:00"))
    timer_id = db.session.scalar(select(Timer.id).where(Timer.name == "payment_deadline"))
    first = escalation._claim(timer_id, at("2021-03-05 09:00"), "a")
    assert first is not None and first.name == "payment_deadline"
    assert escalation._claim(timer_id, at("2021-03-05 09:00"), "b") is None
    db.session.rollback()


@requires_postgres()
def test_claim_skips_a_timer_another_sweeper_holds_without_waiting(app, ctx, inspector):
    ordered_case(inspector, at("2021-03-01 10:00"))
    timer_id = db.session.scalar(select(Timer.id).where(Timer.name == "payment_deadline"))
    db.session.commit()
    assert escalation._claim(timer_id, at("2021-03-05 09:00"), "a") is not None  # held, not committed
    outcome = []

    def other_sweeper():
        with app.app_context():
            # Without SKIP LOCKED this would wait for the first sweeper, which holds on until after the join below.
            outcome.append(escalation._claim(timer_id, at("2021-03-05 09:00"), "b"))
            db.session.rollback()
            db.session.remove()

    thread = threading.Thread(target=other_sweeper)
    thread.start()
    thread.join(30)
    db.session.rollback()  # the first sweeper dies: the timer is pending again
    assert outcome == [None]
    assert escalation._claim(timer_id, at("2021-03-05 09:00"), "c") is not None
    db.session.rollback()


def test_a_notice_queued_by_a_step_is_rendered_at_once_by_the_in_process_scheduler(app, ctx, inspector,
                                                                                  monkeypatch):
    from apscheduler.schedulers.background import BackgroundScheduler

    from engine import scheduler as scheduling
    from tests.factories import REVIEW_ACCEPT

    told: list[str] = []
    monkeypatch.setattr(documents, "NOTICES_QUEUED_HOOKS", [lambda: told.append("queued")])
    case = services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(), at("2021-03-01 09:00"))
    assert told == []  # opening a complaint issues no notice
    with pytest.raises(DataInvalid):  # a refused step queues nothing and tells nothing
        complete(inspector, case, "review_complaint", {"decision": "maybe"}, at("2021-03-01 10:00"))
    complete(inspector, case, "review_complaint", REVIEW_ACCEPT, at("2021-03-01 10:00"))
    assert told == ["queued"]  # the acceptance notice, after the step's commit
    # A notice queued in a session closed without committing is not announced by a later commit.
    documents.issue_notice(case, "acceptance_notice", {"recipient": "x", "matter": "y", "received_on": "2021-03-01",
                                                       "legal_basis": ["z"]}, at("2021-03-01 11:00"), "test")
    db.session.close()
    db.session.commit()
    assert told == ["queued"]
    # The hook the running server installs: one render job, run by the scheduler's thread as soon as it is free.
    background = BackgroundScheduler(timezone="UTC")
    background.start(paused=True)  # running, but its thread busy (here: held) until the test lets it go
    try:
        hook = scheduling.render_soon(background, app)
        hook()
        hook()  # a second step before it ran: still one job
        assert [job.id for job in background.get_jobs()] == ["render_notices"]
    finally:
        background.shutdown(wait=False)
    scheduling.render_notices(app)
    db.session.expire_all()
    [notice] = db.session.scalars(select(documents.Document).where(documents.Document.case_id == case.id)).all()
    assert notice.status == "rendered"
    # And the server's scheduler installs that hook when it starts (its sweep left out here).
    installed: list = []
    monkeypatch.setattr(documents, "NOTICES_QUEUED_HOOKS", installed)
    monkeypatch.setattr(scheduling, "_configure", lambda *_args: None)
    running = scheduling.start_background(app, 3600)
    try:
        running.pause()  # the render job is added, not run
        [hook] = installed
        hook()
        assert [job.id for job in running.get_jobs()] == ["render_notices"]
    finally:
        running.shutdown(wait=False)
