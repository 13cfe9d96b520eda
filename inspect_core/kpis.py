"""Programme KPIs (质量强区): sampling pass rates per sector against configured targets.

A pass rate counts the current version of every judged result (``passed`` true or false;
"not inspected" outcomes are left out) inspected in the year.  Targets and the result
subsets behind each line are configuration (``KPI_TARGETS``), since they are the
district's programme, not a national constant.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import Any

from flask import current_app
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session, aliased

from inspect_core.auth.access import current_user, require
from inspect_core.blueprint import Blueprint
from inspect_core.db import db
from inspect_core.enterprises.models import Enterprise
from inspect_core.results.models import Result
from inspect_core.scope import region_clause


def meets_target(passed: int, total: int, target: float) -> bool | None:
    """Whether ``passed / total`` reaches ``target`` percent, compared exactly.

    The displayed rate is rounded to two places; judging on it would let 109/111
    (98.198 %) "meet" a 98.2 % target.  The target is read as the decimal it was written
    as (``98.2``), not as its binary float."""
    if not total:
        return None
    return Fraction(100 * passed, total) >= Fraction(Decimal(str(target)))


def kpis(session: Session, user: Any, year: int) -> list[dict[str, Any]]:
    newer = aliased(Result)
    start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    out = []
    for line in current_app.config["KPI_TARGETS"]:
        conditions = [
            Result.sector == line["sector"],
            Result.inspected_on >= start,
            Result.inspected_on < end,
            Result.passed.is_not(None),
            ~exists().where(newer.supersedes_id == Result.id),
            region_clause(user, Enterprise.region),
        ]
        where = line.get("where")
        if where:
            element = (
                Result.payload[tuple(where["path"])]
                if len(where["path"]) > 1
                else Result.payload[where["path"][0]]
            )
            if "equals" in where:
                conditions.append(element.as_string() == where["equals"])
            if where.get("present"):
                conditions.append(element.as_string().is_not(None))
        total, passed = session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((Result.passed.is_(True), 1), else_=0)), 0),
            )
            .select_from(Result)
            .join(Enterprise, Enterprise.id == Result.enterprise_id)
            .where(and_(*conditions))
        ).one()
        rate = round(100.0 * passed / total, 2) if total else None  # for display only
        out.append(
            {
                "key": line["key"],
                "name_zh": line["name_zh"],
                "name_en": line["name_en"],
                "sector": line["sector"],
                "samples": total,
                "passed": int(passed),
                "pass_rate": rate,
                "target": line["target"],
                "meets_target": meets_target(int(passed), total, line["target"]),
            }
        )
    return out


blp = Blueprint("kpis", __name__, url_prefix="/api/v1/kpis", description="Programme KPIs")


class KpiArgsSchema(Schema):
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))


class KpiSchema(Schema):
    key = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    sector = fields.String()
    samples = fields.Integer()
    passed = fields.Integer()
    pass_rate = fields.Float(allow_none=True, metadata={"description": "percent"})
    target = fields.Float(metadata={"description": "percent"})
    meets_target = fields.Boolean(allow_none=True)


class KpiListSchema(Schema):
    year = fields.Integer()
    items = fields.List(fields.Nested(KpiSchema))


@blp.route("")
class KpiView(MethodView):
    @require("kpis:read")
    @blp.arguments(KpiArgsSchema, location="query")
    @blp.response(200, KpiListSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Sampling pass rates per programme line in ``year`` against their targets."""
        return {"year": args["year"], "items": kpis(db.session, current_user(), args["year"])}
