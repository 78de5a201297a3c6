"""JSON Schemas of the API's request bodies: the same dicts validate requests and build openapi.json."""

from __future__ import annotations

import functools
import re

from engine import processes
from engine.services.cases import OPENING_ROLES

# The process models' scripts set a case's status (`status = 'cleared'`); every case opens as "received".
_STATUS_SET = re.compile(r"""\bstatus\s*=\s*['"]([a-z_]+)['"]""")


def _statuses_in(model: str) -> frozenset[str]:
    return frozenset(_STATUS_SET.findall(model))


@functools.cache
def case_statuses() -> tuple[str, ...]:
    """Every status a case can have, read from the process models in bpmn/ (`GET /cases?status=`): read once per
    server process, as the models on disk change only with a new release."""
    found = {"received"}
    for process in processes.process_names():
        for name, text in processes.read_files(process).items():
            if name.endswith(".bpmn"):
                found |= _statuses_in(text)
    return tuple(sorted(found))


TOKEN_REQUEST = {
    "type": "object",
    "properties": {
        "username": {"type": "string", "minLength": 1, "maxLength": 64},
        "password": {"type": "string", "minLength": 1, "maxLength": 256},
    },
    "required": ["username", "password"],
    "additionalProperties": False,
}

OPEN_CASE_REQUEST = {
    "type": "object",
    "properties": {
        "process": {"type": "string", "enum": sorted(OPENING_ROLES)},
        "region": {"type": "string", "format": "region"},
        "data": {"type": "object", "description": "Validated against the process's intake schema."},
    },
    "required": ["process", "region", "data"],
    "additionalProperties": False,
}

COMPLETE_TASK_REQUEST = {
    "type": "object",
    "properties": {
        "data": {"type": "object", "description": "Validated against the task's form schema (`form` of the task)."},
        "case_version": {"type": "integer", "minimum": 1},
    },
    "required": ["data", "case_version"],
    "additionalProperties": False,
}

ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}

TASK = {
    "type": "object",
    "properties": {
        "id": {"type": "string"}, "case_number": {"type": "string"}, "case_version": {"type": "integer"},
        "name": {"type": "string"},
        "title": {"type": "string"}, "role": {"type": "string"}, "assignee": {"type": ["string", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
        "due_at": {"type": ["string", "null"], "format": "date-time"}, "overdue": {"type": "boolean"},
        "escalation_level": {"type": "integer"}, "form": {"type": "object"},
    },
}

CASE = {
    "type": "object",
    "properties": {
        "number": {"type": "string"}, "process": {"type": "string"}, "process_version": {"type": "string"},
        "status": {"type": "string"}, "region": {"type": "string"},
        "opened_at": {"type": "string", "format": "date-time"},
        "due_at": {"type": ["string", "null"]}, "closed_at": {"type": ["string", "null"]},
        "assignee": {"type": ["string", "null"]}, "version": {"type": "integer"}, "data": {"type": "object"},
        "tasks": {"type": "array", "items": TASK}, "history": {"type": "array"}, "documents": {"type": "array"},
        "escalations": {"type": "array"},
        # What a case with no open task waits for: the model's timers, soonest first.
        "waiting": {"type": "array", "items": {"type": "object", "properties": {
            "timer": {"type": "string"}, "fire_at": {"type": "string", "format": "date-time"}}}},
    },
}


def page_of(item: dict) -> dict:
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": item}, "total": {"type": "integer"},
            "page": {"type": "integer"}, "per_page": {"type": "integer", "maximum": 200},
        },
    }
