"""Users, their region scopes and their API tokens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inspect_core.db import Base, utcnow

ROLES: tuple[str, ...] = ("admin", "regulator", "inspector", "sector_admin")


class User(Base):
    """An account.  ``regions`` empty means district-wide; otherwise the user sees only those."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    inspector_badge: Mapped[str | None] = mapped_column(
        ForeignKey("inspectors.badge", ondelete="RESTRICT")
    )
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    region_rows: Mapped[list[UserRegion]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserRegion.region"
    )

    @property
    def regions(self) -> list[str]:
        return [r.region for r in self.region_rows]


class UserRegion(Base):
    """One region (street/town office) a user is scoped to."""

    __tablename__ = "user_regions"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    region: Mapped[str] = mapped_column(String(64), primary_key=True)


class ApiToken(Base):
    """A bearer token, stored only as its SHA-256 so a database leak leaks no tokens."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship(lazy="joined")
