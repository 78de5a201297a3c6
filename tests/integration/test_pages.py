"""The pages for inspectors, clerks and supervisors, through the Flask test client with CSRF enabled (TestConfig):
sign-in, lock-out, sign-out, the forced password change, the language switch, the queues (claim, release,
filters, sort, pagination), the case page (masked ID and the audited reveal, task forms with errors beside the
fields, the stale-version message, documents, diagram), intake forms, the posts catalogue and the error pages.

The pages read the clock from `app.config["CLOCK"]` (web.api.now), set per test to a fixed Beijing time."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, select

from engine import accounts, documents, services, sign_in_lock
from engine.actors import Actor
from engine.db import db
from engine.models import AuditEvent, Case, SignInFailure, Task, User
from engine.services.cases import open_tasks
from tests.conftest import SettableClock, at, make_user
from tests.factories import _valid_ric, wage_arrears_intake
from web.forms import form_values

PASSWORD = "correct-horse-9"
OPENED = at("2021-02-01 09:00")  # a Monday
NOW = at("2021-02-02 10:00")
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


# ---------------------------------------------------------------------------------------------------------------
# Helpers.

class FreshContextClient(FlaskClient):
    """Each request in an app context of its own, as on a real server. The `ctx` fixture keeps one app context
    open for the whole test, and requests would otherwise share its `g` (Flask-Login's cached user, Flask-WTF's
    cached CSRF token) and its database session."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    return FreshContextClient(app, app.response_class, use_cookies=True)


@pytest.fixture
def clock(app, ctx, monkeypatch):
    """The pages' clock, fixed (tests move it with clock.set)."""
    return SettableClock(app, monkeypatch, NOW)


def token(client, url: str = "/login") -> str:
    page = client.get(url)
    found = CSRF_RE.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {url}"
    return found.group(1) or found.group(2)


def sign_in(client, username: str, password: str = PASSWORD, follow: bool = False):
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token(client)},
                       follow_redirects=follow)


def post(client, url: str, data: dict | None = None, page: str = "/tasks", **kwargs):
    """A form POST with the CSRF token of `page` (any signed-in page carries it)."""
    body = dict(data or {})
    body["csrf_token"] = token(client, page)
    return client.post(url, data=body, **kwargs)


def text_of(response) -> str:
    """The visible text of a page, whitespace collapsed."""
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def field_error(response, name: str) -> str | None:
    """The error shown beside the input called `name` (None when there is none)."""
    page = response.get_data(as_text=True)
    block = re.search(r'<div class="field has-error" data-field="' + re.escape(name) + r'">(.*?)</div>\s*(?:<div|</)',
                      page, re.S)
    if not block:
        return None
    found = re.search(r'class="field-error"[^>]*>([^<]+)<', block.group(1))
    return html.unescape(found.group(1)).strip() if found else None


def open_wage_case(actor: Actor, region: str = "532301", **overrides) -> Case:
    return services.open_case(actor, "wage_arrears", region, wage_arrears_intake(**overrides), OPENED)


def the_task(case: Case, name: str = "review_complaint") -> Task:
    found = [t for t in open_tasks(case) if t.name == name]
    assert len(found) == 1
    return found[0]


@pytest.fixture
def web(client, inspector, clock):
    """The inspector (532301) signed in."""
    assert sign_in(client, inspector.username).status_code == 302
    return client


# ---------------------------------------------------------------------------------------------------------------
# Sign-in, sessions, CSRF.

def test_pages_need_a_signed_in_user(client, clock):
    for url in ("/", "/tasks", "/cases", "/cases/new", "/posts", "/cases/WA-532301-2021-000001"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login?next=" in response.headers["Location"]
    page = client.get("/login")
    assert page.status_code == 200
    assert "登录" in text_of(page) and 'lang="zh-CN"' in page.get_data(as_text=True)


def test_sign_in_sets_a_secure_session_and_redirects_to_next(client, inspector, clock):
    response = client.post("/login?next=/cases", data={
        "username": inspector.username, "password": PASSWORD, "csrf_token": token(client, "/login?next=/cases")})
    assert response.status_code == 302 and response.headers["Location"] == "/cases"
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/cases").status_code == 200
    # An absolute URL in `next` is not followed (no open redirect).
    post(client, "/logout")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example/", "/%09/evil.example/"):
        response = client.post("/login?next=" + target, data={
            "username": inspector.username, "password": PASSWORD, "csrf_token": token(client)})
        assert response.headers["Location"] == "/", target
        post(client, "/logout")


def test_signed_in_pages_are_not_cached_or_framed(web, client, inspector, clock):
    page = web.get("/tasks")
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["X-Content-Type-Options"] == "nosniff"
    # Security review: no Content-Security-Policy; a notice PDF (names, addresses), an export and the API's JSON
    # could be kept in a shared PC's cache.
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy and "unsafe-eval" not in policy
    assert "<script>" not in page.get_data(as_text=True)  # no inline script for the policy to block
    case = open_wage_case(inspector)
    services.complete_task(inspector, the_task(case).id, {"decision": "accept"}, case.version, OPENED)
    documents.render_pending(OPENED)
    notice = web.get(f"/documents/{documents.documents_for_case(case)[0].id}")
    assert notice.status_code == 200 and notice.headers["Cache-Control"] == "no-store"
    notice.close()
    token = client.post("/api/v1/auth/token", json={"username": inspector.username, "password": PASSWORD})
    assert token.headers["Cache-Control"] == "no-store"
    bearer = {"Authorization": "Bearer " + token.get_json()["token"]}
    assert client.get(f"/api/v1/cases/{case.number}", headers=bearer).headers["Cache-Control"] == "no-store"
    script = web.get("/static/js/case-diagram.js")  # the site's own files stay cacheable
    assert "no-store" not in script.headers.get("Cache-Control", "")
    script.close()


def test_wrong_password_then_lock_out(client, inspector, clock):
    response = sign_in(client, inspector.username, "wrong-password-1")
    assert response.status_code == 401
    assert "用户名或密码错误" in text_of(response)
    assert sign_in(client, "nobody-here", "wrong-password-1").status_code == 401  # same answer for unknown users
    for _ in range(4):
        sign_in(client, inspector.username, "wrong-password-1")
    locked = sign_in(client, inspector.username)  # the right password, but locked now
    assert locked.status_code == 429
    # For how long, and the way out (the lock minutes are LOGIN_LOCK_MINUTES, 15 by default).
    assert "该用户名在本机已锁定 15 分钟" in text_of(locked)
    assert "flask users reset-password" in text_of(locked)
    lock = db.session.get(SignInFailure, (sign_in_lock.name_key(inspector.username),
                                          sign_in_lock.address_key("127.0.0.1")))
    assert lock is not None and lock.locked_until is not None


def test_post_without_csrf_token_is_refused(client, inspector, clock):
    response = client.post("/login", data={"username": inspector.username, "password": PASSWORD})
    assert response.status_code == 400
    assert "表单已失效" in text_of(response)
    assert 'class="topbar"' in response.get_data(as_text=True)  # the site's look, no traceback
    assert sign_in(client, inspector.username).status_code == 302
    case = open_wage_case(inspector)
    task = the_task(case)
    refused = client.post(f"/tasks/{task.id}/claim", data={})
    assert refused.status_code == 400
    db.session.expire_all()
    assert db.session.get(Task, task.id).assignee_id is None
    # A token from another session does not work either.
    other = FreshContextClient(client.application, client.application.response_class)
    stolen = token(other)
    assert client.post(f"/tasks/{task.id}/claim", data={"csrf_token": stolen}).status_code == 400


def test_sign_out_is_a_post(web):
    assert web.get("/logout").status_code == 405
    response = post(web, "/logout", follow_redirects=True)
    assert "您已安全退出" in text_of(response)
    assert web.get("/tasks").status_code == 302


def test_forced_password_change(client, clock):
    accounts.create_user("new_clerk", "Temp-pass-123", ["clerk"], "532301", OPENED, must_change_password=True)
    db.session.commit()
    response = sign_in(client, "new_clerk", "Temp-pass-123")
    assert response.headers["Location"] == "/password"
    for url in ("/tasks", "/cases", "/posts"):
        assert client.get(url).headers["Location"] == "/password", url
    page = client.get("/password")
    assert "须先设置新密码" in text_of(page)
    wrong = post(client, "/password", {"current_password": "nope-nope-1", "new_password": "Better-pass-456",
                                       "confirm": "Better-pass-456"}, page="/password")
    assert wrong.status_code == 400 and "当前密码不正确" in text_of(wrong)
    weak = post(client, "/password", {"current_password": "Temp-pass-123", "new_password": "short1",
                                      "confirm": "short1"}, page="/password")
    assert weak.status_code == 400 and "密码至少 10 位" in text_of(weak)
    mismatch = post(client, "/password", {"current_password": "Temp-pass-123", "new_password": "Better-pass-456",
                                          "confirm": "Better-pass-789"}, page="/password")
    assert mismatch.status_code == 400 and "两次输入的新密码不一致" in text_of(mismatch)
    done = post(client, "/password", {"current_password": "Temp-pass-123", "new_password": "Better-pass-456",
                                      "confirm": "Better-pass-456"}, page="/password")
    assert done.status_code == 302
    assert client.get("/tasks").status_code == 200
    user = db.session.scalar(select(User).where(User.username == "new_clerk"))
    db.session.refresh(user)
    assert not user.must_change_password
    post(client, "/logout")
    assert sign_in(client, "new_clerk", "Better-pass-456").headers["Location"] == "/"


# ---------------------------------------------------------------------------------------------------------------
# Language.

def test_language_switch_is_remembered_per_user(web, inspector, clock):
    case = open_wage_case(inspector)
    chinese = web.get("/tasks?view=unassigned")
    assert "本辖区未认领" in text_of(chinese) and "受理审查" in text_of(chinese)
    assert post(web, "/language", {"language": "en", "next": "/tasks?view=unassigned"}).status_code == 302
    english = web.get("/tasks?view=unassigned")
    body = text_of(english)
    assert "Unassigned in my region" in body and "Acceptance review" in body and "受理审查" not in body
    assert 'lang="en"' in english.get_data(as_text=True)
    page = text_of(web.get(f"/cases/{case.number}"))
    assert "Wage arrears complaint" in page and "Review decision" in page  # schema titles too
    assert "1 Feb 2021" in page  # dates in the English format
    refused = text_of(web.get("/cases?region=5323"))  # a filter refused by its name on the page, in English
    assert "Region: " in refused and "region:" not in refused
    # Remembered on the user: a new session (another browser) starts in English.
    other = FreshContextClient(web.application, web.application.response_class)
    sign_in(other, inspector.username)
    assert "My tasks" in text_of(other.get("/tasks"))
    user = db.session.scalar(select(User).where(User.username == inspector.username))
    db.session.refresh(user)
    assert user.language == "en"
    post(web, "/language", {"language": "zh_CN"})
    assert "我的待办" in text_of(web.get("/tasks"))
    # An unknown language changes nothing.
    post(web, "/language", {"language": "xx"})
    assert "我的待办" in text_of(web.get("/tasks"))


def test_dates_and_money_in_chinese_format(web, inspector):
    case = open_wage_case(inspector)
    body = text_of(web.get(f"/cases/{case.number}"))
    assert "2021年2月1日 09:00" in body
    assert "¥126,000.00" in body


def test_engine_errors_are_translated(web, inspector, app):
    from flask_babel import force_locale

    from web import labels, messages

    with app.test_request_context(), force_locale("en"):
        assert messages.message("必填") == "Required"
        assert messages.message("不得小于 3") == "Must not be less than 3"
        assert messages.message("此任务须由「supervisor」角色办理") == "This task needs the role “Section head”"
        assert labels.status_label("investigating") == "Investigating"
        assert labels.task_label("investigate") == "Investigate"


# ---------------------------------------------------------------------------------------------------------------
# Queues.

def test_queues_claim_and_release_from_the_list(web, inspector, far_inspector, clock):
    mine = open_wage_case(inspector)
    open_wage_case(inspector)
    open_wage_case(far_inspector, region="532322")  # another county: never listed
    page = web.get("/tasks?view=unassigned")
    rows = re.findall(r'data-task-id="([^"]+)"', page.get_data(as_text=True))
    assert len(rows) == 2
    assert "532322" not in page.get_data(as_text=True)
    task = the_task(mine)
    response = post(web, f"/tasks/{task.id}/claim", {"next": "/tasks?view=unassigned"}, follow_redirects=True)
    assert "已认领：受理审查（" + mine.number + "）" in text_of(response)
    assert len(re.findall(r'data-task-id="', response.get_data(as_text=True))) == 1
    mine_page = web.get("/tasks?view=mine")
    assert re.findall(r'data-task-id="([^"]+)"', mine_page.get_data(as_text=True)) == [task.id]
    assert "退回" in text_of(mine_page)
    released = post(web, f"/tasks/{task.id}/release", {"next": "/tasks?view=mine"}, follow_redirects=True)
    assert "已退回" in text_of(released)
    db.session.expire_all()
    assert db.session.get(Task, task.id).assignee_id is None


def test_claiming_a_task_someone_holds_says_so(web, inspector, clock):
    case = open_wage_case(inspector)
    task = the_task(case)
    colleague = Actor.of(make_user("insp_cx2", ["inspector"], "532301"))
    services.claim_task(colleague, task.id, OPENED)
    response = post(web, f"/tasks/{task.id}/claim", follow_redirects=True)
    assert "该任务已由 insp_cx2 认领" in text_of(response)


def test_overdue_view_filters_sort_and_pagination(web, inspector, clock, monkeypatch):
    import web.pages as pages

    monkeypatch.setattr(pages, "PER_PAGE", 2)
    cases = [open_wage_case(inspector) for _ in range(3)]
    services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(), OPENED + timedelta(days=3))
    assert "当前没有符合条件的任务" in text_of(web.get("/tasks?view=overdue"))
    clock.set(OPENED + timedelta(days=9))  # review_complaint is due within 5 working days
    overdue = web.get("/tasks?view=overdue")
    body = text_of(overdue)
    assert "已逾期" in body and "共 3 条" in body
    assert "1 / 2" in body and "下一页" in body
    assert 'class="overdue"' in overdue.get_data(as_text=True)
    second = web.get("/tasks?view=overdue&page=2")
    assert "共 3 条" in text_of(second) and len(re.findall(r'data-task-id="', second.get_data(as_text=True))) == 1
    # Sorted by due time, both ways; the latest-due (not overdue) task comes first when reversed.
    first_asc = re.findall(r"/cases/(WA-[0-9-]+)\"", web.get("/tasks?view=all").get_data(as_text=True))[0]
    first_desc = re.findall(r"/cases/(WA-[0-9-]+)\"", web.get("/tasks?view=all&sort=-due").get_data(as_text=True))[0]
    assert first_asc in {c.number for c in cases}
    assert first_desc not in {c.number for c in cases}  # the case opened three days later is due last
    # Filters: another process or another county's region show nothing.
    assert "当前没有符合条件的任务" in text_of(web.get("/tasks?view=all&process=benefit_claim"))
    assert "当前没有符合条件的任务" in text_of(web.get("/tasks?view=all&region=532322"))
    assert "共 4 条" in text_of(web.get("/tasks?view=all&process=wage_arrears&region=532301&status=received"))
    services.complete_task(inspector, the_task(cases[0]).id, {"decision": "accept"}, cases[0].version, OPENED)
    investigating = web.get("/tasks?view=all&status=investigating")
    assert "共 1 条" in text_of(investigating) and cases[0].number in investigating.get_data(as_text=True)
    assert "共 3 条" in text_of(web.get("/tasks?view=all&status=received"))
    # Rubbish in the view, page and sort falls back to the defaults; a region filter that is no region code is
    # refused by name rather than dropped (the whole area shown as if filtered).
    assert web.get("/tasks?view=zzz&page=abc&sort=;").status_code == 200
    for url in ("/tasks?region=x%27", "/cases?region=5323", "/posts?region=abc"):
        refused = web.get(url)
        # Named as the page's filter is (地区), not by the parameter (region).
        assert refused.status_code == 400 and "地区：行政区划代码无效" in text_of(refused), url


def test_escalation_level_is_shown_in_the_queue(web, inspector, clock):
    case = open_wage_case(inspector)
    task = the_task(case)
    task.escalation_level = 2
    db.session.commit()
    body = text_of(web.get("/tasks?view=unassigned"))
    assert "督办2级" in body


def test_queue_and_cases_pages_do_not_query_per_row(web, inspector, clock, app):
    def count_queries(url: str) -> int:
        statements = []

        def record(*_args):
            statements.append(1)

        engine = db.engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            assert web.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return len(statements)

    def one_more_case() -> None:
        case = open_wage_case(inspector)
        services.claim_task(inspector, the_task(case).id, OPENED)

    one_more_case()
    few = {url: count_queries(url) for url in ("/tasks?view=all", "/cases")}
    for _ in range(6):
        one_more_case()
    many = {url: count_queries(url) for url in ("/tasks?view=all", "/cases")}
    assert many == few


# ---------------------------------------------------------------------------------------------------------------
# Cases.

def test_cases_list_and_search(web, inspector, far_inspector, clock):
    case = open_wage_case(inspector)
    open_wage_case(far_inspector, region="532322")
    body = web.get("/cases").get_data(as_text=True)
    assert case.number in body and "532322" not in body
    assert case.number in web.get("/cases?q=李建国&status=received").get_data(as_text=True)
    assert "没有符合条件的案件" in text_of(web.get("/cases?status=cleared"))
    assert web.get("/cases?status=nonsense&overdue=1&page=0").status_code == 200


def test_a_waiting_case_highlights_its_timer_and_the_history_names_measures_and_approvals(web, inspector,
                                                                                           supervisor, clock):
    from tests.factories import complete, fire_due_timers, ordered_case

    case = ordered_case(inspector, at("2021-02-08 10:00"))
    page = web.get(f"/cases/{case.number}").get_data(as_text=True)
    # No open task: the diagram marks what the case waits for (the order's payment deadline, the case clock).
    assert re.search(r'data-highlight="\[&#34;payment_deadline&#34;, &#34;case_clock&#34;\]"', page)
    fire_due_timers(at("2021-02-19 00:00"))
    db.session.expire_all()
    case = complete(inspector, db.session.get(Case, case.id), "check_payment", {"amount_paid": "0"},
                    at("2021-02-19 10:00"))
    case = complete(inspector, case, "choose_enforcement",
                    {"measures": ["penalty", "blacklist"], "penalty_amount": "5000.00", "reason": "拒不配合调查"},
                    at("2021-02-19 11:00"))
    complete(supervisor, case, "approve_enforcement", {"approved": True}, at("2021-02-19 12:00"))
    history = text_of(web.get(f"/cases/{case.number}"))
    assert "确定处置措施；行政处罚；列入拖欠农民工工资失信联合惩戒对象名单" in history
    assert "处置措施审批；同意" in history


def test_case_page_shows_summary_parties_masked_and_history(web, inspector, clock):
    case = open_wage_case(inspector)
    response = web.get(f"/cases/{case.number}")
    assert response.status_code == 200
    body = text_of(response)
    full_id = case.subject_id_number
    assert full_id and full_id not in response.get_data(as_text=True)
    assert "*" * 14 + full_id[-4:] in body
    for expected in ("李建国", "楚雄市某建筑劳务有限公司", "已登记", "受理审查", "案件登记", "办理记录", "暂无文书"):
        assert expected in body, expected
    page = response.get_data(as_text=True)
    assert 'id="diagram"' in page and "vendor/bpmn-js/bpmn-viewer.production.min.js" in page
    assert "cdn" not in page.lower()


def test_history_names_the_timer_that_fired_as_the_model_does(web, inspector, clock):
    import re as regex
    from pathlib import Path

    from flask import current_app as clock_app_proxy

    from engine import escalation
    from tests.factories import ordered_case
    from web import labels

    def clock_app():
        return clock_app_proxy._get_current_object()

    # Every timer of every model has its label, and the label is the model's own name for it.
    timers = {}
    for model in Path("bpmn").glob("*/*.bpmn"):
        for tag, attrs in regex.findall(r"<bpmn:(\w+Event) ([^>]*)>", model.read_text(encoding="utf-8")):
            body = model.read_text(encoding="utf-8").split(f"<bpmn:{tag} {attrs}>", 1)[1].split(f"</bpmn:{tag}>", 1)[0]
            if "timerEventDefinition" in body:
                timers[regex.search(r'id="([^"]+)"', attrs).group(1)] = regex.search(r'name="([^"]+)"', attrs).group(1)
    with clock_app().test_request_context():  # the labels in the default language, Chinese
        assert timers and {key: str(label) for key, label in labels.TIMER_LABELS.items()} == timers
    case = ordered_case(inspector, at("2021-03-01 10:00"))
    escalation.sweep(at("2021-03-05 08:00"))  # the payment deadline passes
    body = text_of(web.get(f"/cases/{case.number}"))
    assert "期限届满 · 整改期限届满" in body and "payment_deadline" not in body


def test_the_order_form_starts_from_the_payment_deadline_rule(web, inspector, clock):
    from tests.factories import REVIEW_ACCEPT, complete, investigate_data

    case = open_wage_case(inspector)
    case = complete(inspector, case, "review_complaint", REVIEW_ACCEPT, OPENED + timedelta(hours=1))
    case = complete(inspector, case, "investigate", investigate_data(), OPENED + timedelta(hours=2))
    page = web.get(f"/cases/{case.number}").get_data(as_text=True)
    field = re.search(r'<input[^>]*name="payment_deadline_days"[^>]*>', page).group(0)
    assert 'value="3"' in field  # the campaign's 3 working days (rule payment_deadline_days), ready to confirm


def test_supervision_says_what_it_is_about_and_what_was_decided(web, inspector, supervisor, clock):
    from engine import escalation
    from tests.factories import ordered_case

    case = ordered_case(inspector, at("2021-03-01 10:00"))
    for moment in ("2021-03-05 08:00", "2021-03-09 00:00", "2021-03-11 00:00"):  # up to a supervision task
        escalation.sweep(at(moment))
    body = text_of(web.get(f"/cases/{case.number}"))
    assert "督办处理：履行情况核查（二级督办）" in body  # which overdue task, not just "督办处理"
    supervision = the_task(case, "supervise_overdue")
    db.session.refresh(case)
    services.complete_task(supervisor, supervision.id, {"action": "reassigned", "comment": "请改由李华办理"},
                           case.version, at("2021-03-11 09:00"))
    body = text_of(web.get(f"/cases/{case.number}"))
    assert "督办处理；已改派；“请改由李华办理”" in body.replace(" ", "")  # the instruction reaches the inspector


def test_the_approver_sees_the_fine_and_the_compensation_rate(web, inspector, clock):
    from engine import escalation
    from tests.factories import complete, ordered_case

    case = ordered_case(inspector, at("2021-02-08 10:00"), verified_amount="100000.00")
    escalation.sweep(at("2021-02-19 00:00"))  # the payment deadline passes
    db.session.refresh(case)
    case = complete(inspector, case, "check_payment", {"amount_paid": "0.00"}, at("2021-02-19 10:00"))
    complete(inspector, case, "choose_enforcement", {"measures": ["penalty", "compensation_order"],
                                                     "penalty_amount": "10000.00", "compensation_rate": 50,
                                                     "reason": "逾期拒不支付"}, at("2021-02-22 09:00"))
    body = text_of(web.get(f"/cases/{case.number}"))
    assert "罚款金额 ¥10,000.00" in body and "加付赔偿金比例（%） 50" in body


def test_a_case_with_no_task_says_what_it_waits_for(web, inspector, clock):
    from tests.factories import ordered_case

    case = ordered_case(inspector, at("2021-03-01 10:00"))  # the order is issued: the employer has until 4 March
    body = text_of(web.get(f"/cases/{case.number}"))
    assert "此案件当前没有待办任务。 正在等待：整改期限届满（2021年3月4日 23:59）" in body


def test_a_refused_benefit_claim_and_one_awaiting_approval_are_named_in_words(client, clock):
    from engine import benefit_rates
    from tests.integration.test_benefit_claim import SAMPLE, claim_data

    clerk = Actor.of(make_user("clerk_cx", ["clerk"], "532301"))
    benefit_rates.import_rates(SAMPLE.read_text(encoding="utf-8"), "test", at("2021-01-01 09:00"))
    refused = services.open_case(clerk, "benefit_claim", "532301", claim_data(registered_unemployed=False), OPENED)
    waiting = services.open_case(clerk, "benefit_claim", "532301", claim_data(2, contribution_months=150), OPENED)
    assert (refused.status, waiting.status) == ("rejected", "awaiting_approval")
    assert sign_in(client, "clerk_cx").status_code == 302
    listing = text_of(client.get("/cases"))
    assert "不予核定" in listing and "待主管审批" in listing and "awaiting_approval" not in listing
    assert "不予受理" not in text_of(client.get(f"/cases/{refused.number}"))  # that is a complaint's word
    assert f"{waiting.number}" in text_of(client.get("/cases?status=awaiting_approval"))


def test_reveal_is_a_post_and_is_audited(web, inspector, clock):
    case = open_wage_case(inspector)
    assert web.get(f"/cases/{case.number}/reveal").status_code == 405
    response = post(web, f"/cases/{case.number}/reveal", page=f"/cases/{case.number}")
    assert response.status_code == 200
    assert case.subject_id_number in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id,
                                                         AuditEvent.kind == "id_number_revealed")).all()
    assert len(events) == 1 and events[0].actor == inspector.username
    assert "查看完整身份证号码" in text_of(web.get(f"/cases/{case.number}"))


def test_another_countys_case_is_not_found(web, far_inspector, clock):
    other = open_wage_case(far_inspector, region="532322")
    task = the_task(other)
    for url in (f"/cases/{other.number}", f"/cases/{other.number}/diagram.bpmn"):
        response = web.get(url)
        assert response.status_code == 404, url
        assert "页面不存在" in text_of(response)
    assert post(web, f"/cases/{other.number}/reveal").status_code == 404
    assert post(web, f"/tasks/{task.id}/claim").status_code == 404
    assert post(web, f"/tasks/{task.id}/complete", {"case_number": other.number, "case_version": "1",
                                                    "decision": "accept"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Task, task.id).assignee_id is None
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == other.id,
                                                           AuditEvent.kind == "id_number_revealed")).all()


def test_task_form_errors_beside_fields_then_completion_and_notice(web, inspector, clock):
    case = open_wage_case(inspector)
    task = the_task(case)
    version_before = case.version
    page = web.get(f"/cases/{case.number}").get_data(as_text=True)
    assert f'id="form-{task.id}"' in page
    assert re.search(r'<select id="[^"]*f-decision" name="decision" required', page)  # checked in the browser too
    assert re.search(r'name="reason"[^>]*maxlength="500"', page)
    # reject needs a reason (the schema's if/then): the server says so beside the field and keeps the choice.
    wrong = post(web, f"/tasks/{task.id}/complete", {
        "case_number": case.number, "case_version": str(case.version), "decision": "reject"},
        page=f"/cases/{case.number}")
    assert wrong.status_code == 400
    assert field_error(wrong, "reason") == "必填"
    assert '<option value="reject" selected>' in wrong.get_data(as_text=True)
    # An invalid choice is named too.
    bad = post(web, f"/tasks/{task.id}/complete", {
        "case_number": case.number, "case_version": str(case.version), "decision": "maybe"},
        page=f"/cases/{case.number}")
    assert bad.status_code == 400 and field_error(bad, "decision").startswith("取值应为")
    # A version that is a digit to str.isdigit() but not to int() ("²") is bad input, not a 500.
    odd = post(web, f"/tasks/{task.id}/complete", {
        "case_number": case.number, "case_version": "²", "decision": "accept"}, page=f"/cases/{case.number}")
    assert odd.status_code == 400
    # Nor is a version of 5,000 digits (int() refuses to read it).
    huge = post(web, f"/tasks/{task.id}/complete", {
        "case_number": case.number, "case_version": "9" * 5000, "decision": "accept"}, page=f"/cases/{case.number}")
    assert huge.status_code == 400
    done = post(web, f"/tasks/{task.id}/complete", {
        "case_number": case.number, "case_version": str(case.version), "decision": "accept"},
        page=f"/cases/{case.number}", follow_redirects=True)
    body = text_of(done)
    assert "已办结：受理审查" in body
    db.session.expire_all()
    moved_on = db.session.get(Case, case.id)
    assert moved_on.status != "received" and moved_on.version > version_before
    assert moved_on.status == "investigating"
    assert 'id="case-status" style="font-size: 1rem;">调查中<' in done.get_data(as_text=True)
    assert "调查核实" in body  # the next task is open
    assert "受理通知书" in body  # and the notice is in the documents list


def test_stale_version_says_someone_changed_the_case(web, inspector, clock):
    case = open_wage_case(inspector)
    task = the_task(case)
    stale_version = case.version
    services.claim_task(inspector, task.id, OPENED)  # bumps the case version meanwhile
    response = post(web, f"/tasks/{task.id}/complete", {
        "case_number": case.number, "case_version": str(stale_version), "decision": "accept"},
        page=f"/cases/{case.number}")
    assert response.status_code == 409
    assert "有人已修改了此案件，请重新加载页面后再办理。" in text_of(response)
    db.session.expire_all()
    assert db.session.get(Task, task.id).state == "open"


def test_someone_elses_task_has_no_form(web, inspector, clock):
    case = open_wage_case(inspector)
    task = the_task(case)
    colleague = Actor.of(make_user("insp_cx2", ["inspector"], "532301"))
    services.claim_task(colleague, task.id, OPENED)
    page = web.get(f"/cases/{case.number}")
    assert f'id="form-{task.id}"' not in page.get_data(as_text=True)
    assert "此任务由他人办理" in text_of(page)
    response = post(web, f"/tasks/{task.id}/complete", {
        "case_number": case.number, "case_version": str(db.session.get(Case, case.id).version),
        "decision": "accept"}, page=f"/cases/{case.number}")
    assert response.status_code == 409 and "该任务已由 insp_cx2 认领" in text_of(response)


def test_document_opens_as_pdf(web, inspector, clock):
    case = open_wage_case(inspector)
    services.complete_task(inspector, the_task(case).id, {"decision": "accept"}, case.version, OPENED)
    doc = documents.documents_for_case(case)[0]
    waiting = web.get(f"/documents/{doc.id}")
    assert waiting.status_code == 404 and "文书尚未生成" in text_of(waiting)
    documents.render_pending(OPENED)
    page = web.get(f"/cases/{case.number}").get_data(as_text=True)
    assert f'href="/documents/{doc.id}"' in page
    pdf = web.get(f"/documents/{doc.id}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.get_data().startswith(b"%PDF")
    pdf.close()
    assert web.get("/documents/999999").status_code == 404
    # QA: a rendered notice whose file is gone (DOCUMENTS_DIR not shared, a restore without it) said "being
    # generated" forever; it says the file is missing, on the page and through the API.
    documents.path_of(doc).unlink()
    lost = web.get(f"/documents/{doc.id}")
    assert lost.status_code == 503 and "文书文件缺失" in text_of(lost)
    token = web.post("/api/v1/auth/token", json={"username": inspector.username, "password": PASSWORD})
    api = web.get(f"/api/v1/documents/{doc.id}", headers={"Authorization": "Bearer " + token.get_json()["token"]})
    assert api.status_code == 503 and api.get_json()["error"]["code"] == "file_missing"


def test_diagram_and_vendored_viewer(web, inspector, clock):
    case = open_wage_case(inspector)
    xml = web.get(f"/cases/{case.number}/diagram.bpmn")
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    assert b"bpmndi:BPMNDiagram" in xml.get_data() or b"BPMNDiagram" in xml.get_data()
    assert b'id="review_complaint"' in xml.get_data()
    for path in ("vendor/bpmn-js/bpmn-viewer.production.min.js", "vendor/bpmn-js/assets/diagram-js.css",
                 "vendor/bpmn-js/assets/bpmn-js.css", "js/case-diagram.js", "css/site.css"):
        asset = web.get(f"/static/{path}")
        assert asset.status_code == 200, path
        asset.close()


def test_the_diagram_reads_in_the_users_language(web, inspector, clock):
    """QA: on English pages the diagram stayed Chinese, and its lanes read "inspector", "supervisor", "head" (the
    role codes the engine reads) in both languages."""
    case = open_wage_case(inspector)

    def names(xml: bytes) -> dict[str, str]:
        from lxml import etree

        root = etree.fromstring(xml)
        return {e.get("id"): e.get("name") for e in root.iter() if e.get("name")}

    chinese = names(web.get(f"/cases/{case.number}/diagram.bpmn").get_data())
    assert chinese["review_complaint"] == "受理审查" and chinese["Lane_inspector"] == "劳动保障监察员"
    assert post(web, "/language", {"language": "en"}).status_code == 302
    english_xml = web.get(f"/cases/{case.number}/diagram.bpmn").get_data()
    english = names(english_xml)
    assert english["review_complaint"] == "Acceptance review"
    assert english["Lane_head"] != "head" and not re.search(r"[\u4e00-\u9fff]", english["Lane_head"])
    assert not {i: n for i, n in english.items() if re.search(r"[\u4e00-\u9fff]", n)}  # no Chinese label left
    assert b"bpmndi:BPMNDiagram" in english_xml and set(english) == set(chinese)  # the same model, relabelled
    # The page around it: who did what in the history, in English punctuation.
    history = text_of(web.get(f"/cases/{case.number}"))
    assert f"({inspector.username})" in history and f"（{inspector.username}）" not in history


# ---------------------------------------------------------------------------------------------------------------
# Intake forms.

def test_register_a_complaint(web, inspector, clock):
    menu = text_of(web.get("/cases/new"))
    assert "拖欠工资投诉" in menu and "失业保险待遇申领" not in menu
    form = web.get("/cases/new/wage_arrears").get_data(as_text=True)
    assert re.search(r'name="complainant.id_number"[^>]*pattern="', form)
    assert 'name="amount_owed"' in form and 'type="date"' in form
    values = form_values(wage_arrears_intake())
    values["region"] = "532301"
    values["complainant.id_number"] = "532301198805120012"  # wrong check digit
    wrong = post(web, "/cases/new/wage_arrears", values.to_dict(), page="/cases/new/wage_arrears")
    assert wrong.status_code == 400
    assert field_error(wrong, "complainant.id_number") == "身份证号码无效（18位，校验位不符）"
    assert 'value="李建国"' in wrong.get_data(as_text=True)  # what was typed stays
    values["complainant.id_number"] = _valid_ric("53230119880512001")
    done = post(web, "/cases/new/wage_arrears", values.to_dict(), page="/cases/new/wage_arrears")
    assert done.status_code == 302
    number = done.headers["Location"].rsplit("/", 1)[-1]
    assert number.startswith("WA-532301-2021-")
    assert "已登记案件 " + number in text_of(web.get(done.headers["Location"]))
    # Another county's region is refused by the engine.
    values["region"] = "532322"
    refused = post(web, "/cases/new/wage_arrears", values.to_dict(), page="/cases/new/wage_arrears")
    assert refused.status_code == 403 and "不能在您的辖区以外登记案件" in text_of(refused)


def test_clerk_registers_a_benefit_claim_and_a_job_seeker(client, clock):
    make_user("clerk_cx", ["clerk"], "532301")
    sign_in(client, "clerk_cx")
    assert web_forbidden(client, "/cases/new/wage_arrears")
    claim = {
        "region": "532301", "claimant.name": "普文华", "claimant.id_number": _valid_ric("53230119850601002"),
        "claimant.phone": "13887650000", "claimant.household": "urban", "last_employer": "楚雄某商贸有限公司",
        "separation_date": "2021-01-15", "separation_reason": "involuntary", "contribution_months": "36",
        "months_already_drawn": "0", "registered_unemployed": "true", "unemployment_registration_date": "2021-01-18",
        "seeking_work": "true", "bank_account": "6222020202020202",
    }
    bad = post(client, "/cases/new/benefit_claim", {**claim, "contribution_months": "-1"},
               page="/cases/new/benefit_claim")
    assert bad.status_code == 400, text_of(bad)
    assert field_error(bad, "contribution_months") == "不得小于 0", text_of(bad)
    # Registered as unemployed: the form asks from when (the benefit period runs from that day).
    form = client.get("/cases/new/benefit_claim").get_data(as_text=True)
    assert 'name="unemployment_registration_date"' in form and "办理失业登记日期" in form
    undated = post(client, "/cases/new/benefit_claim", {**claim, "unemployment_registration_date": ""},
                   page="/cases/new/benefit_claim")
    assert undated.status_code == 400 and field_error(undated, "unemployment_registration_date") == "必填"
    done = post(client, "/cases/new/benefit_claim", claim, page="/cases/new/benefit_claim")
    assert done.status_code == 302, text_of(done)
    assert "/cases/BC-532301-" in done.headers["Location"]
    form = client.get("/cases/new/temp_job").get_data(as_text=True)
    assert 'name="wishes.kinds"' in form and 'name="skills"' in form  # checkboxes; one skill per line
    seeker = {
        "region": "532301", "seeker.name": "杨春梅", "seeker.id_number": _valid_ric("53230119900303004"),
        "seeker.phone": "13887651111", "seeker.priority_group": "low_income", "skills": "保洁\n\n绿化养护",
        "wishes.kinds": ["sanitation", "community_service"], "wishes.kinds.__present": "1",
    }
    done = post(client, "/cases/new/temp_job", seeker, page="/cases/new/temp_job")
    assert done.status_code == 302, text_of(done)
    number = done.headers["Location"].rsplit("/", 1)[-1]
    case = db.session.scalar(select(Case).where(Case.number == number))
    assert case.process == "temp_job"


def web_forbidden(client, url: str) -> bool:
    response = client.get(url)
    return response.status_code == 403 and "无权访问" in text_of(response)


# ---------------------------------------------------------------------------------------------------------------
# The posts catalogue.

def test_posts_catalogue(client, clock):
    make_user("clerk_cx", ["clerk"], "532301")
    sign_in(client, "clerk_cx")
    assert "没有符合条件的岗位" in text_of(client.get("/posts"))
    body = {"region": "532301", "title": "社区保洁员", "kind": "sanitation", "employer": "鹿城镇社区",
            "slots": "3", "monthly_pay": "1800", "start_date": "2021-03-01", "end_date": "2021-12-31"}
    too_long = post(client, "/posts/new", body, page="/posts/new")
    assert too_long.status_code == 400 and field_error(too_long, "end_date").startswith("临时性岗位期限最长")
    missing = post(client, "/posts/new", {**body, "title": ""}, page="/posts/new")
    assert missing.status_code == 400 and field_error(missing, "title") == "必填"
    created = post(client, "/posts/new", {**body, "end_date": "2021-06-30"}, page="/posts/new",
                   follow_redirects=True)
    listing = text_of(created)
    assert "已发布岗位：社区保洁员" in listing and "0 / 3" in listing and "¥1,800.00" in listing
    post_id = re.search(r"/posts/(\d+)/edit", created.get_data(as_text=True)).group(1)
    edit = client.get(f"/posts/{post_id}/edit").get_data(as_text=True)
    assert 'value="社区保洁员"' in edit and 'value="2021-06-30"' in edit
    saved = post(client, f"/posts/{post_id}/edit", {**body, "slots": "5", "end_date": "2021-06-30",
                                                    "status": "closed"}, page=f"/posts/{post_id}/edit",
                 follow_redirects=True)
    assert "0 / 5" in text_of(saved) and "已关闭" in text_of(saved)
    assert "社区保洁员" not in text_of(client.get("/posts?status=open"))
    assert client.get("/posts/99999/edit").status_code == 404


def test_inspector_cannot_manage_posts(web):
    assert web_forbidden(web, "/posts/new")
    assert "发布岗位" not in text_of(web.get("/posts"))


# ---------------------------------------------------------------------------------------------------------------
# Error pages.

def test_error_pages_in_the_sites_look(web, clock, monkeypatch):
    missing = web.get("/no/such/page")
    assert missing.status_code == 404
    assert "页面不存在" in text_of(missing) and 'class="topbar"' in missing.get_data(as_text=True)
    import web.pages as pages

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(pages.services, "list_cases", broken)
    failed = web.get("/cases")
    assert failed.status_code == 500
    body = failed.get_data(as_text=True)
    assert "系统内部错误" in body and "Traceback" not in body and "boom" not in body


def test_api_errors_stay_json(client, clock):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.is_json and response.get_json()["error"]["code"] == "not_found"
    unauthorised = client.get("/api/v1/tasks")
    assert unauthorised.status_code == 401 and unauthorised.is_json


def test_cookies_are_secure_outside_debugging_and_tests(monkeypatch):
    import importlib

    import config

    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    fresh = importlib.reload(config)
    try:
        assert fresh.Config.SESSION_COOKIE_SECURE is True and fresh.Config.REMEMBER_COOKIE_SECURE is True
        assert fresh.Config.SESSION_COOKIE_HTTPONLY and fresh.Config.SESSION_COOKIE_SAMESITE == "Lax"
        assert fresh.DevelopmentConfig.SESSION_COOKIE_SECURE is False
        assert fresh.TestConfig.SESSION_COOKIE_SECURE is False
    finally:
        importlib.reload(config)


def test_app_env_cannot_select_the_test_configuration(monkeypatch):
    """TestConfig's secret key is in the repository: a deployment with APP_ENV=test must not run on it."""
    import pytest

    import config
    from web import create_app

    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setattr(config.Config, "SECRET_KEY", None)  # as on a machine without SECRET_KEY set
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()


def test_generated_form_round_trips_nested_objects_rows_and_lists():
    """The generator behind every task and intake form: dotted names, rows for short lists of records, one line
    per item for lists of strings, checkboxes for lists of choices; `form_data` turns the post back into JSON."""
    import json

    from werkzeug.datastructures import MultiDict

    from engine import processes
    from web.forms import form_data, schema_fields

    offers_schema = json.loads(processes.read_files("temp_job")["job_offers.schema.json"])
    (offers, note) = schema_fields(offers_schema)
    assert offers.kind == "rows" and [row.name for row in offers.children] == ["offers.0", "offers.1", "offers.2"]
    assert [f.name for f in offers.children[1].children] == [
        "offers.1.employer", "offers.1.job", "offers.1.date", "offers.1.monthly_pay"]
    assert offers.children[2].children[0].required  # minItems 3: every row is required
    posted = MultiDict({"offers.0.employer": "甲公司", "offers.0.job": "保洁", "offers.0.date": "2021-03-01",
                        "offers.2.employer": "丙公司", "note": "  "})
    assert form_data(offers_schema, posted) == {
        "offers": [{"employer": "甲公司", "job": "保洁", "date": "2021-03-01"}, {}, {"employer": "丙公司"}]}
    intake = json.loads(processes.read_files("temp_job")["intake.schema.json"])
    posted = MultiDict([("seeker.name", "杨春梅"), ("skills", "保洁\r\n\r\n 绿化 \n"), ("wishes.kinds", "sanitation"),
                        ("wishes.kinds", "other"), ("wishes.full_time", "false"), ("ledger_worker_id", "12")])
    assert form_data(intake, posted) == {
        "seeker": {"name": "杨春梅"}, "skills": ["保洁", "绿化"],
        "wishes": {"kinds": ["sanitation", "other"], "full_time": False}, "ledger_worker_id": 12}
    assert form_values({"wishes": {"kinds": ["sanitation"], "full_time": True}}).to_dict(flat=False) == {
        "wishes.kinds": ["sanitation"], "wishes.full_time": ["true"]}


def test_supervisors_are_told_when_deadlines_reach_a_year_without_holidays(client, inspector, supervisor, clock,
                                                                         tmp_path):
    """In late 2030 deadlines reach 2031, whose holidays no one has loaded: they are counted Monday–Friday, so the
    Spring Festival would be working days. Supervisors see it on every page (and /api/v1/health says it), until
    the year's holiday file is loaded; inspectors, who cannot get it loaded, are not told on every page."""
    from engine import calendar

    clock.set(at("2030-11-27 10:00"))
    assert sign_in(client, supervisor.username).status_code == 302
    assert "2030、2031年的法定节假日安排尚未载入" in text_of(client.get("/tasks"))
    assert client.get("/api/v1/health").get_json()["holidays_missing"] == [2030, 2031]
    english = FreshContextClient(client.application, client.application.response_class, use_cookies=True)
    assert sign_in(english, supervisor.username).status_code == 302
    assert post(english, "/language", {"language": "en"}).status_code == 302
    assert "The official holidays of 2030, 2031 are not loaded" in text_of(english.get("/tasks"))
    other = FreshContextClient(client.application, client.application.response_class, use_cookies=True)
    assert sign_in(other, inspector.username).status_code == 302
    # Inspectors are told too: they state these deadlines in their notices.
    assert 'id="holidays-missing"' in other.get("/tasks").get_data(as_text=True)
    path = tmp_path / "2030.csv"
    path.write_text("date,kind,name\n2030-01-01,holiday,元旦\n", encoding="utf-8")
    (tmp_path / "2031.csv").write_text("date,kind,name\n2031-01-01,holiday,元旦\n", encoding="utf-8")
    try:
        assert calendar.load_holiday_dir(tmp_path) == 2
        assert 'id="holidays-missing"' not in client.get("/tasks").get_data(as_text=True)
        assert client.get("/api/v1/health").get_json()["holidays_missing"] == []
    finally:
        calendar.clear_overrides()
    clock.set(NOW)
    assert 'id="holidays-missing"' not in client.get("/tasks").get_data(as_text=True)


def test_a_holiday_file_with_a_typo_is_logged_and_the_service_still_starts(tmp_path, caplog):
    """QA: one bad date in the file the banner asks for stopped the server from starting (create_app loads the
    folder through web.load_holidays)."""
    import logging

    from engine import calendar
    from web import load_holidays

    (tmp_path / "2031.csv").write_text("date,kind,name\n2031-02-30,holiday,春节\n", encoding="utf-8")
    (tmp_path / "2032.csv").write_text("date,kind,name\n2032-01-01,holiday,元旦\n", encoding="utf-8")
    try:
        load_holidays(str(tmp_path), logging.getLogger("test"))
        assert "2031.csv, line 2: bad date" in caplog.text
        assert not calendar.year_is_official(2031) and not calendar.year_is_official(2032)
    finally:
        calendar.clear_overrides()


def test_the_case_page_names_the_deadline_it_shows(web, inspector, clock):
    """QA: a complaint awaiting acceptance review showed the review's five-day deadline as the case's 办结期限."""
    case = open_wage_case(inspector)
    page = text_of(web.get(f"/cases/{case.number}"))
    assert "当前办理期限：2021年2月7日" in page and "办结期限" not in page  # Sun 7 Feb 2021 was worked
    services.complete_task(inspector, the_task(case).id, {"decision": "accept"}, case.version, OPENED)
    page = text_of(web.get(f"/cases/{case.number}"))
    assert "办结期限：2021年4月29日" in page and "当前办理期限" not in page


def test_the_case_list_shows_a_closed_case_as_concluded_not_with_a_deadline(web, inspector, clock):
    """QA: a closed case kept the deadline of the step it was closed from in the list's 期限 column."""
    open_case = open_wage_case(inspector)
    closed = open_wage_case(inspector)
    services.complete_task(inspector, the_task(closed).id, {"decision": "reject", "reason": "不属于劳动保障监察范围"},
                           closed.version, OPENED + timedelta(hours=1))
    rows = {number: row for row in re.findall(r"<tr.*?</tr>", web.get("/cases").get_data(as_text=True), re.S)
            for number in (open_case.number, closed.number) if number in row}
    def shown(row: str) -> str:
        return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", row)))

    assert "2021年2月1日 办结" in shown(rows[closed.number]) and "2月7日" not in shown(rows[closed.number])
    assert "2021年2月7日" in shown(rows[open_case.number]) and "办结" not in shown(rows[open_case.number])
