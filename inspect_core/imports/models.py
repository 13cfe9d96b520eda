"""An uploaded file: stored with its SHA-256 before its rows are read."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from inspect_core.db import Base, utcnow

IMPORT_KINDS = ("results", "enterprises", "inspectors")
IMPORT_MODES = ("all_or_nothing", "partial")


class Import(Base):
    """One upload.  ``status``: received → done | rejected (all_or_nothing with bad rows,
    or a file-level error).  A retry with the same idempotency key and file reuses the row
    while the upload is unfinished; after a refusal of the whole file the key goes to a new
    row, which records the file really processed."""

    __tablename__ = "imports"
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    sector: Mapped[str | None] = mapped_column(String(40))
    mode: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    #: loaded only when asked for: the import's report and status never need the file
    raw: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(12), default="received")
    received: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    processed: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(String(500))
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
