"""The engine's own clock and rule values, per thread/coroutine.

SpiffWorkflow reads the wall clock in its timer code; the engine instead runs every step inside
`engine_context(now, rules)`, and its timer event definitions (engine.runtime) and model helpers (engine.sandbox)
read that `now`. So a sweep "as if at" a given time fires exactly what is due then, in tests and in `flask sweep --now`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from engine import rules

_now: ContextVar[datetime | None] = ContextVar("engine_now", default=None)
_rule_values: ContextVar[Mapping[str, Any] | None] = ContextVar("engine_rules", default=None)


@contextmanager
def engine_context(now: datetime, rule_values: Mapping[str, Any] | None = None) -> Iterator[None]:
    """Run workflow steps as if at `now` (aware datetime), with the given rule values."""
    if now.tzinfo is None:
        raise ValueError("engine time must be timezone-aware")
    t1 = _now.set(now)
    t2 = _rule_values.set(rule_values)
    try:
        yield
    finally:
        _now.reset(t1)
        _rule_values.reset(t2)


def current_now() -> datetime:
    now = _now.get()
    if now is None:
        raise RuntimeError("workflow step run outside engine_context(now)")
    return now


def rule_value(key: str) -> Any:
    values = _rule_values.get()
    if values is not None and key in values:
        return values[key]
    return rules.default_value(key)

