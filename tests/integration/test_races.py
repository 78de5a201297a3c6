"""Races on both databases (threads, each its own app context and connection): two workers doing the same thing
at once end with every change made once, and a clear Conflict, never a 500, for whoever must lose."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from engine import processes, services
from engine.db import db
from engine.models import Case, ProcessVersion
from tests.conftest import at
from tests.factories import wage_arrears_intake

OPENED = at("2021-02-01 09:00")


@pytest.fixture(autouse=True)
def _pool(_close_pool) -> None:
    """Threads open their own connections; closed after each test."""


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
