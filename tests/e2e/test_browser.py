"""End to end in a real browser: Debian's chromium, headless, driven by Playwright's sync API against the app
served by werkzeug in a thread, on the test database (SQLite, or PostgreSQL with TEST_DATABASE_URL).

An inspector signs in, opens the queue, claims a task, completes it with a form error first, sees the case move
on and the acceptance notice appear in the documents list, then closes the case; a supervisor sees the dashboard's
open-case count drop and the recovered amount grow. Screenshots go to test-output/e2e/."""

from __future__ import annotations

import os
import re
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from engine import documents, services
from engine.db import db
from engine.models import Case
from tests.conftest import make_user
from tests.factories import wage_arrears_intake

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct-horse-9"
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "e2e"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is missing: scripts/install-system-deps.sh --with-browser installs it"),
]


@pytest.fixture
def live_server(app):
    """The app on a free port, each request in its own thread and app context, as under a real server."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield chromium
        finally:
            chromium.close()


def new_page(browser, base_url: str):
    context = browser.new_context(base_url=base_url, locale="zh-CN", viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    return context, context.new_page()


def sign_in(page, username: str) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    submit(page, page.locator(".login-card button[type=submit]"))
    assert "/login" not in page.url, page.inner_text("body")


def submit(page, button) -> None:
    """Click a button or link that loads another page, and wait for that page."""
    with page.expect_navigation():
        button.click()


def dashboard_figures(page) -> tuple[int, str]:
    page.goto("/dashboard")
    assert page.locator("#dashboard-title").is_visible(), page.inner_text("body")
    return int(page.inner_text("#total-open-cases").strip()), page.inner_text("#total-recovered").strip()


def test_inspector_works_a_case_and_the_supervisor_sees_the_dashboard_move(
        browser, live_server, inspector, supervisor):
    opened = datetime.now(UTC)
    case = services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(), opened)
    number = case.number
    colleague = make_user("insp_cx2", ["inspector"], "532301").username
    errors: list[str] = []

    sup_context, sup_page = new_page(browser, live_server)
    insp_context, page = new_page(browser, live_server)
    try:
        # The supervisor's dashboard before.
        sign_in(sup_page, supervisor.username)
        open_before, recovered_before = dashboard_figures(sup_page)
        assert open_before >= 1
        sup_page.screenshot(path=str(SHOTS / "01-dashboard-before.png"), full_page=True)

        page.on("pageerror", lambda exc: errors.append(str(exc)))
        sign_in(page, inspector.username)
        # The queue: the new case's first task waits, unassigned, in the inspector's region.
        submit(page, page.locator("nav.tabs a.unassigned"))
        row = page.locator("#task-list tr", has_text=number)
        assert row.count() == 1
        assert "受理审查" in row.inner_text()
        page.screenshot(path=str(SHOTS / "02-queue-unassigned.png"), full_page=True)
        submit(page, row.get_by_role("button", name="认领"))
        assert f"已认领：受理审查（{number}）" in page.inner_text(".alert-success")

        # My tasks -> the case page.
        submit(page, page.locator("nav.tabs a.mine"))
        mine = page.locator("#task-list tr", has_text=number)
        assert mine.count() == 1
        submit(page, mine.get_by_role("link", name="办理"))
        assert page.inner_text("#case-number") == number
        assert page.inner_text("#case-status") == "已登记"
        masked = page.inner_text("#parties .id-masked")
        assert masked.startswith("*") and case.subject_id_number not in page.content()

        # A form error first: rejecting needs a reason; the server says so beside the field.
        form = page.locator("form.task-form").first
        form.locator("select[name=decision]").select_option("reject")
        submit(page, form.get_by_role("button", name="提交办结"))
        reason_field = page.locator('.field.has-error[data-field="reason"]')
        assert reason_field.count() == 1
        assert reason_field.locator(".field-error").inner_text() == "必填"
        assert page.locator("form.task-form select[name=decision]").first.input_value() == "reject"
        page.screenshot(path=str(SHOTS / "03-form-error.png"), full_page=True)

        # Now accept: the case moves on to the investigation, and the acceptance notice is listed.
        form = page.locator("form.task-form").first
        form.locator("select[name=decision]").select_option("accept")
        submit(page, form.get_by_role("button", name="提交办结"))
        assert "已办结：受理审查" in page.inner_text(".alert-success")
        assert page.inner_text("#case-status") == "调查中"
        assert "调查核实" in page.inner_text("#tasks")
        assert "受理通知书" in page.inner_text("#documents")
        assert "办结任务" in page.inner_text("#history")

        # The notice is rendered after the commit (the sweeper's job; done here directly): it opens as a PDF.
        documents.render_pending(datetime.now(UTC))
        page.reload()
        link = page.locator("#documents a", has_text="受理通知书")
        assert link.count() == 1
        pdf = page.request.get(link.get_attribute("href"))
        assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
        assert pdf.body().startswith(b"%PDF")
        pdf.dispose()

        # The BPMN diagram is drawn by the vendored bpmn-js with the current step highlighted.
        page.wait_for_selector("#diagram[data-rendered=true]")
        assert page.locator("#diagram .djs-element.current-step[data-element-id=investigate]").count() == 1
        page.locator("#diagram-section").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "04-case-moved-on.png"), full_page=True)

        # Claim the investigation from the case page and close the case: the employer paid.
        submit(page, page.locator("#tasks").get_by_role("button", name="认领").first)
        form = page.locator("form.task-form").first
        form.locator("input[name=verified_amount]").fill("100000.00")
        form.locator("input[name=workers_owed]").fill("10")
        form.locator("select[name=outcome]").select_option("paid_voluntarily")
        form.locator("textarea[name=findings]").fill("经调取工资台账核实，用人单位已于调查期间全额支付。")
        form.locator("input[name=co_inspector]").fill(colleague)  # two inspectors investigate (条例 art. 16)
        submit(page, form.get_by_role("button", name="提交办结"))
        assert "已办结：调查核实" in page.inner_text(".alert-success")
        assert page.inner_text("#case-status") == "已清偿结案"
        assert "此案件当前没有待办任务" in page.inner_text("#tasks")
        page.screenshot(path=str(SHOTS / "05-case-closed.png"), full_page=True)

        db.session.expire_all()
        closed = db.session.query(Case).filter_by(number=number).one()
        assert closed.closed_at is not None and closed.status == "cleared"

        # The supervisor's dashboard after: one open case fewer, more recovered.
        open_after, recovered_after = dashboard_figures(sup_page)
        sup_page.screenshot(path=str(SHOTS / "06-dashboard-after.png"), full_page=True)
        assert open_after == open_before - 1
        assert _yuan(recovered_after) > _yuan(recovered_before)

        # Without JavaScript every page still reads (the diagram says it needs scripts; the steps are listed).
        assert errors == []
    finally:
        insp_context.close()
        sup_context.close()


def test_pages_read_without_javascript_and_switch_language(browser, live_server, inspector):
    case = services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(), datetime.now(UTC))
    context = browser.new_context(base_url=live_server, java_script_enabled=False, locale="zh-CN")
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        sign_in(page, inspector.username)
        page.goto(f"/cases/{case.number}")
        assert "流程图需要启用浏览器脚本" in page.inner_text("#diagram-section")
        assert "受理审查" in page.inner_text(".diagram-fallback")
        page.select_option("#language", "en")
        submit(page, page.get_by_role("button", name="切换"))
        assert page.inner_text("#case-status") == "Registered"
        assert "Acceptance review" in page.inner_text("#tasks")
        page.screenshot(path=str(SHOTS / "07-no-js-english.png"), full_page=True)
        page.goto("/no-such-page")
        assert "Page not found" in page.inner_text("body")
    finally:
        context.close()


def _yuan(text: str) -> float:
    return float(re.sub(r"[^0-9.]", "", text) or 0)
