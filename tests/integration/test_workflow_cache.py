"""The live-workflow cache (engine.workflow_cache) never lets a step run on anything but the stored state: not after
a failed step that changed the workflow in memory, not after another process wrote the case, not after a rollback.
The paths through the processes run with and without it (test_wage_arrears_process.py, test_temp_job_process.py),
and the whole suite runs with WORKFLOW_CACHE_CHECK: a workflow changed after its write fails the commit."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from engine import processes, services
from engine.db import db
from engine.errors import CaseChanged
from engine.services import tasks as task_services
from engine.services.cases import case_history, open_tasks
from engine.validation import DataInvalid
from engine.workflow_cache import WorkflowCache, WorkflowChangedAfterWrite
from tests.conftest import at
from tests.factories import REVIEW_ACCEPT, complete, investigate_data, wage_arrears_intake

pytestmark = pytest.mark.usefixtures("ctx")


def _open(inspector):
    return services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(), at("2021-02-01 09:00"))


def test_a_step_that_fails_after_running_the_workflow_leaves_nothing_behind(inspector, monkeypatch):
    case = _open(inspector)
    opened_version = case.version

    def notices_fail(*_args):
        raise RuntimeError("notice store unavailable")

    # Runs after the workflow has completed the review in memory and its projection is written.
    monkeypatch.setattr(task_services, "TASK_COMPLETED_HOOKS", [notices_fail])
    with pytest.raises(RuntimeError):
        complete(inspector, case, "review_complaint", {"decision": "reject", "reason": "不属于劳动保障监察范围"},
                 at("2021-02-01 10:00"))
    monkeypatch.undo()
    db.session.expire_all()
    assert (case.version, case.status) == (opened_version, "received")

    # The review is still to do, and doing it again takes the case where the new decision leads, once.
    case = complete(inspector, case, "review_complaint", REVIEW_ACCEPT, at("2021-02-01 11:00"))
    assert case.status == "investigating"
    assert [t.name for t in open_tasks(case)] == ["investigate"]
    assert [e.detail["task"] for e in case_history(case) if e.kind == "task_completed"] == ["review_complaint"]


def test_a_state_written_by_another_process_is_read_from_the_database(inspector, monkeypatch):
    case = _open(inspector)
    case = complete(inspector, case, "review_complaint", REVIEW_ACCEPT, at("2021-02-01 10:00"))
    # This process keeps the live workflow at "investigate"; another process (no cache of its own here) moves the
    # case on to "issue_order", and this one still holds the older workflow.
    at_investigate = case.workflow_state
    held = processes.workflows.take(db.session(), case.id, case.process_version_id, at_investigate)
    assert held is not None
    with monkeypatch.context() as other_process:
        other_process.setattr(processes.workflows, "size", 0)
        case = complete(inspector, case, "investigate", investigate_data("order"), at("2021-02-02 10:00"))
    processes.workflows.keep(db.session(), case.id, case.process_version_id, held, at_investigate)
    db.session.commit()

    case = complete(inspector, case, "issue_order", {"payment_deadline_days": 3}, at("2021-02-03 10:00"))
    assert case.status == "order_issued"
    assert [e.detail["task"] for e in case_history(case) if e.kind == "task_completed"] == [
        "review_complaint", "investigate", "issue_order"]


def test_a_refused_form_or_a_stale_version_leaves_the_live_workflow_for_the_next_step(inspector):
    case = _open(inspector)
    task = next(t for t in open_tasks(case) if t.name == "review_complaint")
    with pytest.raises(DataInvalid):
        services.complete_task(inspector, task.id, {"decision": "maybe"}, case.version, at("2021-02-01 10:00"))
    with pytest.raises(CaseChanged):
        services.complete_task(inspector, task.id, REVIEW_ACCEPT, case.version - 1, at("2021-02-01 10:00"))
    db.session.expire_all()
    assert processes.workflows.take(db.session(), case.id, case.process_version_id, case.workflow_state) is not None


# ---------------------------------------------------------------------------------------------------------------
# The cache on its own, with a session of its own.

@pytest.fixture
def engine():
    engine = create_engine("sqlite://")
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    with Session(engine) as s:
        yield s


def test_kept_workflows_are_there_after_commit_only(engine, session):
    cache = WorkflowCache(size=4)
    workflow = object()
    cache.keep(session, 1, "v1", workflow, "state-1")
    with Session(engine) as another:
        assert cache.take(another, 1, "v1", "state-1") is None, "nothing is used elsewhere before the commit"
    assert cache.take(session, 1, "v1", "state-1") is workflow, "the writing transaction itself may take it again"
    assert cache.take(session, 1, "v1", "state-1") is None
    session.execute(text("SELECT 1"))  # as a write does: inside a transaction
    cache.keep(session, 1, "v1", workflow, "state-1")
    session.rollback()
    session.commit()
    assert cache.take(session, 1, "v1", "state-1") is None, "a rolled-back write is forgotten"
    session.execute(text("SELECT 1"))
    cache.keep(session, 1, "v1", workflow, "state-1")
    session.close()
    session.commit()
    assert cache.take(session, 1, "v1", "state-1") is None, "a write whose session closed uncommitted is forgotten"
    cache.keep(session, 1, "v1", workflow, "state-1")
    session.commit()
    assert cache.take(session, 1, "v1", "state-2") is None, "another stored state is a miss"
    cache.keep(session, 1, "v1", workflow, "state-1")
    session.commit()
    assert cache.take(session, 1, "v2", "state-1") is None, "another process version is a miss"
    cache.keep(session, 1, "v1", workflow, "state-1")
    session.commit()
    assert cache.take(session, 1, "v1", "state-1") is workflow
    assert cache.take(session, 1, "v1", "state-1") is None, "a step takes its workflow out: no two steps share one"


def test_the_last_write_in_a_transaction_wins_and_the_oldest_entries_make_room(session):
    cache = WorkflowCache(size=2)
    first, second = object(), object()
    cache.keep(session, 1, "v", first, "a")
    cache.keep(session, 1, "v", second, "b")
    session.commit()
    assert cache.take(session, 1, "v", "b") is second
    for case_id in (1, 2, 3):
        cache.keep(session, case_id, "v", second, f"s{case_id}")
        session.commit()
    assert len(cache) == 2
    assert cache.take(session, 1, "v", "s1") is None
    assert cache.take(session, 3, "v", "s3") is second


def test_a_cache_of_size_zero_keeps_nothing(session):
    cache = WorkflowCache(size=0)
    cache.keep(session, 1, "v", object(), "s")
    session.commit()
    assert len(cache) == 0


def test_a_workflow_changed_after_its_write_is_caught_at_commit_when_checking(session):
    class Workflow:
        state = "written"

    cache = WorkflowCache(size=4)
    cache.check_with = lambda workflow: workflow.state
    workflow = Workflow()
    cache.keep(session, 1, "v", workflow, "written")
    workflow.state = "changed later"
    with pytest.raises(WorkflowChangedAfterWrite, match="case 1"):
        session.commit()
    assert cache.take(session, 1, "v", "written") is None
