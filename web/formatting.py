"""Template filters: dates and money in the user's language (Chinese formats by default)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask_babel import format_currency, format_date, format_datetime, get_locale


def _as_datetime(value) -> datetime | date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            return None
    return value if isinstance(value, date) else None


def _chinese() -> bool:
    return str(get_locale()).startswith("zh")


def format_dt(value) -> str:
    """A moment in the bureau's time zone: 2021年2月8日 09:00 (English: 8 Feb 2021, 09:00)."""
    moment = _as_datetime(value)
    if moment is None:
        return "" if value is None else str(value)
    if not isinstance(moment, datetime):
        return format_day(moment)
    return format_datetime(moment, "yyyy年M月d日 HH:mm" if _chinese() else "d MMM yyyy, HH:mm")



def format_day(value) -> str:
    """A day: 2021年2月8日 (English: 8 Feb 2021). Moments are shown in the bureau's time zone."""
    moment = _as_datetime(value)
    if moment is None:
        return "" if value is None else str(value)
    pattern = "yyyy年M月d日" if _chinese() else "d MMM yyyy"
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        return format_datetime(moment, pattern)
    return format_date(moment if not isinstance(moment, datetime) else moment.date(), pattern)



def format_money(value) -> str:
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return format_currency(amount, "CNY")

