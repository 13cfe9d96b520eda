"""The enterprise registry (检查对象名录库)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inspect_core.db import Base, utcnow

STATUSES: tuple[str, ...] = ("active", "suspended", "revoked", "deregistered")
STATUS_NAMES: dict[str, tuple[str, str]] = {
    "active": ("存续（在营）", "active"),
    "suspended": ("停业", "suspended"),
    "revoked": ("吊销", "licence revoked"),
    "deregistered": ("注销", "deregistered"),
}


class Enterprise(Base):
    """A market entity, keyed publicly by its USCC; ``id`` is the stable sort key."""

    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    established_on: Mapped[dt.date | None]
    licences: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    sector_rows: Mapped[list[EnterpriseSector]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="EnterpriseSector.sector"
    )

    @property
    def sectors(self) -> list[str]:
        return [row.sector for row in self.sector_rows]


class EnterpriseSector(Base):
    """Which sectors supervise an enterprise (a row each, so the filter uses an index)."""

    __tablename__ = "enterprise_sectors"

    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), primary_key=True
    )
    sector: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)
