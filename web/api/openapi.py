"""OpenAPI 3.1 built from the schemas that validate requests (web/api/schemas.py and the process models' intake
and form schemas), so the published spec cannot drift from the code."""

from __future__ import annotations

import json
from functools import lru_cache

from engine import processes
from engine.actors import ROLES
from engine.services.cases import OPENING_ROLES
from web.api import schemas as s


def _op(summary: str, *, body: dict | None = None, ok: dict | None = None, status: str = "200",
        params: list | None = None, auth: bool = True, content: str = "application/json",
        errors: tuple[str, ...] | None = None) -> dict:
    if errors is None:  # what any route may answer: 403 when the role may not, 413 past MAX_CONTENT_LENGTH
        errors = ("400", "401", "403", "404", "409") if auth else ("400", "404")
        errors += ("413",) if body is not None else ()
    op: dict = {"summary": summary, "responses": {
        status: {"description": "OK", "content": {content: {"schema": ok or {"type": "object"}}}},
        **{code: {"$ref": "#/components/responses/Error"} for code in errors},
    }}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if params:
        op["parameters"] = params
    if not auth:
        op["security"] = []
    return op


def _q(name: str, schema: dict, description: str = "") -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _p(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


PAGING = [_q("page", {"type": "integer", "minimum": 1}), _q("per_page", {"type": "integer", "minimum": 1,
                                                                            "maximum": 200})]


@lru_cache(maxsize=1)
def _process_schemas() -> dict:
    found = {}
    for process in processes.process_names():
        for name, text in processes.read_files(process).items():
            if name.endswith(".schema.json"):
                found[f"{process}.{name.removesuffix('.schema.json')}"] = json.loads(text)
    return found


# Routes other modules add (path -> {method: operation}).
EXTRA_PATHS: dict[str, dict] = {}


def build_spec() -> dict:
    process_schemas = _process_schemas()
    intake_refs = [{"$ref": f"#/components/schemas/{k}"} for k in process_schemas if k.endswith(".intake")]
    open_case = json.loads(json.dumps(s.OPEN_CASE_REQUEST))
    open_case["properties"]["data"] = {"oneOf": intake_refs} if intake_refs else {"type": "object"}
    paths = {
        # 403: a temporary password must be changed in the pages first; 429: locked after repeated failures.
        "/auth/token": {"post": _op("Issue a bearer token", body=s.TOKEN_REQUEST, auth=False,
                                    errors=("400", "401", "403", "413", "429"))},
        "/auth/revoke": {"post": _op("Revoke the bearer token sent")},
        # 503 with the same body when the database does not answer.
        "/health": {"get": _op("Health of the database and the scheduler", auth=False, errors=("503",))},
        "/cases": {
            "post": _op("Open a case", body=open_case, ok=s.CASE, status="201"),
            "get": _op("List cases in the caller's region", ok=s.page_of(s.CASE), params=[
                _q("process", {"enum": sorted(OPENING_ROLES)}), _q("status", {"enum": list(s.case_statuses())}),
                _q("region", {"type": "string", "pattern": "^[0-9]+$"}), _q("overdue", {"type": "boolean"}),
                _q("q", {"type": "string"}, "case number, names, employer"), *PAGING]),
        },
        "/cases/{number}": {"get": _op("A case with its open tasks, history, documents and escalations",
                                       ok=s.CASE, params=[_p("number")])},
        "/tasks": {"get": _op("Open user tasks, most urgent first", ok=s.page_of(s.TASK), params=[
            _q("assigned", {"enum": ["me", "unassigned", "any"]}),
            _q("role", {"enum": [r for r in ROLES if r != "admin"]}),
            _q("region", {"type": "string", "pattern": "^[0-9]+$"}), _q("process", {"enum": sorted(OPENING_ROLES)}),
            _q("overdue", {"type": "boolean"}), *PAGING])},
        "/tasks/{id}/claim": {"post": _op("Claim a task", ok=s.TASK, params=[_p("id")])},
        "/tasks/{id}/release": {"post": _op("Release a task", ok=s.TASK, params=[_p("id")])},
        "/tasks/{id}/complete": {"post": _op("Complete a task with its form data", body=s.COMPLETE_TASK_REQUEST,
                                             ok=s.CASE, params=[_p("id")])},
        **EXTRA_PATHS,
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "HRSS case engine API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": {"description": "Error", "content": {"application/json": {"schema": s.ERROR}}}},
            "schemas": {"Case": s.CASE, "Task": s.TASK, "Error": s.ERROR, **process_schemas},
        },
    }
