"""Official Chinese working-day calendar for legal deadlines.

"Working day" means the official calendar: weekends off, public holidays off, make-up working days (调休) on.
The ``chinese_calendar`` package supplies the official days for the years it knows (2004–2026 in 1.11.0). For
any other year the module falls back to Monday–Friday and logs a warning once per year, until an administrator
loads that year's official holiday list with :func:`load_holiday_file` / :func:`load_holiday_dir` (CSV format:
``engine/holidays/README.md``). Loaded days take precedence over ``chinese_calendar``, so a file can also
correct it.

Deadlines are the *end* (23:59:59) of a working day, in the timezone of the start moment; naive moments and
plain dates are taken in the configured timezone (default ``Asia/Shanghai``, see :func:`set_timezone`).
"""

from __future__ import annotations

import functools
import logging
import threading
from calendar import monthrange
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from os import PathLike
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar
import chinese_calendar.constants as _cc_constants

from engine.holiday_files import HOLIDAY, WORKDAY, HolidayEntry, HolidayFileError, parse_holiday_file

__all__ = [
    "DEFAULT_TIMEZONE",
    "HolidayFileError",
    "baseline_is_working_day",
    "clear_overrides",
    "get_timezone",
    "is_working_day",
    "known_years",
    "load_holiday_dir",
    "load_holiday_file",
    "loaded_days",
    "next_working_day",
    "override_years",
    "set_timezone",
    "working_days_after",
    "working_days_before",
    "working_days_between",
    "year_is_official",
    "years_without_holidays",
]

logger = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "Asia/Shanghai"

END_OF_DAY = time(23, 59, 59)
# Longest run of consecutive non-working days tolerated before we assume the calendar data is broken.
_MAX_DAYS_OFF = 366

# Years chinese_calendar has official data for (it raises NotImplementedError outside this range).
_PACKAGE_YEARS = range(
    min(_cc_constants.holidays).year,
    max(_cc_constants.holidays).year + 1,
)

_lock = threading.RLock()
_timezone: ZoneInfo = ZoneInfo(DEFAULT_TIMEZONE)
_overrides: dict[date, bool] = {}  # date -> True for a working day, False for a day off
_override_names: dict[date, str] = {}
_file_years: set[int] = set()
_warned_years: set[int] = set()


# --------------------------------------------------------------------------------------------------- timezone


def set_timezone(name: str) -> None:
    """Set the timezone used for naive datetimes and plain dates (an IANA name such as "Asia/Shanghai")."""
    global _timezone
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone: {name!r}") from exc
    _timezone = zone


def get_timezone() -> ZoneInfo:
    """The timezone used for naive datetimes and plain dates."""
    return _timezone


def local_date(moment: datetime) -> date:
    """The calendar day of `moment` where the bureaus are (the configured time zone)."""
    return moment.astimezone(get_timezone()).date()


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it has no such day)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


# --------------------------------------------------------------------------------------------------- day test


@functools.lru_cache(maxsize=8192)
def _is_working_day_cached(d: date) -> bool:
    override = _overrides.get(d)
    if override is not None:
        return override
    if d.year in _PACKAGE_YEARS:
        try:
            return chinese_calendar.is_workday(d)
        except NotImplementedError:  # pragma: no cover - range mismatch with a future package version
            pass
    if d.year not in _file_years:
        _warn_fallback(d.year)
    return d.weekday() < 5


def _warn_fallback(year: int) -> None:
    with _lock:
        if year in _warned_years:
            return
        _warned_years.add(year)
    logger.warning(
        "No official holiday calendar for %d: working days fall back to Monday-Friday, so deadlines may be "
        "wrong around public holidays. Load the year's official holiday file (see engine/holidays/README.md).",
        year,
    )


def baseline_is_working_day(d: date) -> bool:
    """Whether ``d`` is a working day without any loaded holiday file: chinese_calendar for the years it knows,
    Monday–Friday for the others (what deadlines were counted with before the year's file was loaded)."""
    d = _to_date(d)
    if d.year in _PACKAGE_YEARS:
        try:
            return chinese_calendar.is_workday(d)
        except NotImplementedError:  # pragma: no cover - range mismatch with a future package version
            pass
    return d.weekday() < 5


def override_years() -> set[int]:
    """The years some loaded holiday file lists days of."""
    with _lock:
        return {day.year for day in _overrides}


def is_working_day(d: date) -> bool:
    """True when ``d`` is an official working day (a datetime counts by its own calendar date)."""
    return _is_working_day_cached(_to_date(d))


def next_working_day(d: date) -> date:
    """The first working day strictly after ``d``."""
    return _first_working_day_from(_to_date(d) + timedelta(days=1))


def _first_working_day_from(d: date, working: Callable[[date], bool] = _is_working_day_cached) -> date:
    """``d`` itself if it is a working day, else the first working day after it."""
    for _ in range(_MAX_DAYS_OFF + 1):
        if working(d):
            return d
        d += timedelta(days=1)
    raise RuntimeError(f"no working day within {_MAX_DAYS_OFF} days before {d}: check the holiday overrides")


# --------------------------------------------------------------------------------------------------- deadlines


def working_days_after(start: datetime | date | str, n: int, *,
                       working: Callable[[date], bool] = _is_working_day_cached) -> datetime:
    """The deadline n working days after ``start``: 23:59:59 on the n-th working day after start's date.

    ``start`` may be an aware or naive datetime, a date, or an ISO 8601 string ("2021-02-08T10:00:00+08:00").
    The result is in start's timezone; naive datetimes, dates and strings without an offset are taken in the
    configured timezone. ``n=0`` gives the end of start's day if it is a working day, else the end of the next
    working day. Negative ``n`` raises ValueError. ``working`` replaces the official calendar (what a deadline
    came to before a holiday file was loaded: engine/stated_deadlines.py).
    """
    n = _check_count(n)
    # Deadlines count Beijing days: an instant given in UTC is first placed on the configured calendar.
    moment = _to_aware_datetime(start).astimezone(get_timezone())
    day = moment.date()
    if n == 0:
        day = _first_working_day_from(day, working)
    else:
        for _ in range(n):
            day = _first_working_day_from(day + timedelta(days=1), working)
    return datetime.combine(day, END_OF_DAY, tzinfo=moment.tzinfo)


def working_days_before(end: datetime | date | str, n: int, *,
                        working: Callable[[date], bool] = _is_working_day_cached) -> datetime:
    """23:59:59 of the n-th working day before ``end``'s date (in end's timezone, as working_days_after): a
    timer set to it fires as that day ends, n working days ahead of a deadline on ``end``'s day."""
    n = _check_count(n)
    moment = _to_aware_datetime(end).astimezone(get_timezone())
    day = moment.date()
    for _ in range(n):
        day -= timedelta(days=1)
        for _ in range(_MAX_DAYS_OFF + 1):
            if working(day):
                break
            day -= timedelta(days=1)
        else:
            raise RuntimeError(f"no working day within {_MAX_DAYS_OFF} days before {day}: check the holiday "
                               "overrides")
    return datetime.combine(day, END_OF_DAY, tzinfo=moment.tzinfo)


def working_days_between(start: date, end: date) -> int:
    """Number of working days in (start, end]; 0 when ``end`` is not after ``start``.

    Datetimes count by their own calendar date; ISO strings are accepted like in :func:`working_days_after`.
    """
    first = _to_date(start) + timedelta(days=1)
    last = _to_date(end)
    count = 0
    day = first
    while day <= last:
        if _is_working_day_cached(day):
            count += 1
        day += timedelta(days=1)
    return count


def _check_count(n: int) -> int:
    if isinstance(n, bool):
        raise TypeError("working-day count must be an integer, not a bool")
    if isinstance(n, float) and n.is_integer():  # JSON numbers from workflow data may arrive as 5.0
        n = int(n)
    if not isinstance(n, int):
        raise TypeError(f"working-day count must be an integer, not {type(n).__name__}")
    if n < 0:
        raise ValueError(f"working-day count must not be negative: {n}")
    return n


def _to_aware_datetime(value: datetime | date | str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"not an ISO 8601 date or datetime: {value!r}") from exc
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            return value.replace(tzinfo=_timezone)
        return value
    if isinstance(value, date):
        return datetime.combine(value, time.min, tzinfo=_timezone)
    raise TypeError(f"expected a datetime, date or ISO string, not {type(value).__name__}")


def _to_date(value: datetime | date | str) -> date:
    if isinstance(value, str):
        return _to_aware_datetime(value).date()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise TypeError(f"expected a date, not {type(value).__name__}")


# --------------------------------------------------------------------------------------------------- overrides


def load_holiday_file(path: str | PathLike[str]) -> int:
    """Register the days of one holiday CSV file (header ``date,kind,name``) and return how many.

    ``kind`` is ``holiday`` (day off) or ``workday`` (make-up working day). Every row is validated first; on
    any problem a :class:`HolidayFileError` names the line and nothing from the file is registered.
    """
    entries = parse_holiday_file(Path(path))
    _register(entries)
    logger.info("loaded %d calendar overrides from %s", len(entries), path)
    return len(entries)


def load_holiday_dir(path: str | PathLike[str]) -> int:
    """Load every ``*.csv`` file in a folder (sorted by name; later files win) and return how many days.

    A missing folder loads nothing and returns 0. All files are validated before any is registered.
    """
    folder = Path(path)
    if not folder.exists():
        return 0
    if not folder.is_dir():
        raise NotADirectoryError(str(folder))
    # 2027.CSV as saved by some Windows tools counts as well as 2027.csv (it was skipped without a word).
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".csv" and p.is_file())
    parsed = [(p, parse_holiday_file(p)) for p in files]
    total = 0
    for file_path, entries in parsed:
        _register(entries)
        logger.info("loaded %d calendar overrides from %s", len(entries), file_path)
        total += len(entries)
    return total


def clear_overrides() -> None:
    """Forget all loaded holiday files (and the fallback warnings already given). Meant for tests."""
    with _lock:
        _overrides.clear()
        _override_names.clear()
        _file_years.clear()
        _warned_years.clear()
        _is_working_day_cached.cache_clear()


def known_years() -> list[int]:
    """Years with official data, from chinese_calendar or a loaded holiday file, ascending."""
    with _lock:
        return sorted(set(_PACKAGE_YEARS) | _file_years)


def loaded_days(year: int | None = None) -> list[tuple[date, str, str]]:
    """The loaded override days as (date, "holiday" | "workday", name), sorted; only ``year`` if given."""
    with _lock:
        return [
            (day, WORKDAY if working else HOLIDAY, _override_names[day])
            for day, working in sorted(_overrides.items())
            if year is None or day.year == year
        ]


def year_is_official(year: int) -> bool:
    """True when chinese_calendar or a loaded holiday file covers ``year`` (else Mon–Fri is assumed)."""
    return year in _PACKAGE_YEARS or year in _file_years


# How far ahead the deadlines set today reach: the case clock's 60 + 30 working days are about four and a half
# months, and a year's holidays are published in the late autumn before it.
HOLIDAY_HORIZON_DAYS = 183


def years_without_holidays(today: date) -> list[int]:
    """The years deadlines set on `today` may reach (the next HOLIDAY_HORIZON_DAYS) that have no official holiday
    list: their working days are assumed to be Monday–Friday until an administrator loads one, so the people who
    can get it loaded are told (the pages, /api/v1/health)."""
    last = (today + timedelta(days=HOLIDAY_HORIZON_DAYS)).year
    return [year for year in range(today.year, last + 1) if not year_is_official(year)]


def _register(entries: list[HolidayEntry]) -> None:
    with _lock:
        for entry in entries:
            _overrides[entry.day] = entry.working
            _override_names[entry.day] = entry.name
            _file_years.add(entry.day.year)
        _is_working_day_cached.cache_clear()
