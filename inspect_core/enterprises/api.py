"""``/api/v1/enterprises``: HTTP only; rules live in the service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import request, url_for
from flask.views import MethodView

from inspect_core.auth.access import current_user, has_permission, require
from inspect_core.blueprint import Blueprint
from inspect_core.db import db
from inspect_core.enterprises import service
from inspect_core.enterprises.schemas import (
    EnterpriseCreateSchema,
    EnterpriseListArgsSchema,
    EnterprisePageSchema,
    EnterprisePatchSchema,
    EnterpriseSchema,
)
from inspect_core.errors import Forbidden
from inspect_core.ratelimit import RANKING, rate_limited

blp = Blueprint(
    "enterprises",
    __name__,
    url_prefix="/api/v1/enterprises",
    description="Enterprise registry (检查对象名录库)",
)


def asks_for_ranking(args: Mapping[str, Any]) -> bool:
    """Whether a list request reads the risk ranking (``order=risk``, or a tier or run
    filter, which only the ranking has)."""
    return args.get("order") == "risk" or bool(args.get("tier")) or bool(args.get("run"))


def _ranking_read() -> bool:
    """The list request is a page of the ranking, by a caller who may read it: counted
    in the account's ranking quota (any other is a plain list, or a 403)."""
    return asks_for_ranking(request.args) and has_permission(current_user(), "rankings:read")


@blp.route("")
class EnterprisesView(MethodView):
    @require("enterprises:read")
    @rate_limited(RANKING, when=_ranking_read)
    @blp.arguments(EnterpriseListArgsSchema, location="query")
    @blp.response(200, EnterprisePageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List enterprises in your scope, filtered, keyset-paginated by ``cursor``.

        ``order=risk`` (regulators) lists them riskiest first — tier D, C, B, then A (an
        enterprise on the serious-dishonesty list is D whatever its score), and within a
        tier the lowest credit score — with score, tier, probability and reasons, from one
        fixed scoring run: a rescore never reshuffles a list being read.
        """
        user = current_user()
        if asks_for_ranking(args):
            if not has_permission(user, "rankings:read"):
                raise Forbidden(
                    "the risk-ranked list is for regulators", message_zh="风险排序仅限监管人员"
                )
            from inspect_core.credit.ratings import ranked_page
            from inspect_core.responses import json_response

            # plain JSON built from the schema's fields: sent as is (see responses.py)
            return json_response(ranked_page(db.session, user, args))
        return service.list_page(db.session, user, args)

    @require("enterprises:write")
    @blp.arguments(EnterpriseCreateSchema)
    @blp.response(201, EnterpriseSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Register an enterprise; its USCC is checked against GB 32100."""
        enterprise = service.create(db.session, current_user(), data)
        return (
            enterprise,
            201,
            {"Location": url_for("enterprises.EnterpriseView", uscc=enterprise.uscc)},
        )


@blp.route("/<uscc:uscc>")
class EnterpriseView(MethodView):
    @require("enterprises:read")
    @blp.response(200, EnterpriseSchema)
    def get(self, uscc: str) -> Any:
        """One enterprise; 404 if it does not exist or is outside your scope."""
        return service.get(db.session, current_user(), uscc)

    @require("enterprises:write")
    @blp.arguments(EnterprisePatchSchema)
    @blp.response(200, EnterpriseSchema)
    def patch(self, changes: dict[str, Any], uscc: str) -> Any:
        """Change registry fields (not the USCC)."""
        return service.update(db.session, current_user(), uscc, changes)
