"""The JSON API against ../shared/API.md: tokens, cases, tasks, region scoping, errors that name the field and change
nothing, JSON (never HTML, never a 500) on every /api/ path, health and openapi.json."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from engine.db import db
from engine.models import ApiToken, AuditEvent, Case, Task
from tests.conftest import at, fixed_clock, make_user
from tests.factories import _valid_ric, investigate_data, wage_arrears_intake

PASSWORD = "correct-horse-9"
CLOCK = at("2021-02-01 09:00")  # a Monday
API = "/api/v1"


# The API reads `now` from CLOCK, so due dates are computed in 2021 like the process tests.
_fixed_clock = fixed_clock(CLOCK)


class Api:
    """A test client that sends one user's bearer token and checks every answer is JSON."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.token = token

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def call(self, method: str, path: str, body: Any = None, **kwargs):
        if body is not None:
            kwargs["json"] = body
        response = self.client.open(API + path, method=method, headers=self._headers(), **kwargs)
        assert response.status_code < 500, (method, path, response.status_code, response.get_data(as_text=True))
        assert response.mimetype == "application/json", (method, path, response.get_data(as_text=True)[:200])
        return response

    def get(self, path: str, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs):
        return self.call("POST", path, body, **kwargs)


def login(client, username: str, password: str = PASSWORD):
    return client.post(f"{API}/auth/token", json={"username": username, "password": password})


def api_for(client, username: str) -> Api:
    response = login(client, username)
    assert response.status_code == 200, response.get_json()
    return Api(client, response.get_json()["token"])


@pytest.fixture
def users(ctx):
    make_user("insp_cx", ["inspector"], "532301")
    make_user("insp_cx2", ["inspector"], "532301")
    make_user("insp_sb", ["inspector"], "532322")
    make_user("sup_cz", ["supervisor"], "532300")
    db.session.remove()


@pytest.fixture
def insp(client, users) -> Api:
    return api_for(client, "insp_cx")


@pytest.fixture
def insp2(client, users) -> Api:
    return api_for(client, "insp_cx2")


@pytest.fixture
def far(client, users) -> Api:
    return api_for(client, "insp_sb")


@pytest.fixture
def sup(client, users) -> Api:
    return api_for(client, "sup_cz")


def open_case(api: Api, region: str = "532301", **overrides) -> dict:
    response = api.post("/cases", {"process": "wage_arrears", "region": region,
                                   "data": wage_arrears_intake(**overrides)})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def task_named(case: dict, name: str) -> dict:
    found = [t for t in case["tasks"] if t["name"] == name]
    assert len(found) == 1, [t["name"] for t in case["tasks"]]
    return found[0]


def counts() -> dict[str, int]:
    """Rows that any change would add to; compared before and after a refused request."""
    db.session.expire_all()
    return {
        "cases": db.session.scalar(select(func.count(Case.id))),
        "events": db.session.scalar(select(func.count(AuditEvent.id))),
        "open_tasks": db.session.scalar(select(func.count(Task.id)).where(Task.state == "open")),
        "versions": db.session.scalar(select(func.coalesce(func.sum(Case.version), 0))),
    }


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.get_json())
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert body["error"]["message"], body
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]


def assert_field_error(response, field: str) -> dict:
    """400 validation_failed naming `field` (the path inside `data` or the body)."""
    err = assert_error(response, 400, "validation_failed")
    fields = err.get("fields") or {}
    assert any(k == field or k == f"data.{field}" for k in fields), f"{field!r} not named in {fields}"
    return fields


# ---------------------------------------------------------------------------------------------------------------
# Auth.

def test_token_for_good_credentials_and_its_user(client, users):
    response = login(client, "insp_cx")
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"] == {"username": "insp_cx", "roles": ["inspector"], "region": "532301"}
    assert len(body["token"]) >= 32
    assert Api(client, body["token"]).get("/cases").status_code == 200


def test_wrong_password_and_unknown_user_are_401(client, users):
    assert_error(login(client, "insp_cx", "wrong-horse-9"), 401, "unauthorized")
    assert_error(login(client, "nobody", PASSWORD), 401, "unauthorized")
    # No token was issued.
    assert db.session.scalar(select(func.count(ApiToken.id))) == 0


def test_token_request_needs_both_fields(client, users):
    assert_field_error(client.post(f"{API}/auth/token", json={"username": "insp_cx"}), "password")
    assert_field_error(client.post(f"{API}/auth/token", json={"username": 7, "password": PASSWORD}), "username")


def test_repeated_failures_lock_the_account_even_for_the_right_password(app, client, users):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert login(client, "insp_cx", "wrong-horse-9").status_code == 401
    locked = login(client, "insp_cx")
    assert locked.status_code == 429, locked.get_json()
    assert "token" not in locked.get_json()
    # Another account is not affected.
    assert login(client, "insp_cx2").status_code == 200


def test_revoked_token_is_refused(client, insp):
    assert insp.get("/cases").status_code == 200
    assert insp.post("/auth/revoke").status_code == 200
    assert_error(insp.get("/cases"), 401, "unauthorized")


def test_unauthenticated_calls_are_401_json(client, users):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic aW5zcDpwdw=="},
                    {"Authorization": "Bearer "}):
        for method, path in (("GET", "/cases"), ("GET", "/tasks"), ("POST", "/cases"),
                             ("GET", "/cases/WA-532301-2021-000001"), ("POST", "/tasks/x/complete")):
            response = client.open(API + path, method=method, headers=headers, json={})
            assert response.mimetype == "application/json"
            assert_error(response, 401, "unauthorized")


def test_a_page_session_cookie_is_not_an_api_credential(client, users):
    """The pages' session cookie alone (no CSRF, no bearer token) does not open the API."""
    import time

    from engine.models import User
    from web.auth import SIGNED_IN_AT

    user_id = db.session.scalar(select(User.id).where(User.username == "insp_cx"))
    with client.session_transaction() as session:  # what signing in on the pages leaves in the session
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
        session[SIGNED_IN_AT] = int(time.time())
    assert client.get("/tasks").status_code == 200, "the cookie should sign in to the pages"
    assert_error(client.get(f"{API}/cases"), 401)
    assert_error(client.post(f"{API}/cases", json={"process": "wage_arrears", "region": "532301",
                                                   "data": wage_arrears_intake()}), 401)


# ---------------------------------------------------------------------------------------------------------------
# Cases and region scoping.

def test_open_case_returns_201_case_with_its_review_task(insp):
    case = open_case(insp)
    assert case["number"] == "WA-532301-2021-000001"
    assert (case["process"], case["region"], case["status"]) == ("wage_arrears", "532301", "received")
    assert case["version"] == 2  # inserted, then its first projection written
    assert case["opened_at"] == "2021-02-01T09:00:00+08:00"
    assert case["data"]["amount_owed"] == "126000.00"
    task = task_named(case, "review_complaint")
    assert task["role"] == "inspector" and task["assignee"] is None
    assert task["form"]["properties"]["decision"]["enum"] == ["accept", "reject", "request_material", "redirect"]
    assert [e["kind"] for e in case["history"]] == ["case_opened"]

    got = insp.get(f"/cases/{case['number']}")
    assert got.status_code == 200
    assert got.get_json()["number"] == case["number"]
    assert set(got.get_json()) >= {"tasks", "history", "documents", "escalations", "version", "data"}
    # The intake in the history shows the complainant's ID number masked, like every other view of it.
    opened = got.get_json()["history"][0]["detail"]["data"]["complainant"]["id_number"]
    assert opened.startswith("**************") and len(opened) == 18 and opened[-4:].strip("*") == opened[-4:]


def test_other_county_case_is_404_and_missing_from_lists(insp, far, sup):
    mine = open_case(insp)
    theirs = open_case(far, region="532322")
    assert theirs["number"].startswith("WA-532322-")

    not_found = assert_error(insp.get(f"/cases/{theirs['number']}"), 404, "not_found")
    absent = assert_error(insp.get("/cases/WA-532301-2099-999999"), 404, "not_found")
    assert not_found["code"] == absent["code"]  # a case out of scope looks exactly like one that does not exist

    listed = insp.get("/cases").get_json()
    assert [c["number"] for c in listed["items"]] == [mine["number"]]
    assert listed["total"] == 1
    # Asking for the other county's region explicitly still yields nothing.
    assert insp.get("/cases?region=532322").get_json()["total"] == 0
    assert insp.get(f"/cases?q={theirs['number']}").get_json()["total"] == 0

    # The prefecture's supervisor sees both.
    assert {c["number"] for c in sup.get("/cases").get_json()["items"]} == {mine["number"], theirs["number"]}
    assert sup.get(f"/cases/{theirs['number']}").status_code == 200

    # Their tasks are neither listed nor reachable.
    their_task = task_named(theirs, "review_complaint")
    assert their_task["id"] not in {t["id"] for t in insp.get("/tasks").get_json()["items"]}
    before = counts()
    assert_error(insp.post(f"/tasks/{their_task['id']}/claim"), 404)
    assert_error(insp.post(f"/tasks/{their_task['id']}/release"), 404)
    assert_error(insp.post(f"/tasks/{their_task['id']}/complete",
                           {"data": {"decision": "accept"}, "case_version": theirs["version"]}), 404)
    assert counts() == before


def test_cannot_open_a_case_outside_own_region(insp):
    before = counts()
    response = insp.post("/cases", {"process": "wage_arrears", "region": "532322", "data": wage_arrears_intake()})
    assert response.status_code in (403, 404)
    assert counts() == before


def test_case_list_filters_and_paging(insp):
    numbers = [open_case(insp)["number"] for _ in range(3)]
    page = insp.get("/cases?per_page=2&page=1").get_json()
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (3, 1, 2, 2)
    page2 = insp.get("/cases?per_page=2&page=2").get_json()
    assert {c["number"] for c in page["items"] + page2["items"]} == set(numbers)
    assert insp.get("/cases?status=received").get_json()["total"] == 3
    assert insp.get("/cases?status=cleared").get_json()["total"] == 0
    assert insp.get("/cases?q=" + "鹿城镇安置房").get_json()["total"] == 3
    assert insp.get("/cases?q=no-such-employer").get_json()["total"] == 0
    assert_field_error(insp.get("/cases?per_page=201"), "per_page")
    assert_field_error(insp.get("/cases?page=abc"), "page")
    assert_field_error(insp.get("/cases?overdue=maybe"), "overdue")
    assert_field_error(insp.get("/cases?process=pension"), "process")


def test_list_queries_do_not_grow_with_the_rows(insp, insp2, sup):
    """The lists load what they show (assignee names, case numbers) with their rows: no query per row."""
    from sqlalchemy import event

    def statements(api: Api, path: str) -> int:
        count = [0]

        def counted(*_args):
            count[0] += 1

        event.listen(db.engine, "before_cursor_execute", counted)
        try:
            assert api.get(path).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", counted)
        return count[0]

    def claimed_case(by: Api) -> None:
        case = open_case(insp)
        assert by.post(f"/tasks/{task_named(case, 'review_complaint')['id']}/claim").status_code == 200

    claimed_case(insp)
    one = {path: statements(insp, path) for path in ("/cases", "/tasks")}
    for _ in range(3):
        claimed_case(insp2)  # another assignee to show
    assert {path: statements(insp, path) for path in ("/cases", "/tasks")} == one
    # Escalations: every review deadline passes unanswered.
    from engine import escalation

    escalation.sweep(at("2021-03-31 09:00"), render_notices=False)
    assert sup.get("/escalations").get_json()["total"] >= 4
    with_four = statements(sup, "/escalations")
    db.session.execute(escalation.Escalation.__table__.delete().where(
        escalation.Escalation.id != db.session.scalar(select(func.min(escalation.Escalation.id)))))
    db.session.commit()
    assert statements(sup, "/escalations") == with_four


def test_id_numbers_are_masked_in_lists(insp):
    id_number = _valid_ric("53230119900101123")
    case = open_case(insp, complainant={"name": "王小明", "id_number": id_number, "phone": "13800000000"})
    listed = insp.get("/cases")
    assert id_number not in listed.get_data(as_text=True)
    [item] = listed.get_json()["items"]
    assert item["data"]["complainant_id_number"] == "*" * 14 + id_number[-4:]
    assert item["data"]["complainant_name"] == "王小明"
    tasks = insp.get("/tasks")
    assert id_number not in tasks.get_data(as_text=True)
    assert case["data"]["complainant_id_number"].endswith(id_number[-4:])


# ---------------------------------------------------------------------------------------------------------------
# Tasks.

def test_task_list_claim_release_complete(insp, insp2):
    case = open_case(insp)
    task = task_named(case, "review_complaint")

    listed = insp.get("/tasks").get_json()
    assert [t["id"] for t in listed["items"]] == [task["id"]]
    item = listed["items"][0]
    assert set(item) >= {"id", "case_number", "name", "title", "role", "assignee", "created_at", "due_at",
                         "overdue", "escalation_level", "form"}
    assert item["case_number"] == case["number"] and item["overdue"] is False
    assert insp.get("/tasks?assigned=unassigned").get_json()["total"] == 1
    assert insp.get("/tasks?assigned=me").get_json()["total"] == 0
    assert_field_error(insp.get("/tasks?assigned=someone"), "assigned")

    claimed = insp.post(f"/tasks/{task['id']}/claim")
    assert claimed.status_code == 200
    assert claimed.get_json()["assignee"] == "insp_cx"
    # The claim moved the case's version; its answer says to what, for the completion to send.
    assert claimed.get_json()["case_version"] == insp.get(f"/cases/{case['number']}").get_json()["version"]
    assert insp.get("/tasks?assigned=me").get_json()["total"] == 1
    assert insp.get("/tasks?assigned=unassigned").get_json()["total"] == 0

    # Someone else holds it: claim and complete are conflicts, release is not theirs to do.
    before = counts()
    assert_error(insp2.post(f"/tasks/{task['id']}/claim"), 409, "conflict")
    version = insp.get(f"/cases/{case['number']}").get_json()["version"]
    assert_error(insp2.post(f"/tasks/{task['id']}/complete", {"data": {"decision": "accept"},
                                                             "case_version": version}), 409)
    assert insp2.post(f"/tasks/{task['id']}/release").status_code == 403
    assert counts() == before

    held = insp.get(f"/cases/{case['number']}").get_json()
    assert held["assignee"] == "insp_cx"
    released = insp.post(f"/tasks/{task['id']}/release")
    assert released.status_code == 200
    assert released.get_json()["assignee"] is None
    # The case is nobody's again, and the change moved its version.
    free = insp.get(f"/cases/{case['number']}").get_json()
    assert free["assignee"] is None and free["version"] > held["version"]
    assert insp2.post(f"/tasks/{task['id']}/claim").get_json()["assignee"] == "insp_cx2"
    assert insp.get(f"/cases/{case['number']}").get_json()["assignee"] == "insp_cx2"
    assert insp2.post(f"/tasks/{task['id']}/release").status_code == 200
    assert insp.get(f"/cases/{case['number']}").get_json()["assignee"] is None

    version = insp.get(f"/cases/{case['number']}").get_json()["version"]
    done = insp.post(f"/tasks/{task['id']}/complete", {"data": {"decision": "accept"}, "case_version": version})
    assert done.status_code == 200, done.get_json()
    after = done.get_json()
    assert after["status"] == "investigating"
    assert after["version"] > version
    assert [t["name"] for t in after["tasks"]] == ["investigate"]
    assert ("task_completed", "review_complaint") in [(e["kind"], e["detail"].get("task")) for e in after["history"]]
    assert task["id"] not in {t["id"] for t in insp.get("/tasks").get_json()["items"]}


def test_supervisor_cannot_do_an_inspector_task(insp, sup):
    case = open_case(insp)
    task = task_named(case, "review_complaint")
    before = counts()
    assert_error(sup.post(f"/tasks/{task['id']}/complete", {"data": {"decision": "accept"},
                                                           "case_version": case["version"]}), 403, "forbidden")
    assert counts() == before


def test_stale_case_version_is_409_and_changes_nothing(insp):
    case = open_case(insp)
    task = task_named(case, "review_complaint")
    before = counts()
    response = insp.post(f"/tasks/{task['id']}/complete", {"data": {"decision": "accept"},
                                                          "case_version": case["version"] - 1})
    assert_error(response, 409, "conflict")
    response = insp.post(f"/tasks/{task['id']}/complete", {"data": {"decision": "accept"},
                                                          "case_version": case["version"] + 5})
    assert_error(response, 409, "conflict")
    assert counts() == before
    again = insp.get(f"/cases/{case['number']}").get_json()
    assert (again["version"], again["status"]) == (case["version"], "received")
    assert [t["id"] for t in again["tasks"]] == [task["id"]]


def test_double_completion_is_409_and_changes_nothing(insp):
    case = open_case(insp)
    task = task_named(case, "review_complaint")
    first = insp.post(f"/tasks/{task['id']}/complete", {"data": {"decision": "accept"},
                                                       "case_version": case["version"]})
    assert first.status_code == 200
    after = first.get_json()
    before = counts()
    # Once with the version it was completed at, once with the current one: both are refused.
    for version in (case["version"], after["version"]):
        assert_error(insp.post(f"/tasks/{task['id']}/complete", {"data": {"decision": "reject", "reason": "x"},
                                                                "case_version": version}), 409)
    assert counts() == before
    assert insp.get(f"/cases/{case['number']}").get_json()["status"] == "investigating"


def test_unknown_task_is_404(insp):
    assert_error(insp.post("/tasks/00000000-0000-0000-0000-000000000000/claim"), 404)
    assert_error(insp.post("/tasks/not-a-uuid/complete", {"data": {}, "case_version": 1}), 404)


def completion_refused(api: Api, task_id: str, body: Any, field: str) -> None:
    before = counts()
    assert_field_error(api.post(f"/tasks/{task_id}/complete", body), field)
    assert counts() == before


def test_complete_with_bad_data_names_the_field(insp):
    case = open_case(insp)
    review = task_named(case, "review_complaint")
    version = case["version"]
    completion_refused(insp, review["id"], {"data": {"decision": "maybe"}, "case_version": version}, "decision")
    completion_refused(insp, review["id"], {"data": {}, "case_version": version}, "decision")
    # Reject needs a reason.
    completion_refused(insp, review["id"], {"data": {"decision": "reject"}, "case_version": version}, "reason")
    completion_refused(insp, review["id"], {"data": {"decision": "accept"}}, "case_version")
    completion_refused(insp, review["id"], {"data": {"decision": "accept"}, "case_version": "1"}, "case_version")
    completion_refused(insp, review["id"], {"data": {"decision": "accept"}, "case_version": True}, "case_version")
    completion_refused(insp, review["id"], {"data": "accept", "case_version": version}, "data")
    completion_refused(insp, review["id"], {"decision": "accept", "case_version": version}, "data")

    accepted = insp.post(f"/tasks/{review['id']}/complete", {"data": {"decision": "accept"}, "case_version": version})
    case = accepted.get_json()
    investigate = task_named(case, "investigate")
    version = case["version"]
    good = investigate_data("order")
    for field, bad in (("verified_amount", 100000.0), ("verified_amount", 100000), ("verified_amount", "-5.00"),
                       ("verified_amount", "100.001"), ("verified_amount", "1e5"), ("verified_amount", "一万"),
                       ("workers_owed", "10"), ("workers_owed", -1), ("workers_owed", 2.5),
                       ("outcome", "arrest"), ("findings", "")):
        completion_refused(insp, investigate["id"], {"data": {**good, field: bad}, "case_version": version}, field)
    for missing in ("verified_amount", "workers_owed", "outcome"):
        data = {k: v for k, v in good.items() if k != missing}
        completion_refused(insp, investigate["id"], {"data": data, "case_version": version}, missing)
    # An order with nothing verified owed makes no sense.
    completion_refused(insp, investigate["id"],
                       {"data": {**good, "verified_amount": "0.00"}, "case_version": version}, "verified_amount")
    assert insp.post(f"/tasks/{investigate['id']}/complete", {"data": good, "case_version": version}).status_code == 200


def at_the_order(insp) -> tuple[dict, dict]:
    """A case accepted and investigated through the API, and its issue_order task."""
    case = open_case(insp)
    review = task_named(case, "review_complaint")
    case = insp.post(f"/tasks/{review['id']}/complete",
                     {"data": {"decision": "accept"}, "case_version": case["version"]}).get_json()
    investigate = task_named(case, "investigate")
    case = insp.post(f"/tasks/{investigate['id']}/complete",
                     {"data": investigate_data("order"), "case_version": case["version"]}).get_json()
    return case, task_named(case, "issue_order")


def test_a_case_without_an_open_task_says_what_it_waits_for(insp):
    assert open_case(insp)["waiting"] == []  # the review's deadline is a task's, not the model's
    case, order = at_the_order(insp)
    case = insp.post(f"/tasks/{order['id']}/complete",
                     {"data": {"payment_deadline_days": 3}, "case_version": case["version"]}).get_json()
    assert case["tasks"] == []
    # Soonest first: the order's payment deadline (end of Thu 4 Feb), then the case clock.
    assert [w["timer"] for w in case["waiting"]] == ["payment_deadline", "case_clock"]
    assert case["waiting"][0]["fire_at"] == "2021-02-04T23:59:59+08:00"
    assert insp.get(f"/cases/{case['number']}").get_json()["waiting"] == case["waiting"]


def test_a_form_starts_from_the_rule_in_force(insp):
    from engine import rule_settings

    _, order = at_the_order(insp)
    days = order["form"]["properties"]["payment_deadline_days"]
    # 1 Feb 2021 is in the rules' 2020-21 winter campaign: its 3 working days to pay.
    assert days["default"] == 3 and days["x-default-rule"] == "payment_deadline_days"

    def offered() -> int:
        body = insp.get("/tasks").get_json()
        assert "items" in body, body
        listed = {t["id"]: t for t in body["items"]}
        return listed[order["id"]]["form"]["properties"]["payment_deadline_days"]["default"]

    # A province's override is what the form offers next.
    rule_settings.set_rule("payment_deadline_days", "5", "admin", at("2021-02-01 08:00"))
    assert offered() == 5
    # A campaign that ended the day before: the ordinary 7 working days, and the province's own figure for it.
    rule_settings.set_rule("clear_zero_spring_festival_deadline", "2021-01-31", "admin", at("2021-02-01 08:00"))
    assert offered() == 7
    rule_settings.set_rule("payment_deadline_days_outside_campaign", "10", "admin", at("2021-02-01 08:00"))
    assert offered() == 10
    # The model's own schema is untouched (it is shared by every request).
    from engine import processes

    shared = processes.parsed_by_id(db.session.scalar(select(Case.process_version_id).limit(1)))
    assert "default" not in shared.forms["issue_order.schema.json"]["properties"]["payment_deadline_days"]


# ---------------------------------------------------------------------------------------------------------------
# Opening with bad input: 400 naming the field, nothing changed.

def refused(api: Api, body: Any, field: str, **kwargs) -> dict:
    before = counts()
    response = api.post("/cases", body, **kwargs)
    fields = assert_field_error(response, field)
    assert counts() == before
    return fields


def intake_with(path: str, value: Any) -> dict:
    """Intake data with the dotted `path` set to `value` (or removed when value is ...)."""
    data = copy.deepcopy(wage_arrears_intake())
    *parents, last = path.split(".")
    target = data
    for key in parents:
        target = target[key]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return {"process": "wage_arrears", "region": "532301", "data": data}


def test_bad_id_card_checksum(insp):
    good = wage_arrears_intake()["complainant"]["id_number"]
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    refused(insp, intake_with("complainant.id_number", bad), "complainant.id_number")
    refused(insp, intake_with("complainant.id_number", "53230119880512"), "complainant.id_number")
    good_uscc = wage_arrears_intake()["employer"]["uscc"]
    bad_uscc = good_uscc[:-1] + ("0" if good_uscc[-1] != "0" else "1")
    refused(insp, intake_with("employer.uscc", bad_uscc), "employer.uscc")


@pytest.mark.parametrize("amount", ["-126000.00", "-1", "126000.001", "12,600", "1e5", "", " 10.00", "NaN",
                                    "Infinity", "0x10", "１２６"])
def test_bad_money_strings(insp, amount):
    refused(insp, intake_with("amount_owed", amount), "amount_owed")


@pytest.mark.parametrize("amount", [126000.0, 126000.5, 126000, -5, None, True, ["126000.00"]])
def test_money_must_be_a_decimal_string(insp, amount):
    refused(insp, intake_with("amount_owed", amount), "amount_owed")


def test_money_float_in_raw_json_is_refused(insp):
    """A JSON number with a fraction (what a client's float serialises to) is refused even spelled exactly."""
    body = json.dumps(intake_with("amount_owed", "AMOUNT"), ensure_ascii=False).replace('"AMOUNT"', "126000.00")
    refused(insp, None, "amount_owed", data=body, content_type="application/json")


@pytest.mark.parametrize("path", ["complainant", "complainant.name", "complainant.id_number", "employer",
                                  "employer.uscc", "project.type", "amount_owed", "period_from", "source",
                                  "workers_count"])
def test_missing_intake_fields(insp, path):
    refused(insp, intake_with(path, ...), path)


@pytest.mark.parametrize("path,value", [
    ("workers_count", "12"), ("workers_count", 0), ("workers_count", 1.5), ("complainant", "李建国"),
    ("complainant.name", 42), ("project.type", "state"), ("source", "rumour"), ("period_from", "2020/09/01"),
    ("period_to", "2020-02-30"), ("complainant.phone", "call me"), ("employer", []), ("unexpected", 1),
    ("description", "很" * 2001),
])
def test_wrong_types_and_values(insp, path, value):
    refused(insp, intake_with(path, value), path)


def test_request_level_fields(insp):
    body = intake_with("source", "hotline")
    refused(insp, {**body, "process": "pension"}, "process")
    refused(insp, {**body, "process": 7}, "process")
    refused(insp, {k: v for k, v in body.items() if k != "process"}, "process")
    refused(insp, {**body, "region": "5323"}, "region")
    refused(insp, {**body, "region": 532301}, "region")
    refused(insp, {k: v for k, v in body.items() if k != "region"}, "region")
    refused(insp, {**body, "data": ["not", "an", "object"]}, "data")
    refused(insp, {k: v for k, v in body.items() if k != "data"}, "data")
    refused(insp, {**body, "extra": True}, "extra")


@pytest.mark.parametrize("payload", ["{", "{\"process\": ", "[1, 2", "null", "[]", "\"text\"", "42",
                                     "{\"process\": \"wage_arrears\",}", "\xff\xfe"])
def test_malformed_or_non_object_json(insp, payload):
    before = counts()
    response = insp.post("/cases", None, data=payload.encode("latin-1"), content_type="application/json")
    assert_error(response, 400)
    assert counts() == before


def test_body_that_is_not_json(insp):
    before = counts()
    response = insp.post("/cases", None, data="process=wage_arrears", content_type="application/x-www-form-urlencoded")
    assert response.status_code in (400, 415)
    assert_error(response, response.status_code)
    assert counts() == before


def test_oversized_body_is_413_json(app, insp):
    before = counts()
    body = intake_with("description", "x" * (app.config["MAX_CONTENT_LENGTH"] + 1024))
    response = insp.post("/cases", body)
    assert_error(response, 413)
    assert counts() == before
    # Under the limit but over a field's own limit: 400 naming the field.
    refused(insp, intake_with("description", "x" * 5000), "description")


# ---------------------------------------------------------------------------------------------------------------
# JSON everywhere under /api/, never a 500.

def test_unknown_api_routes_are_json_404(client, insp):
    for path in ("/api/v1/nope", "/api/v2/cases", "/api/", "/api/v1/cases/WA-1/unknown"):
        response = client.get(path, headers={"Authorization": f"Bearer {insp.token}"})
        assert response.mimetype == "application/json", path
        assert_error(response, 404, "not_found")
        assert "<html" not in response.get_data(as_text=True).lower()
    wrong_method = client.delete(f"{API}/health")
    assert wrong_method.mimetype == "application/json"
    assert_error(wrong_method, 405)


def _concrete(rule: str, case_number: str, task_id: str) -> list[str]:
    """Concrete paths for a Flask rule: a real object, a missing one and garbage for each converter."""
    replacements = []
    for value in ("real", "999999", "x'; DROP TABLE cases;--", "..%2F..%2Fetc%2Fpasswd"):
        path = rule
        for match in re.finditer(r"<(?:(\w+):)?(\w+)>", rule):
            converter, name = match.group(1), match.group(2)
            real = task_id if "task" in name or name == "id" else case_number
            sub = real if value == "real" else value
            if converter == "row_id":
                sub = {"real": "1", "999999": "999999"}.get(value, "99999999999999999999999")
            path = path.replace(match.group(0), sub)
        replacements.append(path)
    return sorted(set(replacements))


def test_no_route_answers_500_or_html_to_garbage(app, client, insp):
    case = open_case(insp)
    task = task_named(case, "review_complaint")
    bodies: list[Any] = [None, {}, [], "text", 0, {"data": None, "case_version": None}, {"data": {"x": [1] * 50}},
                         {"process": {"$ne": 1}}, {"username": None}]
    headers = {"Authorization": f"Bearer {insp.token}"}
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/")]
    assert len(rules) >= 10
    sent = 0
    for rule in rules:
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for path in _concrete(rule.rule, case["number"], task["id"]):
                queries = ["", "?page=0", "?per_page=abc&overdue=maybe&region=x&status=%00&q=" + "x" * 300]
                for query in queries if method == "GET" else [""]:
                    for body in bodies if method != "GET" else [None]:
                        response = client.open(path + query, method=method, headers=headers, json=body)
                        sent += 1
                        where = (method, path + query, body, response.status_code)
                        assert response.status_code < 500, where + (response.get_data(as_text=True)[:300],)
                        if response.mimetype != "application/pdf":
                            assert response.mimetype == "application/json", where
    assert sent > 100 * len(rules) // 10


# ---------------------------------------------------------------------------------------------------------------
# Health and openapi.json.

def test_health(client, ctx):
    response = client.get(f"{API}/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["scheduler"] in ("ok", "stopped")


def test_health_says_stopped_when_no_sweep_succeeds(app, client, ctx, monkeypatch):
    """QA: with every sweep failing (a locked database) /health said "ok" for as long as the in-process scheduler
    ran; it now reads the heartbeat a successful sweep writes."""
    from datetime import UTC, datetime, timedelta
    from types import SimpleNamespace

    from engine.scheduler import SchedulerHeartbeat, worker_name

    def scheduler_state() -> str:
        return client.get(f"{API}/health").get_json()["scheduler"]

    started_long_ago = SimpleNamespace(running=True, started_at=datetime.now(UTC) - timedelta(hours=1))
    monkeypatch.setitem(app.extensions, "case_scheduler", started_long_ago)
    assert scheduler_state() == "stopped"  # running, but no sweep has finished in an hour
    monkeypatch.setitem(app.extensions, "case_scheduler",
                        SimpleNamespace(running=True, started_at=datetime.now(UTC)))
    assert scheduler_state() == "ok"  # just started: its first sweep has not had time yet
    monkeypatch.setitem(app.extensions, "case_scheduler", started_long_ago)
    monkeypatch.setitem(app.config, "CLOCK", lambda: datetime.now(UTC))
    db.session.add(SchedulerHeartbeat(worker=worker_name(), last_sweep_at=datetime.now(UTC)))
    db.session.commit()
    assert scheduler_state() == "ok"  # a sweep finished a moment ago


def test_a_periodic_jobs_failed_items_are_logged_as_errors(app, ctx, monkeypatch, caplog):
    """QA: a claim whose monthly payment failed was reported by `flask benefits pay` only; the scheduler's run of
    the same job threw its report away, so the payment stayed unpaid with nothing in the log."""
    from types import SimpleNamespace

    from engine import scheduler

    monkeypatch.setattr(scheduler, "PERIODIC_JOBS", {
        "benefit_payments": lambda now: SimpleNamespace(paid=0, cases=0, errors=["case 17: KeyError: 'x'"])})
    with caplog.at_level("ERROR", logger="engine.scheduler"):
        scheduler.run_sweep(app)
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        "benefit_payments: case 17: KeyError: 'x'"]


def _resolve(spec: dict, ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = spec
    for part in ref[2:].split("/"):
        assert part in node, f"dangling $ref {ref}"
        node = node[part]
    return node


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_openapi_is_valid_and_carries_the_validating_schemas(app, client, ctx):
    from engine import processes
    from web.api import schemas

    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.1")
    assert spec["info"]["title"] and spec["info"]["version"]
    for ref in set(_refs(spec)):
        _resolve(spec, ref)

    methods = {"get", "post", "put", "patch", "delete"}
    for path, item in spec["paths"].items():
        assert path.startswith("/"), path
        for method, op in item.items():
            assert method in methods, (path, method)
            assert op["responses"], (path, method)
            for param in op.get("parameters", []):
                assert param["in"] in ("query", "path", "header")
                if param["in"] == "path":
                    assert "{" + param["name"] + "}" in path and param["required"] is True
            body = op.get("requestBody")
            for media in (body or {}).get("content", {}).values():
                Draft202012Validator.check_schema(media["schema"])
    for schema in spec["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)

    # The very dicts that validate requests.
    assert spec["paths"]["/auth/token"]["post"]["requestBody"]["content"]["application/json"]["schema"] == \
        schemas.TOKEN_REQUEST
    complete = spec["paths"]["/tasks/{id}/complete"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert complete == schemas.COMPLETE_TASK_REQUEST
    open_body = spec["paths"]["/cases"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {k: v for k, v in open_body.items() if k != "properties"} == \
        {k: v for k, v in schemas.OPEN_CASE_REQUEST.items() if k != "properties"}
    intake = spec["components"]["schemas"]["wage_arrears.intake"]
    assert intake == json.loads(processes.read_files("wage_arrears")["intake.schema.json"])
    for name in ("review_complaint", "investigate", "issue_order", "check_payment", "choose_enforcement",
                 "approve_enforcement"):
        assert f"wage_arrears.{name}" in spec["components"]["schemas"], name
    assert {"$ref": "#/components/schemas/wage_arrears.intake"} in open_body["properties"]["data"]["oneOf"]

    # Every API route is documented.
    documented = {re.sub(r"\{[^}]+\}", "{}", p) for p in spec["paths"]}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API + "/") and not rule.rule.endswith("openapi.json"):
            path = re.sub(r"<[^>]+>", "{}", rule.rule[len(API):])
            assert path in documented, f"{rule.rule} missing from openapi.json"


def test_openapi_lists_what_the_routes_answer(client, insp):
    spec = client.get(f"{API}/openapi.json").get_json()["paths"]
    # A wrong role is a 403 on any signed-in route, an oversized body a 413 on any route that takes one.
    assert insp.post("/cases", {"process": "benefit_claim", "region": "532301", "data": {}}).status_code == 403
    assert insp.post("/cases", {"process": "wage_arrears", "region": "532301",
                                "data": {"x": "x" * 2_200_000}}).status_code == 413
    for path, item in spec.items():
        for method, op in item.items():
            if op.get("security") != []:
                assert "403" in op["responses"], (path, method)
            if "requestBody" in op:
                assert "413" in op["responses"], (path, method)
    documents = spec["/cases/{number}/documents"]["get"]["responses"]["200"]["content"]["application/json"]
    assert documents["schema"]["type"] == "array"
    assert {"page", "per_page"} <= {p["name"] for p in spec["/escalations"]["get"]["parameters"]}
    assert "503" in spec["/health"]["get"]["responses"]


def test_openapi_request_schema_rejects_what_the_api_rejects(client, insp):
    """The published schema for opening a case refuses a float amount, as the API does."""
    spec = client.get(f"{API}/openapi.json").get_json()
    open_body = spec["paths"]["/cases"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    # Its $refs point into components: validate with them at the root of the same document.
    validator = Draft202012Validator({**open_body, "components": spec["components"]})
    good = {"process": "wage_arrears", "region": "532301", "data": wage_arrears_intake()}
    assert list(validator.iter_errors(good)) == []
    bad = copy.deepcopy(good)
    bad["data"]["amount_owed"] = 126000.0
    assert list(validator.iter_errors(bad)), "the published schema accepts a float amount"
    assert_field_error(insp.post("/cases", bad), "amount_owed")


def test_a_write_that_timed_out_on_a_busy_database_says_so(ctx):
    """QA: a task claimed while a 100,000-row ledger import held SQLite's write lock waited 10 s and answered
    "并发修改冲突" (someone changed it), which was not what happened and sent the user looking for a change."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from engine.errors import CaseChanged, Conflict
    from engine.services._common import DATABASE_BUSY, transactional

    locked = sqlite3.OperationalError("database is locked")
    locked.sqlite_errorname = "SQLITE_BUSY"

    @transactional
    def write() -> None:
        raise OperationalError("UPDATE tasks SET ...", {}, locked)

    with pytest.raises(Conflict) as refused:
        write()
    assert refused.value.message == DATABASE_BUSY
    # Not "the case changed": the case page shows that as 有人已修改了此案件 instead of this message.
    assert not isinstance(refused.value, CaseChanged)
