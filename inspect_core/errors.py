"""One error contract: every 4xx/5xx is ``{code, status, message, errors}``.

Domain code raises :class:`ApiError` subclasses carrying the HTTP status, a message
in English and zh-CN, and field-level ``errors`` (``{field: [reasons]}``).  One handler
renders them, Werkzeug's HTTP errors and webargs' validation errors alike, and a 500
never leaks a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from inspect_core.i18n import catalogue

log = logging.getLogger(__name__)


class ApiError(Exception):
    """A domain error with an HTTP status.  ``errors`` maps field → list of reasons."""

    status_code = 400

    def __init__(
        self,
        message: str,
        errors: dict[str, Any] | None = None,
        *,
        message_zh: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh
        self.errors = errors or {}
        if status_code is not None:
            self.status_code = status_code


class BadRequest(ApiError):
    status_code = 400


class Unauthorized(ApiError):
    """401, sent with ``WWW-Authenticate: Bearer`` (RFC 7235 §3.1 requires a challenge on a
    401; RFC 6750 §3 adds ``error="invalid_token"`` when the token sent was refused, so a
    client knows to log in again rather than retry)."""

    status_code = 401

    def __init__(self, message: str, *args: Any, invalid_token: bool = False, **kw: Any) -> None:
        super().__init__(message, *args, **kw)
        self.invalid_token = invalid_token

    def challenge(self) -> str:
        realm = 'Bearer realm="inspect-core"'
        return f'{realm}, error="invalid_token"' if self.invalid_token else realm


class Forbidden(ApiError):
    status_code = 403


class NotFound(ApiError):
    status_code = 404


class Conflict(ApiError):
    status_code = 409


class Unprocessable(ApiError):
    status_code = 422


class TooManyRequests(ApiError):
    """429: a rate limit or quota was reached (:mod:`inspect_core.ratelimit`); the seconds
    until another request is allowed go out as ``Retry-After``."""

    status_code = 429

    def __init__(
        self,
        message: str,
        errors: dict[str, Any] | None = None,
        *,
        message_zh: str | None = None,
        retry_after: int,
    ) -> None:
        super().__init__(message, errors, message_zh=message_zh)
        self.retry_after = max(1, int(retry_after))


class ErrorSchema(Schema):
    """The documented shape of :func:`error_body` (the OpenAPI ``Error``): the document
    must match what clients get, or a client generated from it rejects our errors."""

    code = fields.Integer(required=True, metadata={"description": "HTTP status code"})
    status = fields.String(required=True, metadata={"description": "HTTP status phrase"})
    message = fields.String(required=True, metadata={"description": "what went wrong"})
    message_zh = fields.String(
        metadata={"description": "the message in zh-CN: the error's own, else one by status"}
    )
    errors = fields.Dict(
        required=True,
        metadata={"description": "field → reasons (nested for nested fields and rows)"},
    )
    errors_zh = fields.Dict(
        metadata={
            "description": "``errors`` with each reason in zh-CN (the same keys); present "
            "when ``errors`` is not empty"
        }
    )


def nested_errors(
    value: Any,
    fault: Callable[[Any], str | None],
    name: Callable[[Any], str] = str,
    max_depth: int | None = None,
    too_deep: Callable[[], Exception] | None = None,
    _depth: int = 0,
) -> dict[str, Any]:
    """Field errors, nested as marshmallow nests them (``{"a": {"0": ["why"]}}``), for
    each key and leaf of a JSON-like value that ``fault`` gives a reason against; keys
    are shown with ``name``.  Past ``max_depth`` levels ``too_deep()`` is raised."""
    if max_depth is not None and _depth > max_depth:
        raise (too_deep or RecursionError)()
    if isinstance(value, Mapping):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return {}
    errors: dict[str, Any] = {}
    for key, item in items:
        if reason := fault(key) or fault(item):
            errors[name(key)] = [reason]
        elif inner := nested_errors(item, fault, name, max_depth, too_deep, _depth + 1):
            errors[name(key)] = inner
    return errors


#: webargs' locations (``inspect_core.blueprint`` adds ``form_and_files``), whose level
#: is dropped from field errors so a client reads ``errors.name``, not ``errors.json.name``
ARGUMENT_LOCATIONS = frozenset(
    {"json", "query", "form", "files", "form_and_files", "headers", "view_args"}
)


def error_body(
    status: int, message: str, errors: Any = None, message_zh: str | None = None
) -> dict[str, Any]:
    """The JSON body of every error response."""
    body: dict[str, Any] = {
        "code": status,
        "status": HTTPStatus(status).phrase,
        "message": message,
        "errors": errors or {},
    }
    if message_zh:
        body["message_zh"] = message_zh
    if body["errors"]:
        body["errors_zh"] = catalogue().errors(body["errors"])
    return body


def api_error_response(exc: ApiError) -> ResponseReturnValue:
    """The response to an :class:`ApiError` (a 429 with its ``Retry-After``, a 401 with
    its challenge)."""
    zh = exc.message_zh or zh_message(exc.status_code)
    body = error_body(exc.status_code, exc.message, exc.errors, zh)
    headers = None
    if isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after)}
    elif isinstance(exc, Unauthorized):
        headers = {"WWW-Authenticate": exc.challenge()}
    return _respond(exc.status_code, body, headers)


def _respond(status: int, body: dict[str, Any], headers: Any = None) -> ResponseReturnValue:
    response = jsonify(body)
    response.status_code = status
    if headers:
        for key, value in dict(headers).items():
            if key.lower() != "content-type":
                response.headers[key] = value
    return response


def register_error_handlers(app: Flask) -> None:
    """Route every exception through the one error shape."""

    app.register_error_handler(ApiError, api_error_response)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        data = getattr(exc, "data", None) or {}
        errors = data.get("messages") or {}
        # webargs puts errors under the location ("json", "query"); keep the field level
        if isinstance(errors, dict) and len(errors) == 1:
            ((loc, inner),) = errors.items()
            if loc in ARGUMENT_LOCATIONS and isinstance(inner, dict):
                errors = inner
        message = data.get("message") or _default_message(status, exc)
        headers = None
        try:
            headers = exc.get_response().headers
        except Exception:  # noqa: BLE001 - a broken response still deserves our shape
            headers = None
        if status == 413:
            message = f"request body too large (limit {app.config.get('MAX_CONTENT_LENGTH')} bytes)"
            errors = {"body": [message]}
        body = error_body(status, message, errors, zh_message(status))
        return _respond(status, body, _keep_headers(headers))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:
        if getattr(getattr(exc, "orig", None), "sqlstate", None) == "57014":  # query_canceled
            log.warning("a statement ran past STATEMENT_TIMEOUT_MS", exc_info=True)
            limit = app.config.get("STATEMENT_TIMEOUT_MS")
            reason = f"the database took longer than {limit} ms (STATEMENT_TIMEOUT_MS)"
            body = error_body(
                503,
                "the request took longer than the database allows; narrow it (filters, a "
                "smaller page) or retry later",
                {"request": [reason]},
                f"请求在数据库中执行超过 {limit} 毫秒，已取消；请缩小范围或稍后重试",
            )
            return _respond(503, body)
        log.exception("unhandled error")
        body = error_body(500, "internal error; it has been logged", None, zh_message(500))
        return _respond(500, body)


#: zh-CN messages by status, for an error without one of its own (a schema's 422,
#: werkzeug's 404/405/413, a 500, and our own errors raised without ``message_zh``), which
#: carried English only: the field-level ``errors`` name the fields either way
HTTP_MESSAGES_ZH: dict[int, str] = {
    400: "请求格式有误",
    401: "未登录或令牌无效",
    403: "无权执行此操作",
    404: "未找到请求的资源",
    405: "不支持该请求方法",
    406: "无法提供所请求的响应格式",
    409: "与当前状态冲突",
    413: "请求体过大",
    415: "不支持的请求内容类型",
    422: "请求字段未通过校验，详见 errors",
    428: "缺少必需的前置条件",
    429: "请求过于频繁，请稍后再试",
    500: "服务器内部错误，已记录",
    502: "依赖的组件出错",
    503: "服务暂不可用，请稍后再试",
}


def zh_message(status: int) -> str:
    """The zh-CN message of an error of ``status`` that has none of its own."""
    return HTTP_MESSAGES_ZH.get(status, f"请求未能完成（HTTP {status}）")


def _keep_headers(headers: Any) -> dict[str, str] | None:
    if headers is None:
        return None
    kept = {k: v for k, v in headers.items() if k in {"Allow", "Retry-After", "WWW-Authenticate"}}
    return kept or None


def _default_message(status: int, exc: HTTPException) -> str:
    if status == 400 and exc.description and "JSON" in str(exc.description):
        return "malformed JSON body"
    if status == 422:
        return "the request's fields did not validate"
    return exc.description or HTTPStatus(status).phrase
