"""Forms: the sign-in and password forms (Flask-WTF), and HTML forms generated from the processes' JSON Schemas.

One generator serves every task form and every intake form: `schema_fields(schema)` turns a schema into a tree of
`Field`s the `_form.html` macros render (with HTML5 validation attributes so the browser checks first), and
`form_data(schema, request.form)` turns the posted fields back into the JSON the engine validates again. Inputs
are named by dotted paths (`complainant.id_number`), the same paths `DataInvalid.fields` uses, so every server
message lands beside its input."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from engine.validation import MONEY_RE, ascii_digits


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请输入用户名")), Length(max=64)])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请输入密码")), Length(max=256)])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("当前密码"), validators=[DataRequired(_l("请输入当前密码"))])
    new_password = PasswordField(_l("新密码"), validators=[DataRequired(_l("请输入新密码")), Length(max=256)])
    confirm = PasswordField(_l("确认新密码"), validators=[
        DataRequired(_l("请再次输入新密码")), EqualTo("new_password", _l("两次输入的新密码不一致"))])


# ---------------------------------------------------------------------------------------------------------------
# JSON Schema -> HTML form fields.

HTML_PATTERNS = {
    "cn-ric": r"[0-9]{17}[0-9Xx]",
    "cn-uscc": r"[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}",
    "money": MONEY_RE.pattern.strip("^$"),
    "bank-account": r"( *[0-9]){12,30} *",  # the spaces cards print are taken out (engine.validation)
    "phone": r"(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8}|12333)",
    "region": r"[1-8][0-9]{5}",
}
TEXTAREA_FROM = 300  # strings allowed to be longer than this get a textarea


@dataclass
class Field:
    name: str                       # dotted path, also the input's name
    kind: str                       # text | textarea | integer | number | money | date | tel | select | boolean |
                                    # checkboxes | lines | group | rows
    title: str = ""
    description: str = ""
    required: bool = False
    attrs: dict[str, Any] = field(default_factory=dict)
    options: list[tuple[str, str]] = field(default_factory=list)
    children: list[Field] = field(default_factory=list)
    default: Any = None

    @property
    def html_id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.name)


def _html_pattern(prop: dict) -> str | None:
    fmt = prop.get("format")
    if fmt in HTML_PATTERNS:
        return HTML_PATTERNS[fmt]
    pattern = prop.get("pattern")
    if not pattern:
        return None
    # JSON Schema patterns search; HTML patterns must match the whole value.
    if pattern.startswith("^") and pattern.endswith("$"):
        return pattern[1:-1]
    return f".*(?:{pattern}).*"


def _options(prop: dict) -> list[tuple[str, str]]:
    titles = prop.get("x-enum-titles") or {}
    return [(str(v), titles.get(str(v), str(v))) for v in prop.get("enum", []) if v is not None]


def _type(prop: dict) -> str | None:
    kind = prop.get("type")
    if isinstance(kind, list):  # ["string", "null"]: an optional value
        kind = next((k for k in kind if k != "null"), None)
    return kind


MAX_ROWS = 10  # arrays of records up to this size get one group of inputs per row; longer ones (rosters) go via API


def _field(name: str, prop: dict, required: bool) -> Field | None:
    kind = _type(prop)
    f = Field(name=name, kind="text", title=prop.get("title") or name.rsplit(".", 1)[-1],
              description=prop.get("description") or "", required=required, default=prop.get("default"))
    if kind == "object":
        f.kind = "group"
        f.children = schema_fields(prop, prefix=name + ".", parent_required=required)
        return f
    if kind == "array":
        items = prop.get("items") or {}
        if _type(items) == "string" and "enum" in items:
            f.kind = "checkboxes"
            f.options = _options(items)
            return f
        if _type(items) == "string":
            f.kind = "lines"  # one item per line
            return f
        rows = prop.get("maxItems") or prop.get("minItems") or 0
        if _type(items) == "object" and 0 < rows <= MAX_ROWS:
            f.kind = "rows"
            least = prop.get("minItems") or 0
            item_title = items.get("title") or f.title
            f.children = [
                Field(name=f"{name}.{i}", kind="group", title=item_title, attrs={"row": i + 1},
                      required=required and i < least,
                      children=schema_fields(items, prefix=f"{name}.{i}.", parent_required=required and i < least))
                for i in range(rows)
            ]
            return f
        return None  # long lists of records (rosters) are imported through the API, not typed into a page
    if "enum" in prop:
        f.kind = "select"
        f.options = _options(prop)
        return f
    if kind == "boolean":
        f.kind = "boolean"
        return f
    if kind in ("integer", "number"):
        f.kind = kind
        for key in ("minimum", "maximum"):
            if key in prop:
                f.attrs[key[:3]] = prop[key]
        f.attrs["step"] = "1" if kind == "integer" else "any"
        return f
    fmt = prop.get("format")
    if fmt == "date":
        f.kind = "date"
        return f
    if fmt == "money":
        f.kind = "money"
        f.attrs["inputmode"] = "decimal"
    elif fmt == "phone":
        f.kind = "tel"
    elif (prop.get("maxLength") or 0) > TEXTAREA_FROM:
        f.kind = "textarea"
    if "minLength" in prop:
        f.attrs["minlength"] = prop["minLength"]
    if "maxLength" in prop:
        f.attrs["maxlength"] = prop["maxLength"]
    if f.kind != "textarea":
        pattern = _html_pattern(prop)
        if pattern:
            f.attrs["pattern"] = pattern
    return f


def schema_fields(schema: dict, prefix: str = "", parent_required: bool = True,
                  skip: tuple[str, ...] = ()) -> list[Field]:
    """The schema's properties as form fields, in the schema's order (`skip`: properties the page asks for itself,
    such as the region chosen from a list)."""
    required = set(schema.get("required") or [])
    fields = []
    for key, prop in (schema.get("properties") or {}).items():
        if key in skip:
            continue
        f = _field(prefix + key, prop, parent_required and key in required)
        if f is not None:
            fields.append(f)
    return fields


def _coerce(kind: str, raw: str) -> Any:
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw  # the engine names it: 类型应为整数
    if kind == "number":
        try:
            return float(raw) if any(c in raw for c in ".eE") else int(raw)
        except ValueError:
            return raw
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    return raw


_MISSING = object()


def _posted(f: Field, prop: dict, form: MultiDict) -> Any:
    if f.kind == "group":
        return form_data(prop, form, prefix=f.name + ".") or _MISSING
    if f.kind == "rows":
        rows = [form_data(prop.get("items") or {}, form, prefix=row.name + ".") for row in f.children]
        while rows and not rows[-1]:
            rows.pop()  # trailing blank rows are unused; blank rows in between keep their index for the errors
        return rows if rows or f.required else _MISSING
    if f.kind == "checkboxes":
        chosen = [v for v in form.getlist(f.name) if v]
        return chosen if chosen or f.name + ".__present" in form else _MISSING
    raw = form.get(f.name) or ""
    if f.kind == "lines":
        items = [line.strip() for line in raw.splitlines() if line.strip()]
        return items or _MISSING
    if raw.strip() == "":
        return _MISSING
    return _coerce(f.kind, raw if f.kind == "textarea" else raw.strip())


def form_data(schema: dict, form: MultiDict, prefix: str = "", skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The posted form as the JSON object the schema describes. Empty inputs are left out, so a required one is
    reported as missing by the engine's validation."""
    data: dict[str, Any] = {}
    for key, prop in (schema.get("properties") or {}).items():
        if key in skip:
            continue
        f = _field(prefix + key, prop, key in set(schema.get("required") or []))
        if f is None:
            continue
        value = _posted(f, prop, form)
        if value is not _MISSING:
            data[key] = value
    return data


def form_values(data: dict[str, Any], prefix: str = "") -> MultiDict:
    """The reverse of `form_data`: a stored JSON object as posted form values (to pre-fill an edit form)."""
    values: MultiDict = MultiDict()
    for key, value in data.items():
        name = prefix + key
        if isinstance(value, dict):
            values.update(form_values(value, name + "."))
        elif isinstance(value, list):
            if all(isinstance(v, dict) for v in value):
                for i, row in enumerate(value):
                    values.update(form_values(row, f"{name}.{i}."))
            else:
                values.setlist(name, [str(v) for v in value])
        elif isinstance(value, bool):
            values.add(name, "true" if value else "false")
        elif value is not None:
            values.add(name, str(value))
    return values


def split_errors(fields: list[Field], errors: dict[str, str]) -> dict[str, str]:
    """Errors that belong to no input of the form (shown above it)."""
    names: set[str] = set()

    def walk(items: list[Field]) -> None:
        for f in items:
            names.add(f.name)
            walk(f.children)

    walk(fields)
    return {k: v for k, v in errors.items() if k not in names}


# ---------------------------------------------------------------------------------------------------------------
# Babel: the Chinese titles of the processes' JSON Schemas go into the catalogue like any other message
# (babel.cfg maps bpmn/**.schema.json to this extractor).

def extract_schema_strings(fileobj, keywords, comment_tags, options):
    """Every title, description and x-enum-titles value of a JSON Schema file, as (line, funcname, message,
    comments) tuples for `pybabel extract`."""
    import json

    text = fileobj.read().decode("utf-8")
    seen: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("title", "description") and isinstance(value, str):
                    yield value
                elif key == "x-enum-titles" and isinstance(value, dict):
                    yield from (v for v in value.values() if isinstance(v, str))
                else:
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    for message in walk(json.loads(text)):
        if message not in seen:
            seen.add(message)
            needle = json.dumps(message, ensure_ascii=False)[1:-1]
            line = next((i + 1 for i, row in enumerate(text.splitlines()) if needle in row), 0)
            yield line, "gettext", message, []


def form_case_version(raw: str) -> int | None:
    """The case version a page's form carries, or None when it is not one: digits only, and few enough for int()
    (which refuses thousands of digits with an error, not a number)."""
    return int(raw) if ascii_digits(raw) and len(raw) <= 18 else None
