"""Sandboxed expressions and the helper functions process models may call.

Models are trusted code from the repository, but request data must never become code and a model must not reach the
OS: no builtins beyond an allow-list, no underscore names or attributes, no str.format (it reads attributes by name).
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment

from engine import calendar
from engine.clock import current_now, rule_value

_ALLOWED_BUILTINS = {
    name: getattr(builtins, name)
    for name in (
        "len", "min", "max", "sum", "abs", "any", "all", "sorted", "str", "int", "bool", "round", "list",
        "dict", "set", "tuple", "range", "enumerate", "zip", "float",
    )
}
_FORBIDDEN_ATTRIBUTES = {"format", "format_map", "mro"}
# Frames, tracebacks, code objects and generator/coroutine internals: a running generator's frame leads back to the
# engine's own frames and their real builtins.
_FORBIDDEN_ATTRIBUTE_PREFIXES = ("_", "f_", "tb_", "gi_", "cr_", "ag_", "co_")
# No model needs generators or coroutines, and they are the way to reach a running frame.
_FORBIDDEN_NODES = (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, ast.AsyncFunctionDef, ast.Await,
                    ast.AsyncFor, ast.AsyncWith, ast.Yield, ast.YieldFrom)


class UnsafeExpression(ValueError):
    pass


@lru_cache(maxsize=4096)
def _checked_code(source: str, mode: str):
    tree = ast.parse(source, mode=mode)
    for node in ast.walk(tree):
        if isinstance(node, _FORBIDDEN_NODES):
            raise UnsafeExpression(f"{type(node).__name__} is not allowed in process models (no imports, "
                                   "globals, generators or coroutines)")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise UnsafeExpression(f"name {node.id!r} is not allowed in process models")
        if isinstance(node, ast.Attribute) and (
            node.attr.startswith(_FORBIDDEN_ATTRIBUTE_PREFIXES) or node.attr in _FORBIDDEN_ATTRIBUTES
        ):
            raise UnsafeExpression(f"attribute {node.attr!r} is not allowed in process models")
    return compile(tree, "<bpmn>", mode)


def _iso(value: datetime) -> str:
    return value.isoformat()


def _helper_now() -> str:
    return _iso(current_now().astimezone(calendar.get_timezone()))


def _helper_working_days_after(start: str | datetime | date, n: int) -> str:
    return _iso(calendar.working_days_after(start, int(n)))


def _helper_working_days_before(end: str | datetime | date, n: int) -> str:
    return _iso(calendar.working_days_before(end, int(n)))


def _helper_days_between(start: str, end: str) -> int:
    """Calendar days from the date of `start` to the local date of `end`."""
    last = datetime.fromisoformat(str(end))
    return ((calendar.local_date(last) if last.tzinfo is not None else last.date())
            - date.fromisoformat(str(start)[:10])).days


def money(value: Any) -> Decimal:
    """Decimal yuan from a string such as "12500.00" (never from a float)."""
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not an amount of money: {value!r}") from None


def money_str(value: Any) -> str:
    """Yuan to the fen, rounded half up (四舍五入), as every amount the engine states is."""
    return str(money(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


BPMN_HELPERS: dict[str, Any] = {
    "now": _helper_now,
    "rule": rule_value,
    "working_days_after": _helper_working_days_after,
    "working_days_before": _helper_working_days_before,
    "days_between": _helper_days_between,
    "money": money,
    "money_str": money_str,
}


class SandboxEnvironment(TaskDataEnvironment):
    def __init__(self, helpers: Mapping[str, Any]):
        # The helpers' own dict, read live (a module may add one, engine.benefit_rates, after a runtime was built);
        # evaluate and execute put the allow-listed builtins in themselves. A plain dict: it is copied for every
        # expression, DMN cells included, and a ChainMap copies some 40 times slower.
        super().__init__(helpers)

    def evaluate(self, expression, context, external_context=None):
        code = _checked_code(expression.strip(), "eval")
        scope = dict(self.globals)
        scope.update(external_context or {})
        scope.update(context)
        scope["__builtins__"] = _ALLOWED_BUILTINS  # task data can never replace the allow-list
        return eval(code, scope)  # noqa: S307 - checked and sandboxed above

    def execute(self, script, context, external_context=None):
        code = _checked_code(script, "exec")
        self.check_for_overwrite(context, external_context or {})
        context.update(self.globals)
        context.update(external_context or {})
        context["__builtins__"] = _ALLOWED_BUILTINS
        try:
            exec(code, context)  # noqa: S102 - checked and sandboxed above
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        return True
