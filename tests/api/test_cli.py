"""The CLI: users, simulate, demo, plugins (run against the test database)."""

from __future__ import annotations

from sqlalchemy import func, select

from inspect_core.auth.models import User
from inspect_core.db import db
from inspect_core.enterprises.models import Enterprise, EnterpriseSector
from inspect_core.inspectors.models import Inspector


def test_users_create_scoped_and_log_in(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["users", "create", "street1", "--role", "regulator", "--region", "华岩镇",
              "--password", "long enough pw"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "华岩镇" in result.output
    token = client.post(
        "/api/v1/auth/token", json={"username": "street1", "password": "long enough pw"}
    )
    assert token.status_code == 200
    me = client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {token.json['access_token']}"}
    )
    assert me.json["regions"] == ["华岩镇"]


def test_users_create_refuses_bad_role_and_short_password(app):
    runner = app.test_cli_runner()
    bad_role = runner.invoke(args=["users", "create", "x", "--role", "god", "--password", "x" * 10])
    assert bad_role.exit_code != 0
    short = runner.invoke(args=["users", "create", "y", "--role", "admin", "--password", "short"])
    assert short.exit_code != 0
    assert "password" in short.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(User.username.in_(["x", "y"]))) == 0


def test_simulate_command_inserts_rows(app, engine, tmp_path):
    """The command on its own database file: counts, sectors, inspectors with qualifications."""
    from inspect_core.app import create_app
    from inspect_core.migrate import upgrade

    other = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'sim.sqlite3'}", "TESTING": True})
    with other.app_context():
        upgrade(db.engine)
    result = other.test_cli_runner().invoke(
        args=["simulate", "--enterprises", "2500", "--inspectors", "40", "--seed", "3", "--quiet",
              "--batch", "1000"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2500 enterprises" in result.output
    with other.app_context():
        s = db.session
        assert s.scalar(select(func.count()).select_from(Enterprise)) == 2500
        assert s.scalar(select(func.count()).select_from(Inspector)) == 40
        assert s.scalar(select(func.count(func.distinct(EnterpriseSector.enterprise_id)))) == 2500
        s.rollback()
    # a second run appends new, still unique codes
    other.test_cli_runner().invoke(args=["simulate", "--enterprises", "100", "--quiet"])
    with other.app_context():
        s = db.session
        assert s.scalar(select(func.count(func.distinct(Enterprise.uscc)))) == 2600
    db.engine_for(other).dispose()
