"""Credit ratings and tiers as the rest of the core reads them."""

from __future__ import annotations

from sqlalchemy.orm import Session


def current_tiers(session: Session, enterprise_ids: list[int], default: str) -> dict[int, str]:
    """Current tier per enterprise id (the current run: newest as_of); ``default`` otherwise."""
    from inspect_core.credit.ratings import current_tiers as read

    return read(session, enterprise_ids, default)
