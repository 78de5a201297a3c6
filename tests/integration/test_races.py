"""Races on both databases (threads, each its own app context and connection): two workers doing the same thing
at once end with every change made once, and a clear Conflict, never a 500, for whoever must lose."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine import processes, services
from engine.actors import Actor
from engine.db import db
from engine.errors import Conflict
from engine.models import Case, ProcessVersion
from tests.conftest import at, make_user, requires_postgres
from tests.factories import wage_arrears_intake

OPENED = at("2021-02-01 09:00")


@pytest.fixture(autouse=True)
def _pool(_close_pool) -> None:
    """Threads open their own connections; closed after each test."""


@pytest.fixture
def far_clerk(ctx) -> Actor:
    """A clerk of another county (532322, Shuangbai)."""
    return Actor.of(make_user("clerk_sb", ["clerk"], "532322"))


def in_thread(app, fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Start `fn` in its own thread and app context (another request or worker); its outcome lands in the dict."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        with app.app_context():
            try:
                outcome["value"] = fn()
            except Exception as exc:  # noqa: BLE001 - the test inspects it
                outcome["error"] = exc
            finally:
                db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_the_first_cases_of_a_new_process_version_opened_at_once_both_open(app, ctx, inspector, monkeypatch):
    """Just after a deployment with a changed model, two workers open a case each: both register the version. The
    second must use the first's row, not fail with a conflict the person opening the case cannot understand."""
    processes.current_version("wage_arrears")  # this worker registered it and has not committed yet
    selecting = threading.Event()
    read = processes._read

    def reading(process: str):
        selecting.set()  # the other worker is about to look the version up (and not find it)
        return read(process)

    monkeypatch.setattr(processes, "_read", reading)
    thread, outcome = in_thread(app, lambda: services.open_case(inspector, "wage_arrears", "532301",
                                                                wage_arrears_intake(), OPENED).number)
    assert selecting.wait(10)
    time.sleep(0.3)  # it has looked and now waits for this transaction (PostgreSQL) or the write lock (SQLite)
    db.session.commit()
    thread.join(30)
    assert outcome == {"value": "WA-532301-2021-000001"}
    assert db.session.scalar(select(func.count()).select_from(ProcessVersion)) == 1


def test_cases_opened_at_the_same_moment_get_unique_gapless_numbers(app, ctx, inspector):
    services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(), OPENED)  # the version stored
    db.session.remove()
    start = threading.Barrier(4)

    def open_one() -> str:
        start.wait(10)
        return services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(), OPENED).number

    runs = [in_thread(app, open_one) for _ in range(4)]
    for thread, _ in runs:
        thread.join(60)
    assert [outcome.get("error") for _, outcome in runs] == [None] * 4
    numbers = sorted(outcome["value"] for _, outcome in runs)
    assert numbers == [f"WA-532301-2021-{n:06d}" for n in range(2, 6)]
    assert db.session.scalar(select(func.count()).select_from(Case)) == 5


def _seeker(id_prefix: str = "53230119900101002") -> dict:
    from tests.integration.test_temp_job_process import intake

    return intake(id_prefix=id_prefix)


def test_one_open_temp_job_case_per_person_holds_in_the_database(ctx, clerk, monkeypatch):
    """The database refuses a second open case for the person even when the check cannot see the first (a case
    another bureau is opening at the same moment), and nothing of the second is written."""
    from engine.services import cases as case_service

    services.open_case(clerk, "temp_job", "532301", _seeker(), OPENED)
    monkeypatch.setitem(case_service.OPEN_CASE_CHECKS, "temp_job", [])
    with pytest.raises(Conflict) as refused:
        services.open_case(clerk, "temp_job", "532301", _seeker(), OPENED)
    assert isinstance(refused.value.__cause__, IntegrityError)
    assert db.session.scalar(select(func.count()).select_from(Case)) == 1


@requires_postgres()
def test_two_bureaus_opening_a_temp_job_case_for_one_person_at_once_open_one(app, ctx, clerk, far_clerk,
                                                                             monkeypatch):
    """A county and another county (each numbering its own cases, so nothing orders the two) register the same
    returning migrant at the same moment: one case opens, the other bureau gets a conflict."""
    from engine.temp_job_cases import _check_open

    services.open_case(clerk, "temp_job", "532301", _seeker("53230119900101003"), OPENED)  # the version stored
    db.session.remove()
    both_checked = threading.Barrier(2)

    def check_then_wait(*args) -> None:
        _check_open(*args)
        # Both have looked for an open case of the person (none committed yet) before either goes on.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checked.wait(timeout=5)

    monkeypatch.setitem(case_service_checks(), "temp_job", [check_then_wait])
    runs = [in_thread(app, lambda actor=actor, region=region: services.open_case(
        actor, "temp_job", region, _seeker(), OPENED).number)
        for actor, region in ((clerk, "532301"), (far_clerk, "532322"))]
    for thread, _ in runs:
        thread.join(60)
    outcomes = [outcome for _, outcome in runs]
    assert sorted(outcome.keys() == {"value"} for outcome in outcomes) == [False, True], outcomes
    assert isinstance(next(o["error"] for o in outcomes if "error" in o), Conflict)
    open_cases = db.session.scalar(select(func.count()).select_from(Case).where(
        Case.subject_id_number == _seeker()["seeker"]["id_number"], Case.closed_at.is_(None)))
    assert open_cases == 1


def case_service_checks() -> dict:
    from engine.services import cases as case_service

    return case_service.OPEN_CASE_CHECKS


def test_two_payment_runs_at_once_pay_each_month_once_and_report_no_error(app, ctx, clerk, rates, monkeypatch):
    """Two schedulers (or the scheduler and `flask benefits pay`) pay the month at the same moment: it is paid
    once, and the run that found it paid reports nothing wrong (it printed an error and exited 1, and every
    scheduler's log had an error line per claim)."""
    from engine import benefit_payments
    from engine.models import AuditEvent
    from tests.integration.test_benefit_claim import claim_data

    number = services.open_case(clerk, "benefit_claim", "532301", claim_data(contribution_months=12),
                                at("2021-02-01 10:00")).number
    db.session.remove()
    original, other_run = benefit_payments.payments_for_case, []

    def then_the_other_run_pays(case):
        rows = original(case)
        if not other_run:  # this run has read the schedule: the other pays and commits before it writes
            other_run.append({})
            thread, outcome = in_thread(app, lambda: benefit_payments.run_payments(at("2021-03-01 09:00")))
            thread.join(30)
            other_run[0] = outcome
        return rows

    monkeypatch.setattr(benefit_payments, "payments_for_case", then_the_other_run_pays)
    run = benefit_payments.run_payments(at("2021-03-01 09:00"))
    other = other_run[0]["value"]
    assert (run.errors, other.errors) == ([], [])
    assert run.paid + other.paid == 2  # February and March, once each
    monkeypatch.undo()
    case = db.session.scalar(select(Case).where(Case.number == number))
    assert [r.status for r in benefit_payments.payments_for_case(case)][:3] == ["paid", "paid", "scheduled"]
    made = db.session.scalars(select(AuditEvent.detail).where(AuditEvent.case_id == case.id,
                                                              AuditEvent.kind == "payments_made")).all()
    assert [d["periods"] for d in made] == [["2021-02", "2021-03"]]
    assert case.status == "paying"


def test_a_claim_of_a_task_completed_meanwhile_says_it_is_done(app, ctx, inspector, monkeypatch):
    """Another inspector completes the task between this one's opening of it and their claim: the claim is refused
    as done, not as "claimed by" the one who completed it (who holds nothing)."""
    from engine.services import tasks as task_services
    from tests.factories import open_task

    other = Actor.of(make_user("insp_b", ["inspector"], "532301"))
    case = services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(), OPENED)
    task_id, version = open_task(case, "review_complaint").id, case.version
    db.session.remove()
    original, completed = task_services._require, []

    def then_the_other_completes(actor, task, action):
        original(actor, task, action)
        if action == "claim" and not completed:
            thread, outcome = in_thread(app, lambda: services.complete_task(
                other, task_id, {"decision": "accept"}, version, at("2021-02-01 10:00")).status)
            thread.join(30)
            completed.append(outcome)

    monkeypatch.setattr(task_services, "_require", then_the_other_completes)
    with pytest.raises(Conflict) as refused:
        services.claim_task(inspector, task_id, at("2021-02-01 10:00"))
    assert completed == [{"value": "investigating"}]
    assert refused.value.message == "该任务已办结"


def test_a_write_behind_a_long_lock_gives_up_with_database_busy_instead_of_hanging(app, ctx, inspector):
    """Ops review: on PostgreSQL a request whose row another transaction held (a long ledger import, a migration)
    waited for as long as that transaction ran; SQLite gave up after its busy_timeout. Both now wait
    LOCK_TIMEOUT_SECONDS, then answer "系统正忙" (DatabaseBusy) and change nothing."""
    from sqlalchemy import update

    from engine.errors import DatabaseBusy
    from engine.models import Task
    from engine.services._common import DATABASE_BUSY
    from tests.conftest import SuiteConfig
    from web import create_app

    case = services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(), OPENED)
    case_id, version = case.id, case.version
    task_id = db.session.scalar(select(Task.id).where(Task.case_id == case_id))
    db.session.commit()

    class Impatient(SuiteConfig):
        LOCK_TIMEOUT_SECONDS = 1

    impatient = create_app(Impatient)
    with impatient.app_context():  # (no ORM object of the suite's session may load in here: it would use this app)
        holder = db.engine.connect()
        held = holder.begin()
        holder.execute(update(Case).where(Case.id == case_id).values(version=Case.version))  # holds the row
        try:
            started = time.monotonic()
            thread, outcome = in_thread(impatient, lambda: services.complete_task(
                inspector, task_id, {"decision": "accept"}, version, OPENED))
            thread.join(timeout=15)
            waited = time.monotonic() - started
            assert not thread.is_alive(), "the write was still waiting after 15 s"
        finally:
            held.rollback()
            holder.close()
            db.engine.dispose()
    assert isinstance(outcome.get("error"), DatabaseBusy) and outcome["error"].message == DATABASE_BUSY
    assert 0.9 <= waited < 10
    db.session.expire_all()
    assert db.session.get(Case, case_id).status == "received"  # nothing changed


def test_connections_wait_for_locks_as_configured(app, ctx):
    from sqlalchemy import text

    from tests.conftest import IS_POSTGRES

    setting = "SHOW lock_timeout" if IS_POSTGRES else "PRAGMA busy_timeout"
    shown = db.session.execute(text(setting)).scalar_one()
    assert str(shown) == ("10s" if IS_POSTGRES else "10000")
