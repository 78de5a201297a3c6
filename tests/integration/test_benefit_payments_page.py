"""A benefit claim's payments on its case page (web/benefit_pages.py, web/templates/_benefit_payments.html): the
monthly schedule with its amounts, statuses, totals and overpaid months; the stop form offered to whom the engine
lets stop (a clerk, not an inspector); stopping, which then shows the stopped months; bad input named beside its
field with nothing changed; a concurrent change and a second stop as 409s; another county's clerk gets a 404; and
the page in English."""

from __future__ import annotations

import io
import json
import re

import pytest
from sqlalchemy import select

from engine import benefit_payments, services
from engine.actors import Actor
from engine.db import db
from engine.models import AuditEvent, Case
from engine.services.cases import open_tasks
from tests.conftest import SettableClock, at, make_user
from tests.factories import wage_arrears_intake
from tests.integration.test_benefit_claim import claim_data
from tests.integration.test_pages import FreshContextClient, field_error, post, sign_in, text_of
from tests.integration.test_temp_job_page import section
from web.forms import extract_schema_strings

OPENED = at("2021-02-01 10:00")  # a Monday
TODAY = at("2021-04-10 10:00")  # March and April paid, May to February still to pay


@pytest.fixture
def clock(app, ctx, monkeypatch):
    """The pages' clock, fixed (tests move it with clock.set)."""
    return SettableClock(app, monkeypatch, TODAY)


def browser(app, username: str) -> FreshContextClient:
    client = FreshContextClient(app, app.response_class, use_cookies=True)
    assert sign_in(client, username).status_code == 302
    return client


@pytest.fixture
def web(app, rates, clerk, clock):
    """The Chuxiong city clerk (532301) signed in."""
    return browser(app, clerk.username)


def paying_claim(clerk: Actor) -> Case:
    """A claim registered and approved on 1 March for 12 months of 1350.00 from March (the registration month);
    March and April paid."""
    data = claim_data(contribution_months=12, separation_date="2021-02-15",
                      unemployment_registration_date="2021-03-01")
    case = services.open_case(clerk, "benefit_claim", "532301", data, at("2021-03-01 10:00"))
    assert case.status == "approved"
    benefit_payments.run_payments(at("2021-04-01 09:00"))
    return fresh(case.number)


def fresh(number: str) -> Case:
    db.session.expire_all()
    return db.session.scalar(select(Case).where(Case.number == number))


def statuses(case: Case) -> list[str]:
    db.session.expire_all()
    return [r.status for r in benefit_payments.payments_for_case(case)]


def stop(client, case: Case, version: int | None = None, **fields):
    data = {"reason": "reemployed", "note": "已在楚雄某物流公司就业", "effective_on": "2021-04-01",
            "case_version": str(case.version if version is None else version), **fields}
    data = {k: v for k, v in data.items() if v is not None}
    return post(client, f"/cases/{case.number}/payments/stop", data, page=f"/cases/{case.number}")


def stop_events(case: Case) -> int:
    return len(db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id,
                                                            AuditEvent.kind == "payments_stopped")).all())


# ---------------------------------------------------------------------------------------------------------------
# The schedule.

def test_the_schedule_with_amounts_statuses_and_totals(web, clerk):
    case = paying_claim(clerk)
    response = web.get(f"/cases/{case.number}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert section(page, "payment-2021-03") == "2021年3月 2021年3月1日 ¥1,350.00 已发放 2021年4月1日 09:00"
    assert section(page, "payment-2021-04").startswith("2021年4月 2021年4月1日 ¥1,350.00 已发放")
    assert section(page, "payment-2021-05") == "2021年5月 2021年5月1日 ¥1,350.00 待发放 —"
    assert section(page, "payment-2022-02").startswith("2022年2月")
    assert page.count('<tr id="payment-') == 12
    # The totals as the API's: paid 2 x 1350, still to pay 10 x 1350; nothing stopped or overpaid yet.
    totals = section(page, "payment-totals")
    assert "已发放金额 ¥2,700.00" in totals and "待发放金额 ¥13,500.00" in totals
    assert 'id="total-cancelled"' not in page and 'id="overpaid"' not in page
    # Codes never shown, the ID number still masked.
    schedule = section(page, "payments")
    for code in ("scheduled", "paid", "2021-03 "):
        assert code not in schedule, code
    assert case.subject_id_number not in page


def test_no_section_while_there_is_no_schedule(web, clerk):
    under_review = services.open_case(clerk, "benefit_claim", "532301",
                                      claim_data(contribution_months=30, separation_reason="voluntary"), OPENED)
    refused = services.open_case(clerk, "benefit_claim", "532301", claim_data(2, registered_unemployed=False),
                                 OPENED)
    assert (under_review.status, refused.status) == ("under_review", "rejected")
    for case in (under_review, refused):
        response = web.get(f"/cases/{case.number}")
        assert response.status_code == 200
        assert 'id="payments"' not in response.get_data(as_text=True)
        assert "待遇发放" not in text_of(response)


def test_the_stop_form_is_offered_to_a_clerk_and_a_supervisor_not_to_an_inspector(app, web, clerk, inspector,
                                                                                  supervisor):
    case = paying_claim(clerk)
    page = web.get(f"/cases/{case.number}").get_data(as_text=True)
    form = section(page, "form-stop-payments")
    for words in ("停发原因", "重新就业", "无正当理由拒不接受当地人民政府指定部门或者机构介绍的适当工作",
                  "其他依法停止领取的情形", "说明", "停发生效日期（默认今天）"):
        assert words in form, words
    assert "reemployed" not in form and "refused_work" not in form  # the options' values only
    assert re.search(r'<select id="stop-f-reason" name="reason" required', page)
    assert re.search(r'type="date" id="stop-f-effective_on" name="effective_on"[^>]* max="2021-04-10"', page)
    assert 'name="csrf_token"' in re.search(r'<form[^>]*id="form-stop-payments".*?</form>', page, re.S).group(0)
    assert 'id="form-stop-payments"' in browser(app, supervisor.username).get(f"/cases/{case.number}").get_data(
        as_text=True)
    # The inspector sees the schedule but no form, and a stop posted all the same is refused by the engine.
    inspecting = browser(app, inspector.username)
    page = inspecting.get(f"/cases/{case.number}").get_data(as_text=True)
    assert 'id="payments"' in page and 'id="form-stop-payments"' not in page
    refused = stop(inspecting, case)
    assert refused.status_code == 403
    assert "只有失业保险经办人员或主管可以停发待遇" in text_of(refused)
    assert statuses(case) == ["paid"] * 2 + ["scheduled"] * 10 and stop_events(case) == 0


# ---------------------------------------------------------------------------------------------------------------
# Stopping.

def test_stopping_shows_the_stopped_and_overpaid_months(web, clerk):
    case = paying_claim(clerk)
    response = stop(web, case)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cases/{case.number}#payments")
    page = web.get(f"/cases/{case.number}")
    body = text_of(page)
    assert f"已停发待遇：{case.number}" in body  # the flash message
    html = page.get_data(as_text=True)
    assert 'id="case-status" style="font-size: 1rem;">已停发<' in html
    # April began on the effective date: paid, now to be recovered; March stays paid; the rest never paid.
    assert statuses(case) == ["paid", "overpaid"] + ["cancelled"] * 10
    assert section(html, "payment-2021-03").startswith("2021年3月 2021年3月1日 ¥1,350.00 已发放")
    assert section(html, "payment-2021-04").startswith("2021年4月 2021年4月1日 ¥1,350.00 多发待追回")
    assert section(html, "payment-2021-05") == "2021年5月 2021年5月1日 ¥1,350.00 已停发 —"
    totals = section(html, "payment-totals")
    assert "已发放金额 ¥1,350.00" in totals and "待发放金额 ¥0.00" in totals and "停发金额 ¥13,500.00" in totals
    assert section(html, "overpaid") == "多发待追回：2021年4月，共 ¥1,350.00"
    assert re.search(r"<dt[^>]*>停发生效日期</dt>\s*<dd[^>]*>2021年4月1日</dd>", html), "the summary states from when"
    # Payments cannot be stopped twice: no form any more.
    assert 'id="form-stop-payments"' not in html
    assert stop_events(case) == 1
    assert case.subject_id_number not in html


def test_the_reason_of_a_stop_is_shown_in_words(web, clerk):
    case = paying_claim(clerk)
    assert stop(web, case, reason="other", note="死亡").status_code == 302
    html = web.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "其他依法停止领取的情形" in html and ">other<" not in html


def test_a_stopped_schedule_stopped_again_is_a_409_and_changes_nothing(web, clerk):
    case = paying_claim(clerk)
    seen = case.version
    assert stop(web, case).status_code == 302
    case = fresh(case.number)
    # The same form posted twice (the version seen before the first stop): someone changed the case.
    again = stop(web, case, version=seen)
    assert again.status_code == 409
    assert "有人已修改了此案件，请重新加载页面后再办理。" in text_of(again)
    # With the current version (a crafted post): the engine's reason, in words.
    crafted = stop(web, case, reason="other", note="再次停发")
    assert crafted.status_code == 409
    assert "案件状态为“已停发”，没有可停发的待遇" in text_of(crafted)
    assert stop_events(case) == 1 and fresh(case.number).version == case.version
    assert statuses(case) == ["paid", "overpaid"] + ["cancelled"] * 10


def test_a_month_paid_since_the_page_was_read_is_a_409_keeping_what_was_typed(web, clerk, clock):
    case = paying_claim(clerk)
    seen = case.version
    clock.set(at("2021-05-03 10:00"))
    benefit_payments.run_payments(at("2021-05-01 09:00"))  # May paid meanwhile: the case's version moved
    response = stop(web, case, version=seen, note="五月已就业", effective_on="2021-05-01")
    assert response.status_code == 409
    assert "有人已修改了此案件，请重新加载页面后再办理。" in text_of(response)
    page = response.get_data(as_text=True)
    assert "五月已就业" in section(page, "form-stop-payments")  # kept, to send again after a look
    assert f'name="case_version" value="{fresh(case.number).version}"' in page
    assert section(page, "payment-2021-05").startswith("2021年5月 2021年5月1日 ¥1,350.00 已发放")
    assert statuses(case) == ["paid"] * 3 + ["scheduled"] * 9 and stop_events(case) == 0


@pytest.mark.parametrize("fields,name,error", [
    ({"reason": "", "note": "", "effective_on": ""}, "reason", "必填"),
    ({"reason": "", "note": "", "effective_on": ""}, "note", "必填"),
    ({"note": "   "}, "note", "必填"),
    ({"reason": "holiday"}, "reason", None),  # 取值应为 ...
    ({"effective_on": "2021-13-01"}, "effective_on", "日期格式须为 YYYY-MM-DD"),
    ({"effective_on": "10/04/2021"}, "effective_on", "日期格式须为 YYYY-MM-DD"),
    ({"effective_on": "2021-04-11"}, "effective_on", "停发生效日期不能晚于今天"),
    ({"effective_on": "1900-01-01"}, "effective_on", "停发生效日期不能早于申领日期（2021-03-01）"),
    ({"note": "x" * 501}, "note", "最多 500 个字符"),
])
def test_bad_input_is_named_beside_its_field_and_changes_nothing(web, clerk, fields, name, error):
    case = paying_claim(clerk)
    response = stop(web, case, **fields)
    assert response.status_code == 400
    found = field_error(response, name)
    assert found is not None, text_of(response)
    assert found == error if error else found.startswith("取值应为")
    assert "提交的内容有误，请按提示修改标红的栏目。" in section(response.get_data(as_text=True), "form-stop-payments")
    assert fresh(case.number).version == case.version and fresh(case.number).status == "paying"
    assert statuses(case) == ["paid"] * 2 + ["scheduled"] * 10 and stop_events(case) == 0


@pytest.mark.parametrize("fields", [
    {"note": "已就业\x00"},
    {"reason": "reemployed\x00"},
    {"effective_on": "2021-04-01\x00"},
])
def test_nul_characters_are_refused_without_a_500(web, clerk, fields):
    case = paying_claim(clerk)
    response = stop(web, case, **fields)
    assert response.status_code == 400
    assert "不能含有 NUL" in text_of(response)
    assert statuses(case) == ["paid"] * 2 + ["scheduled"] * 10 and stop_events(case) == 0


@pytest.mark.parametrize("version", ["", "abc", "²", "9" * 5000, "-1"])
def test_a_form_without_its_case_version_changes_nothing(web, clerk, version):
    case = paying_claim(clerk)
    response = post(web, f"/cases/{case.number}/payments/stop",
                    {"reason": "reemployed", "note": "已就业", "case_version": version},
                    page=f"/cases/{case.number}")
    assert response.status_code == 400
    assert "必填，须为整数（案件当前版本号）" in text_of(response)
    assert statuses(case) == ["paid"] * 2 + ["scheduled"] * 10 and stop_events(case) == 0


def test_a_stop_without_the_csrf_token_is_refused(web, clerk):
    case = paying_claim(clerk)
    response = web.post(f"/cases/{case.number}/payments/stop",
                        data={"reason": "reemployed", "note": "已就业", "case_version": str(case.version)})
    assert response.status_code == 400
    assert statuses(case) == ["paid"] * 2 + ["scheduled"] * 10 and stop_events(case) == 0


def test_another_countys_clerk_gets_a_404(app, web, clerk):
    case = paying_claim(clerk)
    far = browser(app, make_user("clerk_sb", ["clerk"], "532322").username)
    response = far.get(f"/cases/{case.number}")
    assert response.status_code == 404 and "页面不存在" in text_of(response)
    refused = post(far, f"/cases/{case.number}/payments/stop",
                   {"reason": "reemployed", "note": "已就业", "case_version": str(case.version)})
    assert refused.status_code == 404
    assert statuses(case) == ["paid"] * 2 + ["scheduled"] * 10 and stop_events(case) == 0


def test_only_a_benefit_claim_has_payments_to_stop(web, clerk, inspector):
    complaint = services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(), OPENED)
    response = post(web, f"/cases/{complaint.number}/payments/stop",
                    {"reason": "reemployed", "note": "已就业", "case_version": str(complaint.version)})
    assert response.status_code == 404
    assert 'id="payments"' not in web.get(f"/cases/{complaint.number}").get_data(as_text=True)
    assert post(web, "/cases/NO-SUCH-CASE/payments/stop", {"reason": "reemployed"}).status_code == 404
    assert web.get(f"/cases/{complaint.number}/payments/stop").status_code == 405


# ---------------------------------------------------------------------------------------------------------------
# English.

def test_the_page_in_english(web, clerk):
    case = paying_claim(clerk)
    assert post(web, "/language", {"language": "en", "next": f"/cases/{case.number}"}).status_code == 302
    response = web.get(f"/cases/{case.number}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'lang="en"' in page
    assert section(page, "payment-2021-03").startswith("Mar 2021 1 Mar 2021")
    assert "Re-employed" in section(page, "form-stop-payments")  # a reason the catalogue already has
    # Stopping in English: bad input re-rendered, then done, then the page with the overpaid month.
    bad = post(web, f"/cases/{case.number}/payments/stop", {"reason": "reemployed", "note": "x",
                                                           "effective_on": "2021-05-01",
                                                           "case_version": str(case.version)},
               page=f"/cases/{case.number}")
    assert bad.status_code == 400
    assert stop(web, case).status_code == 302
    page = web.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "Apr 2021" in section(page, "overpaid")
    again = stop(web, fresh(case.number))
    assert again.status_code == 409
    assert "Stopped" in text_of(again)  # the status named in the engine's refusal, in words


def test_the_stop_form_texts_are_listed_for_the_catalogue():
    """STOP_SCHEMA is defined in Python, out of babel.cfg's reach: web/benefit_pages.py lists its texts."""
    from web.benefit_pages import STOP_FORM_TEXTS

    source = io.BytesIO(json.dumps(benefit_payments.STOP_SCHEMA, ensure_ascii=False).encode())
    texts = {message for _line, _fn, message, _comments in extract_schema_strings(source, None, None, None)}
    assert texts <= set(STOP_FORM_TEXTS), texts - set(STOP_FORM_TEXTS)



def test_the_history_names_a_decision_as_its_form_offered_it(web, clerk):
    """QA: the history named a benefit clerk's rejection "不予受理" (the wage-arrears choice of the same code) and
    an exit review's outcome by its code ("post_ended"); it now reads the title the task's form gave the choice."""
    data = claim_data(contribution_months=12, separation_reason="voluntary", separation_date="2021-02-15",
                      unemployment_registration_date="2021-03-01")
    case = services.open_case(clerk, "benefit_claim", "532301", data, at("2021-03-01 10:00"))
    assert case.status == "under_review"
    task = next(t for t in open_tasks(case) if t.name == "review_claim")
    services.complete_task(clerk, task.id, {"decision": "reject", "reason": "本人主动辞职"}, case.version,
                           at("2021-03-01 11:00"))
    history = section(web.get(f"/cases/{case.number}").get_data(as_text=True), "history")
    assert "不予核定" in history and "不予受理" not in history


def test_a_claim_awaiting_review_shows_the_rules_suggestion_not_a_decision(web, clerk, clock):
    """Before a clerk decides, the summary showed the suggested type as 待遇类型 with 享受月数 0 (the subsidy's months
    are only computed on approval), which read as "decided: subsidy for 0 months". Undecided, it shows only the
    suggestion; the clerk's decision, once made, fills the decision fields."""
    clock.set(OPENED)
    data = claim_data(contribution_months=30, separation_reason="voluntary")
    case = services.open_case(clerk, "benefit_claim", "532301", data, OPENED)
    assert case.status == "under_review"
    assert case.summary["suggested_type"] == "unemployment_subsidy"
    assert (case.summary["benefit_type"], case.summary["months"], case.summary["monthly_amount"]) == (None,) * 3
    summary = section(web.get(f"/cases/{case.number}").get_data(as_text=True), "summary")
    assert "规则建议待遇类型 失业补助金" in summary
    assert "待遇类型 失业补助金" not in summary.replace("规则建议待遇类型 失业补助金", "")
    assert "享受月数" not in summary
    [task] = [t for t in open_tasks(case) if t.name == "review_claim"]
    services.complete_task(clerk, task.id, {"decision": "approve", "reason": "本人辞职，核定失业补助金"},
                           case.version, OPENED)
    case = fresh(case.number)
    assert (case.status, case.summary["benefit_type"], case.summary["months"]) == (
        "approved", "unemployment_subsidy", 6)
    summary = section(web.get(f"/cases/{case.number}").get_data(as_text=True), "summary")
    assert "享受月数 6" in summary


def test_the_history_names_a_refused_claims_status_as_its_badge_does(web, clerk, clock):
    """The history's status change said 审核中 → 不予受理 (a complaint's rejection) for a refused claim, whose status
    badge and letter say 不予核定."""
    clock.set(OPENED)
    # Filed 3 months after separating (past the filing period): a clerk reviews it, and refuses it as the rules do.
    data = claim_data(registered_unemployed=False, separation_date="2020-11-01")
    case = services.open_case(clerk, "benefit_claim", "532301", data, OPENED)
    [task] = [t for t in open_tasks(case) if t.name == "review_claim"]
    services.complete_task(clerk, task.id, {"decision": "reject", "reason": "未办理失业登记"}, case.version, OPENED)
    case = fresh(case.number)
    assert case.status == "rejected"
    page = web.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "不予核定" in section(page, "case-status")
    history = section(page, "history")
    assert "审核中 → 不予核定" in history and "不予受理" not in history


def test_the_status_filter_offers_the_statuses_cases_have_and_finds_refused_claims(web, clerk, clock):
    """The case list's and the queue's status filter offered 已提交, 不予核准 and 不符合条件, which no case ever has (a
    search by them is always empty), and offered a refused claim's status only as 不予受理."""
    clock.set(OPENED)
    data = claim_data(registered_unemployed=False)
    case = services.open_case(clerk, "benefit_claim", "532301", data, OPENED)
    assert case.status == "rejected"
    for path in ("/cases", "/tasks"):
        page = web.get(path).get_data(as_text=True)
        start = page.index('<select name="status"')
        select_markup = page[start:page.index("</select>", start)]
        options = dict(re.findall(r'<option value="([a-z_]+)"\s*>([^<]*)</option>', select_markup))
        assert not {"submitted", "refused", "not_eligible"} & set(options)
        assert "不予核定" in options["rejected"] and "不予受理" in options["rejected"]
    listed = text_of(web.get("/cases?status=rejected&process=benefit_claim"))
    assert case.number in listed


def test_a_claim_sent_for_approval_by_its_total_shows_the_total(web, clerk, clock):
    """A total above claim_supervisor_ceiling (30000) sends a claim to a supervisor, but the page showed only the
    months and the monthly amount: the figure the approval is about was missing (the letter states 合计金额)."""
    clock.set(OPENED)
    case = services.open_case(clerk, "benefit_claim", "532301", claim_data(contribution_months=130), OPENED)
    assert case.status == "awaiting_approval"
    assert (case.summary["months"], case.summary["monthly_amount"], case.summary["total_amount"]) == (
        24, "1350.00", "32400.00")
    summary = section(web.get(f"/cases/{case.number}").get_data(as_text=True), "summary")
    assert "合计金额 ¥32,400.00" in summary
