"""What an inspector and a supervisor met taking a complaint through its whole course in a browser (QA walkthrough):
each test asserts what the page, the history or the notice now says. Flask test client, as tests/integration/
test_pages.py (whose fixtures and helpers these tests use)."""

from __future__ import annotations

import pytest

from engine import documents
from engine.db import db
from engine.models import Case
from tests.conftest import SettableClock, at
from tests.factories import complete
from tests.integration.test_pages import (
    NOW,
    FreshContextClient,
    field_error,
    open_wage_case,
    post,
    sign_in,
    the_task,
)


@pytest.fixture
def clock(app, ctx, monkeypatch):
    return SettableClock(app, monkeypatch, NOW)


@pytest.fixture
def web(app, inspector, clock):
    """The inspector (532301) signed in, as in test_pages."""
    client = FreshContextClient(app, app.response_class, use_cookies=True)
    assert sign_in(client, inspector.username).status_code == 302
    return client


def _submit(web, case: Case, task_name: str, data: dict, **kwargs):
    task = the_task(case, task_name)
    return post(web, f"/tasks/{task.id}/complete",
                {"case_number": case.number, "case_version": str(case.version), **data},
                page=f"/cases/{case.number}", **kwargs)


def test_material_not_supplied_is_refused_while_the_time_given_runs(web, inspector, clock):
    """QA: "not supplied in time" was taken the minute the material was asked for, ten working days before its
    deadline; the complaint closed as not accepted and the notice told the complainant the time had run out."""
    case = open_wage_case(inspector)
    case = complete(inspector, case, "review_complaint", {"decision": "request_material", "reason": "请补充劳动合同"},
                    at("2021-02-02 09:00"))
    # 10 working days from Tue 2 Feb 2021 (Spring Festival 11–17 Feb, Sat 20 Feb a working day): Sat 20 Feb.
    refused = _submit(web, case, "receive_material", {"received": "false"})
    assert refused.status_code == 400
    assert "补正期限（至 2021-02-20）尚未届满" in field_error(refused, "received")
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.status == "awaiting_material"
    assert not [d for d in documents.documents_for_case(case) if d.kind == "non_acceptance_notice"]
    # On the deadline day itself the complainant may still bring it; the day after, the lapse is recorded.
    clock.set(at("2021-02-20 17:00"))
    assert _submit(web, case, "receive_material", {"received": "false"}).status_code == 400
    clock.set(at("2021-02-22 09:00"))
    assert _submit(web, case, "receive_material", {"received": "false"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "rejected"


def test_material_supplied_early_is_still_taken(web, inspector, clock):
    case = open_wage_case(inspector)
    case = complete(inspector, case, "review_complaint", {"decision": "request_material", "reason": "请补充劳动合同"},
                    at("2021-02-02 09:00"))
    assert _submit(web, case, "receive_material", {"received": "true"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == "received"


def test_a_fine_notified_with_compensation_does_not_call_the_compensation_unpaid(ctx, inspector, supervisor):
    """QA: compensation and a fine chosen together and approved at once: the prior notice of the fine, dated the
    same day as the compensation decision that gives three working days to pay, said the employer "尚有40,000.00元
    未支付" of that compensation; the decision then stated it again, though no payment check had been made."""
    from tests.integration.test_wage_arrears_enforcement import APPROVED, CHOSEN, NO_ANSWER, notices
    from tests.integration.test_wage_arrears_process import _partly_paid, fire

    case, track = _partly_paid(inspector)  # 60000.00 still owed
    case = track.step(complete(inspector, case, "choose_enforcement", {
        "measures": ["compensation_order", "penalty"], "compensation_rate": 50, "penalty_amount": "5000.00",
        "reason": "拒不提供工资台账"}, CHOSEN))
    case = track.step(complete(supervisor, case, "approve_enforcement", {"approved": True}, APPROVED))
    [prior] = notices(case, "penalty_prior_notice")
    [ordered] = notices(case, "compensation_order")
    assert ordered.facts["compensation_amount"] == "30000.00"
    told = "".join(prior.facts["facts"])
    assert "逾期仅支付40000.00元" in told and "拒不提供工资台账" in told
    assert "加付赔偿金" not in told
    # The decision after the defence period (and after the compensation's own deadline) states what was notified.
    case = fire(track, at("2021-03-02 00:00"))
    case = track.step(complete(inspector, case, "decide_penalty", NO_ANSWER, at("2021-03-02 10:00")))
    [decision] = notices(case, "penalty_decision")
    assert decision.facts["facts"] == prior.facts["facts"]


def test_the_material_deadline_message_is_translated(web, inspector, clock):
    case = open_wage_case(inspector)
    case = complete(inspector, case, "review_complaint", {"decision": "request_material", "reason": "请补充劳动合同"},
                    at("2021-02-02 09:00"))
    post(web, "/language", {"language": "en", "next": "/tasks"})
    refused = _submit(web, case, "receive_material", {"received": "false"})
    assert "The time given to supply the material (until 2021-02-20) has not run out" in field_error(refused,
                                                                                                       "received")


def _history(web, case: Case) -> str:
    page = web.get(f"/cases/{case.number}").get_data(as_text=True)
    section = page[page.index('id="history"'):]
    return text_of_html(section[:section.index("</section>")])


def text_of_html(fragment: str) -> str:
    import html
    import re

    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment)))


def test_the_history_says_what_was_found_paid_and_decided(web, inspector, supervisor):
    """QA: the history read "调查核实；责令限期支付", "履行情况核查；已下达整改指令 → 强制处置中" and "陈述申辩复核及
    处罚决定" alone: not the amount verified nor the findings written, not what was paid by the deadline nor the
    inspector's note, not whether the fine was imposed, reduced or dropped; the supervisor approving measures had
    nowhere to read them."""
    from tests.integration.test_wage_arrears_enforcement import APPROVED, CHOSEN, NO_ANSWER
    from tests.integration.test_wage_arrears_process import _partly_paid, fire

    case, track = _partly_paid(inspector)
    case = track.step(complete(inspector, case, "choose_enforcement", {
        "measures": ["penalty"], "penalty_amount": "5000.00", "reason": "拒不提供工资台账"}, CHOSEN))
    case = track.step(complete(supervisor, case, "approve_enforcement", {"approved": True}, APPROVED))
    case = fire(track, at("2021-03-02 00:00"))
    case = track.step(complete(inspector, case, "decide_penalty", NO_ANSWER, at("2021-03-02 10:00")))
    history = _history(web, case)
    assert ("调查核实；责令限期支付；核实欠薪金额（元）：100,000.00；“经调取工资台账、考勤记录，核实拖欠情况属实”"
            in history)
    assert "履行情况核查；已下达整改指令 → 强制处置中；累计已支付金额（元）：40,000.00；“已支付部分”" in history
    assert "确定处置措施；行政处罚；罚款金额（元）：5,000.00；“拒不提供工资台账”" in history
    assert "陈述申辩复核及处罚决定；按告知的金额处以罚款" in history
    post(web, "/language", {"language": "en", "next": "/tasks"})
    history = _history(web, case)
    assert "Check payment; Order issued → Enforcement; Total paid so far (yuan): 40,000.00; “已支付部分”" in history
    assert "Impose the fine as notified" in history


def test_the_history_lists_the_step_that_closed_a_case_before_its_closure_notice(web, inspector):
    """QA: "制发文书 · 楚市人社监结〔…〕号 （system）" stood above "办结任务 · 履行情况核查；强制处置中 → 已清偿结案":
    the closure notice before the payment check that cleared the case."""
    from engine.services.cases import case_history
    from tests.integration.test_wage_arrears_process import _partly_paid

    case, track = _partly_paid(inspector)
    case = track.step(complete(inspector, case, "choose_enforcement", {
        "measures": ["emergency_advance"], "reason": "用人单位无力支付"}, at("2021-02-22 09:00")))
    case = track.step(complete(inspector, case, "check_payment", {"amount_paid": "100000.00"}, at("2021-02-22 10:00")))
    assert case.status == "cleared"
    kinds = [(e.kind, (e.detail or {}).get("task")) for e in case_history(case)]
    closing = kinds.index(("task_completed", "check_payment"), kinds.index(("task_completed", "choose_enforcement")))
    assert kinds[closing + 1][0] == "notice_issued"
    [closure] = [d for d in documents.documents_for_case(case) if d.kind == "case_closure_notice"]
    history = _history(web, case)
    assert history.index("已清偿结案") < history.index(closure.number)


def test_the_closure_notice_states_the_compensation_paid_to_the_workers(ctx, inspector):
    """QA: a case cleared with its wages and the compensation ordered (条例 art. 26) both paid told the complainant
    only "追回劳动报酬100,000.00元": the compensation the workers received on the bureau's order went unsaid."""
    import re

    from tests.integration.test_benefit_claim import pdf_text
    from tests.integration.test_wage_arrears_process import _partly_paid, fire

    case, track = _partly_paid(inspector)  # 60000.00 still owed
    case = track.step(complete(inspector, case, "choose_enforcement", {
        "measures": ["compensation_order"], "compensation_rate": 50, "reason": "逾期未支付"}, at("2021-02-22 09:00")))
    case = fire(track, at("2021-03-10 00:00"))  # past the compensation's deadline, however many days it gave
    case = track.step(complete(inspector, case, "check_payment", {
        "amount_paid": "100000.00", "compensation_paid": "30000.00"}, at("2021-03-10 10:00")))
    assert case.status == "cleared"
    documents.render_pending(at("2021-03-10 12:00"), limit=100)
    [closure] = [d for d in documents.documents_for_case(case) if d.kind == "case_closure_notice"]
    text = "".join(pdf_text(closure).split())
    assert re.search(r"追回劳动报酬100,000\.00元", text)
    assert "用人单位已按本局决定向劳动者支付加付赔偿金30,000.00元" in text
