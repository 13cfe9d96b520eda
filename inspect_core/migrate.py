"""Run Alembic from code: ``inspect-core db upgrade`` and the tests use this, no ini needed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine

import migrations
from inspect_core.models import metadata


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    cfg.attributes["url"] = url
    return cfg


def _run(engine: Engine, action: Callable[[Config, str], None], revision: str) -> None:
    """Run ``action`` in one transaction.

    On SQLite foreign keys are off meanwhile and checked before the commit: rebuilding a
    table that others refer to (Alembic's batch mode) drops it first, which SQLite refuses
    while they are on.  That is SQLite's own procedure for schema changes, and the pragma
    is a no-op inside a transaction, so it is set on the raw connection before one starts.
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        raw = conn.connection.driver_connection
        if sqlite:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg = alembic_config(engine.url.render_as_string(hide_password=False))
                cfg.attributes["connection"] = conn
                action(cfg, revision)
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


def upgrade(engine: Engine, revision: str = "head") -> None:
    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    _run(engine, command.downgrade, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, read from it (None: never migrated), so the CLI
    reports where it is, not what was asked: an upgrade to an older revision changes
    nothing."""
    with engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    return ", ".join(heads) or None


def pending_diff(engine: Engine) -> list[object]:
    """What the models have that the migrated schema lacks (``alembic check``)."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, metadata))
