"""The temporary-job case page (web/templates/_temp_job_case.html): the 131 service (each part given with its date,
and what is still owed), the temporary post of the referral (title, employer, pay, dates, referral and report-by
dates) and the priority group's title, in Chinese and in English; and the reporting date of `confirm_placement`,
which cannot be before the referral, before the post starts or after it ends (engine/service131.py), refused
through the service, the API and the page."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from engine import services
from engine.actors import Actor
from engine.errors import DataInvalid
from engine.models import Case
from engine.placements import PRIORITY_GROUP_TITLES, SERVICE_131_PARTS
from tests.conftest import SettableClock, at
from tests.factories import complete, open_task
from tests.integration.test_pages import FreshContextClient, field_error, post, sign_in, text_of
from tests.integration.test_temp_job_process import GUIDANCE, OFFERS, TRAINING, intake, new_post

OPENED = at("2021-02-01 09:00")  # a Monday
PASSWORD = "correct-horse-9"


@pytest.fixture
def clock(app, ctx, monkeypatch):
    return SettableClock(app, monkeypatch, at("2021-02-10 10:00"))


@pytest.fixture
def web(app, clerk, clock):
    client = FreshContextClient(app, app.response_class, use_cookies=True)
    assert sign_in(client, "clerk_cx").status_code == 302
    return client


def case_of(number: str) -> Case:
    from engine.db import db

    db.session.expire_all()
    return db.session.scalar(select(Case).where(Case.number == number))


def open_case(clerk: Actor, **kwargs) -> Case:
    return services.open_case(clerk, "temp_job", "532301", intake(**kwargs), OPENED)


def referred_on_2_february(clerk: Actor) -> Case:
    """QA's case: registered on 1 Feb, not placed by the market, referred on Tue 2 Feb to a post starting 15 Feb."""
    post_ = new_post(clerk)  # 15 Feb - 14 May 2021
    case = open_case(clerk)
    case = complete(clerk, case, "market_outcome", {"market_outcome": "not_employed"}, at("2021-02-02 09:30"))
    case = complete(clerk, case, "match_post", {"post_id": post_.id}, at("2021-02-02 10:00"))
    assert case.status == "referred"
    return case


# ---------------------------------------------------------------------------------------------------------------
# The case page.

def section(page: str, element_id: str) -> str:
    """The visible text of the element with id `element_id` (nested elements of the same tag counted)."""
    opening = re.search(r'<(\w+)[^>]*\bid="' + re.escape(element_id) + r'"[^>]*>', page)
    assert opening, f"no element #{element_id}"
    tag, depth, pos = opening.group(1), 1, opening.end()
    for found in re.finditer(rf"<(/?){tag}\b[^>]*>", page[pos:]):
        depth += -1 if found.group(1) else 1
        if depth == 0:
            return text_of_html(page[pos:pos + found.start()])
    raise AssertionError(f"#{element_id} is not closed")


def text_of_html(markup: str) -> str:
    """Visible text, whitespace collapsed (as tests/integration/test_pages.py's text_of)."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()


def test_the_page_shows_the_131_parts_given_with_their_dates_and_what_is_owed(web, clerk):
    case = open_case(clerk)
    case = complete(clerk, case, "career_guidance", GUIDANCE, at("2021-02-02 10:00"))
    case = complete(clerk, case, "job_offers", OFFERS, at("2021-02-04 10:00"))
    response = web.get(f"/cases/{case.number}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    service = section(page, "service-131")
    for expected in ("“131”服务", "职业指导", "2021年2月2日", "职业规划与求职技巧指导", "陈静",
                     "3个岗位信息", "楚雄鹿城物业公司", "保洁员", "彝人古镇酒店", "楚雄市环卫站", "2021年2月3日",
                     "2021年2月4日", "培训项目"):
        assert expected in service, expected
    assert section(page, "service-131-owed") == "尚欠： 培训项目"
    assert "尚未提供" in section(page, "part-training")
    assert "尚未提供" not in section(page, "part-career_guidance")
    # The priority group by its title, never its code.
    body = text_of(response)
    assert "重点群体类别 脱贫人口" in body
    assert "poverty_alleviated" not in body
    # No post yet: said so, while the case is open.
    assert "尚未推荐临时性岗位" in section(page, "temp-post")


def test_the_page_shows_the_referred_post_and_the_131_service_given_in_full(web, clerk):
    post_ = new_post(clerk)
    case = open_case(clerk, group="employment_difficulty")
    case = complete(clerk, case, "career_guidance", GUIDANCE, at("2021-02-02 10:00"))
    case = complete(clerk, case, "job_offers", OFFERS, at("2021-02-04 10:00"))
    case = complete(clerk, case, "training", TRAINING, at("2021-02-05 10:00"))
    case = complete(clerk, case, "market_outcome", {"market_outcome": "not_employed"}, at("2021-02-08 10:00"))
    case = complete(clerk, case, "match_post", {"post_id": post_.id}, at("2021-02-09 10:00"))
    page = web.get(f"/cases/{case.number}").get_data(as_text=True)
    assert section(page, "service-131-owed") == "“131”服务已全部提供"
    assert "2021年2月5日" in section(page, "part-training") and "家政服务员培训" in section(page, "part-training")
    post_text = section(page, "temp-post")
    for expected in ("社区保洁员", "保洁环卫", "鹿城镇南关社区", "南关社区", "¥1,800.00", "2021年2月15日",
                     "2021年5月14日", "推荐上岗日期 2021年2月9日", "报到期限 2021年2月22日"):
        assert expected in post_text, expected
    assert "重点群体类别 就业困难人员" in text_of_html(page)
    assert "employment_difficulty" not in text_of_html(page)


def test_the_section_in_english(web, clerk):
    post_ = new_post(clerk)
    case = open_case(clerk, group="returning_migrant")
    case = complete(clerk, case, "career_guidance", GUIDANCE, at("2021-02-02 10:00"))
    case = complete(clerk, case, "market_outcome", {"market_outcome": "not_employed"}, at("2021-02-08 10:00"))
    case = complete(clerk, case, "match_post", {"post_id": post_.id}, at("2021-02-09 10:00"))
    assert post(web, "/language", {"language": "en"}).status_code == 302
    page = web.get(f"/cases/{case.number}").get_data(as_text=True)
    service = section(page, "service-131")
    for expected in ("131 service", "Career guidance", "2 Feb 2021", "3 job offers", "Training programme",
                     "Not given yet"):
        assert expected in service, expected
    assert section(page, "service-131-owed") == "Still owed: 3 job offers Training programme"
    post_text = section(page, "temp-post")
    for expected in ("Referred temporary post", "社区保洁员", "Cleaning and sanitation", "鹿城镇南关社区",
                     "CN¥1,800.00", "15 Feb 2021", "14 May 2021", "Referred on 9 Feb 2021", "Report by 22 Feb 2021"):
        assert expected in post_text, expected
    body = text_of_html(page)
    assert "Priority group Returning migrant worker" in body
    assert "returning_migrant" not in body
    for chinese in ("尚欠", "尚未提供", "推荐日期", "推荐上岗日期", "报到期限", "临时性岗位", "返乡农民工", "职业指导"):
        assert chinese not in body, chinese


def test_every_priority_group_title_is_translated(app):
    from flask_babel import force_locale

    from web import labels, messages

    with app.test_request_context(), force_locale("en"):
        for title in PRIORITY_GROUP_TITLES.values():
            assert messages.message(title) != title, title
        assert set(labels.SERVICE_131_LABELS) == set(SERVICE_131_PARTS)
        for part in SERVICE_131_PARTS:
            assert labels.SERVICE_131_LABELS[part] and not any("\u4e00" <= ch <= "\u9fff"
                                                                 for ch in str(labels.SERVICE_131_LABELS[part]))


# ---------------------------------------------------------------------------------------------------------------
# The reporting date of confirm_placement.

@pytest.mark.parametrize(("reported_on", "when", "message"), [
    ("2021-02-01", "2021-02-03 10:00", "报到日期不能早于推荐上岗日期（2021-02-02）"),  # QA's case
    ("2021-02-10", "2021-02-10 10:00", "报到日期不能早于岗位开始日期（2021-02-15）"),
    ("2021-05-15", "2021-05-15 07:00", "报到日期不能晚于岗位结束日期（2021-05-14）"),
])
def test_reporting_before_the_referral_or_outside_the_post_is_refused(clerk, reported_on, when, message):
    case = referred_on_2_february(clerk)
    version = case.version
    with pytest.raises(DataInvalid) as err:
        complete(clerk, case, "confirm_placement", {"placed": True, "reported_on": reported_on}, at(when))
    assert err.value.fields == {"reported_on": message}
    case = case_of(case.number)
    assert (case.status, case.version) == ("referred", version)  # nothing changed
    assert open_task(case, "confirm_placement").assignee_id is None


@pytest.mark.parametrize("reported_on", ["2021-02-15", "2021-05-14"])
def test_reporting_on_the_posts_first_or_last_day_is_accepted(clerk, reported_on):
    case = referred_on_2_february(clerk)
    case = complete(clerk, case, "confirm_placement", {"placed": True, "reported_on": reported_on},
                    at("2021-05-14 10:00"))
    assert case.status == "placed"


def test_a_future_reporting_date_is_still_refused_as_such(clerk):
    case = referred_on_2_february(clerk)
    with pytest.raises(DataInvalid) as err:
        complete(clerk, case, "confirm_placement", {"placed": True, "reported_on": "2021-02-16"},
                 at("2021-02-15 10:00"))
    assert err.value.fields == {"reported_on": "日期不能晚于今天（2021-02-15）"}


def test_the_api_says_400_naming_reported_on(client, clerk, app, monkeypatch):
    monkeypatch.setitem(app.config, "CLOCK", lambda: at("2021-02-03 10:00"))
    case = referred_on_2_february(clerk)
    task = open_task(case, "confirm_placement")
    token = client.post("/api/v1/auth/token", json={"username": "clerk_cx", "password": PASSWORD}).get_json()
    response = client.post(f"/api/v1/tasks/{task.id}/complete", headers={"Authorization": f"Bearer {token['token']}"},
                           json={"data": {"placed": True, "reported_on": "2021-02-01"}, "case_version": case.version})
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert error["fields"] == {"reported_on": "报到日期不能早于推荐上岗日期（2021-02-02）"}


def test_the_page_shows_the_refusal_beside_the_field_in_either_language(web, clerk, clock):
    case = referred_on_2_february(clerk)
    task = open_task(case, "confirm_placement")
    clock.set(at("2021-02-10 10:00"))
    form = {"case_number": case.number, "case_version": str(case.version), "placed": "true",
            "reported_on": "2021-02-10"}
    refused = post(web, f"/tasks/{task.id}/complete", form, page=f"/cases/{case.number}")
    assert refused.status_code == 400
    assert field_error(refused, "reported_on") == "报到日期不能早于岗位开始日期（2021-02-15）"
    post(web, "/language", {"language": "en"})
    refused = post(web, f"/tasks/{task.id}/complete", {**form, "reported_on": "2021-02-01"},
                   page=f"/cases/{case.number}")
    assert refused.status_code == 400
    assert field_error(refused, "reported_on") == "The reporting date cannot be before the referral (2021-02-02)"
    assert case_of(case.number).status == "referred"


# ---------------------------------------------------------------------------------------------------------------
# QA walkthrough: matching from the page, expired posts, the reason for not being placed, the seeker's wishes.

def matching(clerk: Actor) -> Case:
    """A case at its match_post task (not placed by the market)."""
    case = open_case(clerk)
    case = complete(clerk, case, "market_outcome", {"market_outcome": "not_employed"}, at("2021-02-02 09:30"))
    assert open_task(case, "match_post") is not None
    return case


def input_value(page: str, name: str) -> str | None:
    found = re.search(r'<input[^>]*\bname="' + re.escape(name) + r'"[^>]*>', page)
    if not found:
        return None
    value = re.search(r'\bvalue="([^"]*)"', found.group(0))
    return html.unescape(value.group(1)) if value else None


def test_the_match_post_task_shows_the_engines_suggestions_and_fills_the_chosen_post(web, clerk):
    from engine.placements import suggest_posts

    wanted = new_post(clerk)  # sanitation, 532301, 15 Feb - 14 May, 2 slots
    other = new_post(clerk, title="消杀员", kind="disinfection", employer="鹿城镇卫生院", slots=3,
                     monthly_pay="2100.00")
    expired = new_post(clerk, title="春运临时岗", start_date="2021-01-01", end_date="2021-02-05")
    case = matching(clerk)
    page = web.get(f"/cases/{case.number}").get_data(as_text=True)
    suggestions = section(page, "post-suggestions")
    _, items = suggest_posts(clerk, case.number, at("2021-02-10 10:00"))
    assert [i["id"] for i in items] == [wanted.id, other.id]  # the engine's order: the wished kind first
    assert suggestions.index("社区保洁员") < suggestions.index("消杀员")
    for expected in (f"{wanted.id}", "社区保洁员", "保洁环卫", "鹿城镇南关社区", "楚雄市", "¥1,800.00",
                     "2021年2月15日", "2021年5月14日", f"{other.id}", "消杀员", "消杀防疫", "鹿城镇卫生院",
                     "¥2,100.00"):
        assert expected in suggestions, expected
    assert "春运临时岗" not in suggestions  # ended: the engine does not suggest it
    row = section(page, f"suggestion-{other.id}")
    assert "3" in row.split("¥2,100.00")[1]  # free slots
    # Choosing a post fills its id into the match_post form (no script needed).
    task = open_task(case, "match_post")
    choose = re.search(r'href="([^"]*post_id=' + str(other.id) + r'[^"]*)"', page)
    assert choose, "no link choosing the post"
    chosen = web.get(html.unescape(choose.group(1)).split("#")[0]).get_data(as_text=True)
    form = re.search(r'<form[^>]*id="form-' + re.escape(task.id) + r'".*?</form>', chosen, re.S).group(0)
    assert input_value(form, "post_id") == str(other.id)
    # An id that is not among the suggestions fills nothing.
    page = web.get(f"/cases/{case.number}?post_id={expired.id}").get_data(as_text=True)
    form = re.search(r'<form[^>]*id="form-' + re.escape(task.id) + r'".*?</form>', page, re.S).group(0)
    assert not input_value(form, "post_id")
    # Submitting the filled form refers the seeker to that post.
    done = post(web, f"/tasks/{task.id}/complete",
                {"case_number": case.number, "case_version": str(case.version), "post_id": str(other.id)},
                page=f"/cases/{case.number}")
    assert done.status_code == 302
    case = case_of(case.number)
    assert case.status == "referred" and case.summary["post_id"] == other.id
    assert "post-suggestions" not in web.get(f"/cases/{case.number}").get_data(as_text=True)


def test_the_suggestions_in_english(web, clerk):
    wanted = new_post(clerk)
    case = matching(clerk)
    assert post(web, "/language", {"language": "en"}).status_code == 302
    suggestions = section(web.get(f"/cases/{case.number}").get_data(as_text=True), "post-suggestions")
    for expected in ("Suggested posts", str(wanted.id), "社区保洁员", "Cleaning and sanitation", "CN¥1,800.00",
                     "15 Feb 2021", "Free slots", "Choose"):
        assert expected in suggestions, expected
    for data in ("社区保洁员", "鹿城镇南关社区", "南关社区", "楚雄市"):  # the post's own texts stay as entered
        suggestions = suggestions.replace(data, "")
    assert not re.search(r"[\u4e00-\u9fff]", suggestions), suggestions


def test_no_suggestions_says_so(web, clerk):
    case = matching(clerk)
    assert "没有可推荐的岗位" in section(web.get(f"/cases/{case.number}").get_data(as_text=True),
                                     "post-suggestions")


def test_posts_page_shows_ids_and_expired_posts(web, clerk, clock):
    from engine.posts import post_state

    current = new_post(clerk)
    ended = new_post(clerk, title="春运临时岗", start_date="2021-01-01", end_date="2021-02-05")
    closed = posts_update(clerk, new_post(clerk, title="已关闭岗位"), {"status": "closed"})
    assert post_state(current, at("2021-02-10 10:00").date()) == "open"
    assert post_state(ended, at("2021-02-05 23:00").date()) == "open"  # its last day
    assert post_state(ended, at("2021-02-06 00:00").date()) == "expired"
    assert post_state(closed, at("2021-02-10 10:00").date()) == "closed"
    response = web.get("/posts")
    page = response.get_data(as_text=True)
    rows = {pid: section(page, f"post-{pid}") for pid in (current.id, ended.id, closed.id)}
    assert rows[current.id].startswith(str(current.id)) and "招用中" in rows[current.id]
    assert rows[ended.id].startswith(str(ended.id)) and "已期满" in rows[ended.id]
    assert "招用中" not in rows[ended.id]
    assert "已关闭" in rows[closed.id]
    assert "岗位编号" in text_of(response)
    post(web, "/language", {"language": "en"})
    assert "Expired" in section(web.get("/posts").get_data(as_text=True), f"post-{ended.id}")


def posts_update(actor: Actor, post_, body):
    from engine import posts

    return posts.update_post(actor, post_.id, body, at("2021-02-01 09:00"))


def test_not_placed_needs_a_reason(clerk):
    case = referred_on_2_february(clerk)
    with pytest.raises(DataInvalid) as err:
        complete(clerk, case, "confirm_placement", {"placed": False}, at("2021-02-03 10:00"))
    assert err.value.fields == {"reason": "必填"}
    assert case_of(case.number).status == "referred"
    case = complete(clerk, case_of(case.number), "confirm_placement", {"placed": False, "reason": "本人放弃"},
                    at("2021-02-03 10:00"))
    assert case.status == "in_service"


def test_the_page_shows_the_missing_reason_beside_its_field(web, clerk):
    case = referred_on_2_february(clerk)
    task = open_task(case, "confirm_placement")
    refused = post(web, f"/tasks/{task.id}/complete",
                   {"case_number": case.number, "case_version": str(case.version), "placed": "false"},
                   page=f"/cases/{case.number}")
    assert refused.status_code == 400
    assert field_error(refused, "reason") == "必填"
    assert case_of(case.number).status == "referred"


def test_the_page_shows_the_seekers_skills_and_wishes(web, clerk):
    case = open_case(clerk, skills=["保洁", "电工"],
                     wishes={"kinds": ["sanitation", "community_service"], "min_monthly_pay": "1500",
                             "work_place": "鹿城镇", "available_from": "2021-02-15", "full_time": True,
                             "training_wish": "家政培训", "note": "需照顾老人"})
    page = web.get(f"/cases/{case.number}").get_data(as_text=True)
    wishes = section(page, "seeker-wishes")
    for expected in ("技能特长", "保洁", "电工", "意向岗位类别", "保洁环卫", "社区服务", "期望月工资", "¥1,500.00",
                     "意向工作地点 鹿城镇", "可到岗日期 2021年2月15日", "是否要求全日制 是", "培训意愿 家政培训",
                     "需照顾老人"):
        assert expected in wishes, expected
    assert "sanitation" not in wishes
    post(web, "/language", {"language": "en"})
    wishes = section(web.get(f"/cases/{case.number}").get_data(as_text=True), "seeker-wishes")
    for expected in ("Skills", "Cleaning and sanitation", "Community service", "CN¥1,500.00", "15 Feb 2021"):
        assert expected in wishes, expected


def test_a_seeker_who_left_the_service_is_not_shown_as_a_withdrawn_complaint(web, clerk):
    """temp_job's `withdrawn` (the seeker left the service) was shown with the complaint's name 已撤案."""
    case = open_case(clerk)
    case = complete(clerk, case, "market_outcome", {"market_outcome": "withdrawn", "note": "本人外出务工"},
                    at("2021-02-03 10:00"))
    assert case.status == "withdrawn"
    page = web.get(f"/cases/{case.number}").get_data(as_text=True)
    badge = re.search(r'id="case-status"[^>]*>([^<]*)<', page).group(1)
    assert badge == "已退出服务"
    listed = text_of(web.get("/cases?process=temp_job"))
    assert f"{case.number} 临时性岗位安置 杨秀英 已退出服务" in listed


@pytest.mark.parametrize("outcome,extra,english", [
    ("employed", {"employer": "楚雄鹿城物业公司"}, "Found a job on the market"),
    ("withdrawn", {"note": "本人外出务工"}, "Left the service"),
])
def test_the_closing_reason_in_english(web, clerk, outcome, extra, english):
    """The case summary's closing reason (set by the model in Chinese) was shown untranslated on the English page."""
    case = open_case(clerk)
    case = complete(clerk, case, "market_outcome", {"market_outcome": outcome, **extra}, at("2021-02-03 10:00"))
    assert post(web, "/language", {"language": "en"}).status_code == 302
    summary = section(web.get(f"/cases/{case.number}").get_data(as_text=True), "summary")
    assert f"Reason for closing {english}" in summary
