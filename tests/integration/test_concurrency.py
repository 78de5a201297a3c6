"""Real races on PostgreSQL: two people completing (or claiming) the same task at the same moment. Exactly one
wins, the other gets a Conflict, and the case advances once."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from engine import services
from engine.actors import Actor
from engine.db import db
from engine.errors import Conflict
from engine.models import AuditEvent, Case, Task
from engine.services import tasks as task_services
from tests.conftest import at, make_user, requires_postgres
from tests.factories import open_task, wage_arrears_intake

pytestmark = requires_postgres()

OPENED = at("2021-02-01 09:00")


@pytest.fixture(scope="module", autouse=True)
def _close_pool(app) -> Iterator[None]:
    """Threads open their own connections; close them so none is left for the interpreter to warn about."""
    yield
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def two_inspectors(ctx) -> tuple[Actor, Actor]:
    a = Actor.of(make_user("insp_a", ["inspector"], "532301"))
    b = Actor.of(make_user("insp_b", ["inspector"], "532301"))
    return a, b


def race(app, calls: list[Callable[[], Any]]) -> list[tuple[str, Any]]:
    """Run each call in its own thread and app context, all released at once; ("ok", result) or ("err", exc)."""
    start = threading.Barrier(len(calls))
    results: list[tuple[str, Any]] = [("none", None)] * len(calls)

    def run(i: int) -> None:
        with app.app_context():
            try:
                start.wait(timeout=10)
                value = calls[i]()
                results[i] = ("ok", value.number if isinstance(value, Case) else value.id)
            except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
                results[i] = ("err", exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results


@pytest.fixture
def both_inside(monkeypatch) -> None:
    """Hold each completion just after it has read the open task and the case version, until both have: the race
    is then real (both saw the task open) rather than one thread simply finishing before the other starts."""
    inside = threading.Barrier(2)
    original = task_services.load_workflow

    def held(case):
        # BrokenBarrierError: the other thread lost early (already a conflict), nothing to wait for.
        with contextlib.suppress(threading.BrokenBarrierError):
            inside.wait(timeout=5)
        return original(case)

    monkeypatch.setattr(task_services, "load_workflow", held)


def test_two_threads_completing_the_same_task_one_wins(app, two_inspectors, both_inside):
    a, b = two_inspectors
    for round_no in range(3):
        case = services.open_case(a, "wage_arrears", "532301", wage_arrears_intake(), OPENED)
        task_id, version, number = open_task(case, "review_complaint").id, case.version, case.number
        db.session.remove()
        when = at("2021-02-01 10:00")

        results = race(app, [
            functools.partial(services.complete_task, a, task_id, {"decision": "accept"}, version, when),
            functools.partial(services.complete_task, b, task_id, {"decision": "accept"}, version, when),
        ])

        wins = [value for kind, value in results if kind == "ok"]
        losses = [value for kind, value in results if kind == "err"]
        assert len(wins) == 1, f"round {round_no}: {results}"
        assert len(losses) == 1 and isinstance(losses[0], Conflict), f"round {round_no}: {results}"

        db.session.expire_all()
        case = db.session.scalar(select(Case).where(Case.number == number))
        assert case.status == "investigating"
        completions = db.session.scalars(
            select(AuditEvent).where(AuditEvent.case_id == case.id, AuditEvent.kind == "task_completed")
        ).all()
        assert [e.detail["task_id"] for e in completions] == [task_id], "the case advanced more than once"
        rows = db.session.scalars(select(Task).where(Task.case_id == case.id).order_by(Task.created_at)).all()
        assert [(t.name, t.state) for t in rows] == [("review_complaint", "completed"), ("investigate", "open")]
        # The one winner is recorded as the one who did it.
        winner = (a, b)[[kind for kind, _ in results].index("ok")]
        assert rows[0].completed_by == winner.username
        # The chain has no fork: one event per sequence number.
        seqs = list(db.session.scalars(select(AuditEvent.seq).where(AuditEvent.case_id == case.id)
                                       .order_by(AuditEvent.seq)))
        assert seqs == list(range(1, len(seqs) + 1))


def test_two_threads_claiming_the_same_task_one_gets_it(app, two_inspectors):
    a, b = two_inspectors
    for _ in range(3):
        case = services.open_case(a, "wage_arrears", "532301", wage_arrears_intake(), OPENED)
        task_id = open_task(case, "review_complaint").id
        db.session.remove()
        when = at("2021-02-01 09:30")

        results = race(app, [functools.partial(services.claim_task, a, task_id, when),
                             functools.partial(services.claim_task, b, task_id, when)])

        assert [kind for kind, _ in results].count("ok") == 1, results
        [loss] = [value for kind, value in results if kind == "err"]
        assert isinstance(loss, Conflict), results
        db.session.expire_all()
        task = db.session.get(Task, task_id)
        assert task.assignee_id == (a, b)[[kind for kind, _ in results].index("ok")].user_id
        claims = db.session.scalars(
            select(AuditEvent).where(AuditEvent.case_id == task.case_id, AuditEvent.kind == "task_claimed")).all()
        assert len(claims) == 1


def test_a_sweep_escalating_a_task_a_user_is_completing_leaves_it_at_once(app, ctx, inspector, supervisor,
                                                                          monkeypatch):
    """The user's completion holds the overdue task and will cancel its deadline timer; the sweep holds that timer.
    The sweep must step aside at once (the user's step then completes, nothing escalated), not wait for the user
    into a deadlock that stalled both for a second and could abort the user's step."""
    from engine import escalation
    from engine.escalation import Escalation
    from engine.models import Timer
    from tests.factories import ordered_case

    case = ordered_case(inspector, at("2021-03-01 10:00"))
    escalation.sweep(at("2021-03-05 08:00"))  # the payment deadline: check_payment, due at the end of 8 March
    db.session.refresh(case)
    task_id, version, case_id = open_task(case, "check_payment").id, case.version, case.id
    db.session.remove()
    holding, swept = threading.Event(), threading.Event()
    original = task_services.load_workflow

    def hold_the_task(row):
        holding.set()  # the task's row is locked by this completion, not committed
        if not swept.wait(timeout=5):
            user["held_in_vain"] = True  # the sweep did not come back while the task was held
        return original(row)

    user: dict[str, Any] = {}
    monkeypatch.setattr(task_services, "load_workflow", hold_the_task)

    def complete() -> None:
        with app.app_context():
            try:
                user["case"] = services.complete_task(inspector, task_id, {"amount_paid": "120000.00"}, version,
                                                      at("2021-03-09 09:00")).status
            except Exception as exc:  # noqa: BLE001 - inspected below
                user["error"] = exc
            finally:
                db.session.remove()

    worker = threading.Thread(target=complete)
    worker.start()
    assert holding.wait(10)
    report = escalation.sweep(at("2021-03-09 09:00"), render_notices=False)
    swept.set()
    worker.join(30)
    assert "held_in_vain" not in user, "the sweep waited for the user's completion"
    assert (report.escalated, report.errors, report.skipped) == ([], [], 1)
    assert user == {"case": "cleared"}
    db.session.expire_all()
    assert db.session.scalar(select(Escalation.id).where(Escalation.case_id == case_id)) is None
    assert set(db.session.scalars(select(Timer.status).where(Timer.task_id == task_id))) == {"cancelled"}
    assert escalation.sweep(at("2021-03-09 09:01"), render_notices=False).escalated == []
