"""Migrations: one head, empty → head → base → head, and the models match the schema."""

from __future__ import annotations

import threading
import time
import unicodedata
import uuid
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.pool import NullPool

from inspect_core.app import create_app
from inspect_core.db import db, make_engine
from inspect_core.migrate import alembic_config, downgrade, pending_diff, upgrade
from inspect_core.models import metadata
from tests.conftest import TEST_CONFIG


def test_single_head():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


@pytest.fixture
def empty_engine(database_url, tmp_path: Path):
    """A database with nothing in it: a new SQLite file, or a new PostgreSQL schema."""
    if database_url.startswith("sqlite"):
        eng = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
        yield eng
        eng.dispose()
        return
    schema = f"mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(database_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    eng = create_engine(database_url, connect_args={"options": f"-csearch_path={schema}"})
    yield eng
    eng.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.mark.db
def test_upgrade_from_empty_matches_models_and_round_trips(empty_engine):
    assert inspect(empty_engine).get_table_names() == []
    upgrade(empty_engine)
    tables = set(inspect(empty_engine).get_table_names()) - {"alembic_version"}
    assert tables == set(metadata.tables)
    assert pending_diff(empty_engine) == []
    downgrade(empty_engine, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    upgrade(empty_engine)
    assert pending_diff(empty_engine) == []


@pytest.mark.db
def test_check_notices_a_model_the_migrations_lack(empty_engine):
    """The check is not vacuous: a table missing from the schema is reported."""
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(text("DROP TABLE user_regions"))
    assert any("user_regions" in str(item) for item in pending_diff(empty_engine))


@pytest.mark.db
def test_0013_fills_search_name_for_every_registered_enterprise(empty_engine):
    """The names registered before 0013 are searchable after it: each row's
    ``search_name`` is its name NFKC, across more than one fill batch, and the names
    themselves are untouched.  On PostgreSQL the column keeps no default, so a write
    that forgets it fails instead of storing an unsearchable name."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    batch = script.get_revision("0013").module.BATCH
    upgrade(empty_engine, "0012")
    names = ["重庆ＡＢＣ餐饮（渝中店）", "重庆XYZ食品(南坪店)", "㈱重庆甲乙"]
    rows = [{"u": f"U{i:017d}", "n": f"{names[i % 3]}{i}", "r": "华岩镇"} for i in range(batch + 5)]
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO enterprises (uscc, name, region, address, status, licences, "
                "created_at, updated_at) VALUES (:u, :n, :r, '', 'active', '[]', "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            rows,
        )
    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        stored = conn.execute(
            text("SELECT uscc, name, search_name FROM enterprises ORDER BY id")
        ).all()
    assert sorted(stored) == sorted(
        (r["u"], r["n"], unicodedata.normalize("NFKC", r["n"])) for r in rows
    )
    assert stored[0][2] != stored[0][1]  # not vacuous: the first name has full-width forms
    assert ("U00000000000000002", "㈱重庆甲乙2", "(株)重庆甲乙2") in stored
    column = next(
        c for c in inspect(empty_engine).get_columns("enterprises") if c["name"] == "search_name"
    )
    assert column["nullable"] is False
    if empty_engine.dialect.name == "postgresql":
        assert column["default"] is None
    downgrade(empty_engine, "0012")
    columns = {c["name"] for c in inspect(empty_engine).get_columns("enterprises")}
    assert "search_name" not in columns and "name" in columns


def _blocked_or_done(engine, worker: threading.Thread) -> None:
    """Until ``worker`` waits on a lock the first migration holds (PostgreSQL: a backend of
    this database waiting on a lock; SQLite: its BEGIN IMMEDIATE, which nothing shows, so a moment) or is done."""
    if engine.dialect.name != "postgresql":
        worker.join(0.5)
        return
    deadline = time.monotonic() + 20
    probe = create_engine(engine.url, poolclass=NullPool)
    try:
        while worker.is_alive() and time.monotonic() < deadline:
            with probe.connect() as conn:
                waiting = text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                if conn.scalar(waiting):
                    return
            time.sleep(0.05)
    finally:
        probe.dispose()


@pytest.mark.db
def test_two_upgrades_at_once_leave_one_to_migrate_and_the_other_to_find_head(empty_engine):
    """Two `db upgrade`s at once (two hosts starting a release): the second waits for the
    first's commit, then finds the schema at head.  It read the version before the first
    committed and failed on a table or index the first had made meanwhile."""
    second: list[BaseException | None] = []

    def run_second() -> None:
        try:
            upgrade(empty_engine)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            second.append(exc)
        else:
            second.append(None)

    worker = threading.Thread(target=run_second)

    def before_first_commit(_conn) -> None:
        if worker.ident is None:  # the first commit only, not the second upgrade's
            worker.start()
            _blocked_or_done(empty_engine, worker)

    event.listen(empty_engine, "commit", before_first_commit)
    try:
        upgrade(empty_engine)
        worker.join(60)
    finally:
        event.remove(empty_engine, "commit", before_first_commit)
    assert second == [None]
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    with empty_engine.connect() as conn:
        assert conn.scalars(text("SELECT version_num FROM alembic_version")).all() == [head]
    assert pending_diff(empty_engine) == []


@pytest.fixture
def empty_app(database_url, tmp_path: Path):
    """An app on a database with nothing in it (a new SQLite file, or a new PostgreSQL
    schema), for the ``db`` commands."""
    if database_url.startswith("sqlite"):
        app = create_app({**TEST_CONFIG, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"})
        yield app
        db.engine_for(app).dispose()
        return
    schema = f"cli_{uuid.uuid4().hex[:8]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    app = create_app(
        {**TEST_CONFIG, "DATABASE_URL": f"{database_url}?options=-csearch_path%3D{schema}"}
    )
    yield app
    db.engine_for(app).dispose()
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.mark.db
def test_db_commands_name_the_revision_the_database_is_at_and_refuse_an_unknown_one(empty_app):
    """`db upgrade 0005` on a database at head said "database at 0005", which it was not
    (an upgrade to an older revision changes nothing), and a mistyped revision was a
    traceback.  Each command now names the revision read from the database, and an
    unknown one is a one-line error that changes nothing."""
    runner = empty_app.test_cli_runner()
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    upgraded = runner.invoke(args=["db", "upgrade"])
    assert upgraded.exit_code == 0 and f"database at {head}:" in upgraded.output
    older = runner.invoke(args=["db", "upgrade", "0005"])
    assert older.exit_code == 0 and f"database at {head}:" in older.output, older.output
    for command in ("upgrade", "downgrade"):
        unknown = runner.invoke(args=["db", command, "9999"])
        assert unknown.exit_code == 1, unknown.output
        assert "Error: Can't locate revision identified by '9999'" in unknown.output
        assert "the database was not changed" in unknown.output
    down = runner.invoke(args=["db", "downgrade", "0010"])
    assert down.exit_code == 0 and "database at 0010:" in down.output, down.output
    assert runner.invoke(args=["db", "upgrade"]).output.startswith(f"database at {head}:")
    with empty_app.app_context(), db.engine.connect() as conn:
        assert conn.scalars(text("SELECT version_num FROM alembic_version")).all() == [head]
