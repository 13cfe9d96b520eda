"""Result rows against the digests in the audit chain (RELIABILITY.md §1.4): a row edited,
deleted, swapped or added behind the application's back — as a superuser with the
triggers off, or by anyone holding INSERT — is named by ``audit verify --records``, while
the event chain itself still verifies."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from inspect_core.audit.models import AuditEvent
from inspect_core.audit.records import verify_records
from inspect_core.audit.service import verify
from inspect_core.results.digest import python_row_digest
from inspect_core.results.models import Result
from tests import factories
from tests.api.test_imports import _drawn, csv_bytes, upload
from tests.api.test_imports import _food_rows as food_rows

UPLOADED = 5


def _as_superuser(session, *statements: str) -> None:
    """Run ``statements`` on results with its append-only triggers off."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE results DISABLE TRIGGER USER"))
        for sql in statements:
            session.execute(text(sql))
        session.execute(text("ALTER TABLE results ENABLE TRIGGER USER"))
    else:
        session.execute(text("DROP TRIGGER IF EXISTS results_no_update"))
        session.execute(text("DROP TRIGGER IF EXISTS results_no_delete"))
        for sql in statements:
            session.execute(text(sql))
    session.commit()


@pytest.fixture
def stored(app, client, identity, district, session):
    """Results stored every way the application stores them: one through the JSON API,
    its correction, and an upload of ``UPLOADED`` rows (by a regulator)."""
    app.config.update(IMPORT_WORKERS=1)
    regulator, plan_id, tasks = _drawn(client, identity, district)
    task = tasks[0]
    me = identity("inspector", badge=task["inspectors"][0])
    body = {
        "sector": "food",
        "conclusion_code": "no_problem",
        "payload": factories.food_payload("0.1"),
    }
    first = client.post(
        f"/api/v1/tasks/{task['id']}/results",
        json=body,
        headers={**me, "Idempotency-Key": "k-record"},
    )
    assert first.status_code == 201, first.json
    fixed = client.post(
        f"/api/v1/results/{first.json['id']}/corrections",
        json={**body, "payload": factories.food_payload("0.12"), "reason": "录入错误 typo"},
        headers={**regulator, "Idempotency-Key": "k-correct"},
    )
    assert fixed.status_code == 201, fixed.json
    # nothing inspected: no payload (JSON null) and no facts (SQL NULL)
    me_too = identity("inspector", badge=tasks[-1]["inspectors"][0])
    closed = client.post(
        f"/api/v1/tasks/{tasks[-1]['id']}/results",
        json={"sector": "food", "conclusion_code": "closed"},
        headers={**me_too, "Idempotency-Key": "k-closed"},
    )
    assert closed.status_code == 201, closed.json
    sheet = csv_bytes(food_rows(tasks[1:-1], UPLOADED))
    uploaded = upload(
        client,
        "/api/v1/results/import",
        regulator,
        sheet,
        "results.csv",
        sector="food",
        mode="partial",
    )
    assert uploaded.status_code == 201, uploaded.json
    assert uploaded.json["accepted"] == UPLOADED
    session.rollback()
    imported = session.scalars(
        select(Result.id).where(Result.import_id == uploaded.json["import_id"]).order_by(Result.id)
    ).all()
    assert len(imported) == UPLOADED
    return {
        "closed": closed.json["id"],
        "single": first.json["id"],
        "correction": fixed.json["id"],
        "import": uploaded.json["import_id"],
        "imported": imported,
    }


def test_every_write_path_leaves_rows_that_match_their_events(stored, session):
    report = verify_records(session)
    assert report.ok, report.problems
    assert report.rows == report.verified == UPLOADED + 3
    assert report.unverifiable == 0
    # the events hold the digests: one row's for the JSON API, the upload's over its rows
    single = session.scalar(
        select(AuditEvent.data).where(
            AuditEvent.action == "result.record", AuditEvent.entity_id == str(stored["single"])
        )
    )
    row = session.execute(select(Result.__table__).where(Result.id == stored["single"])).one()
    assert single["row_sha256"] == python_row_digest(row._mapping).hex()
    upload_event = session.scalar(
        select(AuditEvent.data).where(
            AuditEvent.action == "import.results", AuditEvent.entity_id == str(stored["import"])
        )
    )
    assert len(upload_event["rows_sha256"]) == 64


def _tamper(stored) -> dict[str, tuple[list[str], str]]:
    """Each tamper: its statements and a text the report must name."""
    single, correction, closed = stored["single"], stored["correction"], stored["closed"]
    a, b = stored["imported"][0], stored["imported"][2]
    imp = stored["import"]
    copied = ", ".join(
        c
        for c in Result.__table__.c.keys()  # noqa: SIM118 - a Table's columns
        if c not in ("id", "chain", "import_id")
    )
    return {
        "give a result not inspected a sample": (
            [f"""UPDATE results SET payload = '{{"sample_no": "X"}}' WHERE id = {closed}"""],
            f"result {closed} differs from what audit event",
        ),
        "alter one result": (
            [f"UPDATE results SET passed = NOT passed WHERE id = {single}"],
            f"result {single} differs from what audit event",
        ),
        "alter a correction's reason": (
            [f"UPDATE results SET correction_reason = 'x' WHERE id = {correction}"],
            f"result {correction} differs",
        ),
        "alter an uploaded row": (
            [f"UPDATE results SET conclusion_code = 'corrected' WHERE id = {a}"],
            f"import {imp}: its {UPLOADED} result rows differ",
        ),
        "swap two uploaded rows": (
            # every value stays, two rows trade places: caught as the digest is in id order
            [
                f"UPDATE results SET id = -1 WHERE id = {a}",
                f"UPDATE results SET id = {a} WHERE id = {b}",
                f"UPDATE results SET id = {b} WHERE id = -1",
            ],
            f"import {imp}: its {UPLOADED} result rows differ",
        ),
        "delete an uploaded row": (
            [f"DELETE FROM results WHERE id = {b}"],
            f"import {imp}: {UPLOADED - 1} result rows stored, but audit event",
        ),
        "delete one result": (
            # its correction goes too: it names the deleted version
            [
                f"DELETE FROM results WHERE id = {correction}",
                f"DELETE FROM results WHERE id = {single}",
            ],
            f"result {single}, recorded by audit event",
        ),
        "move a result into the upload": (
            [f"UPDATE results SET import_id = {imp} WHERE id = {single}"],
            f"import {imp}: {UPLOADED + 1} result rows stored",
        ),
        "add a row (INSERT alone)": (
            [
                f"INSERT INTO results (chain, {copied}) SELECT 'forged-chain', {copied} "
                f"FROM results WHERE id = {a}"
            ],
            "is in no audit event",
        ),
        "add a row to the upload (INSERT alone)": (
            [
                f"INSERT INTO results (chain, import_id, {copied}) SELECT 'forged-chain', "
                f"import_id, {copied} FROM results WHERE id = {a}"
            ],
            f"import {imp}: {UPLOADED + 1} result rows stored",
        ),
    }


TAMPERS = [
    "give a result not inspected a sample",
    "alter one result",
    "alter a correction's reason",
    "alter an uploaded row",
    "swap two uploaded rows",
    "delete an uploaded row",
    "delete one result",
    "move a result into the upload",
    "add a row (INSERT alone)",
    "add a row to the upload (INSERT alone)",
]


@pytest.mark.parametrize("tamper", TAMPERS)
def test_a_tampered_row_is_named_while_the_chain_still_verifies(stored, session, tamper):
    statements, named = _tamper(stored)[tamper]
    if "INSERT alone" in tamper:
        # no trigger stands in the way of an INSERT: the app role itself may do this
        for sql in statements:
            session.execute(text(sql))
        session.commit()
    else:
        _as_superuser(session, *statements)
    assert verify(session).ok  # the events are untouched
    report = verify_records(session)
    assert not report.ok
    assert any(named in p for p in report.problems), report.problems


def test_cli_verify_records_reports_and_fails_by_exit_code(app, stored, session):
    def run():
        with app.app_context():
            return app.test_cli_runner().invoke(args=["audit", "verify", "--records"])

    good = run()
    assert good.exit_code == 0, good.output
    assert f"result rows intact: {UPLOADED + 3} of {UPLOADED + 3}" in good.output
    _as_superuser(session, f"UPDATE results SET minor_count = 7 WHERE id = {stored['single']}")
    bad = run()
    assert bad.exit_code == 1, bad.output
    assert "result rows NOT INTACT: 1 problem(s)" in bad.output
    assert f"result {stored['single']} differs" in bad.output
    # without --records the rows are not read: the chain alone still holds
    with app.app_context():
        chain_only = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert chain_only.exit_code == 0 and "result rows" not in chain_only.output


def test_rows_from_before_row_digests_are_counted_not_checked(stored, session):
    """An upload's event without ``rows_sha256`` (stored before revision 0012) stands for
    its rows, unchecked; a row beyond what such events counted is still named."""
    count = session.scalar(select(func.count()).select_from(Result))
    assert count == UPLOADED + 3
    # as such a row was: no import named, and its event with counts only
    from inspect_core.audit.service import record

    _as_superuser(
        session, f"UPDATE results SET import_id = NULL WHERE id = {stored['imported'][0]}"
    )
    record(session, "tester", "import.results", "import", 999_999, {"accepted": 1})
    session.commit()
    report = verify_records(session)
    assert report.unverifiable == 1
    # the upload now lacks the row: its count is named, not the legacy row
    assert not report.ok
    assert all("is in no audit event" not in p for p in report.problems), report.problems


@pytest.mark.parametrize("payload_matches", [True, False])
def test_a_result_recorded_before_row_digests_has_its_payload_checked(
    stored, session, payload_matches
):
    """A ``result.record`` event from before row digests holds only ``payload_sha256``:
    its row is counted as not checked, but a payload that differs from it is named."""
    from inspect_core.audit.service import record
    from inspect_core.results.service import _audit_body

    columns = ", ".join(
        c
        for c in Result.__table__.c.keys()  # noqa: SIM118 - a Table's columns
        if c not in ("id", "chain")
    )
    session.execute(
        text(
            f"INSERT INTO results (chain, {columns}) SELECT 'old-chain', {columns} "
            f"FROM results WHERE id = {stored['single']}"
        )
    )
    old = session.scalar(select(Result).where(Result.chain == "old-chain"))
    body = _audit_body(old)
    del body["row_sha256"]  # as the event was written before revision 0012
    if not payload_matches:
        body["payload_sha256"] = "0" * 64
    record(session, "tester", "result.record", "result", old.id, body)
    session.commit()
    report = verify_records(session)
    assert report.unverifiable == 1
    if payload_matches:
        assert report.ok, report.problems
    else:
        assert report.problems == [
            f"result {old.id}: payload differs from audit event "
            + (str(session.scalar(select(func.max(AuditEvent.id)))))
        ]
