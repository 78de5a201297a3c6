"""The JSON API (/api/v1): bearer tokens, JSON errors, never an HTML page or a 500 for bad input."""

from __future__ import annotations

import functools
import logging
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from engine.actors import Actor
from engine.errors import Conflict, DataInvalid, EngineError, Forbidden, NotFound
from engine.validation import REGION_MESSAGE, REGION_RE, ascii_digits, validate
from web.errors import API_CODES, NUL_MESSAGE, api_http_message

bp = Blueprint("api", __name__, url_prefix="/api/v1")
log = logging.getLogger(__name__)

STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409}


def now() -> datetime:
    clock = current_app.config.get("CLOCK")
    return clock() if clock else datetime.now(UTC)


def error(status: int, code: str, message: str, fields: dict[str, str] | None = None):
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    response = jsonify({"error": body})
    response.status_code = status
    return response


@bp.errorhandler(EngineError)
def _engine_error(exc: EngineError):
    status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
    if getattr(exc, "code", "") == "too_many_attempts":
        status = 429
    return error(status, exc.code, exc.message)


@bp.errorhandler(DataInvalid)
def _invalid(exc: DataInvalid):
    return error(400, "validation_failed", exc.message, exc.fields)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return error(exc.code or 500, API_CODES.get(exc.code or 500, "error"), api_http_message(exc))


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):
    log.exception("unhandled error in API")
    return error(500, "internal_error", "服务器内部错误，已记录，请稍后重试")


# How deep a request body may nest: the deepest form is a few levels; validating, storing and rendering deeper
# data recurses, and the parser itself runs out of stack long before the body size limit.
MAX_JSON_DEPTH = 32


def _too_deep(limit: int) -> DataInvalid:
    return DataInvalid({"body": f"JSON 嵌套层级过深（最多 {limit} 层）"}, "请求体不是有效的 JSON")


def _shape_refusal(value: Any, limit: int) -> DataInvalid | None:
    """What is wrong with a parsed JSON body's shape, in one pass (a loop, not recursion, over hostile input):
    objects and arrays nested more than `limit` deep, else the first key or string holding a NUL character, named
    as validation names fields (a case's or a task's `data` is the form: "data.complainant.name" is
    "complainant.name"; "body" for the top level)."""
    nul: str | None = None
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, str):
            if nul is None and "\x00" in node:
                nul = path.removeprefix("data.") or "body"
            continue
        if not isinstance(node, (dict, list)):
            continue
        if depth > limit:
            return _too_deep(limit)
        children = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in children:
            name = f"{path}.{key}" if path else str(key)
            if nul is None and "\x00" in str(key):
                nul = name.replace("\x00", "").removeprefix("data.")
            stack.append((child, name, depth + 1))
    return DataInvalid({nul: NUL_MESSAGE}, "请求体不是有效的 JSON") if nul is not None else None  # web.errors


def json_body(schema: dict | None = None) -> dict:
    """The request's JSON object, validated against `schema`; a clear 400 otherwise."""
    if not request.is_json:
        raise DataInvalid({"body": "请求须为 JSON（Content-Type: application/json）"}, "请求体不是 JSON")
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # `silent` covers ValueError only
        raise _too_deep(MAX_JSON_DEPTH) from None
    if body is None:
        raise DataInvalid({"body": "JSON 格式错误"}, "请求体不是有效的 JSON")
    if not isinstance(body, dict):
        raise DataInvalid({"body": "须为 JSON 对象"})
    refusal = _shape_refusal(body, MAX_JSON_DEPTH)
    if refusal is not None:
        raise refusal
    if schema is not None:
        validate(schema, body)
    return body


def query_int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    # int() would also take " 5\n", "1_0" and non-ASCII digits.
    if not ascii_digits(raw.removeprefix("-")):
        raise DataInvalid({name: "须为整数"})
    value = int(raw) if len(raw) <= 20 else None  # longer is past any bound (and int() refuses 4,300 digits)
    if value is None or not low <= value <= high:
        raise DataInvalid({name: f"须在 {low} 到 {high} 之间"})
    return value


def query_bool(name: str) -> bool:
    raw = (request.args.get(name) or "").lower()
    if raw in ("", "false", "0", "no"):
        return False
    if raw in ("true", "1", "yes"):
        return True
    raise DataInvalid({name: "须为 true 或 false"})


def query_choice(name: str, choices: tuple[str, ...], default: str | None = None) -> str | None:
    raw = request.args.get(name) or default
    if raw is not None and raw not in choices:
        raise DataInvalid({name: "取值应为 " + " | ".join(choices)})
    return raw


def query_region(*, prefix: bool = False) -> str | None:
    """`?region=`: one six-digit division code, or with `prefix` any leading part of one (a list narrowed to a
    prefecture). Region scoping itself is the engine's; this only refuses what is not a code."""
    region = request.args.get("region") or None
    if region is None:
        return None
    if prefix:
        if not ascii_digits(region):
            raise DataInvalid({"region": "行政区划代码须为数字"})
    elif not REGION_RE.match(region):  # a filter: an old code still finds its rows; scope decides
        raise DataInvalid({"region": REGION_MESSAGE})
    return region


def paging() -> tuple[int, int]:
    return query_int("page", 1, 1, 10**6), query_int("per_page", 50, 1, 200)


def page_json(items: list, total: int, page: int, per_page: int):
    return jsonify({"items": items, "total": total, "page": page, "per_page": per_page})


def token_required(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from engine.api_tokens import user_for_token

        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return error(401, "unauthorized", "缺少令牌：请发送 Authorization: Bearer <token>")
        user = user_for_token(token.strip(), now())
        if user is None:
            return error(401, "unauthorized", "令牌无效、已过期或已撤销")
        g.api_user = user
        g.actor = Actor.of(user)
        return fn(*args, **kwargs)

    return wrapper


from web.api import views  # noqa: E402,F401,I001  (routes register on bp)
from web.api import notices  # noqa: E402,F401
from web.api import dashboard  # noqa: E402,F401
from web.api import benefits  # noqa: E402,F401
from web.api import placements  # noqa: E402,F401
