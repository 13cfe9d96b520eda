"""Who may call what: a central role → permission table and a default-deny gate.

Every view declares its access with :func:`require` or :func:`public`.  A
``before_request`` hook refuses any endpoint that declares nothing (OWASP API5), and a
test walks ``app.url_map`` to prove every route is marked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, current_app, g, request

from inspect_core.blueprint import refuse_query_unread_by
from inspect_core.errors import Forbidden, Unauthorized

F = TypeVar("F", bound=Callable[..., Any])

#: role → permissions.  ``:own`` permissions are further narrowed by the service
#: (an inspector acts only for their own badge and tasks).
_REGULATOR = frozenset(
    {
        "enterprises:read",
        "enterprises:write",
        "inspectors:read",
        "inspectors:write",
        "conflicts:read",
        "conflicts:write",
        "sectors:read",
        "plans:read",
        "plans:write",
        "tasks:read",
        "tasks:reassign",
        "results:read",
        "results:correct",
        "disclosure:write",
        "calendar:write",
        "audit:read",
        "results:import",
        "imports:read",
        "credit:read",
        "credit:write",
        "rankings:read",
        "kpis:read",
    }
)
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": _REGULATOR | {"users:read", "users:write"},
    "regulator": _REGULATOR,
    "inspector": frozenset(
        {
            "enterprises:read",
            "inspectors:read:own",
            "conflicts:write:own",
            "sectors:read",
            "tasks:read:own",
            "results:write:own",
            "results:read:own",
            "results:import",
            "imports:read:own",
        }
    ),
    "sector_admin": frozenset(
        {
            "enterprises:read",
            "sectors:read",
            "plans:read",
            "results:read",
            "credit:read",
            "kpis:read",
        }
    ),
}

PUBLIC = "public"
AUTHENTICATED = "authenticated"


def permissions_of(role: str) -> frozenset[str]:
    return ROLE_PERMISSIONS.get(role, frozenset())


def has_permission(user: Any, permission: str) -> bool:
    return permission in permissions_of(user.role)


def require(*permissions: str) -> Callable[[F], F]:
    """Allow callers holding any of ``permissions``; 401 without a valid token, 403 otherwise."""

    def decorate(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if not any(has_permission(user, p) for p in permissions):
                raise Forbidden(
                    f"role '{user.role}' may not do this (needs {' or '.join(permissions)})",
                    message_zh="当前角色无权执行此操作",
                )
            refuse_query_unread_by(wrapper, request)  # after the token, as webargs does
            return fn(*args, **kwargs)

        wrapper._inspect_access = permissions  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def authenticated(fn: F) -> F:
    """Any valid token, whatever the role."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        current_user()
        refuse_query_unread_by(wrapper, request)
        return fn(*args, **kwargs)

    wrapper._inspect_access = (AUTHENTICATED,)  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


#: the OpenAPI security scheme of the bearer token (the document's default)
BEARER_SCHEME = "bearerAuth"
#: the OpenAPI ``security`` of a public operation: no token is asked for
NO_TOKEN: list[dict[str, list[str]]] = []
#: ... of a public operation that answers more to a token: none, or the bearer token
TOKEN_OPTIONAL: list[dict[str, list[str]]] = [{}, {BEARER_SCHEME: []}]


def _public(fn: F, security: list[dict[str, list[str]]]) -> F:
    fn._inspect_access = (PUBLIC,)  # type: ignore[attr-defined]
    apidoc = dict(getattr(fn, "_apidoc", {}))
    apidoc["manual_doc"] = {**apidoc.get("manual_doc", {}), "security": security}
    fn._apidoc = apidoc  # type: ignore[attr-defined]
    return fn


def public(fn: F) -> F:
    """No token needed (public disclosure, login, the spec).

    Also documented so (OpenAPI ``security: []``, in flask-smorest's ``manual_doc``, as
    ``Blueprint.doc`` would put it): the document's default is the bearer token, and a
    client generated from it would otherwise send one where none is asked for."""
    return _public(fn, NO_TOKEN)


def public_token_optional(fn: F) -> F:
    """No token needed, but a token shows more (:func:`optional_user`: a regulator reads an
    unpublished plan's draw, and who drew it).  Documented as ``security: [{},
    {bearerAuth: []}]``: with ``security: []`` a client generated from the document never
    sends its token here, and its regulators get a 404 for a draw they may read."""
    return _public(fn, TOKEN_OPTIONAL)


def current_user() -> Any:
    """The authenticated user of this request, or 401."""
    user = g.get("user")
    if user is None:
        reason = g.get("auth_error")
        raise Unauthorized(
            reason or "missing bearer token",
            message_zh="未认证或令牌无效",
            invalid_token=bool(g.get("token_refused")),
        )
    return user


def optional_user() -> Any:
    return g.get("user")


def view_access(app: Flask, endpoint: str, method: str) -> tuple[str, ...] | None:
    """The access marker of the handler serving ``endpoint`` for ``method``."""
    view = app.view_functions.get(endpoint)
    if view is None:
        return None
    marker = getattr(view, "_inspect_access", None)
    if marker is not None:
        return marker
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        handler = getattr(view_class, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(view_class, "get", None)
        return getattr(handler, "_inspect_access", None)
    return None


#: endpoints served by Flask or flask-smorest themselves, public by nature
BUILTIN_PUBLIC_ENDPOINTS: frozenset[str] = frozenset(
    {"static", "api-docs.openapi_json", "api-docs.openapi_swagger_ui"}
)


def install_gate(app: Flask, authenticate: Callable[[], None]) -> None:
    """Authenticate every request, then deny endpoints that declare no access."""

    @app.before_request
    def _gate() -> None:
        authenticate()
        endpoint = request.endpoint
        if endpoint is None or endpoint in BUILTIN_PUBLIC_ENDPOINTS:
            return
        if request.method == "OPTIONS":
            return
        if view_access(current_app, endpoint, request.method) is None:
            raise Forbidden("endpoint declares no access rule; denied by default")


def unmarked_endpoints(app: Flask) -> Iterable[tuple[str, str]]:
    """(rule, method) pairs without an access marker; the url_map test wants none."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint in BUILTIN_PUBLIC_ENDPOINTS:
            continue
        for method in sorted((rule.methods or set()) - {"OPTIONS", "HEAD"}):
            if view_access(app, rule.endpoint, method) is None:
                yield rule.rule, method
