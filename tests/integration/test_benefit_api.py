"""benefit_claim over HTTP: the decision and its `rule` in the case, duplicates, bad input naming the field, the
payment schedule and stopping it, the rates; the CLI import and list; DMN expressions run in the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import benefit_payments, benefit_rates
from engine.db import db
from engine.rule_settings import set_rule
from tests.conftest import at, fixed_clock, make_user
from tests.integration.test_benefit_claim import SAMPLE, claim_data

API = "/api/v1"
PASSWORD = "correct-horse-9"
CLOCK = at("2021-02-01 10:00")


_fixed_clock = fixed_clock(CLOCK)


@pytest.fixture
def headers(ctx, client):
    """Bearer headers per user: a Chuxiong city clerk, a Shuangbai clerk, a prefecture supervisor."""
    benefit_rates.import_rates(SAMPLE.read_text(encoding="utf-8"), "test", at("2021-01-01 09:00"))
    db.session.commit()
    found = {}
    for name, roles, region in (("clerk_cx", ["clerk"], "532301"), ("clerk_sb", ["clerk"], "532322"),
                                ("sup_cz", ["supervisor"], "532300"), ("insp_cx", ["inspector"], "532301")):
        make_user(name, roles, region)
        response = client.post(f"{API}/auth/token", json={"username": name, "password": PASSWORD})
        found[name] = {"Authorization": f"Bearer {response.get_json()['token']}"}
    return found


def post_claim(client, headers, data, region="532301"):
    return client.post(f"{API}/cases", json={"process": "benefit_claim", "region": region, "data": data},
                       headers=headers)


def test_fast_track_decision_and_rule_in_the_api(client, headers):
    response = post_claim(client, headers["clerk_cx"], claim_data(contribution_months=60))
    assert response.status_code == 201, response.get_json()
    case = response.get_json()
    data = case["data"]
    assert case["status"] == "approved"
    assert (data["benefit_type"], data["months"], data["monthly_amount"], data["decided_by"]) == (
        "unemployment_benefit", 18, "1350.00", "rules")
    assert data["rule"]["id"] == "E04" and data["rule"]["months"]["id"] == "M5"
    assert data["rule"]["inputs"]["contribution_months"] == 60
    assert data["claimant_id_number"].startswith("*") and data["claimant_id_number"][-4:]
    full = client.get(f"{API}/cases/{case['number']}", headers=headers["clerk_cx"]).get_json()
    assert [d["kind"] for d in full["documents"]] == ["benefit_decision_approval"]
    # Registered on the day of the claim: paid from that month (社会保险法第五十条), not from the next.
    assert full["data"]["unemployment_registration_date"] == "2021-02-01"
    assert len(full["payments"]) == 18 and full["payments"][0] == {
        "seq": 1, "period": "2021-02", "due_on": "2021-02-01", "amount": "1350.00", "status": "scheduled",
        "paid_at": None, "cancelled_at": None, "cancel_reason": None}


def test_the_claimants_bank_account_is_masked_in_the_history_as_the_id_number_is(client, headers):
    data = claim_data(contribution_months=60)
    number = post_claim(client, headers["clerk_cx"], data).get_json()["number"]
    account, id_number = data["bank_account"], data["claimant"]["id_number"]
    # An inspector of the same county reads the case (region scope); nobody's work needs the account in full.
    for who in ("insp_cx", "clerk_cx"):
        body = client.get(f"{API}/cases/{number}", headers=headers[who])
        opened = next(e for e in body.get_json()["history"] if e["kind"] == "case_opened")
        shown = opened["detail"]["data"]
        assert shown["bank_account"] == "*" * (len(account) - 4) + account[-4:]
        assert shown["claimant"]["id_number"] == "*" * 14 + id_number[-4:]
        assert account not in body.get_data(as_text=True) and id_number not in body.get_data(as_text=True)


def test_review_queue_and_decision_over_http(client, headers):
    case = post_claim(client, headers["clerk_cx"],
                      claim_data(contribution_months=30, separation_reason="voluntary")).get_json()
    assert case["status"] == "under_review" and case["data"]["rule"]["id"] == "E05"
    tasks = client.get(f"{API}/tasks?assigned=any", headers=headers["clerk_cx"]).get_json()
    assert [t["name"] for t in tasks["items"]] == ["review_claim"]
    task = tasks["items"][0]
    assert task["form"]["properties"]["decision"]["enum"] == ["approve", "reject"]
    assert client.get(f"{API}/tasks", headers=headers["clerk_sb"]).get_json()["total"] == 0
    bad = client.post(f"{API}/tasks/{task['id']}/complete", headers=headers["clerk_cx"],
                      json={"data": {"decision": "approve"}, "case_version": case["version"]})
    assert bad.status_code == 400 and "reason" in bad.get_json()["error"]["fields"]
    done = client.post(f"{API}/tasks/{task['id']}/complete", headers=headers["clerk_cx"],
                       json={"data": {"decision": "approve", "reason": "本人辞职，核定失业补助金"},
                             "case_version": case["version"]})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "approved" and done.get_json()["data"]["decided_by"] == "clerk"


def test_duplicate_claim_is_refused_naming_the_open_claim(client, headers):
    first = post_claim(client, headers["clerk_cx"], claim_data(contribution_months=12)).get_json()
    again = post_claim(client, headers["clerk_cx"], claim_data(contribution_months=30))
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "conflict"
    assert first["number"] in again.get_json()["error"]["message"]
    # Also from another county: one open claim per person, wherever it was filed.
    elsewhere = post_claim(client, headers["clerk_sb"], claim_data(contribution_months=30), region="532322")
    assert elsewhere.status_code == 409


@pytest.mark.parametrize("overrides,field", [
    ({"contribution_months": -1}, "data.contribution_months"),
    ({"months_already_drawn": -1}, "data.months_already_drawn"),
    ({"separation_date": "2021-03-01"}, "data.separation_date"),
    ({"id_number": "532301198805120010"}, "data.claimant.id_number"),
])
def test_bad_input_is_a_400_naming_the_field(client, headers, overrides, field):
    response = post_claim(client, headers["clerk_cx"], claim_data(**overrides))
    assert response.status_code == 400, response.get_json()
    fields = response.get_json()["error"]["fields"]
    assert field in fields or field.removeprefix("data.") in fields, fields


def test_inspector_cannot_open_a_claim(client, headers):
    assert post_claim(client, headers["insp_cx"], claim_data()).status_code == 403


def test_stop_payments_over_http(client, headers):
    case = post_claim(client, headers["clerk_cx"], claim_data(contribution_months=12)).get_json()
    benefit_payments.run_payments(at("2021-03-01 09:00"))
    number = case["number"]
    url = f"{API}/cases/{number}/payments/stop"
    assert client.post(url, json={"reason": "reemployed", "note": "x"}, headers=headers["clerk_sb"]).status_code == 404
    bad = client.post(url, json={"reason": "holiday", "note": "x"}, headers=headers["clerk_cx"])
    assert bad.status_code == 400 and "reason" in bad.get_json()["error"]["fields"]
    future = client.post(url, json={"reason": "reemployed", "note": "x", "effective_on": "2021-05-01"},
                         headers=headers["clerk_cx"])
    assert future.status_code == 400 and "effective_on" in future.get_json()["error"]["fields"]
    stopped = client.post(url, json={"reason": "refused_work", "note": "拒绝推荐的保洁岗位"},
                          headers=headers["clerk_cx"])
    assert stopped.status_code == 200, stopped.get_json()
    body = stopped.get_json()
    assert body["status"] == "stopped" and body["closed_at"] is not None
    assert body["data"]["stop_reason"] == "refused_work"
    payments = client.get(f"{API}/cases/{number}/payments", headers=headers["clerk_cx"]).get_json()
    # Stopped from the API's today (1 Feb): February and March, paid by the run of 1 March, are overpaid, to be
    # recovered.
    assert [p["status"] for p in payments["items"]] == ["overpaid"] * 2 + ["cancelled"] * 10
    assert payments["totals"] == {"scheduled": "0.00", "paid": "0.00", "cancelled": "13500.00"}
    assert payments["overpaid"] == {"periods": ["2021-02", "2021-03"], "amount": "2700.00"}
    assert client.post(url, json={"reason": "reemployed", "note": "x"},
                       headers=headers["clerk_cx"]).status_code == 409
    assert any(e["kind"] == "payments_stopped" for e in client.get(
        f"{API}/cases/{number}", headers=headers["clerk_cx"]).get_json()["history"])


def test_rates_endpoint(client, headers):
    body = client.get(f"{API}/benefit-rates?region=532301&on=2022-10-01", headers=headers["clerk_cx"]).get_json()
    assert {r["region"] for r in body["items"]} == {"532300", "532301"}
    assert body["in_force"]["benefit_rate"] == "1575.00" and body["in_force"]["effective_from"] == "2022-10-01"
    in_force = next(r for r in body["items"] if r["region"] == "532301" and r["effective_from"] == "2022-10-01")
    assert in_force["benefit_rate_in_effect"] == body["in_force"]["benefit_rate"]
    # The list and the rate in force both follow the province's percentage.
    set_rule("benefit_rate_percent", "80", "admin", at("2022-10-01 09:00"))
    body = client.get(f"{API}/benefit-rates?region=532301&on=2022-10-01", headers=headers["clerk_cx"]).get_json()
    in_force = next(r for r in body["items"] if r["region"] == "532301" and r["effective_from"] == "2022-10-01")
    assert in_force["benefit_rate_in_effect"] == body["in_force"]["benefit_rate"] == "1400.00"
    bad = client.get(f"{API}/benefit-rates?region=53", headers=headers["clerk_cx"])
    assert bad.status_code == 400 and "region" in bad.get_json()["error"]["fields"]
    bad = client.get(f"{API}/benefit-rates?region=532301&on=soon", headers=headers["clerk_cx"])
    assert bad.status_code == 400 and "on" in bad.get_json()["error"]["fields"]


def test_openapi_lists_the_benefit_routes(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    assert "/cases/{number}/payments/stop" in paths and "/benefit-rates" in paths


def test_cli_imports_and_lists_rates(app, ctx, tmp_path: Path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["benefits", "rates", "import", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert "6 rates added" in result.output
    listed = runner.invoke(args=["benefits", "rates", "list", "--region", "532301"])
    assert "1750.00" in listed.output and "6 rates" in listed.output
    bad = tmp_path / "bad.csv"
    bad.write_text("region,effective_from,minimum_wage,benefit_rate,subsistence_rate\n532301,2023-01-01,x,,1\n",
                   encoding="utf-8")
    result = runner.invoke(args=["benefits", "rates", "import", str(bad)])
    assert result.exit_code == 2 and "line 2.minimum_wage" in result.output
    paid = runner.invoke(args=["benefits", "pay", "--now", "2021-03-01T09:00+08:00"])
    assert paid.exit_code == 0 and "0 monthly payments" in paid.output


def test_dmn_expressions_run_in_the_sandbox(ctx):
    """A decision table is code read by the engine: its cells get the same sandbox as the BPMN scripts."""
    from SpiffWorkflow.bpmn.util import BpmnEvent  # noqa: F401 - the engine's own import path works

    from engine import processes
    from engine.clock import engine_context
    from engine.runtime import Runtime
    from engine.sandbox import UnsafeExpression

    files = processes.read_files("benefit_claim")
    files["benefit_months.dmn"] = files["benefit_months.dmn"].replace(
        "<text>&lt; 3</text>", "<text>().__class__ is None</text>")
    runtime = Runtime()
    parsed = runtime.parse("tampered", "benefit_claim", files)
    with engine_context(CLOCK), pytest.raises(Exception) as refused:
        runtime.start(parsed, {**claim_data(), "region": "532301", "received_at": CLOCK.isoformat()})
    chain = []
    error = refused.value
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__ or getattr(error, "exception", None)
    assert any(isinstance(e, UnsafeExpression) for e in chain), chain


def test_case_page_shows_the_decision_and_the_rule(client, headers):
    """The HTML case page (session sign-in) shows the explained decision, not a raw dictionary."""
    import re

    case = post_claim(client, headers["clerk_cx"], claim_data(contribution_months=60)).get_json()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"', login_page)
    client.post("/login", data={"username": "clerk_cx", "password": PASSWORD,
                                "csrf_token": token.group(1) or token.group(2)})
    page = client.get(f"/cases/{case['number']}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "E04" in text and "M5" in text and "{&#39;" not in text and "{'" not in text
    assert "失业保险金" in text
    reviewed = post_claim(client, headers["clerk_cx"],
                          claim_data(seed=2, contribution_months=30, separation_reason="voluntary")).get_json()
    page = client.get(f"/cases/{reviewed['number']}")
    assert page.status_code == 200 and "审核失业保险待遇申请" in page.get_data(as_text=True)
    assert "审核结论" in page.get_data(as_text=True)  # the review_claim form
    assert "转人工审核原因" in page.get_data(as_text=True)
    assert client.get("/cases/new/benefit_claim").status_code == 200
