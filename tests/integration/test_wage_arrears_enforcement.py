"""The enforcement measures of a wage-arrears case (DOMAIN.md section 1, step 4): what each one does once it is in
force, which need a supervisor's approval, and closing with money still owed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import documents, services
from engine.actors import Actor
from engine.validation import DataInvalid
from engine.wage_arrears_law import MEASURES_NEEDING_APPROVAL
from tests.conftest import at
from tests.factories import complete, open_task
from tests.integration.test_benefit_claim import pdf_text
from tests.integration.test_wage_arrears_process import (
    Track,
    _partly_paid,
    assert_closed,
    assert_round_trip,
    end_of,
    fire,
    pending_timers,
    wf_tasks,
)

pytestmark = pytest.mark.usefixtures("ctx", "workflow_source")

CHOSEN = at("2021-02-22 09:00")  # a Monday; the case owes 60000.00 of 100000.00 to 10 workers
APPROVED = at("2021-02-22 11:00")
SCHEMA = Path(__file__).resolve().parents[2] / "bpmn" / "wage_arrears" / "choose_enforcement.schema.json"
# The form fields each measure needs besides the reason.
FIELDS = {"compensation_order": {"compensation_rate": 50}, "penalty": {"penalty_amount": "10000.00"},
          "wage_deposit": {"deposit_bank": "中国农业银行楚雄分行"}}
# The employer let its time to answer a prior notice run, and the fine is decided as notified.
NO_ANSWER = {"defence_stated": False, "hearing_requested": False, "penalty_outcome": "impose"}


def notices(case, kind: str) -> list:
    return [d for d in documents.documents_for_case(case) if d.kind == kind]


def choose(inspector: Actor, case, track: Track, *measures: str, when=CHOSEN):
    form = {"measures": list(measures), "reason": "逾期仍未足额支付"}
    for measure in measures:
        form.update(FIELDS.get(measure, {}))
    return track.step(complete(inspector, case, "choose_enforcement", form, when))


@pytest.mark.parametrize("measure", json.loads(SCHEMA.read_text("utf-8"))["properties"]["measures"]["items"]["enum"])
def test_which_measures_wait_for_the_supervisor(inspector, measure):
    # The engine issues a measure's notices when it is in force; the model decides when that is. They agree.
    case, track = _partly_paid(inspector)
    case = choose(inspector, case, track, measure)
    assert (open_task(case, "approve_enforcement") is not None if measure in MEASURES_NEEDING_APPROVAL
            else "approve_enforcement" not in [t.name for t in wf_tasks(case)])
    assert_round_trip(case)


def test_the_wage_deposit_is_drawn_by_a_notice_to_the_bank_and_checked_after_its_five_working_days(inspector):
    case, track = _partly_paid(inspector)
    with pytest.raises(DataInvalid) as refused:  # the notice needs its addressee
        complete(inspector, case, "choose_enforcement", {"measures": ["wage_deposit"], "reason": "动用保证金"}, CHOSEN)
    assert set(refused.value.fields) == {"deposit_bank"}
    case = choose(inspector, case, track, "wage_deposit")
    # Nobody has a task while the bank has its five working days: Tue 23 Feb to Mon 1 March.
    assert wf_tasks(case) == []
    [timer] = [t for t in pending_timers(case, "bpmn") if t.name != "case_clock"]
    assert (timer.name, timer.fire_at) == ("wage_deposit_due", end_of("2021-03-01"))
    [notice] = notices(case, "wage_deposit_notice")
    assert notice.facts["recipient"] == "中国农业银行楚雄分行"
    # The bank owes nothing: the facts name the employer, not "你单位".
    assert notice.facts["facts"][0].startswith("经核实，楚雄市某建筑劳务有限公司拖欠劳动者工资")
    assert (notice.facts["amount"], notice.facts["worker_count"], notice.facts["deadline"]) == ("60000.00", 10,
                                                                                              "2021-03-01")
    assert_round_trip(case)
    case = fire(track, at("2021-03-02 00:00"))
    check = open_task(case, "check_payment")
    assert check.due_at == end_of("2021-03-03")  # the payment check's one working day
    case = track.step(complete(inspector, case, "check_payment", {"amount_paid": "100000.00"}, at("2021-03-02 10:00")))
    assert_closed(case, "cleared")


def test_extra_compensation_is_ordered_when_chosen(inspector):
    case, track = _partly_paid(inspector)
    case = choose(inspector, case, track, "compensation_order")
    [order] = notices(case, "compensation_order")
    # 50 % of what is still owed, not of the verified total.
    assert (order.facts["amount_owed"], order.facts["compensation_rate"], order.facts["compensation_amount"]) == (
        "60000.00", 50, "30000.00")
    assert order.facts["recipient"] == "楚雄市某建筑劳务有限公司"
    # 22 Feb is after the campaign (its last deadline was 10 Feb): the ordinary 7 working days to pay, not its 3.
    assert order.facts["deadline"] == "2021-03-03"
    summary = case.summary
    assert (summary["compensation_amount"], summary["compensation_paid"]) == ("30000.00", "0.00")
    assert summary["compensation_due_at"] == "2021-03-03T23:59:59+08:00"


def test_the_payment_check_waits_for_the_compensation_deadline_and_the_case_clears_only_when_it_is_paid(inspector):
    """QA and the domain review: the check came due in one working day while the order gave seven, and paying the
    wages alone cleared the case with the compensation (条例 art. 26) unpaid ("不解决不销账")."""
    case, track = _partly_paid(inspector)
    case = choose(inspector, case, track, "compensation_order")
    assert wf_tasks(case) == []  # nobody checks before the employer's time to pay has run
    [timer] = [t for t in pending_timers(case, "bpmn") if t.name != "case_clock"]
    assert (timer.name, timer.fire_at) == ("compensation_deadline", end_of("2021-03-03"))
    case = fire(track, at("2021-03-04 00:00"))
    check = open_task(case, "check_payment")
    with pytest.raises(DataInvalid) as refused:  # the compensation is checked with the wages
        services.complete_task(inspector, check.id, {"amount_paid": "100000.00"}, case.version,
                               at("2021-03-04 10:00"))
    assert "本案已责令加付赔偿金 30000.00 元" in refused.value.fields["compensation_paid"]
    with pytest.raises(DataInvalid) as too_much:
        services.complete_task(inspector, check.id, {"amount_paid": "100000.00", "compensation_paid": "30000.01"},
                               case.version, at("2021-03-04 10:00"))
    assert set(too_much.value.fields) == {"compensation_paid"}
    # The wages paid in full, a third of the compensation: still not cleared, back to the measures.
    case = track.step(complete(inspector, case, "check_payment",
                               {"amount_paid": "100000.00", "compensation_paid": "10000.00"}, at("2021-03-04 10:00")))
    assert case.status == "enforcement" and case.closed_at is None
    assert case.summary["amount_outstanding"] == "0.00" and case.summary["compensation_paid"] == "10000.00"
    assert open_task(case, "choose_enforcement")
    assert_round_trip(case)
    case = choose(inspector, case, track, "emergency_advance", when=at("2021-03-04 11:00"))
    check = open_task(case, "check_payment")
    with pytest.raises(DataInvalid) as lower:  # a running total never goes down
        services.complete_task(inspector, check.id, {"amount_paid": "100000.00", "compensation_paid": "5000.00"},
                               case.version, at("2021-03-05 10:00"))
    assert set(lower.value.fields) == {"compensation_paid"}
    case = track.step(complete(inspector, case, "check_payment",
                               {"amount_paid": "100000.00", "compensation_paid": "30000.00"}, at("2021-03-05 10:00")))
    assert_closed(case, "cleared")


def test_a_case_without_a_compensation_order_records_none(inspector):
    case, track = _partly_paid(inspector)
    case = choose(inspector, case, track, "emergency_advance")
    check = open_task(case, "check_payment")
    with pytest.raises(DataInvalid) as refused:
        services.complete_task(inspector, check.id, {"amount_paid": "100000.00", "compensation_paid": "100.00"},
                               case.version, at("2021-02-23 10:00"))
    assert refused.value.fields == {"compensation_paid": "本案未责令加付赔偿金，无需填写"}
    case = track.step(complete(inspector, case, "check_payment", {"amount_paid": "100000.00",
                                                                  "compensation_paid": "0"}, at("2021-02-23 10:00")))
    assert_closed(case, "cleared")


def test_the_emergency_advance_is_requested_from_the_county_government(inspector):
    case, track = _partly_paid(inspector)
    case = choose(inspector, case, track, "emergency_advance")
    [request] = notices(case, "emergency_advance_request")
    assert request.facts["recipient"] == "楚雄市人民政府"
    assert "你单位" not in request.facts["facts"][0]
    assert (request.facts["amount"], request.facts["worker_count"]) == ("60000.00", 10)


def test_notices_of_measures_needing_approval_wait_for_it(inspector, supervisor):
    case, track = _partly_paid(inspector)
    case = choose(inspector, case, track, "blacklist", "compensation_order")
    assert notices(case, "blacklist_decision") == notices(case, "compensation_order") == []
    case = track.step(complete(supervisor, case, "approve_enforcement", {"approved": False, "comment": "证据不足"},
                               APPROVED))
    assert notices(case, "blacklist_decision") == notices(case, "compensation_order") == []
    case = choose(inspector, case, track, "blacklist", "compensation_order", when=at("2021-02-23 09:00"))
    case = track.step(complete(supervisor, case, "approve_enforcement", {"approved": True}, at("2021-02-23 10:00")))
    assert len(notices(case, "blacklist_decision")) == len(notices(case, "compensation_order")) == 1


def _blacklisted(inspector: Actor, supervisor: Actor):
    case, track = _partly_paid(inspector)
    case = choose(inspector, case, track, "blacklist")
    case = track.step(complete(supervisor, case, "approve_enforcement", {"approved": True}, APPROVED))
    return case, track


def test_blacklisting_lasts_a_year_and_two_when_the_employer_is_listed_again(inspector, supervisor):
    case, track = _blacklisted(inspector, supervisor)
    [first] = notices(case, "blacklist_decision")
    assert (first.facts["years"], first.facts["repeat"]) == (1, False)
    assert (first.facts["listed_from"], first.facts["listed_until"]) == ("2021-02-22", "2022-02-21")
    # Listed already: neither this case nor another against the same employer (same social credit code) lists it
    # again while the listing lasts.
    case = track.step(complete(inspector, case, "check_payment", {"amount_paid": "40000.00"}, at("2021-02-23 09:00")))
    with pytest.raises(DataInvalid) as refused:
        choose(inspector, case, track, "blacklist", when=at("2021-02-23 10:00"))
    assert "2022-02-21" in refused.value.fields["measures"]
    other, other_track = _partly_paid(inspector)
    with pytest.raises(DataInvalid) as refused:
        choose(inspector, other, other_track, "blacklist")
    assert "2022-02-21" in refused.value.fields["measures"]
    # Once it has run out, listing the employer again is for two years.
    other = choose(inspector, other, other_track, "blacklist", when=at("2022-03-01 09:00"))
    other = other_track.step(complete(supervisor, other, "approve_enforcement", {"approved": True},
                                      at("2022-03-01 10:00")))
    [second] = notices(other, "blacklist_decision")
    assert (second.facts["years"], second.facts["repeat"]) == (2, True)
    assert (second.facts["listed_from"], second.facts["listed_until"]) == ("2022-03-01", "2024-02-29")
    documents.render_pending(at("2022-03-01 12:00"))
    [second] = notices(other, "blacklist_decision")
    assert "2024年2月29日" in pdf_text(second)


def test_two_cases_choosing_to_list_the_same_employer_list_it_once(inspector, supervisor):
    first, first_track = _partly_paid(inspector)
    second, second_track = _partly_paid(inspector)  # the same employer (social credit code)
    first = choose(inspector, first, first_track, "blacklist")
    second = choose(inspector, second, second_track, "blacklist")  # not listed yet: both may propose it
    first_track.step(complete(supervisor, first, "approve_enforcement", {"approved": True}, APPROVED))
    with pytest.raises(DataInvalid) as refused:
        complete(supervisor, second, "approve_enforcement", {"approved": True}, APPROVED)
    assert "2022-02-21" in refused.value.fields["approved"]
    assert notices(second, "blacklist_decision") == []
    second_track.step(complete(supervisor, second, "approve_enforcement",
                               {"approved": False, "comment": "已由另一案件列入名单"}, APPROVED))


def test_closing_with_money_owed_needs_approval_then_the_case_goes_to_the_court(inspector, supervisor):
    case, track = _partly_paid(inspector)
    with pytest.raises(DataInvalid) as refused:  # one transfer ends the case: not to the police and the court
        choose(inspector, case, track, "court_transfer", "criminal_referral")
    assert set(refused.value.fields) == {"measures"}
    case = choose(inspector, case, track, "court_transfer")
    approval = open_task(case, "approve_enforcement")
    assert approval.role == "supervisor"
    case = track.step(complete(supervisor, case, "approve_enforcement", {"approved": True}, APPROVED))
    transfer = open_task(case, "transfer_to_court")
    assert (transfer.role, transfer.due_at) == ("inspector", end_of("2021-03-01"))  # 5 working days
    # Not on a day to come, nor before it was approved (the closure notice states the day).
    for day in ("2021-02-23", "2021-02-21", "2019-01-01"):
        with pytest.raises(DataInvalid) as refused:
            complete(inspector, case, "transfer_to_court", {"transferred_on": day, "receiving_unit": "楚雄市人民法院"},
                     at("2021-02-22 15:00"))
        assert set(refused.value.fields) == {"transferred_on"}
    case = track.step(complete(inspector, case, "transfer_to_court",
                               {"transferred_on": "2021-02-22", "receiving_unit": "楚雄市人民法院"},
                               at("2021-02-22 16:00")))
    assert_closed(case, "transferred")
    # "不解决不销账": what is still owed stays on the books.
    assert case.summary["amount_outstanding"] == "60000.00"
    assert case.arrears_outstanding == 60000
    [closure] = notices(case, "case_closure_notice")
    assert "楚雄市人民法院" in closure.facts["outcome"][0] and "60000.00" in closure.facts["outcome"][0]
    assert (case.summary["receiving_unit"], case.summary["transferred_on"]) == ("楚雄市人民法院", "2021-02-22")


@pytest.mark.parametrize("transfer", ["criminal_referral", "court_transfer"])
def test_the_wage_deposit_is_drawn_before_any_transfer_not_with_it(inspector, transfer):
    # A transfer closes the case (a refused referral sends it back) without waiting for the bank and checking what
    # it paid; a second draw could then ask the bank for the money again.
    case, track = _partly_paid(inspector)
    with pytest.raises(DataInvalid) as refused:
        choose(inspector, case, track, "wage_deposit", transfer)
    assert set(refused.value.fields) == {"measures"} and "工资保证金" in refused.value.fields["measures"]
    assert notices(case, "wage_deposit_notice") == []


def test_the_fine_is_for_obstruction_and_says_what_the_employer_did(inspector, supervisor):
    case, track = _partly_paid(inspector)
    form = {"measures": ["penalty"], "penalty_amount": "5000.00", "reason": "拒不提供工资台账，阻挠监察员调查"}
    case = track.step(complete(inspector, case, "choose_enforcement", form, CHOSEN))
    case = track.step(complete(supervisor, case, "approve_enforcement", {"approved": True}, APPROVED))
    [notice] = notices(case, "penalty_prior_notice")
    case = fire(track, at("2021-02-26 00:00"))  # 3 working days to answer: Tue 23 to Thu 25 Feb
    case = track.step(complete(inspector, case, "decide_penalty", NO_ANSWER, at("2021-02-26 09:00")))
    [decision] = notices(case, "penalty_decision")
    for issued in (notice, decision):
        assert issued.facts["legal_basis"] == ["《劳动保障监察条例》第三十条"]
        assert "拒不提供工资台账，阻挠监察员调查" in "".join(issued.facts["facts"])


def test_an_unknown_measure_is_refused(inspector):
    case, _ = _partly_paid(inspector)
    with pytest.raises(DataInvalid) as refused:
        services.complete_task(inspector, open_task(case, "choose_enforcement").id,
                               {"measures": ["court_order"], "reason": "x"}, case.version, CHOSEN)
    assert "measures" in " ".join(refused.value.fields)


def test_the_case_page_shows_the_refused_measures_and_why_until_new_ones_are_chosen(app, inspector, supervisor):
    import html
    import re

    from tests.integration.test_pages import FreshContextClient, sign_in

    def case_summary(web, case) -> str:
        """The visible text of the case page's summary section."""
        page = web.get(f"/cases/{case.number}").get_data(as_text=True)
        section = re.search(r'<section class="card" id="summary">.*?</section>', page, re.S).group(0)
        return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", section)))

    case, track = _partly_paid(inspector)
    case = choose(inspector, case, track, "penalty")
    case = track.step(complete(supervisor, case, "approve_enforcement", {"approved": False, "comment": "证据不足"},
                               APPROVED))
    web = FreshContextClient(app, app.response_class, use_cookies=True)
    assert sign_in(web, inspector.username).status_code == 302
    summary = case_summary(web, case)
    assert "未获同意的措施 行政处罚" in summary and "审批意见 证据不足" in summary
    assert "处置措施" not in summary and "罚款金额" not in summary
    case = choose(inspector, case, track, "emergency_advance", when=at("2021-02-23 09:00"))
    summary = case_summary(web, case)
    assert "未获同意的措施" not in summary and "处置措施 动用应急周转金垫付" in summary


def refused_fine(inspector: Actor, case, number: str) -> str:
    task = open_task(case, "choose_enforcement")
    with pytest.raises(DataInvalid) as refused:
        services.complete_task(inspector, task.id, {"measures": ["penalty"], "reason": "再罚", **FIELDS["penalty"]},
                               case.version, at("2021-02-25 09:00"))
    return refused.value.fields["measures"]


def test_a_fine_and_a_compensation_order_are_issued_once_per_case(inspector, supervisor):
    """Still unpaid after the fine and the compensation order, the case comes back to the measures: choosing
    either again is refused with the decision already issued (行政处罚法 art. 29: no second fine for one violation),
    and changes nothing."""
    case, track = _partly_paid(inspector)
    case = choose(inspector, case, track, "penalty", "compensation_order")
    case = track.step(complete(supervisor, case, "approve_enforcement", {"approved": True}, APPROVED))
    # The fine of 10000.00 carries a hearing: the employer has 5 working days to answer (to Mon 1 March).
    case = fire(track, at("2021-03-02 00:00"))
    case = track.step(complete(inspector, case, "decide_penalty", NO_ANSWER, at("2021-03-02 09:00")))
    [fine], [order] = notices(case, "penalty_decision"), notices(case, "compensation_order")
    case = fire(track, at("2021-03-04 00:00"))  # the check waits for the compensation's 7 working days
    case = track.step(complete(inspector, case, "check_payment", {"amount_paid": "50000.00", "compensation_paid": "0"},
                               at("2021-03-04 09:00")))
    assert open_task(case, "choose_enforcement")
    for measures, number in ((["penalty"], fine.number), (["compensation_order", "blacklist"], order.number)):
        form = {"measures": measures, "reason": "仍未足额支付"}
        for measure in measures:
            form.update(FIELDS.get(measure, {}))
        task = open_task(case, "choose_enforcement")
        with pytest.raises(DataInvalid) as refused:
            services.complete_task(inspector, task.id, form, case.version, at("2021-03-05 09:00"))
        assert number in refused.value.fields["measures"]
        assert track.case.version == track.versions[-1] and open_task(track.case, "choose_enforcement").id == task.id
    assert "《中华人民共和国行政处罚法》第二十九条" in refused_fine(inspector, case, fine.number)
    task = open_task(case, "choose_enforcement")
    with pytest.raises(DataInvalid) as both:
        services.complete_task(inspector, task.id, {"measures": ["penalty", "compensation_order"], "reason": "再次",
                                                    **FIELDS["penalty"], **FIELDS["compensation_order"]},
                               case.version, at("2021-03-05 09:00"))
    assert fine.number in both.value.fields["measures"] and order.number in both.value.fields["measures"]
    case = choose(inspector, case, track, "blacklist", when=at("2021-03-05 09:00"))
    assert open_task(case, "approve_enforcement")


def test_a_blacklisting_approved_with_a_referral_the_head_refuses_stays_in_force_and_shown(inspector, supervisor,
                                                                                          county_head):
    """Review: the head's refusal emptied the summary's measures, so a measure already decided vanished from the
    case while choosing it again was refused because of it."""
    case, track = _partly_paid(inspector)
    case = choose(inspector, case, track, "blacklist", "criminal_referral")
    case = track.step(complete(supervisor, case, "approve_enforcement", {"approved": True}, APPROVED))
    assert len(notices(case, "blacklist_decision")) == 1
    case = track.step(complete(county_head, case, "approve_referral", {"approved": False, "comment": "证据不足"},
                               at("2021-02-23 10:00")))
    assert case.summary["measures"] == ["blacklist"]
    assert (case.summary["refused_measures"], case.summary["refusal_comment"]) == (["criminal_referral"], "证据不足")
    case = choose(inspector, case, track, "emergency_advance", when=at("2021-02-24 09:00"))
    assert case.summary["refused_measures"] is None and case.summary["refusal_comment"] is None


@pytest.mark.parametrize("transfer", ["criminal_referral", "court_transfer"])
def test_a_fine_is_not_chosen_with_a_transfer(inspector, transfer):
    """Domain review: a fine approved with a referral was decided at once, unheard; an approved transfer never
    reaches the wait for the employer's answer and ends the case. The fine is decided on its own, before."""
    case, track = _partly_paid(inspector)
    task = open_task(case, "choose_enforcement")
    with pytest.raises(DataInvalid) as refused:
        choose(inspector, case, track, "penalty", transfer)
    assert set(refused.value.fields) == {"measures"}
    assert "行政处罚告知书" in refused.value.fields["measures"] and "分别决定" in refused.value.fields["measures"]
    assert track.case.version == track.versions[-1] and open_task(track.case, "choose_enforcement").id == task.id
    assert notices(case, "penalty_prior_notice") == notices(case, "penalty_decision") == []
