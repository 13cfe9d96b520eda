"""The app's own database role (RELIABILITY.md §1.4: "the app role loses UPDATE/DELETE/
TRUNCATE"): ``inspect-core db grant-app-role ROLE`` leaves it SELECT and INSERT on the
append-only tables, refused by privilege before any trigger, and what the app needs on
the others; the app runs through the API connected as that role.

PostgreSQL only (SQLite has no roles).  A role is cluster-wide and CREATE ROLE is not
undone with a test's transaction, so each test makes a NOLOGIN role of a unique name
(pytest-xdist workers share the cluster) and drops it at the end; the schema is
``committed_app``'s own, dropped after."""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

import migrations
from inspect_core.app import create_app
from inspect_core.audit.service import record
from inspect_core.audit.service import verify as verify_chain
from inspect_core.db import db
from inspect_core.grants import append_only_tables
from inspect_core.results.service import today_in_china
from tests import factories
from tests.conftest import TEST_CONFIG

#: a probe per verb that touches no row: what is refused is the statement, by privilege
PROBES = {
    "UPDATE": "UPDATE {t} SET id = id WHERE false",
    "DELETE": "DELETE FROM {t} WHERE false",
    "TRUNCATE": "TRUNCATE {t}",
}


def _migrations_append_only() -> set[str]:
    """The tables the migrations make append-only, from their own constants."""
    folder = Path(migrations.__file__).parent / "versions"
    found: set[str] = set()
    for name in ("0002_plans_draws_tasks_results_audit", "0004_credit_events_ratings_scoring_runs",
                 "0010_credit_withdrawals"):  # fmt: skip
        spec = importlib.util.spec_from_file_location(f"_mig_{name}", folder / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found |= set(getattr(module, "APPEND_ONLY", ())) | {getattr(module, "TABLE", None)}
    return found - {None}


@pytest.fixture
def app_role(committed_app):
    """(app, role, schema): a throwaway NOLOGIN role, granted nothing yet, on the
    committed app's own schema; dropped with whatever it was granted afterwards."""
    app, admin = committed_app
    role = f"inspect_app_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" NOLOGIN'))
    with app.app_context():
        schema = db.session.scalar(text("SELECT current_schema()"))
        db.session.rollback()
    yield app, role, schema
    db.engine_for(app).dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP OWNED BY "{role}"'))  # its grants, in this database
        conn.execute(text(f'DROP ROLE "{role}"'))


def _grant(app, role: str):
    with app.app_context():
        return app.test_cli_runner().invoke(args=["db", "grant-app-role", role])


def _privileges(app, role: str, schema: str) -> list[tuple[str, str]]:
    """Every (object, privilege) granted to ``role`` on the schema, its tables and
    sequences, as the catalogue holds them."""
    with app.app_context():
        rows = db.session.execute(
            text(
                "SELECT c.relname, a.privilege_type FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a "
                "WHERE n.nspname = :s AND a.grantee = CAST(:r AS regrole) "
                "UNION ALL SELECT 'schema ' || n.nspname, a.privilege_type FROM pg_namespace n, "
                "aclexplode(n.nspacl) a WHERE n.nspname = :s AND a.grantee = CAST(:r AS regrole) "
                "ORDER BY 1, 2"
            ),
            {"s": schema, "r": f'"{role}"'},
        ).all()
        db.session.rollback()
    return [tuple(row) for row in rows]


def _refused(conn, sql: str) -> DBAPIError:
    savepoint = conn.begin_nested()
    with pytest.raises(DBAPIError) as refused:
        conn.execute(text(sql))
    savepoint.rollback()
    return refused.value


def test_grant_is_for_postgresql_and_never_creates_or_trusts_an_owner(app, session):
    """On SQLite a clear refusal; on PostgreSQL a role that does not exist is not made,
    and a superuser is refused (no privilege binds one)."""
    runner = app.test_cli_runner()
    if session.get_bind().dialect.name != "postgresql":
        refused = runner.invoke(args=["db", "grant-app-role", "app"])
        assert refused.exit_code == 1 and "for PostgreSQL" in refused.output
        assert "sqlite" in refused.output
        return
    missing = f"inspect_nobody_{uuid.uuid4().hex[:8]}"
    refused = runner.invoke(args=["db", "grant-app-role", missing])
    assert refused.exit_code == 1
    assert "does not exist" in refused.output and "does not create it" in refused.output
    assert not session.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": missing})
    superuser = runner.invoke(args=["db", "grant-app-role", "postgres"])
    assert superuser.exit_code == 1 and "superuser" in superuser.output


def test_the_app_role_inserts_and_reads_but_cannot_change_append_only_tables(app_role):
    """Granted: INSERT (an audit event through the service, as the app appends one) and
    SELECT work on the append-only tables; UPDATE, DELETE and TRUNCATE of each are
    refused by privilege ("permission denied", before the trigger: the trigger raises the
    same SQLSTATE 42501 but says "append-only"), while the mutable tables take the
    app's updates and deletes.  The role owns nothing."""
    app, role, schema = app_role
    granted = _grant(app, role)
    assert granted.exit_code == 0, granted.output
    engine = db.engine_for(app)
    with engine.connect() as conn:
        append_only = append_only_tables(conn, schema)
        triggers = set(
            conn.scalars(
                text(
                    "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE t.tgname = c.relname || '_append_only' AND pg_table_is_visible(c.oid)"
                )
            )
        )
        conn.rollback()
    # the grant's list is the triggers' and the migrations' list, not a third one
    assert set(append_only) == triggers == _migrations_append_only()
    assert f"SELECT, INSERT on {len(append_only)} append-only tables" in granted.output

    with engine.connect() as conn:
        conn.begin()
        conn.execute(text(f'SET LOCAL ROLE "{role}"'))
        assert conn.scalar(text("SELECT current_user")) == role
        with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
            record(session, "role-test", "thing.do", "thing", 1, {"n": 1})
            session.commit()
            assert verify_chain(session).ok
        event = conn.scalar(text("SELECT max(id) FROM audit_events"))
        assert event is not None
        for table in append_only:
            conn.execute(text(f"SELECT count(*) FROM {table}"))
            for verb, probe in PROBES.items():
                error = _refused(conn, probe.format(t=table))
                assert error.orig.sqlstate == "42501", (table, verb, error)
                assert f"permission denied for table {table}" in str(error.orig), (table, verb)
        # on a row that is there, too: still the privilege, not the trigger
        error = _refused(conn, f"UPDATE audit_events SET actor = 'mallory' WHERE id = {event}")
        assert "permission denied" in str(error.orig) and "append-only" not in str(error.orig)

        # the mutable tables take the app's ordinary writes
        body = factories.enterprise(region=factories.REGIONS[0])
        enterprise_id = conn.scalar(
            text(
                "INSERT INTO enterprises (uscc, name, search_name, region, address, status, "
                "licences, created_at, updated_at) "
                "VALUES (:u, :n, :k, :r, '', 'active', '[]', now(), now()) RETURNING id"
            ),
            {"u": body["uscc"], "n": body["name"], "k": body["name"], "r": body["region"]},
        )
        conn.execute(
            text("UPDATE enterprises SET name = 'renamed' WHERE id = :i"), {"i": enterprise_id}
        )
        conn.execute(
            text("SELECT id FROM enterprises WHERE id = :i FOR NO KEY UPDATE"), {"i": enterprise_id}
        )
        conn.execute(text("DELETE FROM enterprises WHERE id = :i"), {"i": enterprise_id})
        error = _refused(conn, "TRUNCATE enterprises")
        assert "permission denied" in str(error.orig)
        error = _refused(conn, "UPDATE alembic_version SET version_num = version_num")
        assert "permission denied" in str(error.orig)
        error = _refused(conn, "CREATE TABLE sneaky (id int)")
        assert "permission denied for schema" in str(error.orig)
        conn.rollback()

    with engine.connect() as conn:  # as the owner the same UPDATE meets the trigger
        conn.begin()
        with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
            record(session, "owner-test", "thing.do", "thing", 1, {"n": 1})
            session.commit()
        event = conn.scalar(text("SELECT max(id) FROM audit_events"))
        error = _refused(conn, f"UPDATE audit_events SET actor = 'mallory' WHERE id = {event}")
        assert error.orig.sqlstate == "42501" and "append-only: UPDATE refused" in str(error.orig)
        owned = conn.scalar(
            text(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :s AND (pg_has_role(:r, c.relowner, 'MEMBER') "
                "OR pg_has_role(:r, n.nspowner, 'MEMBER'))"
            ),
            {"s": schema, "r": role},
        )
        assert owned == 0
        conn.rollback()


def test_grant_is_idempotent_converges_and_refuses_a_leak_through_public(app_role):
    """Run twice, the same privileges; privileges granted by hand since are taken back;
    UPDATE on an append-only table through PUBLIC is refused, and nothing is granted."""
    app, role, schema = app_role
    assert _grant(app, role).exit_code == 0
    first = _privileges(app, role, schema)
    assert ("audit_events", "INSERT") in first and ("audit_events", "UPDATE") not in first
    assert ("enterprises", "UPDATE") in first and ("alembic_version", "SELECT") in first
    assert ("alembic_version", "INSERT") not in first
    assert not any(privilege in {"TRUNCATE", "TRIGGER", "REFERENCES"} for _, privilege in first)
    assert (f"schema {schema}", "USAGE") in first and (f"schema {schema}", "CREATE") not in first
    # a sequence's UPDATE is setval: the app draws ids (nextval), never moves them
    assert ("results_id_seq", "USAGE") in first and ("results_id_seq", "UPDATE") not in first
    assert _grant(app, role).exit_code == 0
    assert _privileges(app, role, schema) == first

    with app.app_context():
        db.session.execute(text(f'GRANT UPDATE, TRUNCATE ON results TO "{role}"'))
        db.session.execute(text(f'GRANT UPDATE (actor) ON audit_events TO "{role}"'))
        db.session.execute(text(f'GRANT CREATE ON SCHEMA "{schema}" TO "{role}"'))
        db.session.execute(text(f'GRANT TRUNCATE, TRIGGER ON enterprises TO "{role}"'))
        db.session.execute(text(f'GRANT UPDATE ON SEQUENCE results_id_seq TO "{role}"'))
        db.session.commit()
    assert _privileges(app, role, schema) != first
    assert _grant(app, role).exit_code == 0
    assert _privileges(app, role, schema) == first

    with app.app_context():
        db.session.execute(text(f'REVOKE ALL ON enterprises FROM "{role}"'))
        db.session.execute(text("GRANT DELETE ON credit_events TO PUBLIC"))
        db.session.commit()
    leaked = _grant(app, role)
    assert leaked.exit_code == 1
    assert "could still DELETE credit_events" in leaked.output and "PUBLIC" in leaked.output
    assert ("enterprises", "UPDATE") not in _privileges(app, role, schema)  # rolled back
    with app.app_context():
        db.session.execute(text("REVOKE DELETE ON credit_events FROM PUBLIC"))
        db.session.commit()


def test_a_role_that_owns_the_tables_is_refused(app_role):
    """An owner keeps every privilege and may drop the triggers: granting to a member of
    the owning role would protect nothing."""
    app, role, _schema = app_role
    with app.app_context():
        owner = db.session.scalar(
            text(
                "SELECT tableowner FROM pg_tables WHERE tablename = 'results' AND schemaname = current_schema()"
            )
        )
        db.session.execute(text(f'GRANT "{owner}" TO "{role}"'))
        db.session.commit()
    refused = _grant(app, role)
    assert refused.exit_code == 1 and "owns" in refused.output, refused.output
    with app.app_context():
        db.session.execute(text(f'REVOKE "{owner}" FROM "{role}"'))
        db.session.commit()


def test_a_role_owning_one_table_or_only_the_schema_is_refused(app_role):
    """Owning any one table, or only the schema (whose owner may drop every table in
    it), is owning enough to defeat the append-only triggers."""
    app, role, schema = app_role
    with app.app_context():
        db.session.execute(text("CREATE TABLE scratch_owned (id int)"))
        db.session.execute(text(f'ALTER TABLE scratch_owned OWNER TO "{role}"'))
        db.session.commit()
    try:
        refused = _grant(app, role)
        assert refused.exit_code == 1 and "owns scratch_owned" in refused.output, refused.output
    finally:
        with app.app_context():
            db.session.execute(text("DROP TABLE scratch_owned"))
            db.session.commit()

    other = f"{role}_own"
    with app.app_context():
        db.session.execute(text(f'CREATE SCHEMA "{other}" AUTHORIZATION "{role}"'))
        db.session.execute(text(f'CREATE TABLE "{other}".results (id int)'))
        db.session.commit()
    try:
        with app.app_context():
            refused = app.test_cli_runner().invoke(
                args=["db", "grant-app-role", role, "--schema", other]
            )
        assert refused.exit_code == 1 and f"owns schema {other}" in refused.output, refused.output
    finally:
        with app.app_context():
            db.session.execute(text(f'DROP SCHEMA "{other}" CASCADE'))
            db.session.commit()


@pytest.mark.parametrize(
    ("leak", "revoke", "fragment"),
    [
        ("GRANT TRUNCATE ON results TO PUBLIC", "REVOKE TRUNCATE ON results FROM PUBLIC",
         "could still TRUNCATE results"),
        ("GRANT UPDATE (actor) ON audit_events TO PUBLIC",
         "REVOKE UPDATE (actor) ON audit_events FROM PUBLIC", "could still UPDATE audit_events"),
    ],
)  # fmt: skip
def test_a_truncate_or_a_column_update_through_public_is_refused(app_role, leak, revoke, fragment):
    """The effective check sees TRUNCATE and an UPDATE granted on one column, not only a
    table-wide UPDATE or DELETE."""
    app, role, _schema = app_role
    with app.app_context():
        db.session.execute(text(leak))
        db.session.commit()
    try:
        leaked = _grant(app, role)
        assert leaked.exit_code == 1 and fragment in leaked.output, leaked.output
    finally:
        with app.app_context():
            db.session.execute(text(revoke))
            db.session.commit()


def test_the_app_works_connected_as_the_granted_role(app_role, database_url):
    """The grants are enough for the app: an app whose connections run as the role
    registers enterprises and inspectors, imports a file, draws a plan, records a result
    and its correction, edits an enterprise, records a credit event, publishes and
    discloses, and its audit chain verifies; it still cannot change a result."""
    app, role, schema = app_role
    assert _grant(app, role).exit_code == 0
    url = f"{database_url}?options=-csearch_path%3D{schema}%20-crole%3D{role}"
    as_role = create_app({**TEST_CONFIG, "DATABASE_URL": url})
    try:
        with as_role.app_context():
            assert db.session.scalar(text("SELECT current_user")) == role
            db.session.rollback()
        client = as_role.test_client()
        admin = factories.committed_user(as_role, f"admin-{role}", "admin")
        regulator = factories.committed_user(as_role, f"regulator-{role}", "regulator")
        for region in factories.REGIONS * 2:
            body = factories.enterprise(region=region)
            assert client.post("/api/v1/enterprises", json=body, headers=admin).status_code == 201
        for region in factories.REGIONS * 2:
            body = factories.inspector(region=region)
            assert client.post("/api/v1/inspectors", json=body, headers=admin).status_code == 201
        uploaded = client.post(
            "/api/v1/enterprises/import",
            data={
                "file": (
                    io.BytesIO(
                        "统一社会信用代码,企业名称,监管行业,所属街镇\n"
                        f"{factories.uscc()},重庆导入有限公司,food,{factories.REGIONS[0]}\n".encode()
                    ),
                    "e.csv",
                )
            },
            headers={**admin, "Idempotency-Key": f"import-{role}"},
            content_type="multipart/form-data",
        )
        assert uploaded.status_code == 201, uploaded.json

        plan_id = factories.create_plan(
            client, regulator, ratios={"A": "1", "B": "1", "C": "1", "D": "1"}
        )
        drawn = client.post(f"/api/v1/plans/{plan_id}/draw", json={"seed": 1}, headers=regulator)
        assert drawn.status_code == 201, drawn.json
        task = client.get(f"/api/v1/tasks?plan={plan_id}", headers=regulator).json["items"][0]
        me = factories.committed_user(
            as_role, f"inspector-{role}", "inspector", badge=task["inspectors"][0]
        )
        body = {"sector": "food", "payload": factories.food_payload("0.1"),
                "conclusion_code": "no_problem"}  # fmt: skip
        result = client.post(
            f"/api/v1/tasks/{task['id']}/results",
            json=body,
            headers={**me, "Idempotency-Key": f"result-{role}"},
        )
        assert result.status_code == 201, result.json
        corrected = client.post(
            f"/api/v1/results/{result.json['id']}/corrections",
            json={**body, "payload": factories.food_payload("0.25"),
                  "conclusion_code": "corrected", "reason": "复核更正"},
            headers=me,
        )  # fmt: skip
        assert corrected.status_code == 201, corrected.json
        patched = client.patch(
            f"/api/v1/enterprises/{task['uscc']}", json={"address": "新地址1号"}, headers=admin
        )
        assert patched.status_code == 200, patched.json
        event = client.post(
            f"/api/v1/enterprises/{task['uscc']}/credit-events",
            json={"type": "complaint", "severity": "minor", "source": f"12315-{role}",
                  "occurred_on": str(today_in_china() - dt.timedelta(days=1))},
            headers=regulator,
        )  # fmt: skip
        assert event.status_code == 201, event.json
        published = client.patch(
            f"/api/v1/plans/{plan_id}", json={"status": "published"}, headers=regulator
        )
        assert published.status_code == 200, published.json
        disclosed = client.post(f"/api/v1/plans/{plan_id}/disclose", headers=regulator)
        assert disclosed.status_code in (200, 201), disclosed.json
        assert client.post("/api/v1/auth/revoke", headers=me).status_code in (200, 204)
        chain = client.get("/api/v1/audit/verify", headers=regulator).json
        assert chain["ok"] is True and chain["events"] >= 10, chain

        with as_role.app_context():
            with pytest.raises(DBAPIError, match="permission denied for table results"):
                db.session.execute(text("UPDATE results SET passed = true"))
            db.session.rollback()
    finally:
        db.engine_for(as_role).dispose()
