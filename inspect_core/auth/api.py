"""``/api/v1/auth``: tokens in, tokens out."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView

from inspect_core.auth import service
from inspect_core.auth.access import authenticated, current_user, public
from inspect_core.auth.schemas import MeSchema, TokenRequestSchema, TokenSchema
from inspect_core.blueprint import Blueprint
from inspect_core.db import db
from inspect_core.ratelimit import LOGIN, check_login_body, rate_limited

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Tokens and identity")


@blp.route("/token")
class TokenView(MethodView):
    @public
    @rate_limited(LOGIN)
    @blp.arguments(TokenRequestSchema)
    @blp.response(200, TokenSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Exchange a username and password for a bearer token."""
        check_login_body()  # one the limiter could not key by its username: no password check
        token, ttl = service.issue_token(db.session, body["username"], body["password"])
        return {"access_token": token, "token_type": "Bearer", "expires_in": ttl}


@blp.route("/revoke")
class RevokeView(MethodView):
    @authenticated
    @blp.response(204)
    def post(self) -> None:
        """Revoke the token used for this request (log out)."""
        service.revoke_token(db.session, g.token)


@blp.route("/me")
class MeView(MethodView):
    @authenticated
    @blp.response(200, MeSchema)
    def get(self) -> Any:
        """Who the token belongs to, with role and region scope."""
        return current_user()
