"""A notice's facts made ready for its template: each required key present, each value of its type (dates, money,
integers, yes/no, lists, URLs), how the notice addresses its recipient, and the consistency of the figures a kind
prints (a compensation's product, a listing's period). Raises UnknownKind, MissingFacts or InvalidFact."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import segno
from markupsafe import Markup

from .formatting import add_months, cn_number, prose, yuan
from .kinds import KINDS, NoticeKind


class UnknownKind(ValueError):
    """The notice kind is not in KINDS."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        super().__init__(f"unknown notice kind {kind!r}; known kinds: {', '.join(sorted(KINDS))}")


class MissingFacts(ValueError):
    """Required facts are absent or blank."""

    def __init__(self, kind: str, missing: list[str]) -> None:
        self.kind = kind
        self.missing = tuple(missing)
        super().__init__(f"notice kind {kind!r} is missing required facts: {', '.join(missing)}")


class InvalidFact(ValueError):
    """A fact has a value that cannot be used (bad date, bad amount, ...)."""

    def __init__(self, kind: str, key: str, value: object, expected: str) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"notice kind {kind!r}: fact {key!r} must be {expected}, got {value!r}")


# Keys with a typed value; everything else is text. Keys a kind does not know are ignored.
DATE_KEYS = frozenset(
    {"issued_on", "deadline", "received_on", "due_on", "closed_on", "start_date", "end_date", "report_by",
     "conclude_by", "listed_from", "listed_until", "registration_date"}
)
MONEY_KEYS = frozenset({"amount_owed", "fine_amount", "amount_recovered", "monthly_amount", "compensation_amount",
                        "compensation_recovered", "amount"})
INT_KEYS = frozenset({"worker_count", "months", "compensation_rate", "years", "defence_days", "hearing_days"})
BOOL_KEYS = frozenset({"rights", "repeat", "early_removal", "hearing"})
LIST_KEYS = frozenset({"facts", "legal_basis", "requirements", "attachments", "outcome"})
# Keys that must be an http(s) URL (the QR code encodes it).
URL_KEYS = frozenset({"verify_url"})
_BOOLEAN_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
_BUREAU_SUFFIXES = ("人力资源和社会保障局", "人力资源和社会保障厅", "人力资源社会保障局", "人力资源社会保障厅")

# How each kind addresses its recipient in the body text.
_YOU = {
    "rectification_order": "你单位",
    "penalty_decision": "你单位",
    "penalty_prior_notice": "你单位",
    "no_penalty_decision": "你单位",
    "criminal_referral": "你局",
    "supervision_notice": "你单位",
    "temp_post_referral": "你单位",
    "compensation_order": "你单位",
    "blacklist_decision": "你单位",
    "wage_deposit_notice": "你行",
}
# A credit cooperative holding the deposit is 你社, not 你行; the first suffix that matches wins.
_YOU_BY_SUFFIX = {
    "wage_deposit_notice": (("信用社", "你社"), ("联社", "你社")),
}

# Identifiers are printed exactly as given.
_VERBATIM_KEYS = frozenset({"document_number", "case_number", "verification_code", "verify_url", "contact_phone",
                            "candidate_id"})


def qr_svg(url: str) -> Markup:
    """QR code of url as inline SVG (vector, no temp files). Size is set by the stylesheet."""
    svg = segno.make(url, error="m", micro=False).svg_inline(scale=1, border=0, omitsize=True, dark="#000")
    # Segno builds the SVG itself from the QR matrix; the URL is not embedded as text, so it is safe markup.
    return Markup(svg)  # noqa: S704


# ---------------------------------------------------------------------------------------------------------------
# Facts


def _missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple):
        return not value
    return False


def _as_date(kind: str, key: str, value: object) -> dt.date:
    """A date, or an ISO date/datetime string. A datetime's own (local) date is printed: callers convert to the
    bureau's time zone first (engine.documents passes local dates)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return dt.date.fromisoformat(text) if len(text) <= 10 else dt.datetime.fromisoformat(text).date()
        except ValueError:
            pass
    raise InvalidFact(kind, key, value, 'a date or "YYYY-MM-DD"')


def _as_bool(kind: str, key: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _BOOLEAN_WORDS:
        return _BOOLEAN_WORDS[value.strip().lower()]
    raise InvalidFact(kind, key, value, "true or false")


def _as_text(kind: str, key: str, value: object) -> str:
    # Numbers are fine as text (a phone number given as an int); containers would print as Python reprs.
    if isinstance(value, str):
        return value.strip() if key in _VERBATIM_KEYS else prose(value.strip())
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    raise InvalidFact(kind, key, value, "a string")


def _as_url(kind: str, key: str, value: object) -> str:
    text = _as_text(kind, key, value)
    if not text.startswith(("https://", "http://")) or any(ch.isspace() for ch in text):
        raise InvalidFact(kind, key, value, "an http(s) URL")
    return text


def review_body_of(bureau: str) -> str:
    """The people's government at the bureau's level reviews its decisions (行政复议法 2023, art. 24):
    楚雄州人力资源和社会保障局 -> 楚雄州人民政府."""
    for suffix in _BUREAU_SUFFIXES:
        if bureau.endswith(suffix) and len(bureau) > len(suffix):
            return bureau.removesuffix(suffix) + "人民政府"
    return "有管辖权的行政复议机关"


def _as_money(kind: str, key: str, value: object) -> Decimal:
    if isinstance(value, bool):  # bool is an int: refuse it explicitly
        raise InvalidFact(kind, key, value, "an amount in yuan")
    if isinstance(value, Decimal | int):
        amount = Decimal(value)
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip().replace(",", "").removesuffix("元"))
        except InvalidOperation:
            raise InvalidFact(kind, key, value, "an amount in yuan") from None
    else:
        raise InvalidFact(kind, key, value, "an amount in yuan (Decimal or string)")
    if not amount.is_finite() or amount < 0:
        raise InvalidFact(kind, key, value, "a non-negative amount in yuan")
    return amount


def _as_int(kind: str, key: str, value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise InvalidFact(kind, key, value, "a non-negative integer")


def _as_list(kind: str, key: str, value: object) -> list[str]:
    if isinstance(value, str):
        return [_as_text(kind, key, value)]
    if isinstance(value, list | tuple):
        return [_as_text(kind, key, item) for item in value if not _missing(item)]
    raise InvalidFact(kind, key, value, "a list of strings")


def _schedule(kind: str, value: object) -> list[dict[str, str]]:
    """payment_schedule: [{"period": ..., "amount": ...}] or [(period, amount)] -> printable rows."""
    if not isinstance(value, list | tuple):
        raise InvalidFact(kind, "payment_schedule", value, "a list of {period, amount} rows")
    rows = []
    for row in value:
        if isinstance(row, Mapping):
            period, amount = row.get("period"), row.get("amount")
        elif isinstance(row, list | tuple) and len(row) == 2:
            period, amount = row
        else:
            raise InvalidFact(kind, "payment_schedule", row, "a {period, amount} row")
        if isinstance(period, dt.date):
            period = f"{period.year}年{period.month}月"
        rows.append({"period": str(period), "amount": yuan(_as_money(kind, "payment_schedule", amount))})
    return rows


def prepare(kind: str, facts: Mapping[str, Any]) -> tuple[NoticeKind, dict[str, Any]]:
    """Check and normalise facts into a template context. Raises UnknownKind, MissingFacts, InvalidFact."""
    notice = KINDS.get(kind) if isinstance(kind, str) else None
    if notice is None:
        raise UnknownKind(kind)
    if not isinstance(facts, Mapping):
        raise TypeError(f"facts of a {kind!r} notice must be a mapping, got {type(facts).__name__}")
    missing = [key for key in notice.required if _missing(facts.get(key))]
    if missing:
        raise MissingFacts(kind, missing)

    known = set(notice.required) | set(notice.optional)
    context: dict[str, Any] = dict.fromkeys(notice.optional)
    context.update({key: [] for key in notice.optional if key in LIST_KEYS})
    for key, value in facts.items():
        if key not in known:
            continue  # facts a template does not print (callers may pass more)
        if _missing(value):
            continue  # blank optional facts print nothing
        if key in DATE_KEYS:
            value = _as_date(kind, key, value)
        elif key in MONEY_KEYS:
            value = _as_money(kind, key, value)
        elif key in INT_KEYS:
            value = _as_int(kind, key, value)
        elif key in LIST_KEYS:
            value = _as_list(kind, key, value)
        elif key == "payment_schedule":
            value = _schedule(kind, value)
        elif key in BOOL_KEYS:
            value = _as_bool(kind, key, value)
        elif key in URL_KEYS:
            value = _as_url(kind, key, value)
        elif key != "escalation_level" and key != "pay":  # those two take a number or a text (below)
            value = _as_text(kind, key, value)
        context[key] = value

    if context.get("rights") is None:
        context["rights"] = notice.rights_default
    context["kind"] = notice
    context["you"] = _YOU.get(kind, "你")
    if kind == "emergency_advance_request":
        # The government is named in full: the letter may go to the bureau's own government or to another one,
        # and neither 你县 nor 贵府 suits both.
        context["you"] = context["recipient"]
    for suffix, you in _YOU_BY_SUFFIX.get(kind, ()):
        if context["recipient"].endswith(suffix):
            context["you"] = you
            break
    context["qr"] = qr_svg(context["verify_url"])
    context["review_body"] = context.get("review_body") or review_body_of(context["bureau"])
    context["court"] = context.get("court") or "有管辖权的人民法院"

    if kind == "benefit_decision_approval":
        if context.get("end_date") is None:
            context["end_date"] = add_months(context["start_date"], context["months"]) - dt.timedelta(days=1)
        context["total_amount"] = context["monthly_amount"] * context["months"]
    elif kind == "temp_post_referral":
        context["recipient"] = context.get("recipient") or context["employer"]
        pay = facts["pay"]
        try:
            context["pay"] = "每月" + yuan(_as_money(kind, "pay", pay))
        except InvalidFact:
            context["pay"] = _as_text(kind, "pay", pay)  # free text such as "每日120元，按周结算"
    elif kind == "supervision_notice":
        level = facts["escalation_level"]
        if isinstance(level, int) and not isinstance(level, bool):
            if not 1 <= level <= 9:
                raise InvalidFact(kind, "escalation_level", level, "a level 1..9 or a text such as 二级督办")
            context["escalation_level"] = f"{cn_number(level)}级督办"
        else:
            context["escalation_level"] = _as_text(kind, "escalation_level", level)
        context["overdue_days"] = (context["issued_on"] - context["due_on"]).days
    elif kind == "compensation_order":
        _check_compensation(kind, context)
    elif kind == "penalty_prior_notice":
        context["hearing"] = bool(context.get("hearing"))
        context["hearing_days"] = context.get("hearing_days") or 5  # 行政处罚法 art. 64(1)
    elif kind == "blacklist_decision":
        _check_listing(kind, context)
    return notice, context


def _check_compensation(kind: str, context: dict[str, Any]) -> None:
    """The rate is within the statute's 50-100 % (劳动保障监察条例 art. 26) and the printed product is right."""
    rate = context["compensation_rate"]
    if not 50 <= rate <= 100:
        raise InvalidFact(kind, "compensation_rate", rate, "a percentage from 50 to 100")
    product = (context["amount_owed"] * rate / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if abs(context["compensation_amount"] - product) > Decimal("0.01"):
        raise InvalidFact(kind, "compensation_amount", context["compensation_amount"],
                          f"amount_owed × compensation_rate % = {product}")


def _check_listing(kind: str, context: dict[str, Any]) -> None:
    """One or two years (two when listed again), from listed_from to the day before (or the day of) the
    anniversary."""
    years = context["years"]
    if years not in (1, 2):
        raise InvalidFact(kind, "years", years, "1 or 2")
    if context.get("repeat") and years != 2:
        raise InvalidFact(kind, "years", years, "2 for a unit listed again (repeat)")
    context["repeat"] = bool(context.get("repeat"))
    if context.get("early_removal") is None:
        context["early_removal"] = True
    start, until = context["listed_from"], context["listed_until"]
    end = add_months(start, 12 * years)
    if until not in (end - dt.timedelta(days=1), end):
        raise InvalidFact(kind, "listed_until", until,
                          f"{years} year(s) after listed_from: {end - dt.timedelta(days=1)} or {end}")
