"""JSON API routes for benefit claims: the payment schedule, stopping payments, the regional rates."""

from __future__ import annotations

from flask import g, jsonify, request

from engine import benefit_payments, benefits
from engine.benefit_rates import rate_in_force_json, rates_json
from engine.services._common import case_in_scope
from web.api import bp, json_body, now, query_region, token_required
from web.api.openapi import EXTRA_PATHS, _op, _p, _q
from web.api.views import CASE_SECTIONS, full_case_json


def _payments(case) -> list[dict]:
    if case.process != benefits.PROCESS:
        return []
    return [benefit_payments.payment_json(p) for p in benefit_payments.payments_for_case(case)]


# GET /cases/{number} shows the schedule beside the documents (empty for other processes).
CASE_SECTIONS["payments"] = _payments


@bp.get("/cases/<number>/payments")
@token_required
def case_payments(number: str):
    case = case_in_scope(g.actor, number)
    rows = benefit_payments.payments_for_case(case) if case.process == benefits.PROCESS else []
    items = [benefit_payments.payment_json(p) for p in rows]
    # Months paid after payments stopped (status `overpaid`), to be recovered: apart, so `totals` keeps its keys.
    periods, amount = benefit_payments.overpaid(rows)
    return jsonify({"case_number": case.number, "status": case.status, "items": items,
                    "totals": benefit_payments.totals(rows), "overpaid": {"periods": periods, "amount": amount}})


@bp.post("/cases/<number>/payments/stop")
@token_required
def stop_case_payments(number: str):
    body = json_body()
    case = benefit_payments.stop_payments(g.actor, number, body, now())
    return jsonify(full_case_json(case))


@bp.get("/benefit-rates")
@token_required
def benefit_rates():
    region = query_region()
    items = rates_json(region)
    on = request.args.get("on")
    body: dict = {"items": items, "total": len(items)}
    if on and region:
        body["in_force"] = rate_in_force_json(region, on)
    return jsonify(body)


EXTRA_PATHS.update({
    "/cases/{number}/payments": {"get": _op("Payment schedule of a benefit claim, with the overpaid months to recover",
                                            params=[_p("number")])},
    "/cases/{number}/payments/stop": {"post": _op(
        "Stop a benefit claim's payments (re-employment, refusal of suitable work or training); the remaining "
        "months are cancelled", params=[_p("number")], body=benefit_payments.STOP_SCHEMA)},
    "/benefit-rates": {"get": _op("Regional benefit rates with effective dates", params=[
        _q("region", {"type": "string", "pattern": "^[1-8][0-9]{5}$"}),
        _q("on", {"type": "string", "format": "date"}, "with region: the rates in force on this date"),
    ])},
})
