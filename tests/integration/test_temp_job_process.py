"""Every path through the temporary-job process (bpmn/temp_job/temp_job.bpmn), driven through the generic engine
services with an injected clock, twice: on the live workflow the last step kept (engine.workflow_cache), and
restoring it from the database at every step (a save/reload round-trip). After every step the stored state must
match the projections (open task rows, timers, status, summary, the 131 row) and the live workflow must be exactly
the stored state; each path also checks `runtime.loads(parsed, runtime.dumps(wf))` mid-way, and the posts' slots."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from engine import escalation, placements, posts, services
from engine.actors import Actor
from engine.db import db
from engine.documents import Document
from engine.errors import Conflict, DataInvalid, Forbidden
from engine.models import Case, Task, Timer
from engine.placements import Placement
from engine.posts import Post
from engine.service131 import Service131
from engine.services.cases import open_tasks, runtime
from tests.conftest import SHANGHAI, at, make_user
from tests.factories import complete, fire_due_timers, open_task, stored_workflow

pytestmark = pytest.mark.usefixtures("ctx", "workflow_source")

OPENED = at("2021-02-01 09:00")  # a Monday


def ric(prefix17: str) -> str:
    from stdnum.cn import ric as cn_ric

    return prefix17 + cn_ric.calc_check_digit(prefix17 + "0")


def intake(group: str = "poverty_alleviated", id_prefix: str = "53230119900101002", **extra) -> dict:
    data = {
        "seeker": {"name": "杨秀英", "id_number": ric(id_prefix), "phone": "13908781234", "priority_group": group},
        "skills": ["保洁"],
        "wishes": {"kinds": ["sanitation"], "min_monthly_pay": "1500"},
    }
    data.update(extra)
    return data


GUIDANCE = {"guidance_date": "2021-02-02", "guidance_content": "职业规划与求职技巧指导", "counsellor": "陈静"}
OFFERS = {"offers": [
    {"employer": "楚雄鹿城物业公司", "job": "保洁员", "date": "2021-02-03", "monthly_pay": "2000.00"},
    {"employer": "彝人古镇酒店", "job": "客房服务员", "date": "2021-02-03"},
    {"employer": "楚雄市环卫站", "job": "道路保洁", "date": "2021-02-04"},
]}
TRAINING = {"training_programme": "家政服务员培训", "training_date": "2021-02-05",
            "training_provider": "楚雄州职教中心"}


@pytest.fixture
def clerk():
    return Actor.of(make_user("clerk_cx", ["clerk"], "532301"))


@pytest.fixture
def sup():
    return Actor.of(make_user("sup_cx", ["supervisor"], "532301"))


def new_post(actor: Actor, **overrides) -> Post:
    body = {"title": "社区保洁员", "kind": "sanitation", "employer": "鹿城镇南关社区", "region": "532301",
            "slots": 2, "monthly_pay": "1800.00", "start_date": "2021-02-15", "end_date": "2021-05-14",
            "work_place": "南关社区"}
    body.update(overrides)
    return posts.create_post(actor, body, at("2021-01-30 09:00"))


def case_of(number: str) -> Case:
    db.session.expire_all()
    return db.session.scalar(select(Case).where(Case.number == number))


def wf_task_names(case: Case) -> list[str]:
    return sorted(t.name for t in open_tasks(case) if t.name != "supervise_overdue")


def check_projection(case: Case) -> None:
    """Open task rows are the workflow's ready user tasks; pending BPMN timers are its waiting timers."""
    _, wf = stored_workflow(case)
    assert sorted((str(t.id), t.task_spec.bpmn_id) for t in runtime.inspect(wf).ready_user_tasks) == sorted(
        (t.id, t.name) for t in open_tasks(case) if t.name != "supervise_overdue")
    pending = sorted((t.spiff_task_id, t.fire_at) for t in db.session.scalars(
        select(Timer).where(Timer.case_id == case.id, Timer.kind == "bpmn", Timer.status == "pending")))
    assert pending == sorted((str(t.id), f) for t, f in runtime.inspect(wf).waiting_timers)
    assert (case.closed_at is not None) == wf.is_completed()
    row = db.session.get(Service131, case.id)
    assert row is not None and row.open == (case.closed_at is None)
    owed = case.summary["service_131_owed"]
    assert (row.owes_career_guidance, row.owes_job_offers, row.owes_training) == (
        "career_guidance" in owed, "job_offers" in owed, "training" in owed)


def assert_round_trip(case: Case) -> None:
    parsed, wf = stored_workflow(case)
    again = runtime.loads(parsed, runtime.dumps(wf))
    assert sorted(str(t.id) for t in runtime.inspect(again).ready_user_tasks) == sorted(
        str(t.id) for t in runtime.inspect(wf).ready_user_tasks)
    assert runtime.inspect(again).data == runtime.inspect(wf).data
    assert sorted((str(t.id), f) for t, f in runtime.inspect(again).waiting_timers) == sorted(
        (str(t.id), f) for t, f in runtime.inspect(wf).waiting_timers)
    assert runtime.dumps(again) == runtime.dumps(runtime.loads(parsed, runtime.dumps(again)))


def step(actor: Actor, case: Case, name: str, data: dict, when: datetime) -> Case:
    version = case.version
    case = complete(actor, case, name, data, when)
    assert case.version > version
    check_projection(case)
    return case


def open_temp_case(clerk: Actor, **kwargs) -> Case:
    case = services.open_case(clerk, "temp_job", "532301", intake(**kwargs), OPENED)
    check_projection(case)
    return case


def served_case(clerk: Actor, **kwargs) -> Case:
    """Registered, with the whole 131 service given and the market outcome `not_employed`."""
    case = open_temp_case(clerk, **kwargs)
    case = step(clerk, case, "career_guidance", GUIDANCE, at("2021-02-02 10:00"))
    case = step(clerk, case, "job_offers", OFFERS, at("2021-02-04 10:00"))
    case = step(clerk, case, "training", TRAINING, at("2021-02-05 10:00"))
    return step(clerk, case, "market_outcome", {"market_outcome": "not_employed"}, at("2021-02-08 10:00"))


def referred_case(clerk: Actor, post: Post, when: datetime = at("2021-02-09 10:00")) -> Case:
    case = served_case(clerk)
    assert wf_task_names(case) == ["match_post"]
    case = step(clerk, case, "match_post", {"post_id": post.id}, when)
    assert case.status == "referred"
    return case


def placements_of(case: Case) -> list[tuple[int, str]]:
    return [(p.post_id, p.status) for p in db.session.scalars(
        select(Placement).where(Placement.case_id == case.id).order_by(Placement.id))]


def filled(post_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Post, post_id).filled


# ---------------------------------------------------------------------------------------------------------------
# Registration and the 131 service.

def test_registration_opens_the_131_service_beside_the_follow_up(clerk):
    case = open_temp_case(clerk)
    assert case.number == "TJ-532301-2021-000001"
    assert case.status == "registered"
    assert wf_task_names(case) == ["career_guidance", "job_offers", "market_outcome", "training"]
    tasks = {t.name: t for t in open_tasks(case)}
    assert {t.role for t in tasks.values()} == {"clerk"}
    assert tasks["career_guidance"].due_rule == "service_131_days"
    # 10 working days from Mon 1 Feb 2021: 2-5, Sun 7 (make-up), 8-10, then the holiday (11-17), 18, 19.
    assert tasks["career_guidance"].due_at.astimezone(SHANGHAI).date() == date(2021, 2, 19)
    summary = case.summary
    assert summary["service_131_owed"] == ["career_guidance", "job_offers", "training"]
    assert summary["seeker_id_number"].startswith("**************") and summary["seeker_name"] == "杨秀英"
    assert summary["priority_group"] == "poverty_alleviated"
    assert_round_trip(case)


def test_each_131_part_is_recorded_with_its_date_and_the_case_shows_what_is_owed(clerk):
    case = open_temp_case(clerk)
    case = step(clerk, case, "career_guidance", GUIDANCE, at("2021-02-02 10:00"))
    assert case.status == "registered"  # the 131 branch never moves the status
    assert case.summary["service_131"]["career_guidance"] == {
        "date": "2021-02-02", "content": "职业规划与求职技巧指导", "counsellor": "陈静"}
    assert case.summary["service_131_owed"] == ["job_offers", "training"]
    assert_round_trip(case)
    case = step(clerk, case, "job_offers", OFFERS, at("2021-02-04 10:00"))
    assert [o["employer"] for o in case.summary["service_131"]["job_offers"]] == [
        "楚雄鹿城物业公司", "彝人古镇酒店", "楚雄市环卫站"]
    assert case.summary["service_131_owed"] == ["training"]
    case = step(clerk, case, "training", TRAINING, at("2021-02-05 10:00"))
    assert case.summary["service_131"]["training"]["programme"] == "家政服务员培训"
    assert case.summary["service_131_owed"] == []
    assert wf_task_names(case) == ["market_outcome"]
    assert_round_trip(case)


def test_two_offers_are_not_the_131_service(clerk):
    case = open_temp_case(clerk)
    with pytest.raises(DataInvalid) as err:
        complete(clerk, case, "job_offers", {"offers": OFFERS["offers"][:2]}, at("2021-02-02 10:00"))
    assert "offers" in err.value.fields
    with pytest.raises(DataInvalid) as err:
        complete(clerk, case_of(case.number), "career_guidance", {"guidance_date": "2021-02-30",
                                                                  "guidance_content": "x"}, at("2021-02-02 10:00"))
    assert "guidance_date" in err.value.fields


def test_placed_by_the_market_closes_employed_and_cancels_what_is_left(clerk):
    case = open_temp_case(clerk)
    case = step(clerk, case, "career_guidance", GUIDANCE, at("2021-02-02 10:00"))
    case = step(clerk, case, "market_outcome", {"market_outcome": "employed", "employer": "楚雄鹿城物业公司",
                                                "job": "保洁员"}, at("2021-02-03 10:00"))
    assert case.status == "employed" and case.closed_at == at("2021-02-03 10:00")
    assert open_tasks(case) == []
    assert case.summary["closed_reason"] == "通过市场实现就业"
    assert case.summary["service_131_owed"] == ["job_offers", "training"]
    cancelled = db.session.scalars(select(Task.name).where(Task.case_id == case.id, Task.state == "cancelled"))
    assert sorted(cancelled) == ["job_offers", "training"]
    assert db.session.scalars(select(Timer).where(Timer.case_id == case.id, Timer.status == "pending")).all() == []
    assert_round_trip(case)


def test_employed_needs_the_employer(clerk):
    case = open_temp_case(clerk)
    with pytest.raises(DataInvalid) as err:
        complete(clerk, case, "market_outcome", {"market_outcome": "employed"}, at("2021-02-03 10:00"))
    assert "employer" in err.value.fields


def test_withdrawn(clerk):
    case = open_temp_case(clerk)
    case = step(clerk, case, "market_outcome", {"market_outcome": "withdrawn", "note": "本人外出务工"},
                at("2021-02-03 10:00"))
    assert (case.status, case.summary["closed_reason"]) == ("withdrawn", "本人退出服务")
    assert case.closed_at is not None


def test_not_employed_outside_the_priority_groups_stays_in_service(clerk):
    case = open_temp_case(clerk, group="other")
    case = step(clerk, case, "market_outcome", {"market_outcome": "not_employed"}, at("2021-02-03 10:00"))
    assert case.status == "in_service"
    assert wf_task_names(case) == ["career_guidance", "job_offers", "market_outcome", "training"]
    # The next follow-up, not a post: temporary posts are for the priority groups.
    case = step(clerk, case, "market_outcome", {"market_outcome": "employed", "employer": "楚雄市某超市"},
                at("2021-02-10 10:00"))
    assert case.status == "employed"
    assert_round_trip(case)


def test_one_open_case_per_person(clerk):
    open_temp_case(clerk)
    with pytest.raises(DataInvalid) as err:
        services.open_case(clerk, "temp_job", "532301", intake(), OPENED)
    assert "seeker.id_number" in err.value.fields
    assert services.open_case(clerk, "temp_job", "532301", intake(id_prefix="53230119900101003"), OPENED)


def test_a_child_under_16_is_not_registered_for_job_placement(clerk):
    """劳动法第十五条 forbids employing anyone under 16: a seeker born 1 Mar 2005 was registered on 1 Feb 2021 (15)
    and could be referred to a post. Registration is refused naming the ID number; from the 16th birthday it is
    taken."""
    with pytest.raises(DataInvalid) as err:
        services.open_case(clerk, "temp_job", "532301", intake(id_prefix="53230120050301002"), OPENED)
    assert "16" in err.value.fields["seeker.id_number"]
    assert services.open_case(clerk, "temp_job", "532301", intake(id_prefix="53230120050201002"), OPENED)


# ---------------------------------------------------------------------------------------------------------------
# Priority groups: matching, referral, confirmation, the post's end.

def test_referral_takes_a_slot_issues_the_letter_and_confirmation_is_due_in_5_working_days(clerk):
    post = new_post(clerk)
    case = referred_case(clerk, post, at("2021-02-09 10:00"))
    assert filled(post.id) == 1
    assert placements_of(case) == [(post.id, "referred")]
    assert wf_task_names(case) == ["confirm_placement"]
    task = open_task(case, "confirm_placement")
    assert task.due_rule == "confirm_placement_days"
    # Tue 9 Feb + 5 working days, across the Spring Festival holiday (11-17 Feb): 10, 18, 19, 20 (make-up), 22.
    assert task.due_at.astimezone(SHANGHAI).date() == date(2021, 2, 22)
    summary = case.summary
    assert summary["post_id"] == post.id and summary["post"]["employer"] == "鹿城镇南关社区"
    assert summary["report_by"] == "2021-02-22"
    [letter] = db.session.scalars(select(Document).where(Document.case_id == case.id)).all()
    assert letter.kind == "temp_post_referral"
    assert letter.facts["candidate"] == "杨秀英" and letter.facts["recipient"] == "鹿城镇南关社区"
    assert letter.facts["candidate_id"].endswith(intake()["seeker"]["id_number"][-4:])
    assert "*" in letter.facts["candidate_id"]
    assert letter.number.startswith("楚市人社岗荐〔2021〕")
    assert_round_trip(case)
    # The outbox renders it (Chinese, A4, with its verification code): the facts are complete.
    report = escalation.sweep(at("2021-02-09 10:05"))
    assert report.errors == []
    db.session.expire_all()
    assert db.session.get(Document, letter.id).status == "rendered"


def test_a_live_referral_step_restores_no_workflow(clerk, workflow_source, monkeypatch):
    """The referral's status hook writes the post's facts into the workflow its step has just written: it takes
    that same workflow, so the step neither restores one nor loses the first write."""
    post = new_post(clerk)
    case = served_case(clerk)
    restored = []
    real_loads = runtime.loads
    with monkeypatch.context() as patch:
        patch.setattr(runtime, "loads", lambda *args: restored.append(1) or real_loads(*args))
        case = complete(clerk, case, "match_post", {"post_id": post.id}, at("2021-02-09 10:00"))
    assert len(restored) == (0 if workflow_source == "live" else 2)
    check_projection(case)
    assert case.summary["report_by"] == "2021-02-22"
    assert runtime.inspect(stored_workflow(case)[1]).data["post_end_at"] == "2021-05-15T00:00:00+08:00"


def test_placed_then_exit_review_closes_post_ended(clerk, sup):
    post = new_post(clerk)
    case = referred_case(clerk, post)
    case = step(clerk, case, "confirm_placement", {"placed": True, "reported_on": "2021-02-15"},
                at("2021-02-15 09:00"))
    assert case.status == "placed"
    assert placements_of(case) == [(post.id, "placed")]
    assert wf_task_names(case) == []
    [timer] = db.session.scalars(select(Timer).where(Timer.case_id == case.id, Timer.kind == "bpmn",
                                                     Timer.status == "pending")).all()
    assert timer.fire_at == at("2021-05-15 00:00")  # the day after the post's last day
    assert_round_trip(case)

    fire_due_timers(at("2021-05-14 23:00"))
    case = case_of(case.number)
    assert wf_task_names(case) == []  # not yet
    fire_due_timers(at("2021-05-15 08:00"))
    case = case_of(case.number)
    check_projection(case)
    assert wf_task_names(case) == ["exit_review"]
    assert open_task(case, "exit_review").role == "supervisor"
    assert_round_trip(case)
    with pytest.raises(Forbidden):
        complete(clerk, case, "exit_review", {"outcome": "post_ended"}, at("2021-05-17 10:00"))
    case = step(sup, case_of(case.number), "exit_review", {"outcome": "post_ended", "note": "期满"},
                at("2021-05-17 10:00"))
    assert case.status == "post_ended" and case.closed_at is not None
    assert case.summary["closed_reason"] == "临时性岗位期满"
    assert placements_of(case) == [(post.id, "ended")]
    assert_round_trip(case)


def test_exit_review_employed_and_back_to_service(clerk, sup):
    post = new_post(clerk, slots=3)
    case = referred_case(clerk, post)
    case = step(clerk, case, "confirm_placement", {"placed": True}, at("2021-02-15 09:00"))
    fire_due_timers(at("2021-05-15 08:00"))
    case = step(sup, case_of(case.number), "exit_review", {"outcome": "back_to_service"}, at("2021-05-17 10:00"))
    assert case.status == "in_service" and case.closed_at is None
    assert wf_task_names(case) == ["market_outcome"]
    assert case.summary["post"] is None  # no longer on a post
    # Matching again: the same post has ended, so it is no longer offered.
    case = step(clerk, case, "market_outcome", {"market_outcome": "not_employed"}, at("2021-05-18 10:00"))
    assert wf_task_names(case) == ["match_post"]
    _, suggestions = placements.suggest_posts(clerk, case.number, at("2021-05-18 10:00"))
    assert suggestions == []
    later = new_post(clerk, title="社区防疫消杀员", kind="disinfection", start_date="2021-05-20",
                     end_date="2021-08-19")
    case = step(clerk, case, "match_post", {"post_id": later.id}, at("2021-05-18 11:00"))
    case = step(clerk, case, "confirm_placement", {"placed": True}, at("2021-05-20 09:00"))
    fire_due_timers(at("2021-08-20 08:00"))
    # Closed as employed says where, as the market outcome does (it was accepted blank).
    for blank in ({}, {"employer": " "}):
        with pytest.raises(DataInvalid) as err:
            complete(sup, case_of(case.number), "exit_review", {"outcome": "employed", **blank},
                     at("2021-08-20 10:00"))
        assert "employer" in err.value.fields
    case = step(sup, case_of(case.number), "exit_review", {"outcome": "employed", "employer": "楚雄市环卫站"},
                at("2021-08-20 10:00"))
    assert case.status == "employed" and case.summary["closed_reason"] == "岗位期满后实现就业"
    assert placements_of(case) == [(post.id, "ended"), (later.id, "ended")]
    assert_round_trip(case)


def test_refusal_frees_the_slot_and_returns_to_matching(clerk):
    post = new_post(clerk, slots=1)
    case = referred_case(clerk, post)
    assert filled(post.id) == 1
    case = step(clerk, case, "confirm_placement", {"placed": False, "reason": "本人放弃"}, at("2021-02-10 10:00"))
    assert case.status == "in_service"
    assert filled(post.id) == 0
    assert placements_of(case) == [(post.id, "refused")]
    assert wf_task_names(case) == ["match_post"]
    assert case.summary["post"] is None and case.summary["report_by"] is None
    assert_round_trip(case)
    # The freed slot can be taken again.
    case = step(clerk, case, "match_post", {"post_id": post.id}, at("2021-02-10 11:00"))
    assert filled(post.id) == 1
    assert placements_of(case) == [(post.id, "refused"), (post.id, "referred")]
    assert len(db.session.scalars(select(Document).where(Document.case_id == case.id)).all()) == 2


def test_a_full_closed_or_foreign_post_is_refused_and_nothing_changes(clerk):
    full = new_post(clerk, slots=1)
    case = referred_case(clerk, full)  # takes the only slot
    other = served_case(clerk, id_prefix="53230119900101003")
    version = other.version
    with pytest.raises(DataInvalid) as err:
        complete(clerk, other, "match_post", {"post_id": full.id}, at("2021-02-09 11:00"))
    assert "post_id" in err.value.fields
    closed = new_post(clerk)
    posts.update_post(clerk, closed.id, {"status": "closed"}, at("2021-02-09 11:00"))
    foreign = new_post(Actor.of(make_user("clerk_sb", ["clerk"], "532322")), region="532322")
    for post_id in (closed.id, foreign.id, 999999):
        with pytest.raises(DataInvalid) as err:
            complete(clerk, case_of(other.number), "match_post", {"post_id": post_id}, at("2021-02-09 11:00"))
        assert "post_id" in err.value.fields
    other = case_of(other.number)
    assert other.version == version and other.status == "in_service"
    assert wf_task_names(other) == ["match_post"]
    assert filled(full.id) == 1 and filled(closed.id) == 0
    assert placements_of(other) == []
    assert case.status == "referred"


def test_missed_confirmation_is_escalated_by_the_sweeper(clerk):
    post = new_post(clerk)
    case = referred_case(clerk, post, at("2021-02-09 10:00"))
    fire_due_timers(at("2021-02-22 20:00"))
    assert case_of(case.number).status == "referred"
    assert open_task(case_of(case.number), "confirm_placement").escalation_level == 0
    fire_due_timers(at("2021-02-23 09:00"))
    case = case_of(case.number)
    task = open_task(case, "confirm_placement")
    assert task.escalation_level == 1
    [esc] = escalation.escalations_for_case(case)
    assert (esc.task_name, esc.level, esc.status) == ("confirm_placement", 1, "open")
    # Done late: the escalation resolves.
    complete(clerk, case, "confirm_placement", {"placed": True}, at("2021-02-23 10:00"))
    db.session.expire_all()
    assert escalation.escalations_for_case(case)[0].status == "resolved"


def test_a_post_starting_after_the_usual_window_is_reported_to_on_its_start_and_confirmed_then(clerk):
    """Confirmation is due 5 working days after the referral, but never before the post starts: a person referred on
    Tue 9 Feb to a post starting Mon 1 Mar cannot report (or be confirmed: reported_on >= start) by 22 Feb. The
    letter, the summary and the task's deadline all say 1 Mar, and the sweeper does not escalate before then."""
    post = new_post(clerk, start_date="2021-03-01", end_date="2021-05-31")
    case = referred_case(clerk, post, at("2021-02-09 10:00"))
    assert case.summary["report_by"] == "2021-03-01"
    task = open_task(case, "confirm_placement")
    assert task.due_at.astimezone(SHANGHAI).date() == date(2021, 3, 1)
    assert case.due_at.astimezone(SHANGHAI).date() == date(2021, 3, 1)
    [letter] = db.session.scalars(select(Document).where(Document.case_id == case.id)).all()
    assert letter.facts["report_by"] == "2021-03-01"
    fire_due_timers(at("2021-02-23 09:00"))
    assert open_task(case_of(case.number), "confirm_placement").escalation_level == 0
    # Confirmed on the start day, as the letter asked.
    case = step(clerk, case_of(case.number), "confirm_placement", {"placed": True, "reported_on": "2021-03-01"},
                at("2021-03-01 16:00"))
    assert case.status == "placed"
    fire_due_timers(at("2021-03-02 09:00"))
    assert escalation.escalations_for_case(case_of(case.number)) == []


def test_placement_without_a_reporting_date_cannot_be_confirmed_before_the_post_starts(clerk):
    """With a reporting date, confirming a placement before the post starts is refused; without one it was
    accepted, and the case showed the person placed on a post that did not exist yet. "Placed" with no date means
    placed by today, so it is held to the same start."""
    post = new_post(clerk, start_date="2021-03-01", end_date="2021-05-31")
    case = referred_case(clerk, post, at("2021-02-09 10:00"))
    with pytest.raises(DataInvalid) as err:
        complete(clerk, case, "confirm_placement", {"placed": True}, at("2021-02-23 10:00"))
    assert "2021-03-01" in err.value.fields["placed"]
    case = case_of(case.number)
    assert case.status == "referred" and placements_of(case) == [(post.id, "referred")]
    case = step(clerk, case, "confirm_placement", {"placed": True}, at("2021-03-01 10:00"))
    assert case.status == "placed"


def test_refer_to_post_service_and_stale_version(clerk):
    post = new_post(clerk)
    case = served_case(clerk)
    with pytest.raises(Conflict):
        placements.refer_to_post(clerk, case.number, post.id, case.version - 1, at("2021-02-09 10:00"))
    case = placements.refer_to_post(clerk, case.number, post.id, case.version, at("2021-02-09 10:00"),
                                    note="本人同意")
    assert case.status == "referred" and filled(post.id) == 1
    with pytest.raises(Conflict):  # no longer matching
        placements.refer_to_post(clerk, case.number, post.id, case.version, at("2021-02-09 10:00"))


def test_suggestions_rank_region_kind_start_and_free_slots(clerk):
    prefecture = Actor.of(make_user("clerk_cz", ["clerk"], "532300"))
    case = served_case(clerk)  # wishes: sanitation
    p_far = new_post(Actor.of(make_user("clerk_sb", ["clerk"], "532322")), region="532322")  # not served
    p_pref = new_post(prefecture, region="532300", title="州级保洁", start_date="2021-02-10", end_date="2021-06-30")
    p_other_kind = new_post(clerk, kind="community_service", title="社区服务", start_date="2021-02-10",
                            end_date="2021-06-30")
    p_late = new_post(clerk, title="晚开始", start_date="2021-03-01", end_date="2021-06-30", slots=9)
    p_soon_few = new_post(clerk, title="早开始少名额", start_date="2021-02-15", slots=2)
    p_soon_many = new_post(clerk, title="早开始多名额", start_date="2021-02-15", slots=5)
    p_full = new_post(clerk, slots=1, title="已满")
    db.session.execute(Post.__table__.update().where(Post.id == p_full.id).values(filled=1))
    p_ended = new_post(clerk, title="已过期", start_date="2021-01-01", end_date="2021-02-05")
    db.session.commit()
    _, items = placements.suggest_posts(clerk, case.number, at("2021-02-09 10:00"))
    order = [i["id"] for i in items]
    assert order == [p_soon_many.id, p_soon_few.id, p_late.id, p_other_kind.id, p_pref.id]
    assert p_far.id not in order and p_full.id not in order and p_ended.id not in order
    assert items[0]["rank"] == 1 and items[0]["kind_wished"] and items[0]["region_match"]
    assert "意向类别：保洁环卫" in items[0]["reasons"]


def test_131_parts_given_after_referral_keep_the_status_and_close_with_the_case(clerk, sup):
    """The 131 branch runs beside matching: recording training late neither moves the case back nor blocks it."""
    post = new_post(clerk)
    case = open_temp_case(clerk)
    case = step(clerk, case, "market_outcome", {"market_outcome": "not_employed"}, at("2021-02-02 10:00"))
    assert case.status == "in_service"
    assert wf_task_names(case) == ["career_guidance", "job_offers", "match_post", "training"]
    case = step(clerk, case, "match_post", {"post_id": post.id}, at("2021-02-03 10:00"))
    case = step(clerk, case, "training", {**TRAINING, "training_date": "2021-02-04"}, at("2021-02-04 10:00"))
    assert case.status == "referred" and case.summary["post_id"] == post.id
    assert case.summary["service_131_owed"] == ["career_guidance", "job_offers"]
    # Placed once the post has started (15 Feb, in the Spring Festival holiday): not before.
    case = step(clerk, case, "confirm_placement", {"placed": True}, at("2021-02-18 10:00"))
    case = step(clerk, case, "career_guidance", GUIDANCE, at("2021-02-19 10:00"))
    assert case.status == "placed"
    assert_round_trip(case)
    fire_due_timers(at("2021-05-15 08:00"))
    case = step(sup, case_of(case.number), "exit_review", {"outcome": "post_ended"}, at("2021-05-17 10:00"))
    assert case.status == "post_ended" and open_tasks(case) == []
    assert not db.session.get(Service131, case.id).open
