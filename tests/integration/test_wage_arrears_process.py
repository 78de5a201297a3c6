"""Every path through the wage-arrears process (bpmn/wage_arrears/wage_arrears.bpmn), driven through the engine
services with an injected clock, twice: once with each step running on the live workflow the last step kept
(engine.workflow_cache), once restoring the workflow from the database at every step, so every step is a
save/reload round-trip. After every step the workflow restored from the stored state must match the projections
(task rows, timers, case status and summary, version, audit), and the live one must be exactly the stored state;
each path also checks that `runtime.loads(parsed, runtime.dumps(wf))` keeps the state mid-way."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

import pdfs
from engine import documents, processes, services
from engine.actors import Actor
from engine.db import db
from engine.errors import Conflict, Forbidden
from engine.models import AuditEvent, Case, Task, Timer
from engine.services.cases import case_history, open_tasks, runtime
from engine.validation import DataInvalid
from tests.conftest import SHANGHAI, at, make_user
from tests.factories import (
    REVIEW_ACCEPT,
    complete,
    fire_due_timers,
    investigate_data,
    open_task,
    stored_workflow,
    wage_arrears_intake,
)

pytestmark = pytest.mark.usefixtures("ctx", "workflow_source")

OPENED = at("2021-02-01 09:00")  # a Monday


def end_of(day: str) -> datetime:
    return datetime.fromisoformat(day + "T23:59:59").replace(tzinfo=SHANGHAI)


@pytest.fixture
def insp():
    return Actor.of(make_user("insp_cx", ["inspector"], "532301"))


@pytest.fixture
def sup():
    """The county bureau's section head (prefecture-wide scoping is tested in test_api.py)."""
    return Actor.of(make_user("sup_cx", ["supervisor"], "532301"))


class Track:
    """Follows one case: checks after every step that the version grew and the rows match the workflow."""

    def __init__(self, case: Case):
        self.number = case.number
        self.versions = [case.version]

    @property
    def case(self) -> Case:
        db.session.expire_all()
        return db.session.scalar(select(Case).where(Case.number == self.number))

    def step(self, case: Case) -> Case:
        assert case.version > self.versions[-1], "the case version must grow with every change"
        self.versions.append(case.version)
        check_projection(case)
        return case


def check_projection(case: Case) -> None:
    """Open Task rows are exactly the workflow's ready user tasks; pending BPMN timers are its waiting timers."""
    _, wf = stored_workflow(case)
    # SpiffWorkflow's own filtered walks are the oracle for the engine's one-walk inspection.
    ready = sorted((str(t.id), t.task_spec.bpmn_id) for t in wf.get_tasks(state=TaskState.READY)
                   if isinstance(t.task_spec, UserTask))
    assert sorted((str(t.id), t.task_spec.bpmn_id) for t in runtime.inspect(wf).ready_user_tasks) == ready
    rows = sorted((t.id, t.name) for t in wf_tasks(case))
    assert {t.name for t in open_tasks(case)} - {name for _, name in rows} <= {"supervise_overdue"}
    assert rows == ready
    waiting = sorted((str(t.id), fire_at) for t, fire_at in runtime.inspect(wf).waiting_timers)
    # A timer whose time came during the step is READY, not run: still the sweeper's to fire (engine/runtime.py).
    timers = [t for t in wf.get_tasks(state=TaskState.WAITING | TaskState.READY)
              if isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)]
    assert [task_id for task_id, _ in waiting] == sorted(str(t.id) for t in timers)
    assert all(runtime.waits_on(wf, str(t.id)) for t in timers if t.state == TaskState.WAITING)
    assert not runtime.waits_on(wf, str(uuid.uuid4()))
    assert not any(runtime.waits_on(wf, task_id) for task_id, _ in ready)
    pending = sorted(
        (t.spiff_task_id, t.fire_at)
        for t in db.session.scalars(select(Timer).where(Timer.case_id == case.id, Timer.kind == "bpmn",
                                                        Timer.status == "pending"))
    )
    assert pending == waiting
    if wf.is_completed():
        assert case.closed_at is not None
        assert rows == []
        assert pending == []
    else:
        assert case.closed_at is None


def assert_round_trip(case: Case) -> None:
    """dumps → loads keeps the ready tasks, the data and the waiting timers."""
    parsed, wf = stored_workflow(case)
    again = runtime.loads(parsed, runtime.dumps(wf))
    assert sorted(t.task_spec.bpmn_id for t in runtime.inspect(again).ready_user_tasks) == sorted(
        t.task_spec.bpmn_id for t in runtime.inspect(wf).ready_user_tasks
    )
    assert sorted(str(t.id) for t in runtime.inspect(again).ready_user_tasks) == sorted(
        str(t.id) for t in runtime.inspect(wf).ready_user_tasks
    )
    assert runtime.inspect(again).data == runtime.inspect(wf).data
    assert sorted((t.task_spec.bpmn_id, f) for t, f in runtime.inspect(again).waiting_timers) == sorted(
        (t.task_spec.bpmn_id, f) for t, f in runtime.inspect(wf).waiting_timers
    )
    assert again.is_completed() == wf.is_completed()
    # And a second generation is byte-for-byte the first.
    assert runtime.dumps(again) == runtime.dumps(runtime.loads(parsed, runtime.dumps(again)))


def open_wage_case(actor: Actor, now: datetime = OPENED, **overrides) -> tuple[Case, Track]:
    case = services.open_case(actor, "wage_arrears", "532301", wage_arrears_intake(**overrides), now)
    track = Track(case)
    check_projection(case)
    return case, track


def wf_tasks(case: Case) -> list[Task]:
    """Open tasks of the process model (not the sweeper's supervision tasks)."""
    parsed = processes.parsed_by_id(case.process_version_id)
    return [t for t in open_tasks(case) if t.name in parsed.user_tasks]


def completed_task_names(case: Case) -> list[str]:
    return [e.detail["task"] for e in case_history(case) if e.kind == "task_completed"]


def pending_timers(case: Case, kind: str | None = None) -> list[Timer]:
    query = select(Timer).where(Timer.case_id == case.id, Timer.status == "pending")
    if kind:
        query = query.where(Timer.kind == kind)
    return list(db.session.scalars(query.order_by(Timer.fire_at)))


def assert_closed(case: Case, status: str) -> None:
    assert case.status == status
    assert case.closed_at is not None
    assert open_tasks(case) == [], "a closed case keeps no open task (supervision tasks included)"
    assert pending_timers(case) == []


def accepted_case(insp: Actor, now: datetime = OPENED) -> tuple[Case, Track]:
    case, track = open_wage_case(insp, now)
    case = track.step(complete(insp, case, "review_complaint", REVIEW_ACCEPT, at("2021-02-01 10:00")))
    assert case.status == "investigating"
    return case, track


def ordered_case(insp: Actor) -> tuple[Case, Track]:
    """Accepted, investigated (order, 100000.00 verified), order issued Mon 2021-02-08 with 3 days to pay."""
    case, track = accepted_case(insp)
    case = track.step(complete(insp, case, "investigate", investigate_data("order"), at("2021-02-05 15:00")))
    assert [t.name for t in wf_tasks(case)] == ["issue_order"]
    case = track.step(complete(insp, case, "issue_order", {"payment_deadline_days": 3}, at("2021-02-08 10:00")))
    assert case.status == "order_issued"
    return case, track


def fire(track: Track, when: datetime) -> Case:
    fire_due_timers(when)
    case = track.case
    track.versions.append(case.version)
    check_projection(case)
    return case


# ---------------------------------------------------------------------------------------------------------------
# Opening and the review projections.

def test_opening_projects_the_review_task_timers_summary_and_audit(insp):
    case, _ = open_wage_case(insp)
    assert case.number == "WA-532301-2021-000001"
    assert case.status == "received"
    assert case.closed_at is None
    assert case.version >= 1
    [task] = wf_tasks(case)
    assert (task.name, task.role, task.title, task.state) == ("review_complaint", "inspector", "受理审查", "open")
    assert task.due_rule == "acceptance_review_days"
    assert task.created_at == OPENED
    # 5 working days from Mon 2021-02-01: 2, 3, 4, 5 and Sun 7 Feb (a make-up working day before Spring Festival).
    assert task.due_at == end_of("2021-02-07")
    assert task.assignee_id is None
    # Without a case clock yet, the case is due when its most urgent task is.
    assert case.due_at == end_of("2021-02-07")
    [timer] = pending_timers(case)
    assert (timer.kind, timer.task_id, timer.name, timer.fire_at) == ("task_due", task.id, "review_complaint",
                                                                     end_of("2021-02-07"))
    assert case.summary["amount_owed"] == "126000.00"
    assert case.summary["verified_amount"] is None
    assert case.summary["amount_paid"] == "0.00"
    assert case.summary["amount_outstanding"] == "126000.00"
    assert case.summary["complainant_name"] == "李建国"
    assert case.summary["complainant_id_number"].endswith("0013")
    assert case.summary["complainant_id_number"].startswith("****")
    assert case.summary["received_at"] == "2021-02-01T09:00:00+08:00"
    event = case_history(case)[0]
    assert (event.seq, event.kind, event.actor, event.at) == (1, "case_opened", "insp_cx", OPENED)
    assert event.detail["process"] == "wage_arrears"
    assert_round_trip(case)


def test_case_numbers_count_per_region_and_year(insp):
    lufeng = Actor.of(make_user("insp_lf", ["inspector"], "532302"))
    first, _ = open_wage_case(insp)
    second, _ = open_wage_case(insp, at("2021-02-02 09:00"))
    other = services.open_case(lufeng, "wage_arrears", "532302", wage_arrears_intake(), at("2021-02-02 10:00"))
    next_year = services.open_case(insp, "wage_arrears", "532301", wage_arrears_intake(), at("2022-01-04 09:00"))
    assert [first.number, second.number, other.number, next_year.number] == [
        "WA-532301-2021-000001", "WA-532301-2021-000002", "WA-532302-2021-000001", "WA-532301-2022-000001"]


# ---------------------------------------------------------------------------------------------------------------
# review_complaint outcomes.

def test_reject_closes_the_case(insp):
    case, track = open_wage_case(insp)
    assert_round_trip(case)
    case = track.step(complete(insp, case, "review_complaint",
                               {"decision": "reject", "reason": "不属于劳动保障监察范围"}, at("2021-02-02 11:00")))
    assert_closed(case, "rejected")
    assert case.closed_at == at("2021-02-02 11:00")
    assert case.summary["closed_reason"] == "不属于劳动保障监察范围"
    assert case.summary["amount_outstanding"] == "0.00"
    assert case.due_at is None
    [task] = db.session.scalars(select(Task).where(Task.case_id == case.id)).all()
    assert (task.state, task.completed_by, task.completed_at) == ("completed", "insp_cx", at("2021-02-02 11:00"))
    assert [t.status for t in db.session.scalars(select(Timer).where(Timer.case_id == case.id))] == ["cancelled"]
    assert_round_trip(case)
    history = case_history(case)
    core = [e for e in history if e.kind in ("case_opened", "task_completed")]
    assert [e.kind for e in core] == ["case_opened", "task_completed"]
    assert core[1].detail["status"] == ["received", "rejected"]
    assert core[1].detail["data"] == {"decision": "reject", "reason": "不属于劳动保障监察范围"}


def test_redirect_closes_the_case_and_names_the_competent_body(insp):
    case, track = open_wage_case(insp)
    task = open_task(case, "review_complaint")
    # QA: the reason was printed as the body to apply to ("你可以依法向属劳动争议，告知申请仲裁申请处理").
    with pytest.raises(DataInvalid) as refused:
        services.complete_task(insp, task.id, {"decision": "redirect", "reason": "属劳动争议"}, case.version,
                               at("2021-02-02 11:00"))
    assert set(refused.value.fields) == {"redirect_to"}
    case = track.step(complete(insp, case, "review_complaint",
                               {"decision": "redirect", "reason": "投诉事项属劳动争议，应通过仲裁解决",
                                "redirect_to": "楚雄市劳动人事争议仲裁院"}, at("2021-02-02 11:00")))
    assert_closed(case, "redirected")
    assert case.summary["amount_outstanding"] == "0.00"
    [notice] = [d for d in documents.documents_for_case(case) if d.kind == "non_acceptance_notice"]
    assert notice.facts["reason"] == "投诉事项属劳动争议，应通过仲裁解决"
    assert notice.facts["redirect_to"] == "楚雄市劳动人事争议仲裁院"
    assert "你可以依法向楚雄市劳动人事争议仲裁院申请处理" in "".join(
        pdfs.render_html("non_acceptance_notice", notice.facts).split())
    assert_round_trip(case)


def test_request_material_received_then_reviewed_again_and_accepted(insp):
    case, track = open_wage_case(insp)
    case = track.step(complete(insp, case, "review_complaint",
                               {"decision": "request_material", "reason": "请补充劳动关系证明"},
                               at("2021-02-02 09:00")))
    assert case.status == "awaiting_material"
    [task] = wf_tasks(case)
    assert (task.name, task.role, task.due_rule) == ("receive_material", "inspector", "material_wait_days")
    # 10 working days from Tue 2 Feb: 3, 4, 5, 7, 8, 9, 10, (11–17 Spring Festival) 18, 19, Sat 20 (make-up day).
    assert task.due_at == end_of("2021-02-20")
    assert_round_trip(case)
    case = track.step(complete(insp, case, "receive_material", {"received": True, "note": "已补交劳动合同"},
                               at("2021-02-09 09:00")))
    assert case.status == "received"
    [again] = wf_tasks(case)
    assert again.name == "review_complaint"
    assert again.id != task.id
    # The review's clock paused while the material was awaited (DOMAIN.md): Tue 2 Feb was used, 4 working days
    # are left from Tue 9 Feb: 10, 18, 19, Sat 20 (not the full 5 again).
    assert again.due_at == end_of("2021-02-20")
    assert_round_trip(case)
    case = track.step(complete(insp, case, "review_complaint", REVIEW_ACCEPT, at("2021-02-10 09:00")))
    assert case.status == "investigating"
    assert [t.name for t in wf_tasks(case)] == ["investigate"]
    assert completed_task_names(case) == ["review_complaint", "receive_material", "review_complaint"]
    assert_round_trip(case)


def test_the_review_clock_pauses_for_each_material_request(insp):
    case, track = open_wage_case(insp)  # received Mon 1 Feb 2021
    case = track.step(complete(insp, case, "review_complaint", {"decision": "request_material", "reason": "缺劳动合同"},
                               at("2021-02-03 09:00")))  # Tue 2 and Wed 3 Feb used
    case = track.step(complete(insp, case, "receive_material", {"received": True}, at("2021-02-08 09:00")))
    [again] = wf_tasks(case)
    assert again.due_at == end_of("2021-02-18")  # 3 left from Mon 8 Feb: 9, 10, (Spring Festival) 18
    case = track.step(complete(insp, case, "review_complaint", {"decision": "request_material", "reason": "缺考勤记录"},
                               at("2021-02-09 09:00")))  # Tue 9 Feb used too
    case = track.step(complete(insp, case, "receive_material", {"received": True}, at("2021-02-22 09:00")))
    [third] = wf_tasks(case)
    assert third.due_at == end_of("2021-02-24")  # 2 left from Mon 22 Feb: 23, 24
    assert_round_trip(case)


def test_request_material_not_received_rejects(insp):
    case, track = open_wage_case(insp)
    case = track.step(complete(insp, case, "review_complaint",
                               {"decision": "request_material", "reason": "请补充劳动关系证明"},
                               at("2021-02-02 09:00")))
    assert_round_trip(case)
    case = track.step(complete(insp, case, "receive_material", {"received": False}, at("2021-02-22 09:00")))
    assert_closed(case, "rejected")
    assert case.summary["closed_reason"] == "逾期未补正材料"
    assert_round_trip(case)


# ---------------------------------------------------------------------------------------------------------------
# Accepted: the case clock starts and investigation opens.

def test_accept_starts_the_case_clock_and_investigation(insp):
    case, _ = accepted_case(insp)
    # 60 working days from Mon 1 Feb 2021 (Spring Festival, Qingming and the make-up days counted): 29 April.
    assert case.summary["filed_at"] == "2021-02-01T10:00:00+08:00"
    assert case.summary["case_due_at"] == "2021-04-29T23:59:59+08:00"
    assert case.summary["case_extended"] is False
    assert case.due_at == end_of("2021-04-29")
    [task] = wf_tasks(case)
    assert (task.name, task.role, task.due_rule) == ("investigate", "inspector", "investigation_days")
    assert task.due_at == end_of("2021-02-25")  # 15 working days
    # The supervisor's review comes 5 working days before the deadline (an extension is approved within the 60
    # working days): 28, 27, 26, Sun 25 April (a make-up working day) and Fri 23 April.
    [clock] = pending_timers(case, "bpmn")
    assert (clock.name, clock.fire_at) == ("case_clock", end_of("2021-04-23"))
    [due] = pending_timers(case, "task_due")
    assert (due.task_id, due.fire_at) == (task.id, end_of("2021-02-25"))
    assert_round_trip(case)


def test_the_second_inspector_of_the_investigation_is_another_inspector_of_the_region(insp):
    # 劳动保障监察条例 art. 16: no fewer than two inspectors investigate.
    make_user("insp_cx2", ["inspector"], "532301")
    make_user("insp_sb", ["inspector"], "532322")
    make_user("clerk_cx2", ["clerk"], "532301")
    make_user("insp_cz", ["inspector"], "532300")  # the prefecture's inspectors cover its counties
    case, track = accepted_case(insp)
    for partner in ("insp_cx", "insp_sb", "clerk_cx2", "nobody"):
        with pytest.raises(DataInvalid) as refused:
            complete(insp, case, "investigate", {**investigate_data("order"), "co_inspector": partner},
                     at("2021-02-05 15:00"))
        assert set(refused.value.fields) == {"co_inspector"}, partner
    assert [t.name for t in wf_tasks(track.case)] == ["investigate"]
    case = track.step(complete(insp, case, "investigate", {**investigate_data("order"), "co_inspector": "insp_cz"},
                               at("2021-02-05 15:00")))
    assert case.summary["co_inspector"] == "insp_cz"


def test_investigate_no_arrears_withdraws(insp):
    case, track = accepted_case(insp)
    case = track.step(complete(insp, case, "investigate",
                               investigate_data("no_arrears", verified_amount="0.00", workers_owed=0),
                               at("2021-02-05 15:00")))
    assert_closed(case, "withdrawn")
    assert case.summary["verified_amount"] == "0.00"
    assert case.summary["amount_paid"] == "0.00"
    assert case.summary["amount_outstanding"] == "0.00"
    assert case.workers_owed == 0
    assert_round_trip(case)


def test_investigate_paid_voluntarily_clears(insp):
    case, track = accepted_case(insp)
    case = track.step(complete(insp, case, "investigate", investigate_data("paid_voluntarily", "98000.00", 11),
                               at("2021-02-05 15:00")))
    assert_closed(case, "cleared")
    assert case.summary["verified_amount"] == "98000.00"
    assert case.summary["amount_paid"] == "98000.00"
    assert case.summary["amount_outstanding"] == "0.00"
    assert case.arrears_recovered == 98000
    assert case.arrears_outstanding == 0
    assert_round_trip(case)


def test_order_payment_timer_in_working_days_then_paid_in_full(insp):
    case, track = ordered_case(insp)
    # Issued Mon 2021-02-08 with 3 working days: 9, 10, (11–17 Spring Festival) 18 → due at the end of 18 Feb.
    assert case.summary["payment_due_at"] == "2021-02-18T23:59:59+08:00"
    assert case.summary["verified_amount"] == "100000.00"
    assert case.summary["amount_outstanding"] == "100000.00"
    payment = [t for t in pending_timers(case, "bpmn") if t.name == "payment_deadline"]
    assert [t.fire_at for t in payment] == [end_of("2021-02-18")]
    assert wf_tasks(case) == []
    assert_round_trip(case)

    before = case.version
    case = fire(track, at("2021-02-18 12:00"))
    assert wf_tasks(case) == [], "the payment timer fired before its deadline"
    assert [t.name for t in pending_timers(case, "bpmn")] == ["payment_deadline", "case_clock"]
    assert case.status == "order_issued"
    assert case.version >= before

    case = fire(track, at("2021-02-19 00:00"))
    [check] = wf_tasks(case)
    assert (check.name, check.role) == ("check_payment", "inspector")
    assert check.created_at == at("2021-02-19 00:00")
    assert check.due_at == end_of("2021-02-20")  # 1 working day: Sat 20 Feb is a make-up working day
    assert [t.name for t in pending_timers(case, "bpmn")] == ["case_clock"]
    assert_round_trip(case)

    case = track.step(complete(insp, case, "check_payment", {"amount_paid": "100000.00"}, at("2021-02-19 10:00")))
    assert_closed(case, "cleared")
    assert case.summary["amount_paid"] == "100000.00"
    assert case.summary["amount_outstanding"] == "0.00"
    assert case.summary["payment_due_at"] is None
    assert completed_task_names(case) == ["review_complaint", "investigate", "issue_order", "check_payment"]
    assert_round_trip(case)


def test_default_payment_deadline_rule_is_three_working_days(insp):
    case, _ = ordered_case(insp)
    # The rule default equals the figure used above; a province override would change the form default only.
    from engine.rules import RULES

    assert RULES["payment_deadline_days"].default == 3
    assert case.summary["payment_due_at"] == "2021-02-18T23:59:59+08:00"


def _partly_paid(insp: Actor) -> tuple[Case, Track]:
    case, track = ordered_case(insp)
    case = fire(track, at("2021-02-19 00:00"))
    case = track.step(complete(insp, case, "check_payment", {"amount_paid": "40000.00", "note": "已支付部分"},
                               at("2021-02-19 10:00")))
    assert case.status == "enforcement"
    assert case.summary["amount_paid"] == "40000.00"
    assert case.summary["amount_outstanding"] == "60000.00"
    [task] = wf_tasks(case)
    assert (task.name, task.role) == ("choose_enforcement", "inspector")
    return case, track


def test_partly_paid_enforcement_without_approval_then_cleared(insp):
    case, track = _partly_paid(insp)
    assert_round_trip(case)
    case = track.step(complete(insp, case, "choose_enforcement",
                               {"measures": ["emergency_advance"], "reason": "申请应急周转金垫付剩余工资"},
                               at("2021-02-22 09:00")))
    # No approval needed: straight back to the payment check.
    [check] = wf_tasks(case)
    assert check.name == "check_payment"
    assert case.summary["measures"] == ["emergency_advance"]
    assert case.status == "enforcement"
    assert_round_trip(case)
    case = track.step(complete(insp, case, "check_payment", {"amount_paid": "100000.00"}, at("2021-02-23 09:00")))
    assert_closed(case, "cleared")
    assert case.summary["amount_outstanding"] == "0.00"
    assert case.arrears_recovered == 100000
    assert completed_task_names(case) == ["review_complaint", "investigate", "issue_order", "check_payment",
                                          "choose_enforcement", "check_payment"]


def test_penalty_needs_approval_refused_then_chosen_again_and_approved(insp, sup):
    case, track = _partly_paid(insp)
    penalty = {"measures": ["penalty"], "penalty_amount": "20000.00", "reason": "逾期未支付"}
    case = track.step(complete(insp, case, "choose_enforcement", penalty, at("2021-02-22 09:00")))
    [approval] = wf_tasks(case)
    assert (approval.name, approval.role) == ("approve_enforcement", "supervisor")
    assert approval.due_at == end_of("2021-02-25")  # 3 working days
    # An inspector may not approve.
    with pytest.raises(Forbidden):
        services.complete_task(insp, approval.id, {"approved": True}, case.version, at("2021-02-22 10:00"))
    assert_round_trip(case)
    case = track.step(complete(sup, case, "approve_enforcement", {"approved": False, "comment": "罚款依据不足"},
                               at("2021-02-22 11:00")))
    [again] = wf_tasks(case)
    assert again.name == "choose_enforcement"
    assert case.status == "enforcement"
    # The refused fine is not in force: the case shows it as refused, with the reason, until new measures are chosen.
    assert case.summary["measures"] == [] and case.summary["penalty_amount"] is None
    assert (case.summary["refused_measures"], case.summary["refusal_comment"]) == (["penalty"], "罚款依据不足")
    case = track.step(complete(insp, case, "choose_enforcement",
                               {"measures": ["penalty", "compensation_order"], "penalty_amount": "10000.00",
                                "compensation_rate": 50, "reason": "补充证据后重新提请"},
                               at("2021-02-23 09:00")))
    assert open_task(case, "approve_enforcement")
    assert case.summary["refused_measures"] is None and case.summary["refusal_comment"] is None
    assert_round_trip(case)
    case = track.step(complete(sup, case, "approve_enforcement", {"approved": True}, at("2021-02-23 10:00")))
    assert case.summary["measures"] == ["penalty", "compensation_order"]
    # The fine waits for the employer's answer to its prior notice (10000.00 carries a hearing: 5 working days),
    # then the payment check for the compensation's time to pay (7 working days outside the campaign).
    assert wf_tasks(case) == []
    case = fire(track, at("2021-03-03 00:00"))
    case = track.step(complete(insp, case, "decide_penalty", {"defence_stated": False, "hearing_requested": False,
                                                              "penalty_outcome": "impose"}, at("2021-03-03 09:00")))
    assert wf_tasks(case) == []
    case = fire(track, at("2021-03-05 00:00"))
    [check] = wf_tasks(case)
    assert check.name == "check_payment"
    case = track.step(complete(insp, case, "check_payment", {
        "amount_paid": "100000.00", "compensation_paid": case.summary["compensation_amount"]}, at("2021-03-05 09:00")))
    assert_closed(case, "cleared")


def referral_letters(case: Case) -> list:
    return [d for d in documents.documents_for_case(case) if d.kind == "criminal_referral"]


REFERRAL = {"measures": ["criminal_referral", "blacklist"], "reason": "拒不支付，数额较大"}


def _referral_at_the_head(insp: Actor, sup: Actor) -> tuple[Case, Track]:
    """60,000.00 still owed to 10 workers; the referral chosen Thu 25 Feb and approved by the supervisor on Fri
    26 Feb 2021, 10:00: the head's decision is then due within 3 calendar days (Mon 1 March, not Wed 3 March)."""
    case, track = _partly_paid(insp)
    case = track.step(complete(insp, case, "choose_enforcement", REFERRAL, at("2021-02-25 09:00")))
    assert open_task(case, "approve_enforcement").role == "supervisor"
    case = track.step(complete(sup, case, "approve_enforcement", {"approved": True, "comment": "同意，报请移送"},
                               at("2021-02-26 10:00")))
    assert case.status == "enforcement"
    assert case.closed_at is None
    return case, track


def test_criminal_referral_goes_to_the_head_then_is_transferred(insp, sup, county_head):
    case, track = _referral_at_the_head(insp, sup)
    [approval] = wf_tasks(case)
    assert (approval.name, approval.role, approval.title) == ("approve_referral", "head", "移送审批")
    assert approval.due_rule == "referral_approval_days"
    assert approval.due_at == end_of("2021-03-01")  # 3 calendar days from Fri 26 Feb (working days: Wed 3 March)
    # It is in the head's queue, not in the supervisor's or the inspector's.
    queued, _ = services.list_tasks(county_head, now=at("2021-02-26 11:00"))
    assert [t.id for t in queued] == [approval.id]
    assert services.list_tasks(sup, now=at("2021-02-26 11:00"))[0] == []
    # Only the head decides: the supervisor who approved the measures may not, nor may the inspector.
    for other in (sup, insp):
        with pytest.raises(Forbidden):
            services.complete_task(other, approval.id, {"approved": True}, case.version, at("2021-02-26 11:00"))
    # The supervisor's approval decides no referral: no letter yet.
    assert referral_letters(case) == []
    assert_round_trip(case)

    case = track.step(complete(county_head, case, "approve_referral", {"approved": True, "comment": "批准移送"},
                               at("2021-03-01 09:00")))
    [letter] = referral_letters(case)
    assert letter.facts["amount_owed"] == "60000.00"
    assert letter.created_at == at("2021-03-01 09:00")  # issued on the head's decision
    [transfer] = wf_tasks(case)
    assert (transfer.name, transfer.role, transfer.title) == ("transfer_case", "inspector", "移送公安机关")
    assert transfer.due_rule == "referral_transfer_days"
    assert transfer.due_at == end_of("2021-03-02")  # within a day of the decision
    assert case.status == "enforcement"
    assert case.closed_at is None
    assert_round_trip(case)

    case = track.step(complete(insp, case, "transfer_case",
                               {"transferred_on": "2021-03-01", "receiving_unit": "楚雄市公安局"},
                               at("2021-03-01 16:00")))
    assert_closed(case, "transferred")
    assert case.summary["amount_outstanding"] == "60000.00"
    assert len(referral_letters(case)) == 1
    [closure] = [d for d in documents.documents_for_case(case) if d.kind == "case_closure_notice"]
    # The complainant learns where the case went and what is still owed.
    assert closure.facts["outcome"] == ["案件已于2021-03-01移送楚雄市公安局依法处理。截至结案，用人单位尚欠劳动者工资"
                                        "60000.00元未支付，你可以依法通过司法途径主张权利。"]
    assert completed_task_names(case) == ["review_complaint", "investigate", "issue_order", "check_payment",
                                          "choose_enforcement", "approve_enforcement", "approve_referral",
                                          "transfer_case"]
    assert_round_trip(case)


def test_the_head_refusing_the_referral_goes_back_to_choosing_the_measures(insp, sup, county_head):
    case, track = _referral_at_the_head(insp, sup)
    task = open_task(case, "approve_referral")
    with pytest.raises(DataInvalid) as no_reason:  # refusing needs a reason, as the supervisor's refusal does
        services.complete_task(county_head, task.id, {"approved": False}, case.version, at("2021-02-26 11:00"))
    assert set(no_reason.value.fields) == {"comment"}
    case = track.step(complete(county_head, case, "approve_referral",
                               {"approved": False, "comment": "证据不足，暂不移送"}, at("2021-02-26 11:00")))
    [again] = wf_tasks(case)
    assert (again.name, again.role) == ("choose_enforcement", "inspector")
    assert case.status == "enforcement"
    assert case.closed_at is None
    assert referral_letters(case) == []
    # The blacklisting approved with the referral is in force (its decision was issued) and stays listed.
    assert case.summary["measures"] == ["blacklist"]
    assert (case.summary["refused_measures"], case.summary["refusal_comment"]) == (["criminal_referral"],
                                                                                   "证据不足，暂不移送")
    assert_round_trip(case)
    # Other measures go on as before: no approval needed, back to the payment check, and the case can clear.
    case = track.step(complete(insp, case, "choose_enforcement",
                               {"measures": ["emergency_advance"], "reason": "申请应急周转金垫付剩余工资"},
                               at("2021-03-01 09:00")))
    assert case.summary["measures"] == ["emergency_advance"] and case.summary["refused_measures"] is None
    assert [t.name for t in wf_tasks(case)] == ["check_payment"]
    case = track.step(complete(insp, case, "check_payment", {"amount_paid": "100000.00"}, at("2021-03-02 09:00")))
    assert_closed(case, "cleared")
    assert referral_letters(case) == []


def test_the_transfer_is_not_dated_in_the_future(insp, sup, county_head):
    case, track = _referral_at_the_head(insp, sup)
    case = track.step(complete(county_head, case, "approve_referral", {"approved": True}, at("2021-02-26 15:00")))
    task = open_task(case, "transfer_case")
    with pytest.raises(DataInvalid) as bad:
        services.complete_task(insp, task.id, {"transferred_on": "2021-02-27", "receiving_unit": "楚雄市公安局"},
                               case.version, at("2021-02-26 16:00"))
    assert set(bad.value.fields) == {"transferred_on"}
    assert "2021-02-26" in bad.value.fields["transferred_on"]
    case = track.step(complete(insp, track.case, "transfer_case",
                               {"transferred_on": "2021-02-26", "receiving_unit": "楚雄市公安局"},
                               at("2021-02-26 16:00")))
    assert_closed(case, "transferred")


# ---------------------------------------------------------------------------------------------------------------
# The case clock: 60 working days, one extension of 30.

def test_case_clock_review_extend_once_then_no_second_extension(insp, sup):
    case, track = accepted_case(insp)
    investigate = open_task(case, "investigate")

    case = fire(track, at("2021-04-23 12:00"))
    assert [t.name for t in wf_tasks(case)] == ["investigate"], "the case clock fired early"

    case = fire(track, at("2021-04-24 00:00"))
    names = sorted(t.name for t in wf_tasks(case))
    assert names == ["investigate", "review_case_deadline"]
    review = open_task(case, "review_case_deadline")
    assert review.role == "supervisor"
    # 2 working days from Sat 24 Apr: Sun 25 (a make-up working day) and Mon 26 April, before the deadline (29th).
    assert review.due_at == end_of("2021-04-26")
    # The handling goes on: the investigation task is the very same one.
    assert open_task(case, "investigate").id == investigate.id
    assert case.status == "investigating"
    assert pending_timers(case, "bpmn") == []
    assert_round_trip(case)

    with pytest.raises(Forbidden):
        services.complete_task(insp, review.id, {"decision": "extend", "reason": "x"}, case.version,
                               at("2021-04-26 09:00"))
    case = track.step(complete(sup, case, "review_case_deadline", {"decision": "extend", "reason": "案情复杂，需延期"},
                               at("2021-04-26 09:00")))
    # +30 working days from 29 April: 30 Apr, 6–8 May (8th a make-up day), ..., Dragon Boat 12–14 June off → 15 June.
    assert case.summary["case_due_at"] == "2021-06-15T23:59:59+08:00"
    assert case.summary["case_extended"] is True
    assert case.due_at == end_of("2021-06-15")
    assert [t.name for t in wf_tasks(case)] == ["investigate"]
    # The next review, 5 working days before 15 June (Dragon Boat 12-14 June off): Mon 7 June.
    [clock] = pending_timers(case, "bpmn")
    assert (clock.name, clock.fire_at) == ("case_clock_extended", end_of("2021-06-07"))
    assert_round_trip(case)

    # Work in the main branch after the extension does not move the clock back.
    case = track.step(complete(insp, case, "investigate", investigate_data("order"), at("2021-05-10 09:00")))
    assert case.summary["case_due_at"] == "2021-06-15T23:59:59+08:00"
    assert case.due_at == end_of("2021-06-15")
    assert sorted(t.name for t in wf_tasks(case)) == ["issue_order"]

    case = fire(track, at("2021-06-07 23:00"))
    assert [t.name for t in wf_tasks(case)] == ["issue_order"]
    case = fire(track, at("2021-06-08 00:00"))
    assert sorted(t.name for t in wf_tasks(case)) == ["issue_order", "review_case_deadline"]
    assert_round_trip(case)
    # Only one extension: a second one is refused (tests/integration/test_wage_arrears_rules.py), the supervisor
    # concludes instead, which ends the clock branch; the due time stays.
    review = open_task(case, "review_case_deadline")
    with pytest.raises(DataInvalid) as refused:
        services.complete_task(sup, review.id, {"decision": "extend", "reason": "再次申请延期"}, case.version,
                               at("2021-06-08 09:00"))
    assert set(refused.value.fields) == {"decision"}
    case = track.step(complete(sup, case, "review_case_deadline", {"decision": "conclude", "reason": "督促按期办结"},
                               at("2021-06-08 09:00")))
    assert case.summary["case_due_at"] == "2021-06-15T23:59:59+08:00"
    assert case.summary["case_extended"] is True
    assert case.due_at == end_of("2021-06-15")
    assert [t.name for t in wf_tasks(case)] == ["issue_order"]
    assert pending_timers(case, "bpmn") == []
    assert case.closed_at is None
    assert case.status == "investigating"
    assert_round_trip(case)
    # The case itself still finishes normally.
    case = track.step(complete(insp, case, "issue_order", {"payment_deadline_days": 1}, at("2021-06-08 10:00")))
    case = fire(track, at("2021-06-10 00:00"))
    case = track.step(complete(insp, case, "check_payment", {"amount_paid": "100000.00"}, at("2021-06-10 09:00")))
    assert_closed(case, "cleared")


def test_case_clock_conclude_ends_the_clock_branch(insp, sup):
    case, track = accepted_case(insp)
    case = fire(track, at("2021-04-30 00:00"))
    case = track.step(complete(sup, case, "review_case_deadline", {"decision": "conclude", "reason": "督促按期办结"},
                               at("2021-04-30 09:00")))
    assert [t.name for t in wf_tasks(case)] == ["investigate"]
    assert pending_timers(case, "bpmn") == []
    assert case.summary["case_extended"] is False
    assert case.summary["case_due_at"] == "2021-04-29T23:59:59+08:00"
    case = track.step(complete(insp, case, "investigate", investigate_data("no_arrears", "0.00", 0),
                               at("2021-04-30 10:00")))
    assert_closed(case, "withdrawn")


def test_closing_the_case_cancels_the_clock_branch(insp, sup):
    case, track = accepted_case(insp)
    case = fire(track, at("2021-04-30 00:00"))
    assert open_task(case, "review_case_deadline")
    case = track.step(complete(insp, case, "investigate", investigate_data("paid_voluntarily"), at("2021-04-30 10:00")))
    assert_closed(case, "cleared")
    states = {t.name: t.state for t in db.session.scalars(select(Task).where(Task.case_id == case.id))}
    assert states["review_case_deadline"] == "cancelled"
    assert states["investigate"] == "completed"


# ---------------------------------------------------------------------------------------------------------------
# Projections across a whole path: version, audit order, claim/release.

def test_version_grows_and_audit_is_in_order(insp, sup):
    case, track = _partly_paid(insp)
    task = open_task(case, "choose_enforcement")
    claimed = services.claim_task(insp, task.id, at("2021-02-22 08:00"))
    assert claimed.assignee_id == insp.user_id
    case = track.case
    assert case.assignee_id == insp.user_id
    services.release_task(insp, task.id, at("2021-02-22 08:05"))
    assert db.session.get(Task, task.id).assignee_id is None
    case = track.step(complete(insp, case, "choose_enforcement", {"measures": ["emergency_advance"], "reason": "垫付"},
                               at("2021-02-22 09:00")))
    assert track.versions == sorted(set(track.versions))
    history = case_history(case)
    assert [e.seq for e in history] == list(range(1, len(history) + 1))
    assert [e.at for e in history] == sorted(e.at for e in history)
    kinds = [(e.kind, e.detail.get("task")) for e in history if e.kind in ("case_opened", "task_completed",
                                                                          "task_claimed", "task_released")]
    assert kinds == [
        ("case_opened", None), ("task_completed", "review_complaint"), ("task_completed", "investigate"),
        ("task_completed", "issue_order"), ("task_completed", "check_payment"),
        ("task_claimed", "choose_enforcement"), ("task_released", "choose_enforcement"),
        ("task_completed", "choose_enforcement"),
    ]
    assert history[0].prev_hash == "0" * 64
    for before, after in zip(history, history[1:], strict=False):
        assert after.prev_hash == before.hash


def test_completed_task_cannot_be_completed_again(insp):
    case, track = open_wage_case(insp)
    task = open_task(case, "review_complaint")
    case = track.step(services.complete_task(insp, task.id, REVIEW_ACCEPT, case.version, at("2021-02-01 10:00")))
    events = len(case_history(case))
    with pytest.raises(Conflict):
        services.complete_task(insp, task.id, REVIEW_ACCEPT, case.version, at("2021-02-01 10:05"))
    db.session.expire_all()
    assert track.case.version == track.versions[-1]
    assert len(case_history(track.case)) == events


def test_a_claimed_task_belongs_to_its_holder(insp):
    other = Actor.of(make_user("insp_cx2", ["inspector"], "532301"))
    case, track = open_wage_case(insp)
    task = open_task(case, "review_complaint")
    services.claim_task(insp, task.id, at("2021-02-01 09:30"))
    with pytest.raises(Conflict):
        services.claim_task(other, task.id, at("2021-02-01 09:31"))
    with pytest.raises(Forbidden):
        services.release_task(other, task.id, at("2021-02-01 09:31"))
    case = track.case
    with pytest.raises(Conflict):
        services.complete_task(other, task.id, REVIEW_ACCEPT, case.version, at("2021-02-01 09:32"))
    # Claiming again is idempotent for the holder.
    services.claim_task(insp, task.id, at("2021-02-01 09:33"))
    case = track.step(complete(insp, track.case, "review_complaint", REVIEW_ACCEPT, at("2021-02-01 10:00")))
    done = db.session.get(Task, task.id)
    assert (done.state, done.assignee_id, done.completed_by) == ("completed", insp.user_id, "insp_cx")


def test_every_audit_event_belongs_to_the_case(insp):
    case, _ = accepted_case(insp)
    events = db.session.scalars(select(AuditEvent)).all()
    assert {e.case_id for e in events} == {case.id}
