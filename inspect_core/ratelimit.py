"""Rate limits and per-account quotas (OWASP API2, API4, API6; RELIABILITY.md §1.8).

Flask-Limiter, one :class:`~flask_limiter.Limiter` per app (its storage and settings are
the app's: a module-level one would carry the last app's storage into every other).  A
view declares what it is with :func:`rate_limited`; :func:`init_app` puts that kind's
limits on its route:

- ``login``: every attempt per client address (``RATELIMIT_LOGIN_PER_ADDRESS``: each costs
  an Argon2 hash, 0.1–0.4 core-seconds), failed attempts (401) per username and address
  (``RATELIMIT_LOGIN_PER_USERNAME_ADDRESS``: password guessing), and failed attempts per
  username from any address (``RATELIMIT_LOGIN_PER_USERNAME``: guessing spread over many
  addresses, which the per-address budgets multiply).  All are checked before the
  password is, so a refused attempt costs no hash, and a correct password sent past a
  limit is refused as a wrong one would be;
- ``export``, ``upload`` and ``ranking``: per account (the token's user), each kind one
  budget over its routes.  ``ranking`` is reading the risk ranking a page or an
  enterprise at a time (the ranked list, an enterprise's credit page), which an export
  quota alone would leave open to scraping (OWASP API6).  A request is counted only once
  its caller may make it: one without a valid token gets its 401, one whose role lacks
  the permission its 403, neither spending the account's budget nor answered with a 429.

A request over a limit is a 429 in the error shape, naming what was limited in
``errors`` (``username`` or ``rate``) with ``Retry-After``.  A store that fails (Redis
down) does not fail the request: the limits go on in the process's memory until the
store answers again (Flask-Limiter's in-memory fallback), and its errors are logged.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, g, request
from flask.wrappers import Response
from flask_limiter import Limiter, RateLimitExceeded
from flask_smorest.utils import deepupdate
from limits import RateLimitItem
from limits.errors import ConfigurationError
from webargs.core import is_json

from inspect_core.auth.access import AUTHENTICATED, PUBLIC, has_permission
from inspect_core.blueprint import parse_json
from inspect_core.errors import ApiError, TooManyRequests, api_error_response

F = TypeVar("F", bound=Callable[..., Any])

LOGIN, EXPORT, UPLOAD, RANKING = "login", "export", "upload", "ranking"
KINDS = (LOGIN, EXPORT, UPLOAD, RANKING)
#: the per-account kinds and the setting holding each one's limit
PER_USER_SETTINGS = {
    EXPORT: "RATELIMIT_EXPORT_PER_USER",
    UPLOAD: "RATELIMIT_UPLOAD_PER_USER",
    RANKING: "RATELIMIT_RANKING_PER_USER",
}

#: the OpenAPI response of a 429 (components/responses), put on each limited operation
RESPONSE_NAME = "TOO_MANY_REQUESTS_LIMITED"

#: a login body past this size is not read for its username (a valid one, a username of
#: at most 64 characters and a password of at most 1,024, is far smaller even with every
#: character escaped): it counts in one bucket per address, and the login refuses it
#: before any password check (:func:`check_login_body`)
LOGIN_BODY_READ_MAX = 16 * 1024


def rate_limited(kind: str, when: Callable[[], bool] | None = None) -> Callable[[F], F]:
    """Declare a view's rate-limit ``kind`` (one of :data:`KINDS`) and document its 429;
    ``when`` (read in the request, before the view) narrows it to the requests it is true
    for (the list route serves the risk ranking only when asked for it).

    The marker is read when the app is built (:func:`init_app`); like ``_inspect_access``
    it is kept by the decorators put above it (``functools.wraps`` copies it)."""
    if kind not in KINDS:
        raise ValueError(f"unknown rate-limit kind {kind!r}; one of {', '.join(KINDS)}")

    def decorate(fn: F) -> F:
        fn._inspect_rate_limit = kind  # type: ignore[attr-defined]
        fn._inspect_rate_limit_when = when  # type: ignore[attr-defined]
        apidoc = dict(getattr(fn, "_apidoc", {}))
        apidoc["manual_doc"] = deepupdate(
            copy.deepcopy(apidoc.get("manual_doc", {})), {"responses": {"429": RESPONSE_NAME}}
        )
        fn._apidoc = apidoc  # type: ignore[attr-defined]
        return fn

    return decorate


# --- keys ------------------------------------------------------------------------------


def client_address() -> str:
    """The client's address: the connection's (``request.remote_addr``), or the one the
    trusted proxies report when ``TRUSTED_PROXY_COUNT`` says there are some (werkzeug's
    ProxyFix, installed by create_app).  An IPv6 client is keyed by its /64, which one
    subscriber holds whole: per address it would have 2^64 fresh budgets."""
    raw = request.remote_addr or "unknown"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def login_username() -> str | None:
    """The username of a login body, as the login looks it up: exactly as sent (the
    schema neither trims nor folds case, and ``issue_token`` compares it as it is, so
    ``Li.Na`` and ``li.na`` are two accounts and two keys).  None for a body that is not
    a JSON object with a text username (the login refuses it with a 4xx, and no hash)."""
    length = request.content_length
    if not is_json(request.mimetype) or length is None or length > LOGIN_BODY_READ_MAX:
        return None
    try:
        body = parse_json(request.get_data(cache=True))  # the view's own parser
    except Exception:  # noqa: BLE001 - a malformed body is the view's to refuse
        return None
    username = body.get("username") if isinstance(body, dict) else None
    return username if isinstance(username, str) else None


#: why a login body of unknown length is refused (an entry of inspect_core/i18n.py)
UNKNOWN_LENGTH_REASON = "of unknown length; send a Content-Length of at most {limit} bytes"


def check_login_body() -> None:
    """413 for a login body :func:`login_username` does not read (past
    :data:`LOGIN_BODY_READ_MAX`, or of unknown length: chunked), before its password is
    checked.  Its attempts count under no username, so a guesser locked out of an account
    went on guessing, and a correct password was taken, by padding the JSON with
    whitespace or sending it chunked."""
    length = request.content_length
    if length is not None and length <= LOGIN_BODY_READ_MAX:
        return
    reason = (
        f"larger than {LOGIN_BODY_READ_MAX} bytes"
        if length is not None
        else UNKNOWN_LENGTH_REASON.format(limit=LOGIN_BODY_READ_MAX)
    )
    raise ApiError(
        f"login body too large or of unknown length (limit {LOGIN_BODY_READ_MAX} bytes)",
        {"body": [reason]},
        message_zh=f"登录请求体过大或未注明长度（上限 {LOGIN_BODY_READ_MAX} 字节）",
        status_code=413,
    )


def login_username_key() -> str:
    """The username key of a login attempt, from any address.  The username goes in
    hashed: a password typed into the username field is not written to the store."""
    username = login_username()
    if username is None:
        return "-"  # refused with a 4xx before any password check: never counted
    return hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def login_key() -> str:
    """The username+address key of a login attempt."""
    return f"{client_address()}|{login_username_key()}"


def user_key() -> str:
    """The account a quota counts for: the token's user."""
    return f"user:{g.user.id}"


def _uncounted(access: tuple[str, ...], when: Callable[[], bool] | None) -> Callable[[], bool]:
    """Whether a request to a per-account limited handler is left uncounted: no valid
    token (a 401 follows), a role without the handler's permission (a 403 follows), or
    not the kind of request the limit is for (``when`` false)."""

    needed = tuple(p for p in access if p not in (PUBLIC, AUTHENTICATED))

    def exempt() -> bool:
        user = g.get("user")
        if user is None:
            return True
        if needed and not any(has_permission(user, p) for p in needed):
            return True
        return when is not None and not when()

    return exempt


def _login_failed(response: Response) -> bool:
    return response.status_code == 401


# --- the 429 ---------------------------------------------------------------------------

_UNITS_ZH = {
    "second": "秒",
    "minute": "分钟",
    "hour": "小时",
    "day": "天",
    "month": "个月",
    "year": "年",
}

#: scope → (errors field, reason, message, message in zh-CN): the reason is translated by
#: the catalogue (inspect_core/i18n.py holds each), the messages name the limit
_BREACHES: dict[str, tuple[str, str, str, str]] = {
    "login-username-address": (
        "username",
        "too many failed logins for this username; retry after {seconds} seconds",
        "too many failed logins (limit {limit} per username and address)",
        "登录失败次数过多（同一用户名和地址上限为{limit_zh}）",
    ),
    "login-address": (
        "rate",
        "too many login attempts from this address; retry after {seconds} seconds",
        "too many login attempts (limit {limit} per address)",
        "登录尝试过于频繁（同一地址上限为{limit_zh}）",
    ),
    EXPORT: (
        "rate",
        "export quota of this account used up; retry after {seconds} seconds",
        "export quota reached (limit {limit} per account)",
        "导出次数已达上限（每个账号{limit_zh}）",
    ),
    UPLOAD: (
        "rate",
        "upload quota of this account used up; retry after {seconds} seconds",
        "upload quota reached (limit {limit} per account)",
        "上传次数已达上限（每个账号{limit_zh}）",
    ),
    "login-username": (
        "username",
        "too many failed logins for this username; retry after {seconds} seconds",
        "too many failed logins (limit {limit} per username, from any address)",
        "登录失败次数过多（同一用户名在所有地址合计上限为{limit_zh}）",
    ),
    RANKING: (
        "rate",
        "risk-ranking reading quota of this account used up; retry after {seconds} seconds",
        "risk-ranking reading quota reached (limit {limit} per account)",
        "风险排序查阅次数已达上限（每个账号{limit_zh}）",
    ),
}

#: a limit of the operator's own (Flask-Limiter's ``RATELIMIT_DEFAULT``, say)
_OTHER_BREACH = (
    "rate",
    "too many requests; retry after {seconds} seconds",
    "too many requests (limit {limit})",
    "请求过于频繁（上限为{limit_zh}）",
)


def limit_text(item: RateLimitItem) -> tuple[str, str]:
    """A limit in English and zh-CN: ``10 per 1 minute``, ``1分钟内10次``."""
    unit = item.GRANULARITY.name
    return str(item), f"{item.multiples}{_UNITS_ZH.get(unit, unit)}内{item.amount}次"


def _retry_after(limiter: Limiter, item: RateLimitItem) -> int:
    """Seconds until the breached limit takes a request again; its whole window when the
    store cannot say (it failed after refusing)."""
    try:
        breached = limiter.current_limit
        if breached is not None:
            return max(1, int(breached.window.reset_time - time.time()) + 1)
    except Exception:  # noqa: BLE001 - the 429 stands; only its precision is lost
        pass
    return max(1, int(item.get_expiry()))


def _too_many_requests(limiter: Limiter, exc: RateLimitExceeded) -> Any:
    scope = exc.limit.scope if isinstance(exc.limit.scope, str) else ""
    field, reason, message, message_zh = _BREACHES.get(scope, _OTHER_BREACH)
    seconds = _retry_after(limiter, exc.limit.limit)
    limit, limit_zh = limit_text(exc.limit.limit)
    return api_error_response(
        TooManyRequests(
            message.format(limit=limit),
            {field: [reason.format(seconds=seconds)]},
            message_zh=message_zh.format(limit_zh=limit_zh),
            retry_after=seconds,
        )
    )


# --- the app ---------------------------------------------------------------------------


def _limits(
    limiter: Limiter, kind: str, config: Any, methods: list[str], exempt: Callable[[], bool]
) -> list[Any]:
    """The Flask-Limiter decorators of ``kind`` for a route serving ``methods``; a
    per-account one leaves uncounted the requests ``exempt`` is true for."""
    if kind == LOGIN:
        return [
            limiter.shared_limit(
                config["RATELIMIT_LOGIN_PER_ADDRESS"],
                scope="login-address",
                key_func=client_address,
                methods=methods,
            ),
            limiter.shared_limit(
                config["RATELIMIT_LOGIN_PER_USERNAME_ADDRESS"],
                scope="login-username-address",
                key_func=login_key,
                methods=methods,
                deduct_when=_login_failed,  # checked before, counted once it failed
            ),
            limiter.shared_limit(
                config["RATELIMIT_LOGIN_PER_USERNAME"],
                scope="login-username",
                key_func=login_username_key,
                methods=methods,
                deduct_when=_login_failed,
            ),
        ]
    return [
        limiter.shared_limit(
            config[PER_USER_SETTINGS[kind]],
            scope=kind,
            key_func=user_key,
            methods=methods,
            exempt_when=exempt,
        )
    ]


def limited_handlers(view: Any) -> dict[str, Any]:
    """HTTP method → the rate-limited handler a view function serves for it."""
    view_class = getattr(view, "view_class", None)
    if view_class is None:
        if getattr(view, "_inspect_rate_limit", None) is None:
            return {}
        return {m: view for m in getattr(view, "methods", None) or ["GET"]}
    found = {}
    for method in getattr(view_class, "methods", None) or ():
        handler = getattr(view_class, method.lower(), None)
        if getattr(handler, "_inspect_rate_limit", None):
            found[method] = handler
    return found


#: a Redis store's socket timeouts (seconds; ``RATELIMIT_STORAGE_OPTIONS`` overrides them):
#: redis-py waits without end by default, so a store host that drops packets would hold
#: every limited request instead of letting it fall back to memory
REDIS_TIMEOUTS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}


def storage_options(uri: str) -> dict[str, Any]:
    """The options a store of ``uri`` gets beside the configured ones."""
    scheme = uri.split("://", 1)[0].split("+", 1)[0]
    return dict(REDIS_TIMEOUTS) if scheme in {"redis", "rediss", "valkey", "valkeys"} else {}


def init_app(app: Flask) -> Limiter:
    """Build the app's limiter from its config and put each kind's limits on the routes
    whose handlers declare one (a GET's limit holds for its HEAD, which runs it too)."""
    limiter = Limiter(
        key_func=client_address,
        storage_uri=app.config["RATELIMIT_STORAGE_URI"],
        storage_options=storage_options(app.config["RATELIMIT_STORAGE_URI"]),
        strategy=app.config["RATELIMIT_STRATEGY"],
        key_prefix=app.config.get("RATELIMIT_KEY_PREFIX", ""),
        # never a 500 for the limiter's own faults: a store that fails is replaced by the
        # process's memory until it answers again (fail open to per-process limits)
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        headers_enabled=False,  # Retry-After on a 429 only (_too_many_requests)
    )
    try:
        limiter.init_app(app)
    except (ConfigurationError, NotImplementedError) as exc:
        raise ValueError(
            f"RATELIMIT_STORAGE_URI (INSPECT_RATELIMIT_STORAGE_URI) "
            f"{app.config['RATELIMIT_STORAGE_URI']!r} with RATELIMIT_STRATEGY "
            f"{app.config['RATELIMIT_STRATEGY']!r}: {exc} / 限流计数存储不可用：{exc}"
        ) from None
    app.extensions["inspect_limiter"] = limiter
    for endpoint, view in list(app.view_functions.items()):
        for method, handler in limited_handlers(view).items():
            # one set of limits per handler: its permission and condition are its own
            methods = [method, "HEAD"] if method == "GET" else [method]
            exempt = _uncounted(
                getattr(handler, "_inspect_access", ()),
                getattr(handler, "_inspect_rate_limit_when", None),
            )
            for decorate in _limits(
                limiter, handler._inspect_rate_limit, app.config, methods, exempt
            ):
                view = decorate(view)
        app.view_functions[endpoint] = view
    app.register_error_handler(RateLimitExceeded, lambda exc: _too_many_requests(limiter, exc))
    return limiter


def document(api: Any) -> None:
    """The 429 response component the limited operations name."""
    api.spec.components.response(
        RESPONSE_NAME,
        {
            "description": "a rate limit or quota was reached (errors names which: "
            "``username`` or ``rate``); retry after the seconds given",
            "headers": {
                "Retry-After": {
                    "description": "seconds until the limit takes another request",
                    "schema": {"type": "integer", "minimum": 1},
                }
            },
            "content": {"application/json": {"schema": "Error"}},
        },
    )
