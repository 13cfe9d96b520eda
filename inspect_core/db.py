"""Database plumbing: the declarative ``Base``, the engine and the per-request session.

The session is a plain SQLAlchemy 2 ``Session`` created lazily per app context and
closed on teardown.  Services own the transaction (``with db.begin():`` style is
not used because the session runs with ``autobegin``; services call ``commit``).
Tests may bind the session to an outer connection in a transaction and roll it back.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import orjson
from flask import Flask, current_app, g, has_request_context
from sqlalchemy import JSON, DateTime, Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware datetimes stored as UTC on every backend (SQLite drops tzinfo)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware one (UTC)")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """One metadata for every table, with a naming convention Alembic can diff."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON()}


def utcnow() -> dt.datetime:
    """Aware 'now' in UTC, the only clock models use."""
    return dt.datetime.now(dt.UTC)


_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def json_default(value: Any) -> Any:
    """Decimals as their exact text, as everywhere JSON columns hold them."""
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_dumps(value: Any) -> str:
    """JSON text of a column value: orjson (UTF-8 kept, several times faster than
    ``json.dumps``), shared by the ORM and bulk uploads' COPY so both store the same text.

    Dates become ISO text and dataclasses objects of their fields in order, so a plugin's
    ``Judgement`` encodes to the same text as ``judgement_json`` of it."""
    return json_bytes(value).decode()


def json_bytes(value: Any) -> bytes:
    """:func:`json_dumps` as UTF-8 bytes (bulk uploads' COPY text is bytes)."""
    return orjson.dumps(value, default=json_default, option=_ORJSON_OPTIONS)


#: pg_advisory_xact_lock(class, key) of the imports and registries; the two-key space is
#: not the audit chain's one-key space
_LOCK_CLASS = 0x1A5D


def xact_lock(session: Session, name: str, shared: bool = False) -> None:
    """PostgreSQL: hold the lock ``name`` until the transaction commits or rolls back
    (``shared``: held by many at once, but not beside the exclusive one).  SQLite's
    writers already queue for the database (``BEGIN IMMEDIATE``)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    call = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    session.execute(
        text(f"SELECT {call}(:cls, hashtext(:name))"), {"cls": _LOCK_CLASS, "name": name}
    )


def registry_lock(session: Session, kind: str, shared: bool = False) -> None:
    """The lock of the registry ``kind`` (``enterprises``, ``inspectors``), taken before
    looking for a duplicate code: a registry upload (exclusive) checks its codes and
    inserts them under it, so a single create (shared; creates may run beside each other)
    cannot insert a code the upload found free, nor the reverse (the unique index, a 500)."""
    xact_lock(session, f"{kind}:{kind}", shared)


def json_loads(text: str | bytes) -> Any:
    """A JSON column's value: orjson (several times faster than ``json.loads``; a ranked
    page decodes fifty reason lists), ``json.loads`` for what orjson refuses — the
    ``NaN``/``Infinity`` that ``json.dumps`` wrote before orjson became the serializer."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def make_engine(url: str, echo: bool = False) -> Engine:
    """Engine with the per-backend settings the service relies on."""
    kwargs: dict[str, Any] = {
        "echo": echo,
        "future": True,
        "json_serializer": json_dumps,
        "json_deserializer": json_loads,
    }
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        # pysqlite's own transaction handling breaks SAVEPOINT and transactional DDL;
        # SQLAlchemy's documented recipe: let SQLAlchemy emit BEGIN itself.
        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        # IMMEDIATE takes the write lock up front: a transaction that reads, then writes
        # after another writer committed, would otherwise fail with "database is locked"
        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """Flask extension holding the engine; sessions live on ``flask.g``."""

    def init_app(self, app: Flask, url: str) -> None:
        engine = make_engine(url, echo=bool(app.config.get("DATABASE_ECHO")))
        app.extensions["inspect_db"] = {
            "engine": engine,
            "bind": engine,
            "factory": sessionmaker(bind=engine, expire_on_commit=False),
        }
        app.teardown_appcontext(self._teardown)
        if engine.dialect.name == "postgresql":
            config = app.config

            # a request's statements are bounded (OWASP API4): one runaway query, a filter
            # no index serves, would hold a connection and a CPU for as long as it ran.
            # Only in requests: the CLI's jobs (score run, demo load) may run long
            @event.listens_for(engine, "begin")
            def _request_statement_timeout(conn: Any) -> None:
                limit = int(config.get("STATEMENT_TIMEOUT_MS") or 0)
                if limit and has_request_context():
                    conn.exec_driver_sql(f"SET LOCAL statement_timeout = {limit}")

    @staticmethod
    def _state(app: Flask | None = None) -> dict[str, Any]:
        return (app or current_app).extensions["inspect_db"]

    def engine_for(self, app: Flask | None = None) -> Engine:
        return self._state(app)["engine"]

    @property
    def engine(self) -> Engine:
        return self._state()["engine"]

    @property
    def session(self) -> Session:
        """The app context's session, created on first use."""
        if "inspect_session" not in g:
            g.inspect_session = self._state()["factory"]()
        return g.inspect_session

    def bind_to(self, app: Flask, connection: Connection | Engine) -> None:
        """Make new sessions use ``connection`` (tests: an outer transaction with savepoints)."""
        state = self._state(app)
        state["bind"] = connection
        if isinstance(connection, Connection):
            state["factory"] = sessionmaker(
                bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
            )
        else:
            state["factory"] = sessionmaker(bind=connection, expire_on_commit=False)

    @contextmanager
    def new_session(self, app: Flask | None = None) -> Iterator[Session]:
        """A session outside the request (CLI, jobs); closed at exit."""
        session = self._state(app)["factory"]()
        try:
            yield session
        finally:
            session.close()

    @staticmethod
    def _teardown(_exc: BaseException | None) -> None:
        session = g.pop("inspect_session", None)
        if session is not None:
            try:
                session.close()
            except Exception:  # noqa: BLE001 - a dead connection must not fail the response
                logging.getLogger(__name__).warning("closing a broken session", exc_info=True)


db = Database()
