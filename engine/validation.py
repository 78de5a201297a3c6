"""Form and intake data validation against the JSON Schemas beside the process models.

Errors come back as {"dotted.field": "message"} so the API can name every field and the pages can show each
message beside its input."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from jsonschema.protocols import Validator
from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumError

from engine.regions import is_current_division
from engine.text_patterns import TEXT_PATTERN_MESSAGES


@functools.cache
def ecma_regex(pattern: str) -> re.Pattern[str]:
    """`pattern` (ECMA-262, as JSON Schema and HTML mean it) compiled for Python: an unescaped `$` outside a
    character class becomes `\\Z`, because Python's `$` also matches before a final newline ("532301\\n")."""
    out: list[str] = []
    in_class = escaped = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            char = r"\Z"
        out.append(char)
    return re.compile("".join(out))


class WholeString:
    """A regex a value must match as a whole. `pattern` stays its ECMA-262 text, which the schemas, openapi.json
    and the HTML forms publish; `match` (like `fullmatch` and `search`) never stops before a trailing newline."""

    __slots__ = ("pattern", "regex")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.regex = ecma_regex(pattern)

    def match(self, text: str) -> re.Match[str] | None:
        return self.regex.fullmatch(text)

    fullmatch = search = match


MONEY_RE = WholeString(r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$")
# Money that must be more than zero (an amount owed, a wage): "0.01" up, at most two decimals.
POSITIVE_MONEY_PATTERN = r"^([1-9][0-9]{0,11}(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$"
PHONE_RE = WholeString(r"^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8}|12333)$")
REGION_RE = WholeString(r"^[1-8][0-9]{5}$")
BANK_ACCOUNT_MESSAGE = "银行账号须为12-30位数字（可按卡面分组加空格，如 6222 0202 0011 2233 445）"
REGION_MESSAGE = "行政区划代码无效：须为现行省、市、县级行政区划的6位代码（GB/T 2260）"
_DATE_RE = WholeString(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# The largest row id: PostgreSQL's INTEGER. An id past it in a URL or a body is refused, not sent to the database.
MAX_ROW_ID = 2**31 - 1


def is_region(value: object) -> bool:
    """A region code in force: six digits (REGION_RE, the pattern forms publish) naming a current division, so a
    mistyped 532399 is refused instead of opening a case or a post nobody's scope will ever hold."""
    return isinstance(value, str) and bool(REGION_RE.match(value)) and is_current_division(value)


def ascii_digits(text: str) -> bool:
    """Only 0-9: str.isdigit() also accepts "²" and other digits int() refuses."""
    return text.isascii() and text.isdigit()

format_checker = FormatChecker()


@format_checker.checks("money")
def _is_money(value: object) -> bool:
    return not isinstance(value, str) or bool(MONEY_RE.match(value))


@format_checker.checks("cn-ric", raises=StdnumError)
def _is_ric(value: object) -> bool:
    return is_valid_ric(value) if isinstance(value, str) else True


@functools.lru_cache(maxsize=8192)
def _division_known(prefix: str) -> bool:
    """Whether GB/T 2260 has or had this county code (python-stdnum's division database, looked up once per code)."""
    info = {k: v for _part, props in numdb.get("cn/loc").info(prefix) for k, v in props.items()}
    return "county" in info


def is_valid_ric(text: str) -> bool:
    """An ID card number: 18 ASCII characters, the check digit, a real birth date and a county code GB/T 2260 has
    or had. Unlike stdnum's ric.validate, the county need not have existed in the year of birth: a card issued
    after a county was created or re-coded carries the new code with an older birth date (QA: 532301 楚雄市 dates
    from 1983, and its people born before then hold 532301 numbers)."""
    # Full-width digits read as digits to stdnum; stored, they would match no search, export or duplicate check.
    if len(text) != 18 or not (text.isascii() and text[:17].isdigit()) or text[17].upper() != ric.calc_check_digit(
            text):
        return False
    try:
        ric.get_birth_date(text)
    except StdnumError:
        return False
    return _division_known(text[:6])


@format_checker.checks("cn-uscc", raises=StdnumError)
def _is_uscc(value: object) -> bool:
    if not isinstance(value, str):
        return True
    uscc.validate(value)
    return True


@format_checker.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_RE.match(value):
        raise ValueError("not YYYY-MM-DD")
    date.fromisoformat(value)
    return True


@format_checker.checks("phone")
def _is_phone(value: object) -> bool:
    return not isinstance(value, str) or bool(PHONE_RE.match(value))


@format_checker.checks("region")
def _is_region(value: object) -> bool:
    return not isinstance(value, str) or is_region(value)


@format_checker.checks("bank-account")
def _is_bank_account(value: object) -> bool:
    # The schema's pattern says what is stored (digits only); `validate` has taken out the spaces cards print.
    return True


_FORMAT_MESSAGES = {
    "money": "金额以元为单位，不能为负数，最多两位小数，不加千位分隔符，如 12500.00",
    "cn-ric": "身份证号码无效（18位，校验位不符）",
    "cn-uscc": "统一社会信用代码无效（18位，校验位不符）",
    "date": "日期格式须为 YYYY-MM-DD",
    "phone": "电话号码无效",
    "region": REGION_MESSAGE,
    "bank-account": BANK_ACCOUNT_MESSAGE,
}
RIC_NOT_ASCII = "身份证号码须为半角数字（0-9），最后一位可为 X，不能含全角字符或空格"
RIC_BORN_LATER = "身份证号码中的出生日期晚于今天"

_PATTERN_MESSAGES = {
    POSITIVE_MONEY_PATTERN: "金额以元为单位，须大于 0，最多两位小数，不加千位分隔符，如 12500.00",
    **TEXT_PATTERN_MESSAGES,
}


class DataInvalid(ValueError):
    """Raised with every field's message; nothing was changed."""

    def __init__(self, fields: dict[str, str], message: str = "数据校验未通过"):
        super().__init__(message)
        self.fields = fields
        self.message = message


def _pattern(validator: Validator, pattern: str, instance: Any, schema: dict) -> Iterator[ValidationError]:
    # jsonschema searches with Python's re, where `$` matches before a final newline; JSON Schema means ECMA-262.
    if validator.is_type(instance, "string") and not ecma_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _is_integer(checker: Any, instance: Any) -> bool:
    # jsonschema counts 5.0 as an integer (JSON Schema's "mathematical integer"); stored, it stays a float, so a
    # count would show as "5.0" and a post id would compare unequal to the row's.
    return isinstance(instance, int) and not isinstance(instance, bool)


# Draft 2020-12 with `pattern` evaluated as ECMA-262 does and only whole numbers without a fraction as integers:
# the validator every form and request goes through.
SchemaValidator = validators.extend(
    Draft202012Validator, {"pattern": _pattern},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)

_validators: dict[int, tuple[dict, Validator]] = {}


def _validator(schema: dict) -> Validator:
    # Schemas are loaded once per process version and kept, so identity is a safe cache key.
    hit = _validators.get(id(schema))
    if hit is None or hit[0] is not schema:
        hit = (schema, SchemaValidator(schema, format_checker=format_checker))
        _validators[id(schema)] = hit
    return hit[1]


def _field_path(error) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = re.search(r"'([^']+)' is a required property", error.message)
        if missing:
            path.append(missing.group(1))
    if error.validator == "additionalProperties":
        extra = re.findall(r"'([^']+)'", error.message)
        if extra:
            path.append(extra[0])
    return ".".join(path)


def _message(error) -> str:
    v = error.validator
    if v == "required":
        return "必填"
    if v == "format":
        if error.validator_value == "cn-ric" and isinstance(error.instance, str) and not error.instance.isascii():
            return RIC_NOT_ASCII
        return _FORMAT_MESSAGES.get(error.validator_value, "格式无效")
    if v == "type":
        expected = error.validator_value
        names = {"string": "字符串", "integer": "整数", "number": "数字", "boolean": "是/否", "object": "对象",
                 "array": "列表"}
        if isinstance(expected, list):
            return "类型应为 " + " 或 ".join(names.get(e, e) for e in expected)
        return f"类型应为{names.get(expected, expected)}"
    if v == "enum":
        return "取值应为 " + " | ".join(str(x) for x in error.validator_value)
    if v == "additionalProperties":
        return "不允许的字段"
    if v in ("minimum", "exclusiveMinimum"):
        return f"不得小于 {error.validator_value}"
    if v in ("maximum", "exclusiveMaximum"):
        return f"不得大于 {error.validator_value}"
    if v == "minLength":
        return "不能为空" if error.validator_value == 1 else f"至少 {error.validator_value} 个字符"
    if v == "maxLength":
        return f"最多 {error.validator_value} 个字符"
    if v == "pattern":
        if error.validator_value in _PATTERN_MESSAGES:
            return _PATTERN_MESSAGES[error.validator_value]
        # A pattern that spells out a format (money, a bank account) is explained as the format is.
        return _FORMAT_MESSAGES.get(str(error.schema.get("format", "")), "格式无效")
    if v == "minItems":  # a list of choices is chosen from, a list of records (three job offers) filled in
        items = error.schema.get("items") or {}
        verb = "填写" if items.get("type") == "object" else "选择"
        return f"至少{verb} {error.validator_value} 项"
    if v == "uniqueItems":
        return "不能重复"
    if v == "minProperties":  # an update that changes nothing (PATCH {})
        return "至少修改一个字段"
    return error.message


_NAMES_A_RULE: dict[int, tuple[dict, bool]] = {}


def with_rule_defaults(schema: dict[str, Any], values: Callable[[], Mapping[str, Any]]) -> dict[str, Any]:
    """`schema` with every property's `x-default-rule` (a key of engine/rules.py) given as a JSON Schema `default`:
    the value in force (`values()`, called only when the schema names a rule), so a form starts from what the rule
    says, a province's override included. A copy: the parsed schemas are shared. Whether a schema names a rule is
    worked out once per schema (a task list asks for every row)."""
    hit = _NAMES_A_RULE.get(id(schema))
    if hit is None or hit[0] is not schema:
        hit = _NAMES_A_RULE[id(schema)] = (schema, "x-default-rule" in json.dumps(schema))
    if not hit[1]:
        return schema
    in_force = values()

    def resolve(node: Any) -> Any:
        if isinstance(node, list):
            return [resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        copy = {key: resolve(value) for key, value in node.items()}
        rule = copy.get("x-default-rule")
        if rule in in_force:
            value = in_force[rule]
            copy["default"] = value if isinstance(value, (int, str)) else str(value)
        return copy

    return resolve(schema)


def _leaves(schema: Any, data: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], dict, Any]]:
    """(path, property schema, value) of every value of `data` that `schema` describes through `properties` and
    `items`: where the formats are declared."""
    if not isinstance(schema, dict):
        return
    if isinstance(data, dict):
        for key, prop in (schema.get("properties") or {}).items():
            if key in data:
                yield from _leaves(prop, data[key], (*path, key))
    elif isinstance(data, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(data):
            yield from _leaves(schema["items"], item, (*path, str(i)))
    else:
        yield path, schema, data


def _replaced(data: Any, changes: dict[tuple[str, ...], Any]) -> Any:
    """A copy of `data` with the values at the given paths replaced (the caller's data is left as it came)."""
    if not changes:
        return data
    copy = json.loads(json.dumps(data))
    for path, value in changes.items():
        node = copy
        for key in path[:-1]:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(path[-1])] = value
        else:
            node[path[-1]] = value
    return copy


def _typed(schema: dict, data: Any) -> Any:
    """`data` with what people type beside the value taken out before it is checked: the spaces a bank card prints
    between groups of digits."""
    changes = {}
    for path, prop, value in _leaves(schema, data):
        if prop.get("format") == "bank-account" and isinstance(value, str) and " " in value:
            changes[path] = value.replace(" ", "")
    return _replaced(data, changes)


def _stored(schema: dict, data: Any) -> Any:
    """Valid `data` in the one spelling the engine stores: money with two decimals ("5000" is "5000.00", as API.md
    promises and the notices print), an ID card number with an upper-case check letter (so searches and duplicate
    checks find it however it was typed)."""
    changes: dict[tuple[str, ...], Any] = {}
    for path, prop, value in _leaves(schema, data):
        if not isinstance(value, str):
            continue
        fmt, stored = prop.get("format"), value
        if fmt == "money" and MONEY_RE.match(value):
            stored = f"{Decimal(value):.2f}"
        elif fmt == "cn-ric":
            stored = value.upper()
        if stored != value:
            changes[path] = stored
    return _replaced(data, changes)


# 劳动法第十五条: nobody under 16 may be employed (so placed in a job, or have left one to claim a benefit for).
MINIMUM_WORKING_AGE = 16


def age_on(id_number: str, day: date) -> int:
    """The full years of age on `day` of the person with this (valid) ID card number, by its birth date."""
    birth = ric.get_birth_date(id_number)
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _born_later(schema: dict, data: Any, today: date) -> dict[str, str]:
    """ID card numbers (valid ones) whose birth date is after `today`: a checksum does not make a date possible."""
    fields = {}
    for path, prop, value in _leaves(schema, data):
        if prop.get("format") == "cn-ric" and isinstance(value, str) and ric.get_birth_date(value) > today:
            fields[".".join(path)] = RIC_BORN_LATER
    return fields


def validate(schema: dict[str, Any], data: Any, *, root: str = "data", today: date | None = None) -> Any:
    """Raise DataInvalid naming every bad field; return the data as the engine stores it when it fits the schema
    (bank accounts without spaces, money with two decimals, ID numbers upper-cased: see `_typed` and `_stored`).
    `root` names an error of the object as a whole (a case's `data`, a request's `body`); with `today`, an ID card
    number whose birth date is after it is refused."""
    validator = _validator(schema)
    data = _typed(schema, data)
    fields: dict[str, str] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = _field_path(error) or root
        if path not in fields:
            fields[path] = _message(error)
    if not fields and today is not None:
        fields = _born_later(schema, data, today)
    if fields:
        raise DataInvalid(fields)
    return _stored(schema, data)
