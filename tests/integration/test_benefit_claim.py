"""benefit_claim through the engine services: every DMN row with its boundary values, fast track versus the clerk's
queue, supervisor approval, regional rates by effective date, the letters' text, payments, duplicates."""

from __future__ import annotations

import copy
import io
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pypdf
import pytest
from flask import current_app
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine import benefit_payments, benefit_rates, documents, services
from engine.actors import Actor
from engine.db import db
from engine.errors import Conflict, NotFound
from engine.models import AuditEvent, Case, Task
from engine.services.cases import open_tasks
from engine.validation import DataInvalid
from tests.conftest import at, make_user
from tests.factories import _valid_ric, complete, open_task
from web.messages import message

SAMPLE = Path(__file__).resolve().parents[2] / "bpmn" / "benefit_claim" / "sample_rates_532300.csv"
OPENED = at("2021-02-01 10:00")  # a Monday
# Chuxiong city from 2020-07-01 (sample CSV): minimum wage 1500, benefit 90% = 1350, subsistence 680.
BENEFIT = "1350.00"
SUBSIDY = "1080.00"  # 80% of the benefit rate
ALLOWANCE = "680.00"


def claim_data(seed: int = 1, **overrides) -> dict:
    data = {
        "claimant": {"name": "张秀英", "id_number": _valid_ric(f"53230119880512{seed:03d}"), "phone": "13887654321",
                     "household": "urban"},
        "last_employer": "楚雄市某建筑劳务有限公司",
        "separation_date": "2021-01-15",
        "separation_reason": "involuntary",
        "contribution_months": 70,
        "months_already_drawn": 0,
        "registered_unemployed": True,
        # Registered on the day of the claim (OPENED); with another separation date, on the day of separation.
        "unemployment_registration_date": overrides.get("separation_date", "2021-02-01"),
        "seeking_work": True,
        "bank_account": "6222020200112233445",
    }
    if overrides.get("registered_unemployed") is False:
        del data["unemployment_registration_date"]
    for key, value in overrides.items():
        if key in ("household", "name", "id_number"):
            data["claimant"][key] = value
        else:
            data[key] = value
    return copy.deepcopy(data)


@pytest.fixture
def far_clerk(ctx):
    return Actor.of(make_user("clerk_sb", ["clerk"], "532322"))


def open_claim(clerk, data=None, region="532301", now=OPENED) -> Case:
    return services.open_case(clerk, "benefit_claim", region, data or claim_data(), now)


def docs_of(case, kind=None):
    return [d for d in documents.documents_for_case(case) if kind is None or d.kind == kind]


def issued_by(case, kind) -> list[str]:
    """Who issued each notice of `kind`, from the case's audit trail."""
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id,
                                                         AuditEvent.kind == "notice_issued").order_by(AuditEvent.seq))
    return [e.actor for e in events if e.detail["kind"] == kind]


def pdf_text(document) -> str:
    path = documents.path_of(document)
    assert path is not None, f"{document.kind} not rendered: {document.last_error}"
    with path.open("rb") as handle:
        reader = pypdf.PdfReader(io.BytesIO(handle.read()))
        return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


# ---------------------------------------------------------------------------------------------------------------
# Every row of the three tables, through the full process (open_case runs the workflow).

FAST = [
    # id, overrides, benefit_type, months, monthly, entitlement row, months row, status
    ("E04-12", {"contribution_months": 12}, "unemployment_benefit", 12, BENEFIT, "E04", "M4", "approved"),
    ("E04-59", {"contribution_months": 59}, "unemployment_benefit", 12, BENEFIT, "E04", "M4", "approved"),
    ("E04-60", {"contribution_months": 60}, "unemployment_benefit", 18, BENEFIT, "E04", "M5", "approved"),
    ("E04-119", {"contribution_months": 119}, "unemployment_benefit", 18, BENEFIT, "E04", "M5", "approved"),
    # 24 x 1350 = 32400 is above the 30000 ceiling: decided by the rules, approved by a supervisor.
    ("E04-120", {"contribution_months": 120}, "unemployment_benefit", 24, BENEFIT, "E04", "M6",
     "awaiting_approval"),
    ("E04-drawn-5", {"contribution_months": 70, "months_already_drawn": 5}, "unemployment_benefit", 13, BENEFIT,
     "E04", "M5", "approved"),
    ("E04-drawn-17", {"contribution_months": 70, "months_already_drawn": 17}, "unemployment_benefit", 1, BENEFIT,
     "E04", "M5", "approved"),
    ("E06-drawn-18", {"contribution_months": 70, "months_already_drawn": 18}, "unemployment_subsidy", 6, SUBSIDY,
     "E06", "M5", "approved"),
    ("E07-11", {"contribution_months": 11}, "unemployment_subsidy", 6, SUBSIDY, "E07", "M3", "approved"),
    ("E07-1", {"contribution_months": 1}, "unemployment_subsidy", 6, SUBSIDY, "E07", "M1", "approved"),
    ("E07-voluntary-11", {"contribution_months": 11, "separation_reason": "voluntary"}, "unemployment_subsidy", 6,
     SUBSIDY, "E07", "M3", "approved"),
    ("E08-rural-2", {"contribution_months": 2, "household": "rural"}, "temporary_living_allowance", 1, ALLOWANCE,
     "E08", "M1", "approved"),
    ("E08-rural-3", {"contribution_months": 3, "household": "rural"}, "temporary_living_allowance", 2, ALLOWANCE,
     "E08", "M2", "approved"),
    ("E08-rural-5", {"contribution_months": 5, "household": "rural"}, "temporary_living_allowance", 2, ALLOWANCE,
     "E08", "M2", "approved"),
    ("E08-rural-6", {"contribution_months": 6, "household": "rural"}, "temporary_living_allowance", 3, ALLOWANCE,
     "E08", "M3", "approved"),
    ("E08-rural-11", {"contribution_months": 11, "household": "rural"}, "temporary_living_allowance", 3, ALLOWANCE,
     "E08", "M3", "approved"),
    # Rural and entitled: the benefit, never a temporary allowance.
    ("E04-rural-12", {"contribution_months": 12, "household": "rural"}, "unemployment_benefit", 12, BENEFIT, "E04",
     "M4", "approved"),
]


@pytest.mark.parametrize("label,overrides,benefit_type,months,monthly,row,months_row,status", FAST,
                         ids=[f[0] for f in FAST])
def test_fast_track_rows(rates, clerk, label, overrides, benefit_type, months, monthly, row, months_row, status):
    case = open_claim(clerk, claim_data(**overrides))
    s = case.summary
    assert (s["benefit_type"], s["months"], s["monthly_amount"]) == (benefit_type, months, monthly)
    assert s["decided_by"] == "rules"
    assert s["total_amount"] == str((Decimal(monthly) * months).quantize(Decimal("0.01")))
    assert s["rule"]["id"] == row and s["rule"]["months"]["id"] == months_row
    amount_row = {"unemployment_benefit": "A1", "unemployment_subsidy": "A2", "temporary_living_allowance": "A3"}
    assert s["rule"]["amount"]["id"] == amount_row[benefit_type]
    assert s["rule"]["inputs"]["contribution_months"] == overrides["contribution_months"]
    assert s["rule"]["description"] and row in s["rule"]["text"]
    assert case.status == status
    assert s["review_reasons"] == []
    if status == "approved":
        assert [t.name for t in open_tasks(case)] == []
        assert len(docs_of(case, "benefit_decision_approval")) == 1
        assert len(benefit_payments.payments_for_case(case)) == months
    else:
        assert [(t.name, t.role) for t in open_tasks(case)] == [("approve_claim", "supervisor")]
        assert docs_of(case) == [] and benefit_payments.payments_for_case(case) == []


REFUSED = [
    ("E01", {"registered_unemployed": False}, "已办理失业登记"),
    ("E02", {"seeking_work": False}, "有求职要求"),
    ("E03", {"contribution_months": 0}, "失业前参加失业保险并缴费"),
    ("E03", {"contribution_months": 0, "household": "rural"}, "失业前参加失业保险并缴费"),
]


@pytest.mark.parametrize("row,overrides,condition", REFUSED)
def test_refused_by_the_rules(rates, clerk, row, overrides, condition):
    case = open_claim(clerk, claim_data(**overrides))
    s = case.summary
    assert case.status == "rejected" and case.closed_at is not None
    assert s["benefit_type"] == "not_eligible" and s["decided_by"] == "rules" and s["months"] == 0
    assert s["rule"]["id"] == row and s["rule"]["amount"]["id"] == "A4"
    assert s["rule"]["refusal_condition"] == condition
    [letter] = docs_of(case, "benefit_decision_refusal")
    assert letter.facts["rule"] == condition and row in letter.facts["rule_text"]
    assert benefit_payments.payments_for_case(case) == []


# ---------------------------------------------------------------------------------------------------------------
# The clerk's queue.

REVIEWED = [
    # Voluntary with 12+ months: a clerk must check whether the resignation was forced (E05).
    ("voluntary-12", {"contribution_months": 12, "separation_reason": "voluntary"}, "E05", "须人工核实"),
    # Drawn more than the maximum: the data contradict each other.
    ("drawn-too-many", {"contribution_months": 70, "months_already_drawn": 19}, "E06", "数据矛盾"),
    # Filed more than 60 days after separation.
    ("late", {"separation_date": "2020-11-01"}, "E04", "申领期限"),
    # More contribution months than months since the 16th birthday (born 1988-05).
    ("impossible-contributions", {"contribution_months": 400}, "E04", "缴费月数矛盾"),
]


def assert_reasons_read_in_english(case: Case) -> None:
    """QA: the reasons a claim went to a clerk stayed Chinese on English case pages (the model writes them)."""
    with current_app.test_request_context(), force_locale("en"):
        english = [message(reason) for reason in case.summary["review_reasons"]]
    assert english and not [text for text in english if re.search(r"[\u4e00-\u9fff]", text)], english


@pytest.mark.parametrize("label,overrides,row,reason", REVIEWED, ids=[r[0] for r in REVIEWED])
def test_borderline_claims_go_to_the_clerk_queue(rates, clerk, far_clerk, label, overrides, row, reason):
    case = open_claim(clerk, claim_data(**overrides))
    assert case.status == "under_review"
    assert case.summary["decided_by"] is None and case.summary["rule"]["id"] == row
    assert any(reason in r for r in case.summary["review_reasons"]), case.summary["review_reasons"]
    assert_reasons_read_in_english(case)
    task = open_task(case, "review_claim")
    assert (task.role, task.region, task.due_rule) == ("clerk", "532301", "claim_review_days")
    assert task.due_at == at("2021-02-11 23:59:59")  # 10 days, configurable
    queue, total = services.list_tasks(clerk, now=OPENED)
    assert total == 1 and queue[0].id == task.id
    assert services.list_tasks(far_clerk, now=OPENED)[1] == 0
    with pytest.raises(NotFound):
        services.complete_task(far_clerk, task.id, {"decision": "approve", "reason": "x"}, case.version, OPENED)
    assert docs_of(case) == []


def test_clerk_approves_the_rules_suggestion(rates, clerk):
    case = open_claim(clerk, claim_data(contribution_months=40, separation_reason="voluntary"))
    assert case.summary["suggested_type"] == "unemployment_subsidy"
    case = complete(clerk, case, "review_claim", {"decision": "approve", "reason": "确系本人辞职"},
                    OPENED + timedelta(hours=2))
    s = case.summary
    assert case.status == "approved"
    assert (s["benefit_type"], s["months"], s["monthly_amount"], s["decided_by"]) == (
        "unemployment_subsidy", 6, SUBSIDY, "clerk")
    assert s["review_reason"] == "确系本人辞职" and s["rule"]["id"] == "E05"
    [letter] = docs_of(case, "benefit_decision_approval")
    assert letter.facts["benefit_title"] == "失业补助金"


def test_clerk_override_needs_a_supervisor(rates, clerk, supervisor):
    case = open_claim(clerk, claim_data(contribution_months=40, separation_reason="voluntary"))
    # Forced resignation (劳动合同法第三十八条) counts as involuntary: the clerk grants the full benefit.
    case = complete(clerk, case, "review_claim", {
        "decision": "approve", "reason": "用人单位拖欠工资，属被迫解除劳动合同",
        "approved_type": "unemployment_benefit", "approved_months": 12}, OPENED + timedelta(hours=2))
    assert case.status == "awaiting_approval"
    task = open_task(case, "approve_claim")
    assert task.role == "supervisor"
    with pytest.raises(Exception) as refused:
        services.complete_task(clerk, task.id, {"approved": True}, case.version, OPENED + timedelta(hours=3))
    assert type(refused.value).__name__ == "Forbidden"
    # The supervisor sends it back with a comment: the clerk reviews again.
    case = complete(supervisor, case, "approve_claim", {"approved": False, "comment": "请补充被迫解除的证据"},
                    OPENED + timedelta(hours=4))
    assert case.status == "under_review"
    assert case.summary["review_reasons"] == ["主管未批准：请补充被迫解除的证据"]
    with current_app.test_request_context(), force_locale("en"):
        assert message(case.summary["review_reasons"][0]) == "Not approved by the supervisor: 请补充被迫解除的证据"
    case = complete(clerk, case, "review_claim", {
        "decision": "approve", "reason": "已补充欠薪证明", "approved_type": "unemployment_benefit",
        "approved_months": 12}, OPENED + timedelta(hours=5))
    case = complete(supervisor, case, "approve_claim", {"approved": True, "comment": "同意"},
                    OPENED + timedelta(hours=6))
    s = case.summary
    assert case.status == "approved"
    assert (s["benefit_type"], s["months"], s["monthly_amount"], s["decided_by"]) == (
        "unemployment_benefit", 12, BENEFIT, "clerk")
    [letter] = docs_of(case, "benefit_decision_approval")
    assert letter.facts["months"] == 12


def test_clerk_rejection_against_the_rules_needs_a_supervisor(rates, clerk, supervisor):
    case = open_claim(clerk, claim_data(contribution_months=40, separation_reason="voluntary"))
    case = complete(clerk, case, "review_claim", {"decision": "reject", "reason": "申领人已在外地就业"},
                    OPENED + timedelta(hours=2))
    assert case.status == "awaiting_approval"
    case = complete(supervisor, case, "approve_claim", {"approved": True}, OPENED + timedelta(hours=3))
    assert case.status == "rejected" and case.summary["decided_by"] == "clerk"
    [letter] = docs_of(case, "benefit_decision_refusal")
    assert letter.facts["reason"] == "申领人已在外地就业"


def test_supervisor_approves_a_rules_decision_above_the_ceiling(rates, clerk, supervisor):
    case = open_claim(clerk, claim_data(contribution_months=150))
    assert case.status == "awaiting_approval" and case.summary["total_amount"] == "32400.00"
    case = complete(supervisor, case, "approve_claim", {"approved": True, "comment": "同意"},
                    OPENED + timedelta(hours=1))
    assert case.status == "approved" and case.summary["decided_by"] == "rules"
    assert len(benefit_payments.payments_for_case(case)) == 24


def test_the_ceiling_is_configurable(rates, clerk):
    from engine.models import RuleSetting

    db.session.add(RuleSetting(key="claim_supervisor_ceiling", value="10000", updated_by="admin",
                               updated_at=OPENED))
    db.session.commit()
    case = open_claim(clerk, claim_data(contribution_months=12))  # 12 x 1350 = 16200
    assert case.status == "awaiting_approval"


def test_form_errors_name_the_field(rates, clerk):
    case = open_claim(clerk, claim_data(contribution_months=40, separation_reason="voluntary"))
    task = open_task(case, "review_claim")
    with pytest.raises(DataInvalid) as bad:
        services.complete_task(clerk, task.id, {"decision": "approve", "reason": "x", "approved_months": 0},
                               case.version, OPENED)
    assert set(bad.value.fields) == {"approved_months"}
    with pytest.raises(DataInvalid) as bad:
        services.complete_task(clerk, task.id, {"decision": "maybe"}, case.version, OPENED)
    assert set(bad.value.fields) == {"decision", "reason"}


# ---------------------------------------------------------------------------------------------------------------
# Rates by effective date.

@pytest.mark.parametrize("separated,opened,monthly,minimum", [
    ("2022-09-30", "2022-10-20 10:00", "1350.00", "1500.00"),
    ("2022-10-01", "2022-10-20 10:00", "1575.00", "1750.00"),
    ("2020-06-30", "2020-07-20 10:00", "1350.00", "1500.00"),
])
def test_the_rates_in_force_on_the_separation_date(rates, clerk, separated, opened, monthly, minimum):
    case = open_claim(clerk, claim_data(separation_date=separated), now=at(opened))
    assert case.summary["monthly_amount"] == monthly
    used = case.summary["rule"]["inputs"]["rates"]
    assert used["minimum_wage"] == minimum and used["effective_from"] <= separated


def test_county_falls_back_to_the_prefecture_rates(rates, ctx):
    county_clerk = Actor.of(make_user("clerk_sb", ["clerk"], "532322"))
    case = open_claim(county_clerk, claim_data(), region="532322")
    assert case.summary["rule"]["inputs"]["rates"]["region"] == "532300"
    assert case.summary["monthly_amount"] == "1215.00"  # 90% of 1350


def test_a_set_benefit_rate_wins_over_the_percentage(rates, clerk):
    benefit_rates.import_rates("region,effective_from,minimum_wage,benefit_rate,subsistence_rate\n"
                          "532301,2021-01-01,1500.00,1400.00,690.00\n", "test", OPENED)
    db.session.commit()
    case = open_claim(clerk, claim_data(separation_date="2021-01-15"))
    assert case.summary["monthly_amount"] == "1400.00"
    assert "1400.00" in case.summary["rule"]["inputs"]["rates"]["benefit_rate_basis"]


def test_no_rates_in_force_goes_to_the_clerk(rates, clerk, supervisor):
    case = open_claim(clerk, claim_data(separation_date="2018-03-01", contribution_months=30),
                      now=at("2018-03-20 10:00"))
    assert case.status == "under_review"
    assert any("没有生效的失业保险待遇标准" in r for r in case.summary["review_reasons"])
    assert_reasons_read_in_english(case)
    # Approving without an amount is refused naming it (nothing changes); with one it needs the supervisor.
    version = case.version
    with pytest.raises(DataInvalid) as bad:
        complete(clerk, case, "review_claim", {"decision": "approve", "reason": "按规则核定"}, at("2018-03-20 11:00"))
    assert set(bad.value.fields) == {"approved_monthly_amount"}
    db.session.refresh(case)
    assert case.status == "under_review" and case.version == version
    case = complete(clerk, case, "review_claim", {"decision": "approve", "reason": "按2018年标准",
                                                  "approved_monthly_amount": "1200.00"}, at("2018-03-20 12:00"))
    assert case.status == "awaiting_approval"
    case = complete(supervisor, case, "approve_claim", {"approved": True}, at("2018-03-20 13:00"))
    assert case.status == "approved" and case.summary["monthly_amount"] == "1200.00"


def test_rates_import_is_all_or_nothing_and_names_the_cell(ctx):
    bad = ("region,effective_from,minimum_wage,benefit_rate,subsistence_rate\n"
           "532301,2021-01-01,1500.00,,690.00\n"
           "53230,2021-13-01,-1,1600,abc\n")
    with pytest.raises(DataInvalid) as error:
        benefit_rates.import_rates(bad, "test", OPENED)
    assert set(error.value.fields) == {"line 3.region", "line 3.effective_from", "line 3.minimum_wage",
                                       "line 3.subsistence_rate"}
    db.session.rollback()
    assert benefit_rates.list_rates() == []
    with pytest.raises(DataInvalid) as error:
        benefit_rates.import_rates("region,minimum_wage\n532301,1\n", "test", OPENED)
    assert "header" in error.value.fields
    result = benefit_rates.import_rates(SAMPLE.read_text(encoding="utf-8"), "test", OPENED)
    assert (result.created, result.updated) == (6, 0)
    again = benefit_rates.import_rates(SAMPLE.read_text(encoding="utf-8"), "test", OPENED)
    assert (again.created, again.updated) == (0, 6)


# ---------------------------------------------------------------------------------------------------------------
# Letters.

def test_approval_letter_states_amount_months_schedule_and_rule(rates, clerk):
    case = open_claim(clerk, claim_data(contribution_months=60))
    documents.render_pending(OPENED)
    [letter] = docs_of(case, "benefit_decision_approval")
    text = pdf_text(letter)
    assert "失业保险待遇核定通知书" in text and "张秀英" in text
    assert "1,350.00元" in text and "18个月" in text and "24,300.00元" in text
    # Registered on the day of the decision: paid from that month, not from the next (社会保险法第五十条).
    assert "办理失业登记日期2021年2月1日" in text
    assert "2021年2月1日至2022年7月31日" in text  # start and end of the 18 months
    assert "第1期2021年2月" in text and "第18期2022年7月" in text
    assert "E04" in text and "M5" in text and "A1" in text and "最低工资1500.00元/月×90%" in text
    assert text.count("适用规则") == 1 and text.count("E04") == 1  # stated once, in the letter's table
    assert "六十日内" in text and "六个月内" in text
    assert letter.verification_code in text


def test_allowance_letter_names_its_type(rates, clerk):
    case = open_claim(clerk, claim_data(contribution_months=6, household="rural"))
    documents.render_pending(OPENED)
    [letter] = docs_of(case, "benefit_decision_approval")
    text = pdf_text(letter)
    assert "符合领取临时生活补助的条件" in text and "680.00元" in text and "3个月" in text
    assert "E08" in text and "M3" in text and "A3" in text
    assert "基本医疗保险费" not in text  # that paragraph is for the unemployment benefit only


def test_refusal_letter_states_the_reason_and_rule(rates, clerk):
    case = open_claim(clerk, claim_data(registered_unemployed=False))
    documents.render_pending(OPENED)
    [letter] = docs_of(case, "benefit_decision_refusal")
    text = pdf_text(letter)
    assert "不予核定失业保险待遇通知书" in text
    assert "不符合“已办理失业登记”的条件" in text and "E01" in text
    assert text.count("适用规则") == 1  # stated once
    assert "六十日内" in text and "六个月内" in text


def test_the_letter_is_issued_by_whoever_decided(rates, clerk, supervisor):
    by_rules = open_claim(clerk, claim_data(contribution_months=60))
    assert issued_by(by_rules, "benefit_decision_approval") == ["system"]  # the clerk only entered the claim
    reviewed = open_claim(clerk, claim_data(seed=2, contribution_months=40, separation_reason="voluntary"))
    reviewed = complete(clerk, reviewed, "review_claim", {"decision": "approve", "reason": "确系本人辞职"},
                        OPENED + timedelta(hours=2))
    assert issued_by(reviewed, "benefit_decision_approval") == [clerk.username]
    overruled = open_claim(clerk, claim_data(seed=3, contribution_months=40, separation_reason="voluntary"))
    overruled = complete(clerk, overruled, "review_claim", {"decision": "reject", "reason": "申领人已在外地就业"},
                         OPENED + timedelta(hours=2))
    overruled = complete(supervisor, overruled, "approve_claim", {"approved": True}, OPENED + timedelta(hours=3))
    assert issued_by(overruled, "benefit_decision_refusal") == [supervisor.username]


# ---------------------------------------------------------------------------------------------------------------
# Payments.

def test_payments_run_monthly_and_close_the_claim(rates, clerk):
    # Registered and decided on 1 February: February is the first month paid, on the day of the decision.
    case = open_claim(clerk, claim_data(contribution_months=12))
    rows = benefit_payments.payments_for_case(case)
    assert [r.period for r in rows][:2] == ["2021-02", "2021-03"] and len(rows) == 12
    assert all(r.status == "scheduled" and r.amount == Decimal(BENEFIT) for r in rows)
    run = benefit_payments.run_payments(at("2021-02-01 11:00"))
    assert (run.paid, run.cases, run.errors) == (1, 1, [])
    db.session.refresh(case)
    assert case.status == "paying" and case.closed_at is None
    assert benefit_payments.run_payments(at("2021-02-28 09:00")).paid == 0  # idempotent
    benefit_payments.run_payments(at("2021-06-02 09:00"))
    assert [r.status for r in benefit_payments.payments_for_case(case)].count("paid") == 5
    benefit_payments.run_payments(at("2022-01-01 09:00"))
    db.session.refresh(case)
    assert case.status == "closed" and case.closed_at == at("2022-01-01 09:00")
    assert {r.status for r in benefit_payments.payments_for_case(case)} == {"paid"}


def test_one_month_claim_closes_on_its_only_payment(rates, clerk):
    case = open_claim(clerk, claim_data(contribution_months=2, household="rural"))
    benefit_payments.run_payments(at("2021-03-01 09:00"))
    db.session.refresh(case)
    assert case.status == "closed"


def test_stop_payments_cancels_the_remaining_months(rates, clerk, far_clerk):
    case = open_claim(clerk, claim_data(contribution_months=12))
    benefit_payments.run_payments(at("2021-04-01 09:00"))
    with pytest.raises(NotFound):
        benefit_payments.stop_payments(far_clerk, case.number, {"reason": "reemployed", "note": "x"},
                                       at("2021-04-10 09:00"))
    with pytest.raises(DataInvalid) as bad:
        benefit_payments.stop_payments(clerk, case.number, {"reason": "bored"}, at("2021-04-10 09:00"))
    assert set(bad.value.fields) == {"reason", "note"}
    case = benefit_payments.stop_payments(clerk, case.number,
                                          {"reason": "reemployed", "note": "已在楚雄某物流公司就业"},
                                          at("2021-04-10 09:00"))
    assert case.status == "stopped" and case.closed_at is not None
    assert case.summary["stop_reason"] == "reemployed" and case.summary["stop_note"] == "已在楚雄某物流公司就业"
    statuses = [r.status for r in benefit_payments.payments_for_case(case)]
    assert statuses == ["paid", "paid", "paid"] + ["cancelled"] * 9  # February to April
    assert benefit_payments.run_payments(at("2021-12-01 09:00")).paid == 0
    with pytest.raises(Conflict):
        benefit_payments.stop_payments(clerk, case.number, {"reason": "reemployed", "note": "x"},
                                       at("2021-04-11 09:00"))


def test_a_stop_racing_the_payment_run_never_cancels_a_paid_month(rates, clerk, monkeypatch):
    import threading

    case = open_claim(clerk, claim_data(contribution_months=12))
    benefit_payments.run_payments(at("2021-03-01 09:00"))  # February and March paid: the claim is paying
    number, app = case.number, current_app._get_current_object()
    db.session.remove()
    original, ran = benefit_payments.payments_for_case, []

    def then_the_run_pays(of_case):
        rows = original(of_case)
        if not ran:  # the stop has read the schedule: April's payment run commits before it writes
            ran.append(True)

            def pay() -> None:
                with app.app_context():
                    ran.append(benefit_payments.run_payments(at("2021-04-01 09:00")))
                    db.session.remove()

            worker = threading.Thread(target=pay)
            worker.start()
            worker.join(timeout=30)
        return rows

    monkeypatch.setattr(benefit_payments, "payments_for_case", then_the_run_pays)
    with pytest.raises(Conflict):
        benefit_payments.stop_payments(clerk, number, {"reason": "reemployed", "note": "已就业"},
                                       at("2021-04-01 09:30"))
    assert ran[1].paid == 1 and ran[1].errors == []
    monkeypatch.undo()
    db.session.remove()
    case = db.session.scalar(select(Case).where(Case.number == number))
    assert [r.status for r in benefit_payments.payments_for_case(case)][:4] == ["paid", "paid", "paid", "scheduled"]
    assert case.status == "paying"


def test_stop_before_the_first_payment(rates, clerk):
    case = open_claim(clerk, claim_data(contribution_months=12))
    case = benefit_payments.stop_payments(clerk, case.number, {"reason": "refused_training", "note": "拒不参加培训"},
                                  at("2021-02-10 09:00"))
    assert case.status == "stopped"
    # February, from the registration on 1 Feb, began before the stop: owed, so paid with it; the rest cancelled.
    rows = benefit_payments.payments_for_case(case)
    assert [(r.period, r.status) for r in rows[:2]] == [("2021-02", "paid"), ("2021-03", "cancelled")]
    assert {r.status for r in rows[1:]} == {"cancelled"}


# ---------------------------------------------------------------------------------------------------------------
# Duplicates and intake checks.

def test_one_open_claim_per_person(rates, clerk):
    first = open_claim(clerk, claim_data(contribution_months=40, separation_reason="voluntary"))
    with pytest.raises(Conflict) as dup:
        open_claim(clerk, claim_data(contribution_months=12))
    assert first.number in dup.value.message
    assert db.session.scalar(select(Case.id).where(Case.number != first.number)) is None
    # Once the first is decided and closed (rejected), a new claim may be made.
    case = complete(clerk, first, "review_claim", {"decision": "reject", "reason": "x"}, OPENED)
    assert case.status == "awaiting_approval"  # rejecting the rules' subsidy: still open
    with pytest.raises(Conflict):
        open_claim(clerk, claim_data(contribution_months=12))


def test_a_claim_in_another_region_blocks_without_telling_its_number(rates, clerk, far_clerk):
    theirs = open_claim(far_clerk, claim_data(contribution_months=40, separation_reason="voluntary"),
                        region="532322")
    with pytest.raises(Conflict) as dup:
        open_claim(clerk, claim_data(contribution_months=12))
    # Still one open claim per person, but the other county's case number (a 404 for this clerk) is not told.
    assert theirs.number not in dup.value.message and "其他地区" in dup.value.message


def test_an_id_number_ending_in_x_is_one_person_however_typed(rates, clerk):
    seed = next(n for n in range(1, 1000) if claim_data(n)["claimant"]["id_number"].endswith("X"))
    first = open_claim(clerk, claim_data(seed, contribution_months=40, separation_reason="voluntary"))
    lower = claim_data(seed, contribution_months=12)
    lower["claimant"]["id_number"] = lower["claimant"]["id_number"].lower()
    with pytest.raises(Conflict) as dup:
        open_claim(clerk, lower)
    assert first.number in dup.value.message


def test_a_new_claim_after_the_last_one_closed(rates, clerk):
    first = open_claim(clerk, claim_data(registered_unemployed=False))
    assert first.closed_at is not None
    second = open_claim(clerk, claim_data(contribution_months=12))
    assert second.status == "approved"


def test_the_unique_index_holds_without_the_check(rates, clerk, monkeypatch):
    from engine.services import cases as case_service

    open_claim(clerk, claim_data(contribution_months=12))
    monkeypatch.setitem(case_service.OPEN_CASE_CHECKS, "benefit_claim", [])
    with pytest.raises(Conflict) as refused:
        open_claim(clerk, claim_data(contribution_months=12))
    # Refused by the database's partial unique index, and nothing was written.
    assert isinstance(refused.value.__cause__, IntegrityError)
    assert "subject_id_number" in str(refused.value.__cause__) or "ux_cases_open_benefit_claim" in str(
        refused.value.__cause__)
    assert db.session.scalar(select(func.count()).select_from(Case).where(Case.process == "benefit_claim")) == 1


@pytest.mark.parametrize("overrides,field", [
    ({"contribution_months": -1}, "contribution_months"),
    ({"months_already_drawn": -3}, "months_already_drawn"),
    ({"separation_date": "2021-02-02"}, "separation_date"),  # tomorrow
    ({"separation_date": "2021-02-30"}, "separation_date"),
    ({"separation_date": "2000-01-01"}, "separation_date"),  # before the 16th birthday
    ({"id_number": "532301198805120010"}, "claimant.id_number"),
    ({"household": "city"}, "claimant.household"),
    ({"separation_reason": "fired"}, "separation_reason"),
    ({"bank_account": "12ab"}, "bank_account"),
])
def test_bad_intake_names_the_field(rates, clerk, overrides, field):
    with pytest.raises(DataInvalid) as bad:
        open_claim(clerk, claim_data(**overrides))
    assert field in bad.value.fields
    assert db.session.scalar(select(Case.id)) is None
    assert db.session.scalar(select(Task.id)) is None


def test_a_zero_amount_is_refused_naming_the_field(rates, clerk):
    # Refused before the workflow runs (tests/integration/test_legal_limits.py), not sent back as a new review.
    case = open_claim(clerk, claim_data(contribution_months=40, separation_reason="voluntary"))
    with pytest.raises(DataInvalid) as bad:
        complete(clerk, case, "review_claim", {"decision": "approve", "reason": "x", "approved_monthly_amount": "0"},
                 OPENED)
    assert bad.value.fields == {"approved_monthly_amount": "月发放标准须大于0"}
