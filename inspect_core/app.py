"""The application factory."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, request
from flask_smorest import Api
from webargs.core import is_json
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, UnicodeConverter, ValidationError

from inspect_core import plugin_manager, ratelimit, uscc
from inspect_core.auth.access import BEARER_SCHEME, install_gate
from inspect_core.auth.service import authenticate_request
from inspect_core.blueprint import NUL, json_too_large
from inspect_core.config import Config, check, default_sqlite_url, normalise
from inspect_core.db import db
from inspect_core.errors import ErrorSchema, register_error_handlers
from inspect_core.validators import MAX_ID


class RowIdConverter(IntegerConverter):
    """``<int:…>`` in every route, bounded by :data:`MAX_ID`: a path number no row can
    have is a 404 (no such route) instead of reaching the database, where SQLite's
    driver overflowed on it (a 500).  ASCII digits only: werkzeug's ``\\d+`` took any
    script's digits, so ``/plans/１`` was plan 1."""

    regex = r"[0-9]+"

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


class _Api(Api):
    """flask-smorest's Api documenting our error body (``message_zh`` included)."""

    ERROR_SCHEMA = ErrorSchema


class TextConverter(UnicodeConverter):
    """``<…>`` and ``<string:…>`` in every route, refusing a NUL byte: such a path matches
    no route (a 404, as any unknown path, before the token is looked at) instead of
    reaching the database, where PostgreSQL's text cannot hold it (a 500)."""

    def to_python(self, value: str) -> str:
        if NUL in value:
            raise ValidationError()  # werkzeug: this rule does not match
        return value


class USCCConverter(TextConverter):
    """``<uscc:…>``: a segment that is no USCC's length (18 characters once full-width
    forms are folded and separators dropped) names no enterprise, so the route does not
    match.  Read as a USCC, ``GET /enterprises/import`` was "no enterprise import" (404)
    where the path is the POST-only upload (405 with ``Allow``)."""

    def to_python(self, value: str) -> str:
        value = super().to_python(value)
        if len(uscc.compact(value)) != 18:
            raise ValidationError()  # werkzeug: this rule does not match
        return value


def create_app(config: Mapping[str, Any] | None = None, plugins: Iterable[Any] = ()) -> Flask:
    """Build the app: class defaults, then ``INSPECT_*`` variables, then ``config``.

    ``plugins`` are extra plugin objects registered after the enabled entry points
    (tests use it to load a misbehaving plugin).
    """
    app = Flask("inspect_core", instance_relative_config=True)
    app.config.from_object(Config)
    # the class's dicts and lists are shared: an ``INSPECT_A__B`` variable (Flask's nested
    # form, e.g. INSPECT_CREDIT_REPAIR_MIN_DAYS__penalty) would otherwise change them for
    # every app built after this one
    for key, value in list(app.config.items()):
        if isinstance(value, dict | list):
            app.config[key] = copy.deepcopy(value)
    app.config.from_prefixed_env("INSPECT")
    if config:
        app.config.update(config)
    normalise(app.config)
    check(app.config)
    if not app.config.get("DATABASE_URL"):
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["DATABASE_URL"] = default_sqlite_url(app.instance_path)

    app.url_map.converters["int"] = RowIdConverter  # before any route is added
    app.url_map.converters["default"] = app.url_map.converters["string"] = TextConverter
    app.url_map.converters["uscc"] = USCCConverter
    # a path with an empty segment (``/api//v1``, a ``%2F`` at a parameter's end) is a 404:
    # werkzeug merged the slashes and answered an HTML 308 to another resource
    app.url_map.merge_slashes = False
    db.init_app(app, app.config["DATABASE_URL"])
    plugin_manager.init_app(app, plugins)
    # a repair rule may name any sector of the catalogue, the plugins' own included
    from inspect_core.credit import rules as credit_rules

    credit_rules.check(
        app.config,
        {*app.config["SECTORS"], *plugin_manager.sector_owners(plugin_manager.get_pm(app))},
    )
    if app.config["TRUSTED_PROXY_COUNT"]:
        # the client address (rate limits) from that many proxies' X-Forwarded-For
        proxies = int(app.config["TRUSTED_PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies)  # type: ignore[method-assign]
    _register_api(app)
    register_error_handlers(app)  # after flask-smorest's, so ours win
    ratelimit.init_app(app)  # after the routes, whose handlers it reads
    install_gate(app, authenticate_request)

    @app.before_request
    def _json_body_limit() -> None:
        """JSON bodies get a smaller limit than file uploads (OWASP API4): every media type
        the parser reads as JSON (``application/*+json`` too), and a body of unknown length
        (chunked) as it is read, where werkzeug otherwise allows ``MAX_CONTENT_LENGTH``."""
        if not is_json(request.mimetype):
            return
        limit = int(app.config["MAX_JSON_BYTES"])
        if (request.content_length or 0) > limit:
            raise json_too_large(limit)
        # werkzeug stops reading at the maximum without a word: read one byte more, so the
        # parser can tell a body past the limit (it refuses it) from one just at it
        request.max_content_length = min(limit + 1, request.max_content_length or limit + 1)

    @app.after_request
    def _security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    from inspect_core.cli import register_cli

    register_cli(app)
    return app


def _register_api(app: Flask) -> None:
    from inspect_core.audit.api import blp as audit_blp
    from inspect_core.auth.api import blp as auth_blp
    from inspect_core.credit.api import blp as credit_blp
    from inspect_core.disclosure.api import blp as disclosure_blp
    from inspect_core.enterprises.api import blp as enterprises_blp
    from inspect_core.imports.api import blp as imports_blp
    from inspect_core.inspectors.api import blp as inspectors_blp
    from inspect_core.kpis import blp as kpis_blp
    from inspect_core.plans.api import blp as plans_blp
    from inspect_core.results.api import blp as results_blp
    from inspect_core.sectors_api import blp as sectors_blp

    api = _Api(app)
    app.extensions["inspect_api"] = api
    api.spec.components.security_scheme(
        BEARER_SCHEME, {"type": "http", "scheme": "bearer", "bearerFormat": "opaque"}
    )
    api.spec.options["security"] = [{BEARER_SCHEME: []}]
    ratelimit.document(api)
    for blp in (
        auth_blp,
        imports_blp,
        enterprises_blp,
        inspectors_blp,
        sectors_blp,
        plans_blp,
        results_blp,
        disclosure_blp,
        audit_blp,
        credit_blp,
        kpis_blp,
    ):
        api.register_blueprint(blp)
