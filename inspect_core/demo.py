"""The demo district: registries, one account per role, printed credentials.

Loading is idempotent: a database that already has the demo users is left as it is,
so ``make demo`` can be run again without duplicating anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from inspect_core.auth.models import User
from inspect_core.auth.service import create_user
from inspect_core.db import db
from inspect_core.inspectors.models import Inspector
from inspect_core.simulate import simulate


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    badge: str | None = None
    regions: tuple[str, ...] = ()


def demo_accounts(first_badge: str) -> list[DemoAccount]:
    return [
        DemoAccount("admin", "demo-admin-pass", "admin"),
        DemoAccount("regulator", "demo-regulator-pass", "regulator"),
        DemoAccount("huayan", "demo-huayan-pass", "regulator", regions=("华岩镇",)),
        DemoAccount("inspector", "demo-inspector-pass", "inspector", badge=first_badge),
        DemoAccount("food_team", "demo-sector-pass", "sector_admin"),
    ]


def load_demo(n_enterprises: int, n_inspectors: int, seed: int) -> tuple[bool, list[DemoAccount]]:
    """Fill an empty database; returns (loaded_now, accounts)."""
    session = db.session
    if session.scalar(select(User.id).where(User.username == "admin")) is not None:
        badge = session.scalar(select(User.inspector_badge).where(User.username == "inspector"))
        return False, demo_accounts(badge or "")
    simulate(db.engine, n_enterprises, n_inspectors, seed, progress=False)
    badge = session.scalar(select(Inspector.badge).where(Inspector.active).order_by(Inspector.id))
    accounts = demo_accounts(badge or "")
    for account in accounts:
        create_user(
            session, account.username, account.password, account.role, account.badge,
            account.regions,
        )  # fmt: skip
    session.commit()
    return True, accounts
