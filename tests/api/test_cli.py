"""The CLI: users, simulate, demo, plugins (run against the test database)."""

from __future__ import annotations

import importlib.metadata
import sys

import pytest
from sqlalchemy import func, select

from inspect_core.auth.models import User
from inspect_core.db import db
from inspect_core.enterprises.models import Enterprise, EnterpriseSector
from inspect_core.inspectors.models import Inspector
from inspect_core.simulate import simulate


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


def test_users_revoke_tokens_revokes_and_is_audited(app, client):
    """Revoking an account's tokens from the command line is audited (actor ``cli``, how
    many tokens, never their values); revoking none writes nothing, so records nothing."""
    from inspect_core.audit.models import AuditEvent
    from inspect_core.auth.models import ApiToken

    runner = app.test_cli_runner()
    created = runner.invoke(
        args=["users", "create", "lost.phone", "--role", "regulator",
              "--password", "long enough pw"]
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    tokens = [
        client.post(
            "/api/v1/auth/token", json={"username": "lost.phone", "password": "long enough pw"}
        ).json["access_token"]
        for _ in range(2)
    ]
    revoked = runner.invoke(args=["users", "revoke-tokens", "lost.phone"])
    assert revoked.exit_code == 0 and "revoked 2 token(s)" in revoked.output
    again = runner.invoke(args=["users", "revoke-tokens", "lost.phone"])
    assert again.exit_code == 0 and "revoked 0 token(s)" in again.output
    with app.app_context():
        s = db.session
        live = ApiToken.user.has(username="lost.phone") & ApiToken.revoked_at.is_(None)
        assert s.scalar(select(func.count()).where(live)) == 0
        events = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "token.revoke_all", AuditEvent.entity_id == "lost.phone"
            )
        ).all()
    assert [(e.actor, e.entity, e.data) for e in events] == [("cli", "user", {"tokens": 2})]
    assert not any(token in str(events[0].data) for token in tokens)


def _login(client, username, password):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def _me(client, token):
    return client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


def test_users_set_password_disable_and_enable(app, client):
    """A leaked password could only be changed in SQL, and revoking tokens left it able to
    log in again; a leaving member of staff could not be stopped from logging in.  Now
    ``set-password`` replaces the password and revokes the live tokens, ``disable`` stops
    logins and revokes them, ``enable`` undoes it; each is audited, never with a password."""
    from inspect_core.audit.models import AuditEvent

    runner = app.test_cli_runner()
    created = runner.invoke(
        args=["users", "create", "leaked", "--role", "regulator", "--password", "old password 1"]
    )
    assert created.exit_code == 0, created.output
    token = _login(client, "leaked", "old password 1").json["access_token"]

    short = runner.invoke(args=["users", "set-password", "leaked", "--password", "short"])
    assert short.exit_code != 0 and "at least 8 characters" in short.output
    assert _login(client, "leaked", "old password 1").status_code == 200
    changed = runner.invoke(
        args=["users", "set-password", "leaked", "--password", "new password 2"]
    )
    assert changed.exit_code == 0 and "revoked 2 token(s)" in changed.output, changed.output
    assert _me(client, token).status_code == 401
    assert _login(client, "leaked", "old password 1").status_code == 401
    token = _login(client, "leaked", "new password 2").json["access_token"]

    disabled = runner.invoke(args=["users", "disable", "leaked"])
    assert disabled.exit_code == 0 and "revoked 1 token(s)" in disabled.output, disabled.output
    assert _me(client, token).status_code == 401
    assert _login(client, "leaked", "new password 2").status_code == 401
    listed = runner.invoke(args=["users", "list"])
    assert "leaked  regulator  (district-wide)  DISABLED" in listed.output, listed.output
    enabled = runner.invoke(args=["users", "enable", "leaked"])
    assert enabled.exit_code == 0, enabled.output
    assert _login(client, "leaked", "new password 2").status_code == 200
    unknown = runner.invoke(args=["users", "disable", "nobody"])
    assert unknown.exit_code != 0 and "no such user" in unknown.output

    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.entity_id == "leaked").order_by(AuditEvent.id)
        ).all()
    assert [(e.action, e.data) for e in events if e.action != "user.create"] == [
        ("user.password", {"tokens_revoked": 2}),
        ("user.disable", {"tokens_revoked": 1}),
        ("user.enable", {"tokens_revoked": 0}),
    ]
    assert not any("password 2" in str(e.data) for e in events)


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
    # counts below one are usage errors, before anything is inserted
    for bad in (["--enterprises", "-5"], ["--inspectors", "0"], ["--batch", "0"]):
        refused = other.test_cli_runner().invoke(args=["simulate", "--quiet", *bad])
        assert refused.exit_code == 2 and isinstance(refused.exception, SystemExit), bad
    # a second run appends new, still unique codes
    other.test_cli_runner().invoke(args=["simulate", "--enterprises", "100", "--quiet"])
    with other.app_context():
        s = db.session
        assert s.scalar(select(func.count(func.distinct(Enterprise.uscc)))) == 2600
    db.engine_for(other).dispose()


def test_plugins_command_lists_the_four_sectors(app):
    result = app.test_cli_runner().invoke(args=["plugins"])
    assert result.exit_code == 0, result.output
    for code in ("food", "drugs", "special_equipment", "construction"):
        assert f"sectors: {code}" in result.output
    assert "inspect_judge" in result.output and "inspect_row_from_payload" in result.output


def test_plugins_command_shows_the_installed_distribution_and_its_version(
    app_factory, tmp_path, monkeypatch
):
    """A plugin loaded by entry point without ``__version__`` shows its distribution's
    version, not "?"; every plugin names the distribution it was installed from."""
    package = tmp_path / "unversioned_lab_plugin"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from inspect_core.plugin_api import Sector, hookimpl\n"
        "@hookimpl\n"
        "def inspect_sectors():\n"
        "    return [Sector('unversioned_lab', '实验室', 'Laboratory', '1')]\n"
    )
    info = tmp_path / "unversioned_lab_plugin-2.3.4.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: unversioned-lab-plugin\nVersion: 2.3.4\n"
    )
    (info / "entry_points.txt").write_text(
        "[inspect_core.plugins]\nunversioned_lab = unversioned_lab_plugin\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    # imported by the app below: forgotten again after the test
    monkeypatch.setitem(sys.modules, "unversioned_lab_plugin", None)
    monkeypatch.delitem(sys.modules, "unversioned_lab_plugin")
    app = app_factory(PLUGINS=["food", "unversioned_lab"])
    result = app.test_cli_runner().invoke(args=["plugins"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert (
        "unversioned_lab 2.3.4  sectors: unversioned_lab  distribution: unversioned-lab-plugin 2.3.4"
        in lines
    )
    core = importlib.metadata.version("inspect-core")
    assert f"food 1.0.0  sectors: food  distribution: inspect-core {core}" in lines


def test_draws_verify_audit_verify_and_calendar_load(app, client, identity, district, tmp_path):
    from tests.factories import create_plan

    regulator = identity("regulator")
    plan_id = create_plan(client, regulator)
    draw = client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 6}, headers=regulator).json
    runner = app.test_cli_runner()
    verified = runner.invoke(args=["draws", "verify", str(draw["id"])])
    assert verified.exit_code == 0, verified.output
    assert '"identical": true' in verified.output
    assert runner.invoke(args=["draws", "verify", "999999"]).exit_code != 0
    # past an id's range: a usage error, where it was an OverflowError traceback (SQLite)
    for beyond in ("0", "2147483648", "99999999999999999999"):
        refused = runner.invoke(args=["draws", "verify", beyond])
        assert refused.exit_code == 2 and isinstance(refused.exception, SystemExit), beyond
    audit = runner.invoke(args=["audit", "verify"])
    assert audit.exit_code == 0 and "intact" in audit.output
    good = tmp_path / "2027.json"
    good.write_text('{"year": 2027, "holidays": ["2027-10-01"], "workdays": ["2027-10-09"]}')
    loaded = runner.invoke(args=["calendar", "load", str(good)])
    assert loaded.exit_code == 0 and "2 day(s)" in loaded.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"year": 2027, "holidays": ["2028-01-01"]}')
    refused = runner.invoke(args=["calendar", "load", str(bad)])
    assert refused.exit_code != 0 and "not in 2027" in refused.output


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ('{"year": 2031, "holiday": ["2031-10-01"]}', "holidays"),  # misspelt: not empty
        ('{"year": 2031, "holidays": ["2031-10-01"], "workdays": ["2031-10-01"]}', "both"),
        ('{"year": 9999, "holidays": []}', "2000-2100"),
        ('["2031-10-01"]', "not a JSON object"),
    ],
)
def test_calendar_load_checks_the_file_as_the_api_checks_its_body(app, tmp_path, body, said):
    """A misspelt ``holidays`` loaded the year with no holidays at all (its deadlines then
    based on a "loaded" calendar, not flagged as weekdays); a day listed as both, or a year
    the dates cannot reach, was a traceback.  Each is refused by name, nothing loaded."""
    from inspect_core.results.models import CalendarDay

    path = tmp_path / "2031.json"
    path.write_text(body)
    refused = app.test_cli_runner().invoke(args=["calendar", "load", str(path)])
    assert refused.exit_code == 1 and said in refused.output, (refused.output, refused.exception)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CalendarDay)) == 0


def test_import_command_with_progress(app, client, identity, tmp_path):
    identity("admin")  # creates user admin-0
    path = tmp_path / "企业.csv"
    from tests import factories

    code = factories.uscc()
    path.write_text(
        f"统一社会信用代码,企业名称,监管行业,所属街镇\n{code},重庆命令行公司,食品,华岩镇\n",
        encoding="utf-8",
    )
    result = app.test_cli_runner().invoke(
        args=["import", "enterprises", str(path), "--as", "admin-0"]
    )
    assert result.exit_code == 0, result.output
    assert "received 1, accepted 1, rejected 0" in result.output
    nobody = app.test_cli_runner().invoke(
        args=["import", "enterprises", str(path), "--as", "ghost"]
    )
    assert nobody.exit_code != 0 and "no active user" in nobody.output


@pytest.mark.parametrize(
    "key", ["k" * 256, "", " ", "k\x01"], ids=["256", "empty", "blank", "ctrl"]
)
def test_import_command_refuses_a_key_the_api_would_refuse(app, identity, tmp_path, session, key):
    """``--key`` was taken as given: one past the column's 255 characters was a
    traceback on PostgreSQL (and stored whole on SQLite), an empty one or one with a
    control character was stored.  It is a usage error naming the option, and nothing is
    imported; a key of 255 characters is taken and replays on a rerun."""
    from inspect_core.imports.models import Import
    from tests import factories
    from tests.api.test_imports import csv_bytes
    from tests.factories import ENTERPRISE_HEADER

    identity("admin")  # creates user admin-0
    path = tmp_path / "企业.csv"
    path.write_bytes(
        csv_bytes([ENTERPRISE_HEADER, [factories.uscc(), "重庆命令行二有限公司", "food", "华岩镇"]])
    )
    args = ["import", "enterprises", str(path), "--as", "admin-0", "--key"]
    refused = app.test_cli_runner().invoke(args=[*args, key])
    assert refused.exit_code == 2, (refused.output, refused.exception)
    assert "--key" in refused.output and "1-255 printable characters" in refused.output
    assert session.scalar(select(func.count()).select_from(Import)) == 0
    for _ in range(2):
        taken = app.test_cli_runner().invoke(args=[*args, "k" * 255])
        assert taken.exit_code == 0, (taken.output, taken.exception)
        assert "accepted 1, rejected 0" in taken.output
    assert session.scalar(select(func.count()).select_from(Import)) == 1


def test_bulk_simulation_on_postgresql_restores_every_constraint(committed_app):
    """A large simulate drops the sector FK and secondary indexes for speed and rebuilds
    them in the same transaction: afterwards the schema matches the migrations again, and
    the foreign key really refuses an orphan row."""
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from inspect_core.migrate import pending_diff

    app, _admin = committed_app
    with app.app_context():
        stats = simulate(db.engine, 12_000, 20, seed=5, progress=False)
        assert stats.enterprises == 12_000
        assert pending_diff(db.engine) == []
        with db.engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM enterprises")) == 12_000
            with pytest.raises(IntegrityError):
                conn.execute(text("INSERT INTO enterprise_sectors VALUES (99999999, 'food')"))


def test_demo_load_runs_the_whole_loop_once(tmp_path):
    """What `make demo` does before serving: district, history, scoring, one spot check."""
    from inspect_core.app import create_app
    from inspect_core.migrate import upgrade

    demo = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "TESTING": True,
                       "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8})  # fmt: skip
    with demo.app_context():
        upgrade(db.engine)
    runner = demo.test_cli_runner()
    first = runner.invoke(args=["demo", "load", "--enterprises", "600", "--inspectors", "40"])
    assert first.exit_code == 0, first.output
    for fragment in ("demo district loaded", "simulated history", "simulated credit record",
                     "scored 600 enterprises",
                     "riskiest 10", "results recorded", "demo-admin-pass",
                     "inspectors rated: ", "tiers: A "):  # fmt: skip
        assert fragment in first.output, fragment
    # the model's cut-offs spread the demo over the tiers: with the fixed 620/590/560 every
    # enterprise with a record was D, the rest B by rule
    line = next(x for x in first.output.splitlines() if x.startswith("tiers: "))
    counts = dict(part.split() for part in line[len("tiers: ") : line.index(" (")].split(", "))
    assert sum(map(int, counts.values())) == 600 and int(counts["C"]) > 0, line
    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0 and "already present" in again.output
    # every result the demo stored, its simulated history too, is covered by the chain
    verified = runner.invoke(args=["audit", "verify", "--records"])
    assert verified.exit_code == 0, verified.output
    assert "audit chain intact" in verified.output and "result rows intact" in verified.output
    client = demo.test_client()
    token = client.post(
        "/api/v1/auth/token", json={"username": "regulator", "password": "demo-regulator-pass"}
    )
    headers = {"Authorization": f"Bearer {token.json['access_token']}"}
    ranked = client.get("/api/v1/enterprises?order=risk&limit=3", headers=headers).json["items"]
    keys = [("DCBA".index(i["tier"]), i["score"]) for i in ranked]
    assert len(ranked) == 3 and keys == sorted(keys)  # riskiest first: tier, then score
    assert client.get("/api/v1/public/results").json["items"]
    db.engine_for(demo).dispose()


@pytest.mark.parametrize("default", [True, False])
def test_serve_warns_when_the_secret_key_is_the_public_default(app_factory, monkeypatch, default):
    """The key signing page cursors defaulted to a published string and ``serve`` said
    nothing, so a deployment that forgot INSPECT_SECRET_KEY ran with forgeable cursors."""
    import werkzeug.serving

    from inspect_core.config import Config
    from inspect_core.imports import service as imports

    served: list = []
    monkeypatch.setattr(werkzeug.serving, "run_simple", lambda *a, **kw: served.append(a))
    monkeypatch.setattr(imports, "warm_workers", lambda app: None)
    app = app_factory(SECRET_KEY=Config.SECRET_KEY if default else "a-deployment-secret")
    result = app.test_cli_runner().invoke(args=["serve", "--port", "5099"])
    assert result.exit_code == 0, result.output
    assert served and served[0][:2] == ("127.0.0.1", 5099)
    assert ("INSPECT_SECRET_KEY is not set" in result.output) is default, result.output
