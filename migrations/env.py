"""Alembic environment: imports the metadata without booting Flask (warehouse's way)."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import context
from sqlalchemy import engine_from_config, pool

from inspect_core.models import metadata

config = context.config

#: pg_advisory_xact_lock key held while migrations run (the audit chain's is 0x1A5D17)
MIGRATION_LOCK_KEY = 0x1A5D1A


def _url() -> str:
    url = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    if url:
        return url
    if os.environ.get("INSPECT_DATABASE_URL"):
        return os.environ["INSPECT_DATABASE_URL"]
    return f"sqlite:///{Path('instance') / 'inspect_core.sqlite3'}"


def run_migrations_offline() -> None:
    context.configure(
        url=_url(), target_metadata=metadata, literal_binds=True, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = engine_from_config(
        {"sqlalchemy.url": _url()}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as conn:
        _run(conn)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # two upgrades at once (hosts starting a release): the second waits here until
            # the first commits, then reads the version it left.  Without the lock it read
            # the old version and failed on a table the first had made meanwhile.  (SQLite's
            # BEGIN IMMEDIATE, from inspect_core.db, already queues them.)
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
