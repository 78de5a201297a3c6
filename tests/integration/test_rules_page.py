"""The rules page (/rules, web/rules_pages.py): every signed-in user sees each rule's value in force, its default and
its basis; an administrator changes a value or restores the default, a refused value is named beside its box and
changes nothing, and anyone else is refused; English titles; and the supervisors' banner when the campaign dates in
force belong to an earlier winter (engine.clear_zero.earlier_winter_campaign)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from engine import rule_settings
from engine.clear_zero import earlier_winter_campaign
from engine.rules import RULES
from engine.services._common import rule_values
from tests.conftest import SettableClock, at, make_user
from tests.integration.test_pages import FreshContextClient, post, sign_in, text_of
from web.rules_pages import RULE_TITLES

NOW = at("2021-02-02 10:00")


@pytest.fixture
def clock(app, ctx, monkeypatch):
    return SettableClock(app, monkeypatch, NOW)


def browser(app, username: str) -> FreshContextClient:
    client = FreshContextClient(app, app.response_class, use_cookies=True)
    assert sign_in(client, username).status_code == 302
    return client


@pytest.fixture
def admin(app, ctx, clock) -> FreshContextClient:
    make_user("admin_yn", ["admin"], "")
    return browser(app, "admin_yn")


def row_text(response, key: str) -> str:
    found = re.search(r'<tr id="rule-' + re.escape(key) + r'">(.*?)</tr>', response.get_data(as_text=True), re.S)
    assert found, f"no row for {key}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1)))


def in_force(key: str):
    return rule_values()[key]


def test_an_inspector_sees_every_rule_in_force_and_cannot_change_one(app, inspector, clock):
    web = browser(app, inspector.username)
    page = web.get("/rules")
    assert page.status_code == 200
    assert "规则参数" in text_of(page)
    for key, rule in RULES.items():
        assert rule.title in row_text(page, key)
    assert "5 个工作日" in row_text(page, "acceptance_review_days")
    assert "《关于实施〈劳动保障监察条例〉若干规定》第十八条" in row_text(page, "acceptance_review_days")
    assert 'action="/rules/' not in page.get_data(as_text=True)  # no forms offered
    refused = post(web, "/rules/acceptance_review_days", {"value": "9"}, page="/rules")
    assert refused.status_code == 403
    assert "只有系统管理员可以修改规则参数" in text_of(refused)
    assert in_force("acceptance_review_days") == 5


def test_an_administrator_changes_a_rule_and_restores_its_default(admin, clock):
    done = post(admin, "/rules/payment_deadline_days", {"value": "5"}, page="/rules")
    assert done.status_code == 302 and done.headers["Location"].endswith("/rules#rule-payment_deadline_days")
    assert in_force("payment_deadline_days") == 5
    page = admin.get("/rules")
    assert "已修改规则“整改支付期限（专项行动期间）”：现行取值 5" in text_of(page)
    row = row_text(page, "payment_deadline_days")
    assert "5 个工作日" in row and "admin_yn" in row and "恢复默认值" in row
    assert post(admin, "/rules/payment_deadline_days/reset", page="/rules").status_code == 302
    assert in_force("payment_deadline_days") == 3
    assert "恢复默认值" not in row_text(admin.get("/rules"), "payment_deadline_days")


def test_a_refused_value_is_named_beside_its_box_and_changes_nothing(admin, clock):
    bad = post(admin, "/rules/penalty_max_amount", {"value": "12,000"}, page="/rules")
    assert bad.status_code == 400
    row = row_text(bad, "penalty_max_amount")
    assert "取值应为金额（元，最多两位小数）" in row
    assert 'value="12,000"' in bad.get_data(as_text=True)  # what was typed stays in the box
    # Out of order with another rule: the lower limit may not exceed the upper one.
    clash = post(admin, "/rules/penalty_min_amount", {"value": "30000"}, page="/rules")
    assert clash.status_code == 400
    assert "不能大于 penalty_max_amount" in row_text(clash, "penalty_min_amount")
    assert in_force("penalty_max_amount") == 20000 and in_force("penalty_min_amount") == 2000
    assert post(admin, "/rules/no_such_rule", {"value": "1"}, page="/rules").status_code == 404
    # A negative number is out of range, not "no whole number" (QA).
    negative = post(admin, "/rules/payment_deadline_days", {"value": "-3"}, page="/rules")
    assert negative.status_code == 400 and "取值应在 1 至 250 之间" in row_text(negative, "payment_deadline_days")


def test_the_rules_page_in_english(admin, clock):
    assert post(admin, "/language", {"language": "en"}, page="/rules").status_code == 302
    page = admin.get("/rules")
    text = text_of(page)
    assert "Rules" in text and "Acceptance review period" in text
    assert "5 working days" in row_text(page, "acceptance_review_days")
    assert "1 day" in row_text(page, "referral_transfer_days") and "1 days" not in text  # one, not "1 days"
    bad = post(admin, "/rules/campaign_start", {"value": "1 Nov"}, page="/rules")
    assert bad.status_code == 400
    assert "should be a date YYYY-MM-DD" in row_text(bad, "campaign_start")


def test_every_rule_title_is_in_the_catalogue():
    assert {rule.title for rule in RULES.values()} <= set(RULE_TITLES)


def test_a_campaign_of_an_earlier_winter_is_told_to_supervisors(app, supervisor, inspector, clock):
    defaults = rule_values()  # the 2020-21 campaign
    assert earlier_winter_campaign(date(2021, 2, 2), defaults) is None  # that campaign's own winter
    assert earlier_winter_campaign(date(2021, 7, 1), defaults) is None  # no campaign runs in summer
    assert earlier_winter_campaign(date(2021, 11, 20), defaults).start == date(2020, 11, 1)
    assert earlier_winter_campaign(date(2022, 1, 10), defaults) is not None

    clock.set(at("2021-11-20 10:00"))
    web = browser(app, supervisor.username)
    page = web.get("/tasks")
    assert "现行的根治欠薪冬季专项行动日期是 2020年11月1日 至 2021年2月10日，不是本年度的" in text_of(page)
    assert 'href="/rules#rule-campaign_start"' in page.get_data(as_text=True)
    assert 'id="earlier-campaign"' not in browser(app, inspector.username).get("/tasks").get_data(as_text=True)
    for key, value in (("clear_zero_spring_festival_deadline", "2022-01-31"),
                       ("clear_zero_year_end_deadline", "2021-12-31"), ("campaign_start", "2021-11-01")):
        rule_settings.set_rule(key, value, "test", at("2021-11-20 10:00"))
    assert 'id="earlier-campaign"' not in web.get("/tasks").get_data(as_text=True)
