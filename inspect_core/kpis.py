"""Programme KPIs (质量强区): sampling pass rates per sector against configured targets.

A pass rate counts the current version of every judged result (``passed`` true or false;
"not inspected" outcomes are left out) inspected in the year.  Targets and the result
subsets behind each line are configuration (``KPI_TARGETS``), since they are the
district's programme, not a national constant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
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


#: what a KPI line holds (``where`` optional)
LINE_KEYS = ("key", "sector", "target", "name_zh", "name_en", "where")
WHERE_KEYS = ("path", "equals", "present")


def _line_problems(line: Any) -> list[str]:
    """What is wrong with one KPI line, if anything."""
    if not isinstance(line, Mapping):
        return ["not an object"]
    problems = [f"unknown setting {k!r}" for k in line if k not in LINE_KEYS]
    for name in ("key", "name_zh", "name_en"):
        if not isinstance(line.get(name), str) or not line[name].strip():
            problems.append(f"{name} must be a non-empty string")
    if not isinstance(line.get("sector"), str) or not line["sector"]:
        problems.append("sector must be a sector code")
    target = line.get("target")
    if isinstance(target, bool) or not isinstance(target, int | float) or not 0 <= target <= 100:
        problems.append(f"target {target!r} must be a percentage from 0 to 100")
    where = line.get("where")
    if where is None:
        return problems
    if not isinstance(where, Mapping):
        return [*problems, "where must be an object"]
    problems += [f"unknown setting 'where.{k}'" for k in where if k not in WHERE_KEYS]
    path = where.get("path")
    if not isinstance(path, list) or not path or not all(isinstance(p, str) and p for p in path):
        problems.append("where.path must be a non-empty list of payload keys")
    equals = isinstance(where.get("equals"), str) and "present" not in where
    present = where.get("present") is True and "equals" not in where
    if not (equals or present):
        problems.append("where needs either equals (a string) or present: true")
    return problems


def check_targets(config: Mapping[str, Any]) -> None:
    """Refuse bad KPI lines when the app starts (ValueError naming each): a line with a
    typo answered every KPI request with a 500, or, with ``where.equal`` for ``equals``,
    counted the whole sector as one stage.  A sector outside the catalogue is not refused:
    a district that trims SECTORS keeps the default lines, which show no samples."""
    lines = config.get("KPI_TARGETS")
    if not isinstance(lines, list):
        errors = ["must be a list of lines"]
    else:
        errors = [
            f"line {i}: {'; '.join(problems)}"
            for i, line in enumerate(lines)
            if (problems := _line_problems(line))
        ]
        keys = [line.get("key") for line in lines if isinstance(line, Mapping)]
        twice = {k for k in keys if isinstance(k, str) and keys.count(k) > 1}
        errors += [f"key {k!r} is used twice" for k in sorted(twice)]
    if errors:
        raise ValueError(
            f"KPI_TARGETS (INSPECT_KPI_TARGETS): {'; '.join(errors)} — each line has key, "
            "sector, target (percent), name_zh and name_en, and optionally where {path, "
            "equals | present} / 质量强区指标设置有误：每项须有 key、sector、target（百分比）、"
            "name_zh 与 name_en，可选 where"
        )


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
    year = fields.Integer(
        required=True,
        validate=validate.Range(min=2000, max=2100),
        metadata={
            "description": "calendar year of the results' inspection day (inspected_on, "
            "China time), not of their recording; a correction keeps its result's day"
        },
    )


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
