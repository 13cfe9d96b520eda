"""Inspector registry and conflict declarations; owns each write's transaction."""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inspect_core.audit.service import record as audit
from inspect_core.auth.access import has_permission
from inspect_core.db import registry_lock
from inspect_core.enterprises.models import Enterprise
from inspect_core.errors import Conflict, Forbidden, NotFound, Unprocessable
from inspect_core.inspectors.models import ConflictOfInterest, Inspector, InspectorQualification
from inspect_core.pagination import decode_cursor, encode_cursor
from inspect_core.scope import check_region_writable, region_clause

CURSOR_KIND = "inspectors:id"


def _own_only(user: Any, badge: str, read_perm: str) -> None:
    """An inspector account acts only on its own badge."""
    if has_permission(user, read_perm):
        return
    if user.inspector_badge != badge:
        raise Forbidden(
            "inspectors may act only on their own record", message_zh="检查人员只能操作本人信息"
        )


def create(session: Session, user: Any, data: dict[str, Any]) -> Inspector:
    check_region_writable(user, data["region"])
    registry_lock(session, "inspectors", shared=True)  # not beside an upload's check
    if session.scalar(select(Inspector.id).where(Inspector.badge == data["badge"])) is not None:
        raise _badge_taken(data["badge"])
    inspector = Inspector(
        badge=data["badge"],
        name=data["name"],
        unit=data["unit"],
        region=data["region"],
        active=data.get("active", True),
        qualification_rows=[InspectorQualification(sector=s) for s in data["qualifications"]],
    )
    session.add(inspector)
    try:
        session.flush()
        audit(session, user, "inspector.create", "inspector", inspector.badge, data)
        session.commit()
    except IntegrityError:
        session.rollback()
        raise _badge_taken(data["badge"]) from None
    return inspector


def _badge_taken(badge: str) -> Conflict:
    """The 409 of a badge already registered, in both languages."""
    return Conflict(
        f"badge {badge} exists", {"badge": ["already registered"]}, message_zh="该检查员编号已登记"
    )


def get(session: Session, user: Any, badge: str) -> Inspector:
    _own_only(user, badge, "inspectors:read")
    inspector = session.scalar(
        select(Inspector).where(Inspector.badge == badge, region_clause(user, Inspector.region))
    )
    if inspector is None:
        raise NotFound(f"no inspector {badge}", message_zh="未找到该检查人员")
    return inspector


def update(session: Session, user: Any, badge: str, changes: dict[str, Any]) -> Inspector:
    inspector = get(session, user, badge)
    if "region" in changes:
        check_region_writable(user, changes["region"])
    for key in ("name", "unit", "region", "active"):
        if key in changes:
            setattr(inspector, key, changes[key])
    if "qualifications" in changes:
        inspector.qualification_rows = [
            InspectorQualification(sector=s) for s in changes["qualifications"]
        ]
    audit(session, user, "inspector.update", "inspector", inspector.badge, changes)
    session.commit()
    return inspector


def list_page(session: Session, user: Any, args: dict[str, Any]) -> dict[str, Any]:
    stmt = select(Inspector).where(region_clause(user, Inspector.region))
    if args.get("region"):
        stmt = stmt.where(Inspector.region == args["region"])
    if args.get("qualification"):
        stmt = stmt.where(
            exists().where(
                InspectorQualification.inspector_id == Inspector.id,
                InspectorQualification.sector == args["qualification"],
            )
        )
    if "active" in args:
        stmt = stmt.where(Inspector.active == args["active"])
    if args.get("q"):
        q = args["q"].strip()
        stmt = stmt.where(
            or_(
                # ILIKE on PostgreSQL, as for enterprise names (LIKE is case-sensitive
                # there); badges stay case-sensitive, as they are registered, and are
                # ASCII, so a badge typed full-width ("ＣＱ－００１") is folded to it
                Inspector.name.icontains(q, autoescape=True),
                Inspector.badge.startswith(unicodedata.normalize("NFKC", q), autoescape=True),
            )
        )
    if args.get("cursor"):
        (last_id,) = decode_cursor(CURSOR_KIND, args["cursor"], (int,))
        stmt = stmt.where(Inspector.id > last_id)
    limit = args["limit"]
    rows = list(session.scalars(stmt.order_by(Inspector.id).limit(limit + 1)))
    next_cursor = encode_cursor(CURSOR_KIND, [rows[limit - 1].id]) if len(rows) > limit else None
    return {"items": rows[:limit], "next_cursor": next_cursor}


def declare_conflict(
    session: Session, user: Any, badge: str, data: dict[str, Any]
) -> ConflictOfInterest:
    """Record a recusal; the enterprise must be registered, the pair declared once."""
    _own_only(user, badge, "conflicts:write")
    inspector = (
        get(session, user, badge)
        if has_permission(user, "inspectors:read")
        else (session.scalar(select(Inspector).where(Inspector.badge == badge)))
    )
    if inspector is None:
        raise NotFound(f"no inspector {badge}")
    # a scoped user names only enterprises in their regions (else it reads as unregistered)
    enterprise = session.scalar(
        select(Enterprise).where(
            Enterprise.uscc == data["uscc"], region_clause(user, Enterprise.region)
        )
    )
    if enterprise is None:
        raise Unprocessable(
            "unknown enterprise", {"uscc": [f"no enterprise {data['uscc']} is registered"]}
        )
    already = Conflict(
        "conflict already declared", {"uscc": ["already declared for this inspector"]}
    )
    duplicate = session.scalar(
        select(ConflictOfInterest.id).where(
            ConflictOfInterest.inspector_id == inspector.id,
            ConflictOfInterest.enterprise_id == enterprise.id,
        )
    )
    if duplicate is not None:
        raise already
    conflict = ConflictOfInterest(
        inspector_id=inspector.id,
        enterprise_id=enterprise.id,
        reason=data["reason"],
        declared_by=user.id,
        enterprise=enterprise,
    )
    session.add(conflict)
    try:
        session.flush()
    except IntegrityError:
        # the same pair declared twice at once (a double click): both found none, and the
        # second insert broke the unique pair, a 500 (PostgreSQL)
        session.rollback()
        raise already from None
    audit(
        session, user, "conflict.declare", "inspector", badge,
        {"uscc": enterprise.uscc, "reason": data["reason"]},
    )  # fmt: skip
    session.commit()
    return conflict


def list_conflicts(session: Session, user: Any, badge: str) -> list[ConflictOfInterest]:
    _own_only(user, badge, "conflicts:read")
    inspector = (
        get(session, user, badge)
        if has_permission(user, "inspectors:read")
        else session.scalar(select(Inspector).where(Inspector.badge == badge))
    )
    if inspector is None:
        raise NotFound(f"no inspector {badge}")
    return list(
        session.scalars(
            select(ConflictOfInterest)
            .join(Enterprise, Enterprise.id == ConflictOfInterest.enterprise_id)
            .where(
                ConflictOfInterest.inspector_id == inspector.id,
                region_clause(user, Enterprise.region),
            )
            .order_by(ConflictOfInterest.id)
        )
    )
