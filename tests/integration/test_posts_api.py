"""The posts catalogue through the API (GET/POST/PATCH /api/v1/posts), matching through the API, region scoping,
validation (400 naming the field), and slots never over-filled, even by clerks at the same moment (PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import select

from engine import posts, services
from engine.actors import Actor
from engine.db import db
from engine.errors import Conflict, DataInvalid
from engine.models import Case, RuleSetting
from engine.placements import Placement
from engine.posts import Post
from tests.conftest import at, make_user, requires_postgres
from tests.factories import open_task
from tests.integration.test_pages import sign_in
from tests.integration.test_temp_job_process import intake, served_case

PASSWORD = "correct-horse-9"
NOW = at("2021-02-09 10:00")


@pytest.fixture
def clock(app, monkeypatch):
    monkeypatch.setitem(app.config, "CLOCK", lambda: NOW)
    return NOW


def auth(client, username: str) -> dict:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": "Bearer " + response.get_json()["token"]}


def body(**overrides) -> dict:
    data = {"title": "社区保洁员", "kind": "sanitation", "employer": "鹿城镇南关社区", "region": "532301", "slots": 2,
            "monthly_pay": "1800.00", "start_date": "2021-02-15", "end_date": "2021-05-14"}
    data.update(overrides)
    return data


def test_create_list_get_edit_and_close(client, clerk, clock):
    h = auth(client, "clerk_cx")
    r = client.post("/api/v1/posts", json=body(work_place="南关社区"), headers=h)
    assert r.status_code == 201, r.get_json()
    post = r.get_json()
    assert (post["kind"], post["slots"], post["filled"], post["free"], post["monthly_pay"], post["status"]) == (
        "sanitation", 2, 0, 2, "1800.00", "open")
    assert post["start_date"] == "2021-02-15" and post["kind_title"] == "保洁环卫"
    r = client.get("/api/v1/posts", headers=h)
    assert r.status_code == 200
    page = r.get_json()
    assert (page["total"], page["page"], page["per_page"]) == (1, 1, 50)
    assert page["items"][0]["id"] == post["id"]
    assert client.get(f"/api/v1/posts/{post['id']}", headers=h).get_json()["title"] == "社区保洁员"
    r = client.patch(f"/api/v1/posts/{post['id']}", json={"slots": 4, "monthly_pay": "1900.5"}, headers=h)
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["slots"], r.get_json()["monthly_pay"]) == (4, "1900.50")
    r = client.patch(f"/api/v1/posts/{post['id']}", json={"status": "closed"}, headers=h)
    assert r.get_json()["status"] == "closed"
    assert client.get("/api/v1/posts?status=open", headers=h).get_json()["total"] == 0
    assert client.get("/api/v1/posts?status=closed&kind=sanitation", headers=h).get_json()["total"] == 1


@pytest.mark.parametrize(("overrides", "field"), [
    ({"kind": "cooking"}, "kind"),
    ({"slots": 0}, "slots"),
    ({"slots": "2"}, "slots"),
    ({"monthly_pay": 1800.5}, "monthly_pay"),
    ({"monthly_pay": "1800.123"}, "monthly_pay"),
    ({"monthly_pay": "-5"}, "monthly_pay"),
    ({"start_date": "2021-02-30"}, "start_date"),
    ({"end_date": "15/05/2021"}, "end_date"),
    ({"end_date": "2021-02-14"}, "end_date"),  # before the start
    ({"end_date": "2021-08-15"}, "end_date"),  # longer than 6 months (15 Feb - 14 Aug is six)
    ({"region": "53230"}, "region"),
    ({"title": ""}, "title"),
    ({"colour": "red"}, "colour"),
])
def test_bad_post_is_a_400_naming_the_field(client, clerk, clock, overrides, field):
    h = auth(client, "clerk_cx")
    r = client.post("/api/v1/posts", json=body(**overrides), headers=h)
    assert r.status_code == 400, r.get_json()
    assert field in r.get_json()["error"]["fields"], r.get_json()
    assert db.session.scalars(select(Post)).all() == []


def test_the_api_md_fields_are_enough(client, clerk, clock):
    h = auth(client, "clerk_cx")
    fields = {k: v for k, v in body().items() if k != "employer"}
    r = client.post("/api/v1/posts", json=fields, headers=h)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["employer"] == "楚雄市人民政府"


def test_missing_fields_and_non_json(client, clerk, clock):
    h = auth(client, "clerk_cx")
    r = client.post("/api/v1/posts", json={"title": "x"}, headers=h)
    assert r.status_code == 400
    assert {"kind", "region", "slots", "monthly_pay", "start_date", "end_date"} <= set(r.get_json()["error"]["fields"])
    r = client.post("/api/v1/posts", data="nope", headers={**h, "Content-Type": "text/plain"})
    assert r.status_code == 400 and "body" in r.get_json()["error"]["fields"]
    assert client.patch("/api/v1/posts/1", json={}, headers=h).status_code in (400, 404)
    assert client.get("/api/v1/posts?status=maybe", headers=h).get_json()["error"]["fields"] == {
        "status": "取值应为 open | expired | closed"}
    assert client.get("/api/v1/posts?region=5323", headers=h).status_code == 400


def test_a_post_past_its_end_date_reads_expired_and_an_end_in_the_past_is_refused(app, client, clerk, clock,
                                                                                  monkeypatch):
    h = auth(client, "clerk_cx")
    r = client.post("/api/v1/posts", json=body(start_date="2020-01-01", end_date="2020-06-01"), headers=h)
    assert r.status_code == 400 and r.get_json()["error"]["fields"] == {"end_date": "结束日期不能早于今天"}
    assert db.session.scalars(select(Post)).all() == []
    ending = client.post("/api/v1/posts", json=body(title="春节保洁", start_date="2021-01-20", end_date="2021-02-10"),
                         headers=h).get_json()
    running = client.post("/api/v1/posts", json=body(), headers=h).get_json()
    assert (ending["status"], running["status"]) == ("open", "open")

    monkeypatch.setitem(app.config, "CLOCK", lambda: at("2021-02-11 09:00"))  # the day after its end
    h = auth(client, "clerk_cx")  # the first token has expired by then
    listed = client.get("/api/v1/posts", headers=h).get_json()["items"]
    assert {p["id"]: p["status"] for p in listed} == {ending["id"]: "expired", running["id"]: "open"}
    assert [p["id"] for p in client.get("/api/v1/posts?status=open", headers=h).get_json()["items"]] == [
        running["id"]]
    assert [p["id"] for p in client.get("/api/v1/posts?status=expired", headers=h).get_json()["items"]] == [
        ending["id"]]
    assert client.get(f"/api/v1/posts/{ending['id']}", headers=h).get_json()["status"] == "expired"
    # Its end may not move into the past; other edits (its end date sent unchanged, as the page's form sends it)
    # and closing it still work.
    r = client.patch(f"/api/v1/posts/{ending['id']}", json={"end_date": "2021-02-09"}, headers=h)
    assert r.status_code == 400 and r.get_json()["error"]["fields"] == {"end_date": "结束日期不能早于今天"}
    r = client.patch(f"/api/v1/posts/{ending['id']}", json={"end_date": "2021-02-10", "slots": 3}, headers=h)
    assert r.status_code == 200 and (r.get_json()["slots"], r.get_json()["status"]) == (3, "expired")
    r = client.patch(f"/api/v1/posts/{ending['id']}", json={"end_date": "2021-03-10"}, headers=h)
    assert r.status_code == 200 and r.get_json()["status"] == "open"  # extended: open again
    r = client.patch(f"/api/v1/posts/{running['id']}", json={"end_date": "2021-02-10"}, headers=h)
    assert r.status_code == 400 and "end_date" in r.get_json()["error"]["fields"]
    assert client.get(f"/api/v1/posts/{running['id']}", headers=h).get_json()["end_date"] == "2021-05-14"
    # The page agrees: its open filter leaves out what has ended.
    monkeypatch.setitem(app.config, "CLOCK", lambda: at("2021-03-11 09:00"))
    web = app.test_client()
    sign_in(web, "clerk_cx")
    html = web.get("/posts?status=open").get_data(as_text=True)
    assert f'id="post-{running["id"]}"' in html and f'id="post-{ending["id"]}"' not in html
    assert f'id="post-{ending["id"]}"' in web.get("/posts?status=expired").get_data(as_text=True)
    # Its edit form shows the setting it changes (open), not "expired", which the form could not send back.
    assert '<option value="open" selected>' in web.get(f"/posts/{ending['id']}/edit").get_data(as_text=True)


def test_six_months_is_a_rule_a_province_can_change(client, clerk, clock):
    h = auth(client, "clerk_cx")
    assert client.post("/api/v1/posts", json=body(end_date="2021-08-14"), headers=h).status_code == 201
    db.session.add(RuleSetting(key="temp_post_max_months", value="3", updated_by="admin", updated_at=NOW))
    db.session.commit()
    r = client.post("/api/v1/posts", json=body(end_date="2021-05-16"), headers=h)
    assert r.status_code == 400 and "3 个月" in r.get_json()["error"]["fields"]["end_date"]


def test_slots_cannot_drop_below_those_taken(client, clerk, clock):
    post = posts.create_post(clerk, body(slots=2), NOW)
    case = served_case(clerk)
    services.complete_task(clerk, open_task(case, "match_post").id, {"post_id": post.id}, case.version, NOW)
    h = auth(client, "clerk_cx")
    r = client.patch(f"/api/v1/posts/{post.id}", json={"slots": 0}, headers=h)
    assert r.status_code == 400 and "slots" in r.get_json()["error"]["fields"]
    r = client.patch(f"/api/v1/posts/{post.id}", json={"slots": 1}, headers=h)
    assert r.status_code == 200 and r.get_json()["free"] == 0
    # The referred person's letter and exit review hold the post's dates.
    r = client.patch(f"/api/v1/posts/{post.id}", json={"end_date": "2021-06-30"}, headers=h)
    assert r.status_code == 400 and "end_date" in r.get_json()["error"]["fields"]
    assert client.get(f"/api/v1/posts/{post.id}", headers=h).get_json()["end_date"] == "2021-05-14"


def test_region_scoping(client, clerk, clock):
    make_user("clerk_sb", ["clerk"], "532322")
    make_user("sup_cz", ["supervisor"], "532300")
    make_user("insp_cx", ["inspector"], "532301")
    mine = client.post("/api/v1/posts", json=body(), headers=auth(client, "clerk_cx")).get_json()
    h_sb = auth(client, "clerk_sb")
    assert client.get(f"/api/v1/posts/{mine['id']}", headers=h_sb).status_code == 404
    assert client.patch(f"/api/v1/posts/{mine['id']}", json={"slots": 9}, headers=h_sb).status_code == 404
    assert client.get("/api/v1/posts", headers=h_sb).get_json()["total"] == 0
    r = client.post("/api/v1/posts", json=body(), headers=h_sb)  # Chuxiong city is not Shuangbai's
    assert r.status_code == 403
    h_cz = auth(client, "sup_cz")
    assert client.get("/api/v1/posts", headers=h_cz).get_json()["total"] == 1
    assert client.post("/api/v1/posts", json=body(region="532328"), headers=h_cz).status_code == 201
    assert client.get("/api/v1/posts?region=532328", headers=h_cz).get_json()["total"] == 1
    # Inspectors do not manage posts.
    assert client.post("/api/v1/posts", json=body(), headers=auth(client, "insp_cx")).status_code == 403
    assert client.get("/api/v1/posts").status_code == 401


def test_a_county_reads_the_prefectures_posts_it_is_offered_but_cannot_change_them(app, client, clerk, clock):
    make_user("clerk_sb", ["clerk"], "532322")
    prefecture = Actor.of(make_user("sup_cz", ["supervisor"], "532300"))
    theirs = posts.create_post(prefecture, body(region="532300", title="州级防疫岗位"), NOW)
    other_county = posts.create_post(prefecture, body(region="532323", title="牟定县保洁岗位"), NOW)
    h_sb = auth(client, "clerk_sb")
    # Suggested to the county's seekers, so listed and readable there...
    assert [p["id"] for p in client.get("/api/v1/posts", headers=h_sb).get_json()["items"]] == [theirs.id]
    assert client.get(f"/api/v1/posts/{theirs.id}", headers=h_sb).status_code == 200
    assert client.get(f"/api/v1/posts/{other_county.id}", headers=h_sb).status_code == 404
    # ...but the prefecture's to change.
    refused = client.patch(f"/api/v1/posts/{theirs.id}", json={"slots": 9}, headers=h_sb)
    assert refused.status_code == 403 and "上级部门" in refused.get_json()["error"]["message"]
    # The page lists it without an edit link, and its edit form is not theirs.
    web = app.test_client()
    sign_in(web, "clerk_sb")
    html = web.get("/posts").get_data(as_text=True)
    assert "州级防疫岗位" in html and f"/posts/{theirs.id}/edit" not in html
    assert web.get(f"/posts/{theirs.id}/edit").status_code == 403


def test_matching_through_the_api(client, clerk, clock):
    post = posts.create_post(clerk, body(), NOW)
    case = served_case(clerk)
    h = auth(client, "clerk_cx")
    r = client.get(f"/api/v1/cases/{case.number}/post-suggestions", headers=h)
    assert r.status_code == 200
    assert [i["id"] for i in r.get_json()["items"]] == [post.id]
    task = open_task(case, "match_post")
    for bad in ("one", 10**25):  # a number past the database's integer is bad input too, not a 500
        r = client.post(f"/api/v1/tasks/{task.id}/complete", json={"data": {"post_id": bad},
                                                                   "case_version": case.version}, headers=h)
        assert r.status_code == 400 and "post_id" in r.get_json()["error"]["fields"]
    r = client.post(f"/api/v1/tasks/{task.id}/complete", json={"data": {"post_id": post.id},
                                                               "case_version": case.version}, headers=h)
    assert r.status_code == 200, r.get_json()
    got = r.get_json()
    assert got["status"] == "referred" and got["data"]["post_id"] == post.id
    assert [d["kind"] for d in got["documents"]] == ["temp_post_referral"]
    assert [t["name"] for t in got["tasks"]] == ["confirm_placement"]
    assert client.get(f"/api/v1/posts/{post.id}", headers=h).get_json()["filled"] == 1
    # Out of scope: a Shuangbai clerk sees neither the case nor its suggestions.
    make_user("clerk_sb", ["clerk"], "532322")
    assert client.get(f"/api/v1/cases/{case.number}/post-suggestions",
                      headers=auth(client, "clerk_sb")).status_code == 404


def test_match_post_endpoint(client, clerk, clock):
    post = posts.create_post(clerk, body(), NOW)
    case = served_case(clerk)
    h = auth(client, "clerk_cx")
    r = client.post(f"/api/v1/cases/{case.number}/match-post", json={"post_id": post.id}, headers=h)
    assert r.status_code == 400 and "case_version" in r.get_json()["error"]["fields"]
    r = client.post(f"/api/v1/cases/{case.number}/match-post", json={"post_id": 10**25,
                                                                     "case_version": case.version}, headers=h)
    assert r.status_code == 400 and "post_id" in r.get_json()["error"]["fields"]
    assert client.get("/api/v1/posts/99999999999999999999999", headers=h).status_code == 404
    r = client.post(f"/api/v1/cases/{case.number}/match-post", json={"post_id": post.id,
                                                                     "case_version": case.version}, headers=h)
    assert r.status_code == 200 and r.get_json()["status"] == "referred"
    r = client.post(f"/api/v1/cases/{case.number}/match-post", json={"post_id": post.id,
                                                                     "case_version": r.get_json()["version"]},
                    headers=h)
    assert r.status_code == 409


# ---------------------------------------------------------------------------------------------------------------
# Concurrency.

def _race(app, numbers: list[str], post_id: int, clerk: Actor, when: datetime) -> list[str]:
    """Each number's match_post completed with post_id from its own thread, all released at once."""
    with app.app_context():
        jobs = []
        for number in numbers:
            case = db.session.scalar(select(Case).where(Case.number == number))
            jobs.append((open_task(case, "match_post").id, case.version))
        db.session.remove()
    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = []

    def run(task_id: str, version: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                services.complete_task(clerk, task_id, {"post_id": post_id}, version, when)
                outcomes.append("ok")
            except (Conflict, DataInvalid) as exc:
                outcomes.append(type(exc).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    import gc

    gc.collect()
    return outcomes


@requires_postgres()
@pytest.mark.parametrize(("slots", "seekers"), [(1, 2), (3, 8)])
def test_slots_are_never_over_filled_by_clerks_at_the_same_moment(app, ctx, clerk, slots, seekers):
    post = posts.create_post(clerk, body(slots=slots), NOW)
    numbers = [served_case(clerk, id_prefix=f"532301199001{i + 10:02d}002").number for i in range(seekers)]
    outcomes = _race(app, numbers, post.id, clerk, NOW)
    assert outcomes.count("ok") == slots, outcomes
    assert len(outcomes) == seekers
    db.session.expire_all()
    assert db.session.get(Post, post.id).filled == slots
    placed = db.session.scalars(select(Placement).where(Placement.post_id == post.id)).all()
    assert len(placed) == slots
    statuses = sorted(db.session.scalars(select(Case.status).where(Case.number.in_(numbers))))
    assert statuses.count("referred") == slots and statuses.count("in_service") == seekers - slots


def test_slots_are_never_over_filled_in_sequence(ctx, clerk):
    """The same guarantee without threads (SQLite serialises writers): the last slot goes once."""
    post = posts.create_post(clerk, body(slots=1), NOW)
    first = served_case(clerk)
    second = services.open_case(clerk, "temp_job", "532301", intake(id_prefix="53230119900101003"), NOW)
    services.complete_task(clerk, open_task(first, "match_post").id, {"post_id": post.id}, first.version, NOW)
    second = services.complete_task(clerk, open_task(second, "market_outcome").id,
                                    {"market_outcome": "not_employed"}, second.version, NOW)
    with pytest.raises(DataInvalid):
        services.complete_task(clerk, open_task(second, "match_post").id, {"post_id": post.id}, second.version,
                               NOW)
    db.session.expire_all()
    assert db.session.get(Post, post.id).filled == 1


def test_patch_without_fields_says_so_in_the_users_terms(client, clerk, clock):
    h = auth(client, "clerk_cx")
    post = client.post("/api/v1/posts", json=body(), headers=h).get_json()
    r = client.patch(f"/api/v1/posts/{post['id']}", json={}, headers=h)
    assert r.status_code == 400
    assert r.get_json()["error"]["fields"] == {"body": "至少修改一个字段"}
