"""Error pages in the site's look. Paths under /api/ keep their JSON errors: the API blueprint has its own handlers,
and for API paths no route matched (404/405) these handlers answer in the API's JSON shape too."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from engine.errors import Conflict, EngineError, Forbidden, NotFound
from engine.validation import DataInvalid
from web.messages import message

log = logging.getLogger(__name__)


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _page(status: int, title: str, detail: str):
    from engine.db import db

    db.session.rollback()  # nothing half-done survives an error page
    return render_template("errors/error.html", status=status, title=title, detail=detail), status


def _api(status: int, code: str, text: str):
    from web.api import error

    return error(status, code, text)


API_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
             409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type", 429: "too_many_requests"}


def api_http_message(exc: HTTPException) -> str:
    """The API's message for an HTTP error: Werkzeug's default English text replaced by what every other API
    message is, Chinese; a description the code gave itself (abort(404, "...")) kept."""
    if exc.description and exc.description != type(exc).description:
        return exc.description
    status = exc.code or 500
    if status == 404:
        return f"接口不存在：{request.path}"
    if status == 405:
        allowed = sorted(set(getattr(exc, "valid_methods", None) or ()) - {"HEAD", "OPTIONS"})
        return f"此接口不支持 {request.method} 方法" + (f"（可用：{'、'.join(allowed)}）" if allowed else "")
    if status == 413:
        return f"请求体过大：最多 {_size_limit()}"
    return {400: "请求无效", 401: "未登录或令牌无效", 403: "无权访问", 409: "数据已变更",
            415: "不支持的内容类型", 429: "操作过于频繁，请稍后再试"}.get(status, exc.name)


def _size_limit() -> str:
    """MAX_CONTENT_LENGTH in words: "2 MB (2097152 字节)"."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    return f"{limit / (1024 * 1024):g} MB（{limit} 字节）"


# Page endpoints that show a too-large upload beside the form's file field instead of the error page: endpoint ->
# view() returning the page, or None when it cannot (then the error page). The body is refused while the
# form is parsed, before the view runs, so the page is drawn again without what was typed into the form.
TOO_LARGE_PAGES: dict[str, Callable[[], Any]] = {}


def http_error(exc: HTTPException):
    status = exc.code or 500
    if _is_api():
        return _api(status, API_CODES.get(status, "error"), api_http_message(exc))
    if status == 413 and request.endpoint in TOO_LARGE_PAGES:
        from engine.db import db

        db.session.rollback()
        shown = TOO_LARGE_PAGES[request.endpoint]()
        if shown is not None:
            return shown
    titles = {
        400: _("请求无效"), 401: _("请先登录"), 403: _("无权访问"), 404: _("页面不存在"),
        405: _("不支持的操作"), 409: _("数据已变更"), 413: _("提交的内容过大"), 429: _("操作过于频繁"),
    }
    details = {
        400: _("提交的内容无法处理，请返回重试。"),
        403: _("您没有办理此事项的权限。"),
        404: _("您要找的页面或案件不存在，或不在您的辖区范围内。"),
        405: _("此地址不支持该操作。"),
        413: _("提交的内容超过了允许的大小。"),
    }
    return _page(status, titles.get(status, _("出错了")), details.get(status, ""))


def csrf_error(exc: CSRFError):
    if _is_api():
        return _api(400, "bad_request", exc.description)
    return _page(400, _("表单已失效"), _("表单已过期或缺少安全校验码，请返回刷新页面后重新提交。"))


def engine_error(exc: EngineError):
    """Engine errors raised by a page's service call that the page did not handle itself."""
    if isinstance(exc, NotFound):
        return _page(404, _("页面不存在"), message(exc.message))
    if isinstance(exc, Forbidden):
        return _page(403, _("无权访问"), message(exc.message))
    if isinstance(exc, Conflict):
        return _page(409, _("数据已变更"), message(exc.message))
    return _page(400, _("请求无效"), message(exc.message))


QUERY_FIELDS = {"region": _l("地区"), "query": _l("查询参数"), "form": _l("表单")}


def invalid_data(exc: DataInvalid):
    if _is_api():
        return _api(400, "validation_failed", exc.message)
    # A page's DataInvalid is about its address (a form's errors are shown in the form): name the filter as the
    # page does, not by its parameter.
    detail = _("；").join(_("%(field)s：%(message)s", field=QUERY_FIELDS.get(k, k), message=message(v))
                          for k, v in exc.fields.items())
    return _page(400, _("数据校验未通过"), detail)


def unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return http_error(exc)
    log.exception("unhandled error on %s", request.path)
    if _is_api():
        return _api(500, "internal_error", "服务器内部错误，已记录，请稍后重试")
    return _page(500, _("系统内部错误"), _("错误已记录，请稍后重试；如多次出现请联系系统管理员。"))


NUL_MESSAGE = "不能含有 NUL（\\x00）字符"


def refuse_nul_characters() -> None:
    """No request may carry a NUL character: PostgreSQL text cannot hold one, so it would reach the database as a
    DataError (a 500). A path with one names nothing there is (404); a parameter or form field with one is a 400
    naming it. (JSON bodies: web.api.json_body.)"""
    if "\x00" in request.path:
        abort(404)
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            raise DataInvalid({name.replace("\x00", "") or "query": NUL_MESSAGE}, "请求参数无效")
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in request.form.items(multi=True):
            if "\x00" in name or "\x00" in value:
                raise DataInvalid({name.replace("\x00", "") or "form": NUL_MESSAGE}, "表单内容无效")


def register_error_handlers(app: Flask) -> None:
    app.before_request(refuse_nul_characters)
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(DataInvalid, invalid_data)
    app.register_error_handler(EngineError, engine_error)
    app.register_error_handler(InternalServerError, unexpected)
    app.register_error_handler(Exception, unexpected)
