"""Region scoping: a scoped user sees and writes only their regions, filtered in SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, true
from sqlalchemy.orm import InstrumentedAttribute

from inspect_core.errors import Forbidden


def region_clause(user: Any, column: InstrumentedAttribute[str]) -> ColumnElement[bool]:
    """``column IN user.regions`` for a scoped user; always-true for a district-wide one."""
    regions = user.regions if user is not None else []
    if not regions:
        return true()
    return column.in_(regions)


def check_region_writable(user: Any, region: str, field: str = "region") -> None:
    """403 when a scoped user writes into a region outside their scope."""
    if user.regions and region not in user.regions:
        raise Forbidden(
            f"region '{region}' is outside your scope ({', '.join(user.regions)})",
            {field: [f"outside your scope: {', '.join(user.regions)}"]},
            message_zh="超出本账号的辖区范围",
        )
