"""The enterprise registry (检查对象名录库)."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from inspect_core.db import Base, utcnow

STATUSES: tuple[str, ...] = ("active", "suspended", "revoked", "deregistered")
STATUS_NAMES: dict[str, tuple[str, str]] = {
    "active": ("存续（在营）", "active"),
    "suspended": ("停业", "suspended"),
    "revoked": ("吊销", "licence revoked"),
    "deregistered": ("注销", "deregistered"),
}


def search_text(text: str) -> str:
    """``text`` as the name search compares it: NFKC, so full-width letters, digits and
    brackets match their half-width forms (a registered "重庆ＡＢＣ餐饮（渝中店）" is
    found by ``q=abc餐饮`` or ``q=(渝中店)``, typed with the input method in either mode)."""
    return unicodedata.normalize("NFKC", text)


def _search_name_default(context: DefaultExecutionContext) -> str:
    """For a Core ``insert(Enterprise)`` (the bulk registry upload) that names no
    ``search_name``: the one its row's ``name`` gives."""
    return search_text(context.get_current_parameters()["name"])


class Enterprise(Base):
    """A market entity, keyed publicly by its USCC; ``id`` is the stable sort key."""

    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: ``name`` through :func:`search_text`, which ``q`` is matched against; kept beside
    #: the name as registered (shown and disclosed unchanged).  Text: NFKC can lengthen
    #: a name ("㈱" is "(株)").  Set by :meth:`_keep_search_name` for the ORM and by
    #: :func:`_search_name_default` for Core inserts; a Core or bulk ``UPDATE`` of
    #: ``name`` (none today) must set it too, as raw SQL must (see ``simulate.py``).
    search_name: Mapped[str] = mapped_column(Text, default=_search_name_default)
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

    @validates("name")
    def _keep_search_name(self, _key: str, name: str) -> str:
        """A new or renamed enterprise is searched by its new name."""
        self.search_name = search_text(name)
        return name


class EnterpriseSector(Base):
    """Which sectors supervise an enterprise (a row each, so the filter uses an index)."""

    __tablename__ = "enterprise_sectors"

    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), primary_key=True
    )
    sector: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)
