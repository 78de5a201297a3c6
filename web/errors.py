"""Error pages in the site's look. Paths under /api/ keep their JSON errors: the API blueprint has its own handlers,
and for API paths no route matched (404/405) these handlers answer in the API's JSON shape too."""

from __future__ import annotations

import logging

from flask import Flask, abort, render_template, request
from flask_babel import gettext as _
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


def http_error(exc: HTTPException):
    status = exc.code or 500
    if _is_api():
        codes = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 413: "payload_too_large", 429: "too_many_requests"}
        return _api(status, codes.get(status, "error"), exc.description or exc.name)
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


def invalid_data(exc: DataInvalid):
    if _is_api():
        return _api(400, "validation_failed", exc.message)
    detail = "；".join(f"{k}: {message(v)}" for k, v in exc.fields.items())
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
