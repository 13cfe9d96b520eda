"""Plans (抽查计划), frozen pool snapshots, draws, and the tasks a draw creates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inspect_core.db import Base, utcnow
from inspect_core.enterprises.models import Enterprise
from inspect_core.inspectors.models import Inspector

PLAN_STATUSES: tuple[str, ...] = ("draft", "drawn", "published", "closed")
#: what the public sees: these plans, their draws and snapshots, and results disclosed under them
PUBLIC_PLAN_STATUSES: tuple[str, ...] = ("published", "closed")


class Plan(Base):
    """A spot-check plan over one sector; a joint multi-sector check is several plans."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    issuing_unit: Mapped[str] = mapped_column(String(200))
    sector: Mapped[str] = mapped_column(String(40), index=True)
    check_items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    scope_regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    scope_statuses: Mapped[list[str]] = mapped_column(JSON, default=list)
    ratios: Mapped[dict[str, str]] = mapped_column(JSON)
    inspectors_per_task: Mapped[int] = mapped_column(default=2)
    due_date: Mapped[dt.date]
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    published_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]


class PoolSnapshot(Base):
    """The object and inspector pools frozen for a plan, published before any seed exists."""

    __tablename__ = "pool_snapshots"
    __table_args__ = (UniqueConstraint("plan_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    seq: Mapped[int]
    pool_hash: Mapped[str] = mapped_column(String(64))
    algorithm_version: Mapped[str] = mapped_column(String(20))
    #: zlib-compressed canonical snapshot bytes (``draw.canonical_pool``)
    snapshot: Mapped[bytes] = mapped_column(LargeBinary)
    enterprises: Mapped[int]
    inspectors: Mapped[int]
    frozen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    frozen_by: Mapped[str] = mapped_column(String(64))


class Draw(Base):
    """One run of the draw.  A re-draw adds a row with a reason; the latest ``seq`` is current."""

    __tablename__ = "draws"
    __table_args__ = (UniqueConstraint("plan_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("pool_snapshots.id"))
    seq: Mapped[int]
    seed: Mapped[str] = mapped_column(String(40))  # a 128-bit integer in decimal
    seed_kind: Mapped[str] = mapped_column(String(10))  # public | explicit (tests, simulations)
    public_value: Mapped[str | None] = mapped_column(String(200))
    public_source: Mapped[str | None] = mapped_column(String(300))
    public_drawn_at: Mapped[dt.datetime | None]
    algorithm_version: Mapped[str] = mapped_column(String(20))
    pool_hash: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    tiers: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    workload_cap: Mapped[int]
    reason: Mapped[str | None] = mapped_column(Text)
    drawn_by: Mapped[str] = mapped_column(String(64))
    drawn_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    snapshot_row: Mapped[PoolSnapshot] = relationship(lazy="select")


class Task(Base):
    """An enterprise to check under a draw, with its inspectors."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("draw_id", "enterprise_id"),
        # what a result's one foreign key refers to (migration 0007)
        Index("uq_tasks_id_plan_id_enterprise_id", "id", "plan_id", "enterprise_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("draws.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    due_date: Mapped[dt.date]
    #: open → done when a result is recorded; superseded by a re-draw
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    enterprise: Mapped[Enterprise] = relationship(lazy="joined")
    plan: Mapped[Plan] = relationship(lazy="joined")
    assignments: Mapped[list[TaskAssignment]] = relationship(
        lazy="selectin", order_by="TaskAssignment.id"
    )

    @property
    def inspectors(self) -> list[str]:
        """Badges currently on the task."""
        return [a.inspector.badge for a in self.assignments if a.released_at is None]


class TaskAssignment(Base):
    """An inspector on a task; a recusal releases the row (kept) and adds the replacement."""

    __tablename__ = "task_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("inspectors.id"), index=True)
    assigned_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    how: Mapped[str] = mapped_column(String(12), default="draw")  # draw | reassign
    released_at: Mapped[dt.datetime | None]
    release_reason: Mapped[str | None] = mapped_column(Text)

    inspector: Mapped[Inspector] = relationship(lazy="joined")
