"""Errors the services raise; the API maps each to its status code and the pages to a message."""

from __future__ import annotations

from engine.validation import DataInvalid

__all__ = ["Conflict", "DataInvalid", "DatabaseBusy", "EngineError", "Forbidden", "NotFound"]


class EngineError(Exception):
    code = "error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(EngineError):
    """Also what a case outside the actor's region looks like."""

    code = "not_found"


class Forbidden(EngineError):
    code = "forbidden"


class Conflict(EngineError):
    """A stale version, a task completed twice, a task someone else holds."""

    code = "conflict"


class CaseChanged(Conflict):
    """Someone else changed the case since it was read (a moved version, a lost race): reload and try again."""


class DatabaseBusy(Conflict):
    """A write that waited out its lock timeout behind another (a long ledger import): nothing changed, by anyone;
    try again shortly. Not CaseChanged: there is no change to reload."""
