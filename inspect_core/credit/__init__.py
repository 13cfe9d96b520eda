"""Credit ratings and tiers as the rest of the core reads them."""

from __future__ import annotations

from sqlalchemy.orm import Session


def current_tiers(session: Session, enterprise_ids: list[int], default: str) -> dict[int, str]:
    """Current tier per enterprise id.  No scoring run has rated anyone yet: every
    enterprise is ``default`` (DOMAIN.md §2: no history → B)."""
    return dict.fromkeys(enterprise_ids, default)
