"""Shared fixtures.

Sections: database (one migrated database per test session; each test inside an outer
transaction rolled back at the end), application, identities.  The database is a
temporary SQLite file unless ``INSPECT_TEST_DATABASE_URL`` names another (CI runs the
suite a second time against PostgreSQL).  Tests that use the database are marked ``db``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, create_engine, make_url, text

from inspect_core.app import create_app
from inspect_core.db import db, make_engine
from inspect_core.migrate import upgrade
from tests import factories

settings.register_profile("dev", max_examples=30, deadline=None)
settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

DB_FIXTURES = {
    "engine",
    "app",
    "app_factory",
    "client",
    "session",
    "identity",
    "district",
    "committed_app",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that reaches the database, so CI can rerun them on PostgreSQL."""
    for item in items:
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


# --- database --------------------------------------------------------------------------


def reset_database(engine: Engine) -> None:
    """Drop everything so migrations start from empty."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The database under test: ``INSPECT_TEST_DATABASE_URL`` or a fresh SQLite file."""
    url = os.environ.get("INSPECT_TEST_DATABASE_URL")
    if url:
        return worker_database(url, os.environ.get("PYTEST_XDIST_WORKER"))
    return f"sqlite:///{Path(tmp_path_factory.mktemp('db')) / 'test.sqlite3'}"


def worker_database(url: str, worker: str | None) -> str:
    """Under pytest-xdist, each worker's own database beside the one named (``test_gw0``
    for ``test``), created on first use: workers sharing one would drop each other's
    schema.  Without xdist, the database named."""
    if not worker or not url.startswith("postgresql"):
        return url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """Engine on a database migrated once, from empty to head, for the whole session."""
    eng = make_engine(database_url)
    reset_database(eng)
    upgrade(eng)
    yield eng
    eng.dispose()


# --- application -----------------------------------------------------------------------

TEST_CONFIG: dict[str, Any] = {
    "TESTING": True,
    "SECRET_KEY": "test-secret",
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 8,
    "ARGON2_PARALLELISM": 1,
    # the limiter stays on (each app counts in its own memory), its limits out of reach of
    # tests that log in, upload or export often; tests/api/test_rate_limits.py sets its own
    "RATELIMIT_LOGIN_PER_USERNAME_ADDRESS": "10000/minute",
    "RATELIMIT_LOGIN_PER_USERNAME": "10000/minute",
    "RATELIMIT_LOGIN_PER_ADDRESS": "10000/minute",
    "RATELIMIT_EXPORT_PER_USER": "10000/hour",
    "RATELIMIT_UPLOAD_PER_USER": "10000/hour",
    "RATELIMIT_RANKING_PER_USER": "10000/hour",
}


@pytest.fixture
def app_factory(engine: Engine, database_url: str) -> Iterator[Callable[..., Flask]]:
    """Build apps (extra config, extra plugin objects) whose sessions join one outer
    transaction that is rolled back after the test."""
    connection = engine.connect()
    outer = connection.begin()
    made: list[Flask] = []

    def make(plugins: tuple[Any, ...] = (), **config: Any) -> Flask:
        application = create_app(
            {**TEST_CONFIG, "DATABASE_URL": database_url, **config}, plugins=plugins
        )
        db.bind_to(application, connection)
        made.append(application)
        return application

    yield make
    outer.rollback()
    connection.close()
    for application in made:
        db.engine_for(application).dispose()


@pytest.fixture
def app(app_factory: Callable[..., Flask]) -> Flask:
    """The app with the default plugins, in the test's rolled-back transaction."""
    return app_factory()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Test client of :func:`app`."""
    return app.test_client()


@pytest.fixture
def session(app: Flask) -> Iterator[Any]:
    """A session in its own app context, in the same outer transaction as the requests."""
    with app.app_context():
        yield db.session


# --- identities ------------------------------------------------------------------------


def identities(app: Flask, client: FlaskClient, prefix: str = "") -> Callable[..., dict[str, str]]:
    """A maker of users with a role (and regions/badge) returning auth headers for each;
    for apps a test builds itself (``app_factory``) as well as the default one."""
    from inspect_core.auth import service

    counter = iter(range(10_000))

    def make(role: str, regions: tuple[str, ...] = (), badge: str | None = None) -> dict[str, str]:
        username = f"{role}-{prefix}{next(counter)}"
        with app.app_context():
            service.create_user(db.session, username, "correct horse", role, badge, regions)
            db.session.commit()
        response = client.post(
            "/api/v1/auth/token", json={"username": username, "password": "correct horse"}
        )
        assert response.status_code == 200, response.json
        return {"Authorization": f"Bearer {response.json['access_token']}"}

    return make


@pytest.fixture
def identity(app: Flask, client: FlaskClient) -> Callable[..., dict[str, str]]:
    """Create a user with a role (and regions/badge) and return auth headers for it."""
    return identities(app, client)


@pytest.fixture
def district(client, identity):
    """24 food enterprises, 8 food inspectors (one inactive), 2 drug inspectors."""
    admin = identity("admin")
    enterprises = []
    for i in range(24):
        body = factories.enterprise(region=factories.REGIONS[i % 2], sectors=["food"])
        assert client.post("/api/v1/enterprises", json=body, headers=admin).status_code == 201
        enterprises.append(body["uscc"])
    inspectors = []
    for i in range(10):
        quals = ["food"] if i < 8 else ["drugs"]
        body = factories.inspector(
            region=factories.REGIONS[i % 2], qualifications=quals, active=i != 7
        )
        assert client.post("/api/v1/inspectors", json=body, headers=admin).status_code == 201
        inspectors.append(body["badge"])
    return {"admin": admin, "enterprises": enterprises, "inspectors": inspectors}


@pytest.fixture
def committed_app(database_url):
    """An app on its own PostgreSQL schema whose transactions really commit."""
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (runs in CI's PostgreSQL pass)")
    schema = f"t_{uuid.uuid4().hex[:8]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{database_url}?options=-csearch_path%3D{schema}"
    app = create_app({**TEST_CONFIG, "DATABASE_URL": url})
    with app.app_context():
        upgrade(db.engine)
    yield app, admin
    db.engine_for(app).dispose()
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


# --- zh-CN ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _reasons_translated(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every field-level reason a test makes the API show has a zh-CN entry
    (``inspect_core.i18n``); a test of the English-only fallback opts out with
    ``@pytest.mark.untranslated``."""
    from inspect_core.testing import untranslated_reasons

    with untranslated_reasons() as missing:
        yield
    if missing and request.node.get_closest_marker("untranslated") is None:
        pytest.fail(f"reasons without a zh-CN entry: {sorted(set(missing))}", pytrace=False)


# --- Location ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _created_is_located() -> Iterator[None]:
    """Every 201 a test gets names what it created in ``Location`` (RELIABILITY.md §1.5):
    six endpoints answered 201 without one, so a client had to guess where to read the
    event, pool, disclosure or conflict it had just made."""
    from flask import request, request_finished

    missing: list[str] = []

    def check(sender: Flask, response: Any, **_: Any) -> None:
        if response.status_code == 201 and "Location" not in response.headers:
            missing.append(f"{request.method} {request.url_rule}")

    request_finished.connect(check)
    try:
        yield
    finally:
        request_finished.disconnect(check)
    if missing:
        pytest.fail(f"201 without Location: {sorted(set(missing))}", pytrace=False)
