"""Who decides a criminal referral: the head of the bureau that handles the case (《行政执法机关移送涉嫌犯罪案件的
规定》, 国务院令第310号, art. 5: 报经本机关正职负责人或者主持工作的负责人审批), not a head of the bureau above it,
nor an administrator. The services refuse the others (403) and change nothing; the pages and the queues offer the
task only to the bureau's own head; releasing it and the escalation ladder work as for any task."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from engine import documents, escalation, services
from engine.actors import Actor
from engine.db import db
from engine.errors import Conflict, Forbidden
from engine.models import AuditEvent, Case, Task
from engine.services.tasks import count_tasks, task_actions
from tests.conftest import at, make_user
from tests.factories import complete, open_task, ordered_case
from tests.integration.test_api import api_for
from tests.integration.test_pages import FreshContextClient, post, sign_in, text_of

REFUSAL = "移送审批须由办案机关（楚雄市）负责人办理"
DECIDED = at("2021-02-23 09:00")  # the head's decision, within the 3 days from the supervisor's approval


def _at_the_head(inspector: Actor, supervisor: Actor) -> Case:
    """A case of Chuxiong city (532301): 60,000.00 still owed to 10 workers, the referral chosen by the inspector
    and approved by the prefecture's supervisor on Mon 22 Feb 2021, 15:00; approve_referral is open."""
    case = ordered_case(inspector, at("2021-02-08 10:00"), verified_amount="100000.00",
                        investigated_at=at("2021-02-05 15:00"))
    escalation.sweep(at("2021-02-19 00:00"), render_notices=False)  # the payment deadline passes
    db.session.refresh(case)
    case = complete(inspector, case, "check_payment", {"amount_paid": "40000.00", "note": "已支付部分"},
                    at("2021-02-19 10:00"))
    case = complete(inspector, case, "choose_enforcement",
                    {"measures": ["criminal_referral"], "reason": "拒不支付，数额较大"}, at("2021-02-22 09:00"))
    case = complete(supervisor, case, "approve_enforcement", {"approved": True, "comment": "同意，报请移送"},
                    at("2021-02-22 15:00"))
    assert open_task(case, "approve_referral").region == "532301"
    return case


def _referral_letters(case: Case) -> list:
    return [d for d in documents.documents_for_case(case) if d.kind == "criminal_referral"]


def _queue(actor: Actor, **filters) -> list[str]:
    rows, total = services.list_tasks(actor, now=DECIDED, **filters)
    assert total == len(rows) == count_tasks(actor, now=DECIDED, **filters)
    return [t.name for t in rows]


def test_the_county_head_claims_and_approves_their_own_countys_referral(ctx, inspector, supervisor, county_head):
    case = _at_the_head(inspector, supervisor)
    task = open_task(case, "approve_referral")
    assert task_actions(county_head, task) == {"claim", "work"}
    assert _queue(county_head, assigned="unassigned") == ["approve_referral"]

    services.claim_task(county_head, task.id, DECIDED)
    assert _queue(county_head, assigned="me") == ["approve_referral"]
    db.session.refresh(case)
    case = services.complete_task(county_head, task.id, {"approved": True, "comment": "批准移送"}, case.version,
                                  DECIDED)
    assert db.session.get(Task, task.id).completed_by == "head_cx"
    assert len(_referral_letters(case)) == 1
    assert open_task(case, "transfer_case").role == "inspector"


def test_a_prefecture_head_may_neither_claim_nor_approve_a_county_referral(ctx, inspector, supervisor, head,
                                                                           county_head):
    case = _at_the_head(inspector, supervisor)
    task = open_task(case, "approve_referral")
    # The prefecture head covers the county: the case and its task are theirs to see, not to decide.
    assert services.get_case(head, case.number).id == case.id
    assert task_actions(head, task) == frozenset()
    assert _queue(head) == [] and _queue(head, assigned="unassigned") == [] and _queue(head, role="head") == []
    version = case.version
    events = db.session.scalar(select(func.count()).where(AuditEvent.case_id == case.id))

    with pytest.raises(Forbidden) as claim:
        services.claim_task(head, task.id, DECIDED)
    assert claim.value.message == REFUSAL
    with pytest.raises(Forbidden) as approval:
        services.complete_task(head, task.id, {"approved": True, "comment": "批准移送"}, version, DECIDED)
    assert approval.value.message == REFUSAL

    # Nothing changed: the case's version and history, the task's state and holder, no letter, no transfer.
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    task = db.session.get(Task, task.id)
    assert case.version == version and case.status == "enforcement"
    assert db.session.scalar(select(func.count()).where(AuditEvent.case_id == case.id)) == events
    assert (task.state, task.assignee_id, task.completed_by) == ("open", None, None)
    assert _referral_letters(case) == []
    # The county's own head still decides it.
    services.complete_task(county_head, task.id, {"approved": True, "comment": "批准移送"}, version, DECIDED)
    assert db.session.get(Task, task.id).state == "completed"


def test_the_prefecture_head_decides_the_prefecture_bureaus_own_referrals(ctx, head, county_head):
    # A case the prefecture bureau handles itself (region 532300): there its own head decides, a county's may not
    # even see it.
    own = Task(process="wage_arrears", name="approve_referral", title="移送审批", role="head", region="532300",
               state="open")
    assert task_actions(head, own) == {"claim", "work"}
    assert task_actions(county_head, own) == frozenset()
    # Other head tasks (a supervision of an overdue task) are any covering head's, as before.
    supervision = Task(process="wage_arrears", name="supervise_overdue", title="督办", role="head", region="532301",
                       state="open")
    assert task_actions(head, supervision) == {"claim", "work"}


def test_a_county_administrator_is_no_head(ctx, inspector, supervisor, county_head):
    """Decided: an administrator may do any role's work, but approving a referral is the bureau chief's act in law,
    so the administrator's role does not stand in for it (an administrator who is also the bureau's head may)."""
    admin = Actor.of(make_user("admin_cx", ["admin"], "532301"))
    both = Actor.of(make_user("head_admin_cx", ["head", "admin"], "532301"))
    case = _at_the_head(inspector, supervisor)
    task = open_task(case, "approve_referral")
    assert task_actions(admin, task) == frozenset()
    assert "approve_referral" not in _queue(admin)
    with pytest.raises(Forbidden, match=REFUSAL):
        services.claim_task(admin, task.id, DECIDED)
    assert task_actions(both, task) == {"claim", "work"}
    assert _queue(both) == ["approve_referral"]


def test_a_claim_held_by_a_prefecture_head_is_released_by_its_holder_or_a_supervisor(ctx, inspector, supervisor,
                                                                                     head, county_head):
    """A referral a prefecture head claimed before the rule: they can no longer decide it, but they see it among
    their own tasks and may hand it back, and so may a supervisor; then the county head takes it."""
    case = _at_the_head(inspector, supervisor)
    task = open_task(case, "approve_referral")
    db.session.execute(update(Task).where(Task.id == task.id).values(assignee_id=head.user_id))
    db.session.commit()
    db.session.refresh(task)
    db.session.refresh(case)
    assert task_actions(head, task) == {"release"}
    assert _queue(head, assigned="me") == ["approve_referral"]
    with pytest.raises(Forbidden, match=REFUSAL):
        services.complete_task(head, task.id, {"approved": True, "comment": "批准移送"}, case.version, DECIDED)
    # The county head sees who holds it and cannot take it over; a supervisor frees it.
    assert task_actions(county_head, task) == frozenset()
    with pytest.raises(Conflict, match="head_cz"):
        services.claim_task(county_head, task.id, DECIDED)
    assert task_actions(supervisor, task) == {"release"}
    services.release_task(supervisor, task.id, DECIDED)
    db.session.refresh(task)
    assert task.assignee_id is None and _queue(head, assigned="me") == []

    services.claim_task(county_head, task.id, DECIDED)
    db.session.refresh(case)
    services.complete_task(county_head, task.id, {"approved": False, "comment": "证据不足，暂不移送"}, case.version,
                           DECIDED)
    assert db.session.get(Task, task.id).completed_by == "head_cx"


def test_an_overdue_referral_climbs_the_ladder_to_the_county_head(ctx, inspector, supervisor, head, county_head):
    """Due by the end of Thu 25 Feb (3 days): level 1 on Fri 26 tells the supervisor, level 2 gives them a
    supervision task, level 3 the county's own head (the nearest head, who is the one to decide) and a supervision
    task any covering head may work: the prefecture head supervises, and reassigning frees the overdue task."""
    case = _at_the_head(inspector, supervisor)
    task = open_task(case, "approve_referral")
    for moment in ("2021-02-26 00:00", "2021-03-02 00:00", "2021-03-04 00:00"):
        escalation.sweep(at(moment), render_notices=False)
    levels = {e.level: e.notified.split(",") for e in db.session.scalars(select(escalation.Escalation))}
    assert levels[1] == levels[2] == ["sup_cz"]
    assert levels[3] == ["sup_cz", "head_cx"]  # the prefecture's supervisor, the county's own head
    db.session.refresh(task)
    assert task.escalation_level == 3

    supervision = db.session.scalars(select(Task).where(Task.name == "supervise_overdue", Task.role == "head")).one()
    assert supervision.region == "532301"
    assert task_actions(head, supervision) == {"claim", "work"}
    assert "supervise_overdue" in _queue(head) and "approve_referral" not in _queue(head)
    db.session.refresh(case)
    services.complete_task(head, supervision.id, {"action": "reassigned", "comment": "督促办案机关负责人即时审批"},
                           case.version, at("2021-03-04 09:00"))
    db.session.refresh(task)
    assert task.state == "open" and task.assignee_id is None
    with pytest.raises(Forbidden, match=REFUSAL):
        services.claim_task(head, task.id, at("2021-03-04 09:30"))

    db.session.refresh(case)
    services.complete_task(county_head, task.id, {"approved": True, "comment": "批准移送"}, case.version,
                           at("2021-03-04 10:00"))
    assert {e.status for e in db.session.scalars(select(escalation.Escalation))} == {"resolved"}


# ---------------------------------------------------------------------------------------------------------------
# Through the API and the pages.

def test_the_api_answers_403_to_a_prefecture_head(ctx, client, inspector, supervisor, head, county_head):
    case = _at_the_head(inspector, supervisor)
    task = open_task(case, "approve_referral")
    prefecture = api_for(client, "head_cz")
    claimed = prefecture.post(f"/tasks/{task.id}/claim")
    assert claimed.status_code == 403
    assert claimed.get_json()["error"]["code"] == "forbidden" and REFUSAL in claimed.get_json()["error"]["message"]
    completed = prefecture.post(f"/tasks/{task.id}/complete", {"data": {"approved": True, "comment": "批准移送"},
                                                                "case_version": case.version})
    assert completed.status_code == 403
    assert prefecture.get("/tasks?assigned=any").get_json()["total"] == 0

    county = api_for(client, "head_cx")
    assert [t["id"] for t in county.get("/tasks?assigned=unassigned").get_json()["items"]] == [task.id]
    assert county.post(f"/tasks/{task.id}/claim").status_code == 200


@pytest.fixture
def pages(app):
    return FreshContextClient(app, app.response_class, use_cookies=True)


def test_the_case_page_offers_the_decision_only_to_the_county_head(ctx, app, pages, inspector, supervisor, head,
                                                                   county_head, monkeypatch):
    monkeypatch.setitem(app.config, "CLOCK", lambda: DECIDED)
    case = _at_the_head(inspector, supervisor)
    task = open_task(case, "approve_referral")
    claim_url, form_id = f"/tasks/{task.id}/claim", f'id="form-{task.id}"'

    assert sign_in(pages, "head_cz").status_code == 302
    page = pages.get(f"/cases/{case.number}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and f'id="task-{task.id}"' in body
    assert claim_url not in body and form_id not in body
    assert REFUSAL in text_of(page)
    assert task.id not in pages.get("/tasks?view=all").get_data(as_text=True)
    # A claim posted anyway is refused with the reason, and the task stays unclaimed.
    refused = post(pages, claim_url, page=f"/cases/{case.number}", follow_redirects=True)
    assert REFUSAL in text_of(refused)
    db.session.expire_all()
    assert db.session.get(Task, task.id).assignee_id is None
    post(pages, "/logout")

    assert sign_in(pages, "head_cx").status_code == 302
    body = pages.get(f"/cases/{case.number}").get_data(as_text=True)
    assert claim_url in body and form_id in body and REFUSAL not in body
    assert task.id in pages.get("/tasks?view=all").get_data(as_text=True)


def test_the_refusal_in_english(app):
    from flask_babel import force_locale

    from web import messages

    with app.test_request_context(), force_locale("en"):
        assert messages.message(REFUSAL) == ("Only the head of the bureau handling the case (楚雄市) may act on "
                                             "“Approve criminal referral”")



def test_the_demo_has_a_head_in_every_county_it_seeds_and_its_referral_is_theirs(ctx):
    from web import demo

    users = {name: Actor.of(make_user(name, roles, region)) for name, roles, region, _ in demo.DEMO_USERS}
    assert {region for _, region in demo.PLAN} <= set(demo.HEADS)
    assert all(users[name].roles == ("head",) and users[name].region == region for region, name in demo.HEADS.items())
    region = next(region for target, region in demo.PLAN if target == "transferred")
    number = demo._wage_case(6, "transferred", region, users["insp_cx"], users["sup_cz"], users[demo.HEADS[region]],
                             at("2021-03-01 09:00"))
    case = db.session.scalar(select(Case).where(Case.number == number))
    assert case.status == "transferred"
    approval = db.session.scalar(select(Task).where(Task.case_id == case.id, Task.name == "approve_referral"))
    assert approval.completed_by == demo.HEADS[region]
