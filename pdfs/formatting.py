"""Chinese formatting for official notices: dates (GB/T 9704), amounts in yuan (also in upper-case numerals), small
counts, clause and citation joining, item numbering; also used as Jinja filters."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal

_CN_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_CN_SMALL = "零一二三四五六七八九"
_NUMBERED = re.compile(r"^\s*[（(]?[一二三四五六七八九十\d]+[）)、.．]")
_TRAILING_PUNCT = "。；;，,、：: \u3000"


def cn_date(value: dt.date) -> str:
    """2021-02-10 -> 2021年2月10日 (GB/T 9704: Arabic numerals, no zero padding)."""
    return f"{value.year}年{value.month}月{value.day}日"


def yuan(value: Decimal) -> str:
    """Decimal('12500') -> 12,500.00元."""
    return f"{_cents(value):,.2f}元"


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _group_upper(group: int) -> str:
    """Upper-case reading of 1..9999 without leading 零."""
    out = ""
    zero = False
    for digit, unit in zip(f"{group:04d}", ("仟", "佰", "拾", ""), strict=True):
        if digit == "0":
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _CN_DIGITS[int(digit)] + unit
    return out


def yuan_upper(value: Decimal) -> str:
    """Decimal('12500') -> 人民币壹万贰仟伍佰元整 (the form used on Chinese financial documents)."""
    cents = int(_cents(value) * 100)
    if cents < 0:
        raise ValueError("negative amount")
    whole, frac = divmod(cents, 100)
    jiao, fen = divmod(frac, 10)
    if whole >= 10**16:
        raise ValueError("amount too large")
    groups = []
    rest = whole
    while rest:
        rest, group = divmod(rest, 10_000)
        groups.append(group)
    text = ""
    gap = False  # a zero group or a short group needs a 零 before the next digits
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            gap = bool(text)
            continue
        if text and (gap or group < 1000):
            text += "零"
        text += _group_upper(group) + ("", "万", "亿", "万亿")[index]
        gap = False
    if text:
        text += "元"
    if not jiao and not fen:
        return "人民币" + (text or "零元") + "整"
    if jiao:
        text += _CN_DIGITS[jiao] + "角"
    elif text:
        text += "零"
    if fen:
        text += _CN_DIGITS[fen] + "分"
    return "人民币" + text


def cn_number(value: int) -> str:
    """Small counts in Chinese numerals (1..99): 一, 十二, 六十."""
    if not 0 < value < 100:
        return str(value)
    tens, ones = divmod(value, 10)
    if not tens:
        return _CN_SMALL[ones]
    return ("" if tens == 1 else _CN_SMALL[tens]) + "十" + (_CN_SMALL[ones] if ones else "")


def clause(value: str) -> str:
    """Strip trailing punctuation so a caller's text can be embedded mid-sentence."""
    return str(value).rstrip(_TRAILING_PUNCT)


def join_basis(items: list[str]) -> str:
    """['《条例》第十八条。', '《办法》第七条'] -> 《条例》第十八条、《办法》第七条.

    Rule citations from engine.rules may hold several provisions ("甲；乙") or a gloss after a colon
    ("《条例》第十七条：60个工作日内完成"): only the provisions are cited, each once."""
    cited: list[str] = []
    for item in items:
        for part in re.split(r"[；;]", str(item)):
            provision = clause(re.split(r"[：:]", part, maxsplit=1)[0].strip())
            if provision and provision not in cited:
                cited.append(provision)
    return "、".join(cited)


# Prose written by callers may carry machine formats; official documents print dates as 2021年2月10日 (GB/T 9704)
# and amounts with separators.
_ISO_DATE = re.compile(r"(?<![\d-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\d-])")
_PADDED_DATE = re.compile(r"(\d{4})年0?(\d{1,2})月0?(\d{1,2})日")
_BARE_AMOUNT = re.compile(r"(?<![\d.,])(\d{4,})(\.\d{2})?元")

def _iso_to_cn(match: re.Match[str]) -> str:
    try:
        return cn_date(dt.date(int(match[1]), int(match[2]), int(match[3])))
    except ValueError:
        return match[0]  # not a date after all (a serial number, a range)


def prose(text: str) -> str:
    """Normalise dates and amounts inside free text: 2020-09-01 -> 2020年9月1日, 100000.00元 -> 100,000.00元."""
    text = _ISO_DATE.sub(_iso_to_cn, text)
    text = _PADDED_DATE.sub(lambda m: f"{m[1]}年{int(m[2])}月{int(m[3])}日", text)
    return _BARE_AMOUNT.sub(lambda m: f"{int(m[1]):,}{m[2] or ''}元", text)


def numbered(items: list[str]) -> list[str]:
    """Number several items （一）（二）… unless the caller already numbered them."""
    if len(items) < 2 or any(_NUMBERED.match(item) for item in items):
        return list(items)
    return [f"（{cn_number(i)}）{item}" for i, item in enumerate(items, start=1)]


def add_months(start: dt.date, months: int) -> dt.date:
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))
