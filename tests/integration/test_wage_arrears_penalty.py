"""The procedure before a fine (domain review: a fine was decided with no prior notice and no chance to answer).
Approving a fine issues the prior notice (行政处罚告知书: 行政处罚法 arts. 44, 45; a hearing for a large fine, arts.
63, 64); the model waits for the employer's time to answer, then the inspector records the answer and the decision
(as notified, lower, or none); only then is the penalty decision issued, stating the procedure before it, or, for
a fine not imposed, the decision not to impose it (不予行政处罚决定书: 行政处罚法 art. 57)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine import documents, processes, services
from engine.actors import Actor
from engine.validation import DataInvalid
from tests.conftest import at
from tests.factories import complete, open_task
from tests.integration.test_benefit_claim import pdf_text
from tests.integration.test_wage_arrears_enforcement import APPROVED, CHOSEN, NO_ANSWER, notices
from tests.integration.test_wage_arrears_process import (
    _partly_paid,
    assert_closed,
    assert_round_trip,
    end_of,
    fire,
    pending_timers,
    wf_tasks,
)

pytestmark = pytest.mark.usefixtures("ctx", "workflow_source")

OBSTRUCTION = "拒不提供工资台账，阻挠监察员调查"
# The model as it was before the procedure: a case opened on it decides the fine on approval (see the last test).
EARLIER_MODEL = Path(__file__).parent / "models" / "wage_arrears_before_prior_notice.bpmn"
# The decision form as it was before a drop named its ground (see the last test).
EARLIER_DECISION_FORM = Path(__file__).parent / "models" / "decide_penalty_before_drop_ground.schema.json"


def _fine_approved(inspector: Actor, supervisor: Actor, amount: str):
    """60000.00 still owed; a fine of `amount` chosen Mon 22 Feb 2021 09:00 and approved at 11:00."""
    case, track = _partly_paid(inspector)
    case = track.step(complete(inspector, case, "choose_enforcement",
                               {"measures": ["penalty"], "penalty_amount": amount, "reason": OBSTRUCTION}, CHOSEN))
    case = track.step(complete(supervisor, case, "approve_enforcement", {"approved": True}, APPROVED))
    return case, track


def _rendered(case, kind: str) -> str:
    documents.render_pending(at("2021-03-31 12:00"), limit=1000)
    [notice] = notices(case, kind)
    # Without line breaks and without the running footer a page break puts mid-sentence.
    return re.sub(r"第\d+页共\d+页验证码[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", "", "".join(pdf_text(notice).split()))


def test_the_fine_is_notified_heard_and_then_decided(inspector, supervisor):
    case, track = _fine_approved(inspector, supervisor, "15000.00")
    # Approval tells the employer of the fine; nothing is decided yet.
    [notice] = notices(case, "penalty_prior_notice")
    assert notices(case, "penalty_decision") == []
    facts = notice.facts
    assert (facts["recipient"], facts["penalty"], facts["fine_amount"]) == ("楚雄市某建筑劳务有限公司", "罚款",
                                                                          "15000.00")
    assert OBSTRUCTION in "".join(facts["facts"]) and facts["legal_basis"] == ["《劳动保障监察条例》第三十条"]
    # 15000.00 reaches the large-amount threshold (10000 by default): a hearing may be asked for.
    assert (facts["defence_days"], facts["hearing"], facts["hearing_days"]) == (3, True, 5)
    text = _rendered(case, "penalty_prior_notice")
    assert "行政处罚告知书" in text and notice.number in text and "15,000.00元" in text
    assert "拟对你单位作出如下行政处罚" in text and OBSTRUCTION in text
    assert "有权进行陈述和申辩" in text and "自收到本告知书之日起三个工作日内" in text
    assert "有权要求举行听证" in text and "自收到本告知书之日起五个工作日内" in text
    assert "申请行政复议" not in text  # not a decision yet
    # Nobody has a task while the employer has its five working days (Tue 23 Feb to Mon 1 March).
    assert wf_tasks(case) == []
    [timer] = [t for t in pending_timers(case, "bpmn") if t.name != "case_clock"]
    assert (timer.name, timer.fire_at) == ("penalty_defence_period", end_of("2021-03-01"))
    summary = case.summary
    assert (summary["penalty_stage"], summary["penalty_answer_due_at"]) == ("notified", "2021-03-01T23:59:59+08:00")
    assert summary["penalty_final_amount"] is None
    assert_round_trip(case)
    case = fire(track, at("2021-03-01 12:00"))
    assert wf_tasks(case) == []
    case = fire(track, at("2021-03-02 00:00"))
    task = open_task(case, "decide_penalty")
    assert (task.role, task.due_rule) == ("inspector", "decide_penalty_days")
    assert_round_trip(case)
    # The employer stated its defence and asked for a hearing, held on Mon 8 March; the defence does not hold.
    case = track.step(complete(inspector, case, "decide_penalty", {
        "defence_stated": True, "hearing_requested": True, "hearing_held_on": "2021-03-08",
        "defence_review": "你单位称工资台账由项目部保管，但未提供证据，陈述、申辩理由不成立，不予采纳",
        "penalty_outcome": "impose"}, at("2021-03-09 09:00")))
    [decision] = notices(case, "penalty_decision")
    assert notices(case, "no_penalty_decision") == []
    assert decision.facts["fine_amount"] == "15000.00"
    note = decision.facts["hearing_note"]
    assert f"本局于2021年2月22日向你单位发出《行政处罚告知书》（{notice.number}）" in note
    assert "陈述、申辩和要求听证的权利" in note and "本局于2021年3月8日依法举行了听证" in note
    assert "经复核，你单位称工资台账由项目部保管" in note
    text = _rendered(case, "penalty_decision")
    assert notice.number in text and "依法举行了听证" in text and "15,000.00元" in text
    # Then on as before: nothing else to wait for, the payment check.
    assert [t.name for t in wf_tasks(case)] == ["check_payment"]
    summary = case.summary
    assert (summary["penalty_stage"], summary["penalty_final_amount"]) == ("decided", "15000.00")
    assert summary["penalty_answer_due_at"] is None
    assert_round_trip(case)
    case = track.step(complete(inspector, case, "check_payment", {"amount_paid": "100000.00"},
                               at("2021-03-09 10:00")))
    assert_closed(case, "cleared")


def test_a_fine_below_the_large_amount_carries_no_hearing(inspector, supervisor):
    case, track = _fine_approved(inspector, supervisor, "5000.00")
    [notice] = notices(case, "penalty_prior_notice")
    assert notice.facts["hearing"] is False
    text = _rendered(case, "penalty_prior_notice")
    assert "三个工作日内" in text and "听证" not in text
    # Only the three working days to state a defence: Tue 23 to Thu 25 Feb.
    [timer] = [t for t in pending_timers(case, "bpmn") if t.name != "case_clock"]
    assert timer.fire_at == end_of("2021-02-25")
    case = fire(track, at("2021-02-26 00:00"))
    task = open_task(case, "decide_penalty")
    with pytest.raises(DataInvalid) as refused:
        services.complete_task(inspector, task.id, {**NO_ANSWER, "hearing_requested": True,
                                                    "hearing_held_on": "2021-02-26", "defence_review": "要求听证"},
                               case.version, at("2021-02-26 09:00"))
    assert set(refused.value.fields) == {"hearing_requested"} and "10000.00" in refused.value.fields[
        "hearing_requested"]
    assert track.case.version == track.versions[-1]
    case = track.step(complete(inspector, case, "decide_penalty", NO_ANSWER, at("2021-02-26 09:00")))
    [decision] = notices(case, "penalty_decision")
    assert decision.facts["hearing_note"].endswith("你单位在规定期限内未提出陈述、申辩。")
    assert "听证" not in decision.facts["hearing_note"]


def test_a_lower_fine_is_decided_with_its_reason(inspector, supervisor):
    case, track = _fine_approved(inspector, supervisor, "15000.00")
    case = fire(track, at("2021-03-02 00:00"))
    case = track.step(complete(inspector, case, "decide_penalty", {
        "defence_stated": True, "hearing_requested": False, "defence_review": "你单位已补交工资台账，部分采纳",
        "penalty_outcome": "reduce", "final_penalty_amount": "8000",
        "penalty_outcome_reason": "已主动改正并配合调查，依法从轻处罚"}, at("2021-03-02 10:00")))
    [decision] = notices(case, "penalty_decision")
    assert notices(case, "no_penalty_decision") == []
    assert decision.facts["fine_amount"] == "8000.00"
    assert decision.facts["hearing_note"].endswith(
        "经复核，你单位已补交工资台账，部分采纳。本局决定将罚款金额由15000.00元减为8000.00元，"
        "理由：已主动改正并配合调查，依法从轻处罚。")
    assert "8,000.00元" in _rendered(case, "penalty_decision")
    assert (case.summary["penalty_stage"], case.summary["penalty_final_amount"]) == ("decided", "8000.00")
    assert case.summary["penalty_amount"] == "15000.00"  # what was notified stays shown beside it


DEFENCE_HOLDS = {"defence_stated": True, "hearing_requested": False,
                 "defence_review": "你单位提供了工资台账由项目部保管、次日已主动报送的证据，理由成立，予以采纳"}
MINOR = "你单位未当场提供工资台账系因台账由项目部保管，次日即主动报送，未影响调查"


def test_dropping_the_fine_issues_a_decision_not_to_impose_it(app, inspector, supervisor, monkeypatch):
    """行政处罚法 art. 57: the employer told of the fine is told in writing that it is not imposed, on the facts it was
    told of, after its defence, why, and on which ground (art. 33: minor and corrected in time)."""
    from tests.integration.test_api import api_for
    from tests.integration.test_pages import FreshContextClient, post, sign_in

    case, track = _fine_approved(inspector, supervisor, "5000.00")
    [notice] = notices(case, "penalty_prior_notice")
    case = fire(track, at("2021-02-26 00:00"))
    case = track.step(complete(inspector, case, "decide_penalty", {
        **DEFENCE_HOLDS, "penalty_outcome": "drop", "penalty_outcome_reason": MINOR + "。",
        "drop_ground": "minor_corrected"}, at("2021-02-26 09:00")))
    [decision] = notices(case, "no_penalty_decision")
    assert notices(case, "penalty_decision") == [] and len(notices(case, "penalty_prior_notice")) == 1
    assert (decision.title, decision.number) == ("不予行政处罚决定书", "楚市人社监不罚〔2021〕1号")
    facts = decision.facts
    assert (facts["recipient"], facts["penalty"], facts["fine_amount"]) == (
        "楚雄市某建筑劳务有限公司", "罚款", "5000.00")
    assert facts["facts"] == notice.facts["facts"] and OBSTRUCTION in "".join(facts["facts"])  # as notified
    assert facts["hearing_note"] == (
        f"本局于2021年2月22日向你单位发出《行政处罚告知书》（{notice.number}），告知你单位拟作出行政处罚的事实、理由、"
        "依据及依法享有的陈述、申辩的权利。你单位在规定期限内提出了陈述、申辩。经复核，你单位提供了工资台账由项目部保管、"
        "次日已主动报送的证据，理由成立，予以采纳。")
    assert facts["ground"] == "你单位违法行为轻微并及时改正，没有造成危害后果"
    assert facts["legal_basis"] == ["《中华人民共和国行政处罚法》第三十三条第一款、第五十七条第一款第二项"]
    assert facts["rights"] is True  # a violation is still found: the employer may contest it
    assert facts["education"].startswith("依据《中华人民共和国行政处罚法》第三十三条第三款，本局对你单位进行批评教育")
    text = _rendered(case, "no_penalty_decision")
    for said in ("不予行政处罚决定书", decision.number, "本局拟对你单位作出罚款5,000.00元（人民币伍仟元整）的行政处罚",
                 OBSTRUCTION, f"《行政处罚告知书》（{notice.number}）", "你单位在规定期限内提出了陈述、申辩",
                 "经复核，你单位提供了工资台账由项目部保管", f"本局认为，{MINOR}。",
                 "鉴于你单位违法行为轻微并及时改正，没有造成危害后果，依据《中华人民共和国行政处罚法》第三十三条第一款、"
                 "第五十七条第一款第二项的规定，本局决定：对你单位不予行政处罚。",
                 "对你单位不予行政处罚。依据《中华人民共和国行政处罚法》第三十三条第三款，本局对你单位进行批评教育",
                 "你单位如不服本决定，可以在收到本决定书之日起六十日内", "提起行政诉讼"):
        assert said in text, said
    assert "缴纳罚款" not in text
    # The case goes on to the payment check, the fine shown as not imposed.
    assert [t.name for t in wf_tasks(case)] == ["check_payment"]
    assert (case.summary["penalty_stage"], case.summary["penalty_final_amount"]) == ("not_imposed", None)
    assert_round_trip(case)
    # The decision is in the case's documents and history, in the API and on the page.
    monkeypatch.setitem(app.config, "CLOCK", lambda: at("2021-03-31 12:00"))
    api = api_for(FreshContextClient(app, app.response_class, use_cookies=True), inspector.username)
    listed = [d for d in api.get(f"/cases/{case.number}/documents").get_json() if d["kind"] == "no_penalty_decision"]
    assert [(d["title"], d["number"], d["verification_code"]) for d in listed] == [
        ("不予行政处罚决定书", decision.number, decision.verification_code)]
    history = api.get(f"/cases/{case.number}").get_json()["history"]
    issued = [e["detail"] for e in history
              if e["kind"] == "notice_issued" and e["detail"]["kind"] == "no_penalty_decision"]
    assert [(d["number"], d["document_id"]) for d in issued] == [(decision.number, decision.id)]
    web = FreshContextClient(app, app.response_class, use_cookies=True)
    assert sign_in(web, inspector.username).status_code == 302
    shown = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", web.get(f"/cases/{case.number}").get_data(as_text=True)))
    assert "不予行政处罚决定书" in shown and f"制发文书 · {decision.number}" in shown
    assert "罚款程序 决定不予罚款" in shown
    pdf = web.get(f"/documents/{decision.id}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.get_data().startswith(b"%PDF")
    pdf.close()
    assert post(web, "/language", {"language": "en"}).status_code == 302
    shown = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", web.get(f"/cases/{case.number}").get_data(as_text=True)))
    assert "Decision not to impose an administrative penalty" in shown and "Fine not imposed" in shown


def test_a_fine_dropped_for_want_of_facts_cites_art_57_and_names_the_violation_the_fine_was_for(inspector,
                                                                                                  supervisor):
    """违法事实不能成立: art. 33 is not cited and no education is recorded. QA: the decision said "你单位的违法事实不能
    成立" under facts that still state the arrears owed, as if the whole case were unfounded; it names the violation
    the fine was intended for. And official formats of this decision print the rights of review and litigation
    (the complainant may contest it too): printed."""
    case, track = _fine_approved(inspector, supervisor, "15000.00")
    case = fire(track, at("2021-03-02 00:00"))
    case = track.step(complete(inspector, case, "decide_penalty", {
        **NO_ANSWER, "penalty_outcome": "drop", "penalty_outcome_reason": "现有证据不能证明你单位拒不提供工资台账",
        "drop_ground": "facts_not_established"}, at("2021-03-02 09:00")))
    [decision] = notices(case, "no_penalty_decision")
    assert notices(case, "penalty_decision") == []
    facts = decision.facts
    assert facts["legal_basis"] == ["《中华人民共和国行政处罚法》第五十七条第一款第三项"] and facts["rights"] is True
    assert facts["education"] is None
    assert facts["hearing_note"].endswith("你单位在规定期限内未提出陈述、申辩，亦未要求听证。")
    text = _rendered(case, "no_penalty_decision")
    assert "本局认为，现有证据不能证明你单位拒不提供工资台账。鉴于本局拟给予行政处罚所依据的违法事实不能成立" in text
    assert "15,000.00元" in text and "陈述、申辩和要求听证的权利" in text
    assert "第三十三条" not in text and "批评教育" not in text
    assert "行政复议" in text and "行政诉讼" in text


@pytest.mark.parametrize(("form", "field", "says"), [
    ({"penalty_outcome": "drop", "drop_ground": "minor_corrected"}, "penalty_outcome_reason", "必填"),
    ({"penalty_outcome": "drop", "penalty_outcome_reason": "   ", "drop_ground": "minor_corrected"},
     "penalty_outcome_reason", ""),
    ({"penalty_outcome": "drop", "penalty_outcome_reason": MINOR}, "drop_ground", "必填"),
    ({"penalty_outcome": "drop", "penalty_outcome_reason": MINOR, "drop_ground": "repented"}, "drop_ground", ""),
    ({"penalty_outcome": "impose", "drop_ground": "minor_corrected"}, "drop_ground", "仅在不予罚款时填写"),
])
def test_a_drop_without_its_reason_or_ground_is_a_400_naming_the_field_and_changes_nothing(
        app, inspector, supervisor, monkeypatch, form, field, says):
    from tests.integration.test_api import api_for
    from tests.integration.test_pages import FreshContextClient

    case, track = _fine_approved(inspector, supervisor, "5000.00")
    case = fire(track, at("2021-02-26 00:00"))
    task = open_task(case, "decide_penalty")
    monkeypatch.setitem(app.config, "CLOCK", lambda: at("2021-02-26 09:00"))
    api = api_for(FreshContextClient(app, app.response_class, use_cookies=True), inspector.username)
    response = api.post(f"/tasks/{task.id}/complete", {"data": {"defence_stated": False, "hearing_requested": False,
                                                                 **form}, "case_version": case.version})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed" and set(error["fields"]) == {field} and says in error["fields"][field]
    assert track.case.version == track.versions[-1] and open_task(track.case, "decide_penalty").id == task.id
    assert notices(case, "no_penalty_decision") == notices(case, "penalty_decision") == []


@pytest.mark.parametrize(("form", "field", "says"), [
    ({"penalty_outcome": "reduce", "final_penalty_amount": "1999.99"}, "final_penalty_amount", "2000.00"),
    ({"penalty_outcome": "reduce", "final_penalty_amount": "15000.00"}, "final_penalty_amount", "第四十五条"),
    ({"penalty_outcome": "reduce", "final_penalty_amount": "20000.00"}, "final_penalty_amount", "第四十五条"),
    ({"penalty_outcome": "impose", "final_penalty_amount": "8000.00"}, "final_penalty_amount", "仅在减少"),
    ({"penalty_outcome": "reduce"}, "final_penalty_amount", ""),
    ({"hearing_requested": True, "defence_review": "听证", "hearing_held_on": "2021-03-03"}, "hearing_held_on",
     "2021-03-02"),
    ({"hearing_held_on": "2021-03-01"}, "hearing_held_on", "无需填写"),
])
def test_a_decision_out_of_range_or_heavier_than_notified_is_refused_and_changes_nothing(
        inspector, supervisor, form, field, says):
    case, track = _fine_approved(inspector, supervisor, "15000.00")
    case = fire(track, at("2021-03-02 00:00"))
    task = open_task(case, "decide_penalty")
    data = {**NO_ANSWER, "penalty_outcome_reason": "从轻", **form}
    with pytest.raises(DataInvalid) as refused:
        services.complete_task(inspector, task.id, data, case.version, at("2021-03-02 09:00"))
    assert set(refused.value.fields) == {field} and says in refused.value.fields[field]
    assert track.case.version == track.versions[-1] and open_task(track.case, "decide_penalty").id == task.id
    assert notices(case, "penalty_decision") == []


def test_the_api_refuses_a_fine_out_of_range_with_a_400_naming_the_field(app, inspector, supervisor, monkeypatch):
    from tests.integration.test_api import api_for
    from tests.integration.test_pages import FreshContextClient

    case, track = _fine_approved(inspector, supervisor, "15000.00")
    case = fire(track, at("2021-03-02 00:00"))
    task = open_task(case, "decide_penalty")
    monkeypatch.setitem(app.config, "CLOCK", lambda: at("2021-03-02 09:00"))
    api = api_for(FreshContextClient(app, app.response_class, use_cookies=True), inspector.username)
    response = api.post(f"/tasks/{task.id}/complete", {"data": {
        "defence_stated": False, "hearing_requested": False, "penalty_outcome": "reduce",
        "final_penalty_amount": "25000.00", "penalty_outcome_reason": "从轻"}, "case_version": case.version})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed" and set(error["fields"]) == {"final_penalty_amount"}
    assert track.case.version == track.versions[-1] and notices(case, "penalty_decision") == []


def test_a_case_on_the_earlier_model_decides_the_fine_on_approval(inspector, supervisor, monkeypatch):
    """Cases already open run on the version they started on: the earlier model has no step for the employer's
    answer, so its approval still decides the fine (as it did), and nothing in it breaks."""
    files = {name: text for name, text in processes.read_files("wage_arrears").items()
             if name != "decide_penalty.schema.json"}
    files["wage_arrears.bpmn"] = EARLIER_MODEL.read_text(encoding="utf-8")
    real = processes._read
    monkeypatch.setattr(processes, "_read", lambda process: (
        (files, processes.content_hash(files)) if process == "wage_arrears" else real(process)))
    case, track = _partly_paid(inspector)
    monkeypatch.setattr(processes, "_read", real)
    assert "decide_penalty" not in processes.parsed_by_id(case.process_version_id).user_tasks
    case = track.step(complete(inspector, case, "choose_enforcement",
                               {"measures": ["penalty"], "penalty_amount": "5000.00", "reason": OBSTRUCTION}, CHOSEN))
    case = track.step(complete(supervisor, case, "approve_enforcement", {"approved": True}, APPROVED))
    [decision] = notices(case, "penalty_decision")
    assert decision.facts["fine_amount"] == "5000.00" and notices(case, "penalty_prior_notice") == []
    assert [t.name for t in wf_tasks(case)] == ["check_payment"]
    assert case.summary["penalty_stage"] is None and case.summary["penalty_amount"] == "5000.00"
    # A newly opened case runs on the current model.
    fresh, _ = _partly_paid(inspector)
    assert "decide_penalty" in processes.parsed_by_id(fresh.process_version_id).user_tasks


def test_the_case_page_shows_the_procedure_and_the_form(app, inspector, supervisor):
    import html as html_module

    from tests.integration.test_pages import FreshContextClient, sign_in

    def page(case) -> str:
        text = web.get(f"/cases/{case.number}").get_data(as_text=True)
        return re.sub(r"\s+", " ", html_module.unescape(re.sub(r"<[^>]+>", " ", text)))

    case, track = _fine_approved(inspector, supervisor, "15000.00")
    web = FreshContextClient(app, app.response_class, use_cookies=True)
    assert sign_in(web, inspector.username).status_code == 302
    shown = page(case)
    assert "罚款程序 已告知，待陈述申辩" in shown and "陈述申辩期限 2021年3月1日" in shown
    assert "行政处罚告知书" in shown
    case = fire(track, at("2021-03-02 00:00"))
    shown = page(case)
    for text in ("陈述申辩复核及处罚决定", "当事人是否提出陈述、申辩", "当事人是否要求听证", "复核意见",
                 "按告知的金额处以罚款", "在法定幅度内减少罚款金额", "不予罚款", "决定罚款金额（元）",
                 "不予行政处罚的法定情形", "违法事实不能成立（第五十七条第一款第三项）"):
        assert text in shown, text


def test_the_notice_states_one_fact_with_the_compensation_still_unpaid():
    """QA: with the wages paid but the compensation not, the notice said "逾期仅支付20,000.00元，尚欠0.00元未支付"
    and nothing of the compensation; the inspector's reason came as a second numbered violation."""
    from engine.wage_arrears import _penalty_facts

    data = {"verified_amount": "20000.00", "amount_paid": "20000.00", "compensation_amount": "20000.00",
            "compensation_paid": "5000.00", "compensation_due_at": "2021-03-01T23:59:59+08:00",
            "reason": "经责令加付赔偿金后拒不支付。"}
    assert _penalty_facts(data, at("2021-03-05 10:00")) == [
        "经核实，你单位拖欠劳动者工资20000.00元，经责令限期支付，逾期后已全部支付。"
        "经责令加付赔偿金20000.00元，尚有15000.00元未支付。经责令加付赔偿金后拒不支付。"]


def test_a_case_on_the_form_without_a_ground_still_decides_not_to_fine_in_writing(inspector, supervisor, monkeypatch):
    """A case opened before the form asked for the ground of a drop keeps its form: its drop (a reason only) issues
    the decision citing art. 57 alone, with the rights printed since whether it finds a violation cannot be told."""
    files = processes.read_files("wage_arrears")
    files["decide_penalty.schema.json"] = EARLIER_DECISION_FORM.read_text(encoding="utf-8")
    real = processes._read
    monkeypatch.setattr(processes, "_read", lambda process: (
        (files, processes.content_hash(files)) if process == "wage_arrears" else real(process)))
    case, track = _partly_paid(inspector)
    monkeypatch.setattr(processes, "_read", real)
    case = track.step(complete(inspector, case, "choose_enforcement",
                               {"measures": ["penalty"], "penalty_amount": "5000.00", "reason": OBSTRUCTION}, CHOSEN))
    case = track.step(complete(supervisor, case, "approve_enforcement", {"approved": True}, APPROVED))
    case = fire(track, at("2021-02-26 00:00"))
    task = open_task(case, "decide_penalty")
    forms = processes.parsed_by_id(case.process_version_id).forms
    assert "drop_ground" not in forms["decide_penalty.schema.json"]["properties"]
    with pytest.raises(DataInvalid) as refused:  # that version's form knows no ground
        services.complete_task(inspector, task.id, {**NO_ANSWER, "penalty_outcome": "drop",
                                                    "penalty_outcome_reason": MINOR, "drop_ground": "minor_corrected"},
                               case.version, at("2021-02-26 09:00"))
    assert set(refused.value.fields) == {"drop_ground"}
    case = track.step(complete(inspector, case, "decide_penalty", {
        **NO_ANSWER, "penalty_outcome": "drop", "penalty_outcome_reason": MINOR}, at("2021-02-26 09:00")))
    [decision] = notices(case, "no_penalty_decision")
    assert decision.facts["legal_basis"] == ["《中华人民共和国行政处罚法》第五十七条"]
    assert decision.facts["ground"] is None and decision.facts["rights"] is True
    text = _rendered(case, "no_penalty_decision")
    assert (f"本局认为，{MINOR}。依据《中华人民共和国行政处罚法》第五十七条的规定，本局决定："
            "对你单位不予行政处罚。") in text
    assert [t.name for t in wf_tasks(case)] == ["check_payment"]
    # A case opened now runs on the form that asks for the ground.
    fresh, _ = _partly_paid(inspector)
    assert fresh.process_version_id != case.process_version_id
