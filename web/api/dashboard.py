"""GET /api/v1/dashboard/clear-zero: the two clear-zero figures for the caller's region (or a region within it).
Supervisors, heads and administrators only (403 otherwise); a region outside the caller's is 404, a malformed one
400 naming `region`. CLEAR_ZERO is the response schema the OpenAPI spec publishes and the tests validate against."""

from __future__ import annotations

from flask import g, jsonify, request

from engine import dashboard
from web.api import bp, now, token_required
from web.api.openapi import EXTRA_PATHS, _op, _q

MONEY = {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "description": "yuan, decimal string"}
MONEY_OR_NULL = {"type": ["string", "null"], "pattern": r"^-?[0-9]+\.[0-9]{2}$"}
FIGURES = {
    "open_cases": {"type": "integer"},
    "workers_owed": {"type": "integer"},
    "arrears_outstanding": MONEY,
    "arrears_recovered": MONEY,
}
RATE = {"type": "object", "required": ["completed", "on_time", "rate"],
        "properties": {"completed": {"type": "integer"}, "on_time": {"type": "integer"},
                       "rate": {"type": ["number", "null"], "description": "on_time / completed, 4 decimals"}}}
DATE = {"type": "string", "format": "date"}
REGION = {"type": "string"}
CLEAR_ZERO = {
    "type": "object",
    "required": ["deadline", "open_cases", "workers_owed", "arrears_outstanding", "arrears_recovered", "by_region",
                 "by_day", "targets", "on_time", "region", "campaign", "as_of"],
    "properties": {
        "deadline": {**DATE, "description": "the campaign's last deadline (target 2's)"},
        **FIGURES,
        "by_region": {"type": "array", "description": "one row per child region (province → prefectures → "
                                                      "counties); a county has itself",
                      "items": {"type": "object",
                                "required": ["region", "region_name", *FIGURES, "targets", "on_time"],
                                "properties": {
                                    "region": REGION, "region_name": {"type": "string"}, **FIGURES,
                                    "targets": {"type": "object", "required": ["year_end", "spring_festival"],
                                                "additionalProperties": {"type": "object", "required": [*FIGURES],
                                                                         "properties": FIGURES},
                                                "description": "the region's figures per target"},
                                    "on_time": {"type": "object", "additionalProperties": RATE,
                                                "description": "per process"}}}},
        "by_day": {"type": "array", "description": "campaign start to the deadline; null for days without a "
                                                   "snapshot and for future days; today is live",
                   "items": {"type": "object", "required": ["date", "arrears_outstanding", "ideal", "live"],
                             "properties": {
                                 "date": DATE,
                                 "open_cases": {"type": ["integer", "null"]},
                                 "workers_owed": {"type": ["integer", "null"]},
                                 "arrears_outstanding": MONEY_OR_NULL, "arrears_recovered": MONEY_OR_NULL,
                                 "year_end_outstanding": MONEY_OR_NULL,
                                 "ideal": {**MONEY_OR_NULL, "description": "straight line to zero at the deadline"},
                                 "ideal_year_end": {**MONEY_OR_NULL,
                                                    "description": "target 1's line to zero at its deadline"},
                                 "live": {"type": "boolean"}}}},
        "targets": {"type": "array", "minItems": 2, "maxItems": 2, "items": {
            "type": "object", "required": ["key", "deadline", "days_left", "met", "overdue", *FIGURES],
            "properties": {
                "key": {"enum": ["year_end", "spring_festival"]}, "title": {"type": "string"},
                "project_types": {"type": "array", "items": {"type": "string"}},
                "deadline": DATE, "days_left": {"type": "integer", "description": "working days, today included"},
                "calendar_days_left": {"type": "integer"}, "met": {"type": "boolean"}, "overdue": {"type": "boolean"},
                "needed_per_working_day": MONEY_OR_NULL, **FIGURES}}},
        "on_time": {"type": "object", "required": ["by_process", "by_region"], "properties": {
            "by_process": {"type": "array", "items": {"allOf": [RATE, {"type": "object", "required": ["process"]}]}},
            "by_region": {"type": "array", "items": {"allOf": [RATE, {"type": "object",
                                                                      "required": ["region", "process"]}]}}}},
        "region": {**REGION, "description": "the region shown; \"\" is national"},
        "region_name": {"type": "string"},
        "parent": {"type": ["string", "null"], "description": "one level up, when within the caller's region"},
        "campaign": {"type": "object", "required": ["start", "year_end_deadline", "spring_festival_deadline"],
                     "properties": {"name": {"type": "string"}, "start": DATE, "year_end_deadline": DATE,
                                    "spring_festival_deadline": DATE}},
        "as_of": {"type": "string", "format": "date-time"},
    },
}


@bp.get("/dashboard/clear-zero")
@token_required
def clear_zero():
    return jsonify(dashboard.clear_zero(g.actor, now(), request.args.get("region") or None))


_OPERATION = _op(
    "Two clear-zero figures: totals, the two targets, per child region, on-time rates and the daily burn-down",
    ok=CLEAR_ZERO,
    params=[_q("region", {"type": "string", "pattern": "^[1-8][0-9]{5}$"},
               "a division code within the caller's region (default: the caller's region)")],
)
_OPERATION["responses"]["403"] = {"$ref": "#/components/responses/Error"}
EXTRA_PATHS["/dashboard/clear-zero"] = {"get": _OPERATION}
