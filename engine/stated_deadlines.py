"""How each deadline a notice states or the legal clock sets is computed, under a given calendar: the calendar
loaded now, or one as it was before some holiday files were loaded (engine/deadline_review.py finds the deadlines
stored under the latter). The wage-arrears formulas restate the model's timers (bpmn/wage_arrears), with its own
helpers where it has them."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, datetime

from engine import calendar
from engine.clock import engine_context

# The case's conclusion date (cases.due_at), listed beside the model's timers.
CASE_DUE = "case_due"


# --------------------------------------------------------------------------------------------------- calendars


class Counting:
    """engine.calendar's working-day arithmetic on a given notion of working day."""

    def __init__(self, working: Callable[[date], bool]) -> None:
        self.working = working

    def after(self, start: datetime | date | str, n: int) -> datetime:
        return calendar.working_days_after(start, n, working=self.working)

    def before(self, end: datetime | date | str, n: int) -> datetime:
        return calendar.working_days_before(end, n, working=self.working)


LOADED = Counting(calendar.is_working_day)


def _without(years: frozenset[int]) -> Counting:
    return Counting(lambda d: calendar.baseline_is_working_day(d) if d.year in years
                    else calendar.is_working_day(d))


def earlier_calendars(first: date, last: date) -> list[Counting]:
    """The calendars a deadline counted over [first, last] may have been computed with before some holiday files
    were loaded: each combination of the files' years in that span left out."""
    years = sorted(y for y in calendar.override_years() if first.year <= y <= last.year + 1)
    return [_without(frozenset(combo)) for size in range(1, len(years) + 1)
            for combo in itertools.combinations(years, size)]


def stale(stored: datetime, compute: Callable[[Counting], datetime], first: datetime) -> datetime | None:
    """The loaded calendar's value when `stored` is what an earlier calendar computed and the loaded one differs;
    None otherwise."""
    loaded = compute(LOADED)
    if loaded == stored:
        return None
    span_end = max(loaded, stored)
    for counting in earlier_calendars(calendar.local_date(first), calendar.local_date(span_end)):
        if compute(counting) == stored:
            return loaded
    return None


# --------------------------------------------------------------------------------------------------- the model


def _wa_case_due(data: dict, values: dict, c: Counting) -> datetime:
    days = int(values["case_conclusion_days"])
    if data.get("case_extended"):
        days += int(values["case_extension_days"])
    return c.after(data["filed_at"], days)


def _wa_case_review(data: dict, values: dict, c: Counting) -> datetime:
    return c.before(_wa_case_due(data, values, c), int(values["case_deadline_review_lead_days"]))


def _with_rules(start: str, values: dict, fn: Callable[[], int]) -> int:
    with engine_context(datetime.fromisoformat(start), values):
        return int(fn())


def _wa_compensation_days(data: dict, values: dict) -> int:
    from engine.wage_arrears import _helper_order_payment_days

    return _with_rules(data["measures_in_force_at"], values, _helper_order_payment_days)


def _wa_penalty(data: dict, values: dict, c: Counting) -> datetime:
    from engine.wage_arrears import _helper_penalty_answer_days

    days = _with_rules(data["measures_in_force_at"], values,
                       lambda: _helper_penalty_answer_days(data["penalty_amount"]))
    return c.after(data["measures_in_force_at"], days)


def _wa_deposit(data: dict, values: dict, c: Counting) -> datetime:
    due = c.after(data["measures_in_force_at"], int(values["wage_deposit_bank_days"]))
    if "compensation_order" in (data.get("measures") or []):
        due = max(due, c.after(data["measures_in_force_at"], _wa_compensation_days(data, values)))
    return due


def _wa_compensation(data: dict, values: dict, c: Counting) -> datetime:
    return c.after(data["measures_in_force_at"], _wa_compensation_days(data, values))


def _wa_payment(data: dict, values: dict, c: Counting) -> datetime:
    return c.after(data["_order_issued_at"], int(data["payment_deadline_days"]))


# Each stated deadline of a model: (the data item its count starts from, how the model computes it). Timers that
# count calendar days (temp_job's post end) do not depend on holidays and are not listed here.
STATED_TIMERS: dict[str, dict[str, tuple[str, Callable[[dict, dict, Counting], datetime]]]] = {
    "wage_arrears": {
        "payment_deadline": ("_order_issued_at", _wa_payment),
        "compensation_deadline": ("measures_in_force_at", _wa_compensation),
        "penalty_defence_period": ("measures_in_force_at", _wa_penalty),
        "wage_deposit_due": ("measures_in_force_at", _wa_deposit),
        "case_clock": ("filed_at", _wa_case_review),
        "case_clock_extended": ("filed_at", _wa_case_review),
        CASE_DUE: ("filed_at", _wa_case_due),
    },
}
