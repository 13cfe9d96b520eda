"""The inspector registry (执法检查人员名录库) and declared conflicts of interest (回避)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inspect_core.db import Base, utcnow
from inspect_core.enterprises.models import Enterprise


class Inspector(Base):
    """Enforcement staff; ``qualifications`` are sector codes they may inspect."""

    __tablename__ = "inspectors"

    id: Mapped[int] = mapped_column(primary_key=True)
    badge: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(64), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    qualification_rows: Mapped[list[InspectorQualification]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="InspectorQualification.sector"
    )

    @property
    def qualifications(self) -> list[str]:
        return [row.sector for row in self.qualification_rows]


class InspectorQualification(Base):
    __tablename__ = "inspector_qualifications"

    inspector_id: Mapped[int] = mapped_column(
        ForeignKey("inspectors.id", ondelete="CASCADE"), primary_key=True
    )
    sector: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class ConflictOfInterest(Base):
    """An inspector must not be drawn for this enterprise (relative, interest, prior case)."""

    __tablename__ = "conflicts"
    __table_args__ = (UniqueConstraint("inspector_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("inspectors.id", ondelete="RESTRICT"))
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="RESTRICT"), index=True
    )
    reason: Mapped[str] = mapped_column(String(500))
    declared_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    declared_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    enterprise: Mapped[Enterprise] = relationship(lazy="joined")
