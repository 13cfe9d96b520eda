"""Result rows against the digests in the audit chain (RELIABILITY.md §1.4): a row edited,
deleted, swapped or added behind the application's back — as a superuser with the
triggers off, or by anyone holding INSERT — is named by ``audit verify --records``, while
the event chain itself still verifies."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from sqlalchemy import func, insert, select, text

from inspect_core.audit.models import AuditEvent
from inspect_core.audit.records import verify_records
from inspect_core.audit.service import verify
from inspect_core.results.digest import python_row_digest
from inspect_core.results.models import Result
from tests import factories
from tests.api.test_imports import _drawn, csv_bytes, upload
from tests.api.test_imports import _food_rows as food_rows

UPLOADED = 5
#: a lab report attached to the first result
REPORT = {
    "filename": "检测报告.pdf",
    "content_type": "application/pdf",
    "content_base64": base64.b64encode(b"%PDF-1.4 lab report").decode(),
}


def _as_superuser(
    session,
    *statements: str,
    tables: tuple[str, ...] = ("results", "attachments"),
    params: dict | None = None,
    foreign_keys: bool = True,
) -> None:
    """Run ``statements`` with the append-only triggers of ``tables`` off (and, without
    ``foreign_keys``, the foreign-key checks too, as a superuser renumbering rows can)."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    which = "USER" if foreign_keys else "ALL"
    if not (postgresql or foreign_keys):
        session.execute(text("PRAGMA defer_foreign_keys = ON"))
    for table in tables:
        if postgresql:
            session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {which}"))
        else:
            session.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_update"))
            session.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))
    for sql in statements:
        session.execute(text(sql), params or {})
    if postgresql:
        for table in tables:
            session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {which}"))
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
        json={**body, "attachments": [REPORT]},
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
                f"DELETE FROM attachments WHERE result_id = {single}",
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


def test_a_row_added_under_an_upload_that_stored_none_is_named(client, identity, stored, session):
    """Every tamper above names an upload whose event stored rows: a row added (INSERT
    alone) under an upload that stored none, all its rows refused, was not tried."""
    rows = food_rows([{"id": 10**9}], 1)  # a task that does not exist: the row is refused
    refused = upload(client, "/api/v1/results/import", identity("regulator"), csv_bytes(rows),
                     "none.csv", sector="food", mode="partial")  # fmt: skip
    assert refused.status_code == 201 and refused.json["accepted"] == 0, refused.json
    empty, copied = refused.json["import_id"], _tamper(stored)["add a row (INSERT alone)"][0][0]
    forged = copied.replace("(chain, ", "(chain, import_id, ").replace(
        "SELECT 'forged-chain', ", f"SELECT 'forged-chain', {empty}, "
    )
    session.execute(text(forged))
    session.commit()
    report = verify_records(session)
    assert not report.ok
    assert any(f"names import {empty}, whose audit event" in p for p in report.problems), report


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


# --- ids, concurrency, retries (found in review) ------------------------------------------


def _swap_ids(session, a: int, b: int) -> None:
    """A superuser trades two rows' ids (a correction still names one of them)."""
    _as_superuser(
        session,
        f"UPDATE results SET id = -1 WHERE id = {a}",
        f"UPDATE results SET id = {a} WHERE id = {b}",
        f"UPDATE results SET id = {b} WHERE id = -1",
        tables=("results",),
        foreign_keys=False,
    )


def test_trading_ids_between_two_uploads_is_named(app, client, identity, district, session):
    """Two uploads one after the other: the last row of the first and the first of the
    second trade ids.  Each upload's rows keep their order, so their digests still match,
    yet result ``a`` now is another enterprise's result, and the correction that
    superseded ``a`` now hides that other result and brings back the corrected one."""
    app.config.update(IMPORT_WORKERS=1)
    regulator, _, tasks = _drawn(client, identity, district)
    ids = []
    for prefix, part in (("A", tasks[:3]), ("B", tasks[3:6])):
        r = upload(
            client, "/api/v1/results/import", regulator,
            csv_bytes(food_rows(part, 3, prefix)), f"{prefix}.csv", sector="food",
        )  # fmt: skip
        assert r.status_code == 201 and r.json["accepted"] == 3, r.json
        session.rollback()
        ids.append(
            session.scalars(
                select(Result.id).where(Result.import_id == r.json["import_id"]).order_by(Result.id)
            ).all()
        )
    a, b = ids[0][-1], ids[1][0]
    assert b == a + 1
    fixed = client.post(
        f"/api/v1/results/{a}/corrections",
        json={"sector": "food", "conclusion_code": "no_problem",
              "payload": factories.food_payload("0.12"), "reason": "录入错误 typo"},
        headers=regulator,
    )  # fmt: skip
    assert fixed.status_code == 201, fixed.json
    session.rollback()
    assert verify_records(session).ok
    enterprise_of_b = session.scalar(select(Result.enterprise_id).where(Result.id == b))

    _swap_ids(session, a, b)

    assert verify(session).ok
    # the correction now supersedes a result of another enterprise
    assert session.scalar(select(Result.enterprise_id).where(Result.id == a)) == enterprise_of_b
    report = verify_records(session)
    assert not report.ok, "two rows traded ids and --records saw nothing"


@pytest.mark.db
def test_two_uploads_at_once_and_a_verify_meanwhile(committed_app, monkeypatch):
    """PostgreSQL: two uploads whose COPY chunks interleave (their ids interleave), and a
    verify while one of them has written rows but not committed; then a verify of all."""
    import io
    import threading

    from inspect_core.db import db
    from inspect_core.imports import service as imports
    from tests.api.test_import_faults import food_upload

    app, _ = committed_app
    headers, content = food_upload(app, rows=1500, registry=6)
    other = content.replace(b"S-", b"T-")
    real_copy = imports._copy_results
    first_copied, go_on = threading.Event(), threading.Event()

    def copy(session, chunk):
        real_copy(session, chunk)
        if threading.current_thread().name == "first" and not first_copied.is_set():
            first_copied.set()
            assert go_on.wait(30)

    monkeypatch.setattr(imports, "_copy_results", copy)

    def post(data):
        return app.test_client().post(
            "/api/v1/results/import",
            data={"file": (io.BytesIO(data), "results.csv"), "sector": "food", "mode": "partial"},
            headers=headers,
            content_type="multipart/form-data",
        )

    answers = {}
    first = threading.Thread(target=lambda: answers.update(first=post(content)), name="first")
    first.start()
    assert first_copied.wait(30)
    second = post(other)
    assert second.status_code == 201 and second.json["accepted"] == 1500, second.json
    with app.app_context(), db.new_session() as session:
        meanwhile = verify_records(session)
    go_on.set()
    first.join(60)
    assert answers["first"].status_code == 201, answers["first"].json
    assert meanwhile.ok and meanwhile.rows == 1500, meanwhile.problems
    with app.app_context(), db.new_session() as session:
        ids = session.scalars(select(Result.import_id).order_by(Result.id)).all()
        after = verify_records(session)
    assert ids != sorted(ids), "the uploads' ids did not interleave"
    assert after.ok and after.verified == after.rows == 3000, after.problems


@pytest.mark.db
def test_an_upload_retried_after_its_connection_died_verifies(committed_app, monkeypatch):
    from inspect_core.db import db
    from tests.api import test_import_faults

    test_import_faults.test_connection_killed_mid_import_stores_nothing_and_retry_succeeds(
        committed_app, monkeypatch
    )
    app, _ = committed_app
    with app.app_context(), db.new_session() as session:
        report = verify_records(session)
    assert report.ok and report.verified == report.rows == 2500, report.problems


def test_a_row_deleted_from_an_upload_before_0012_is_named(client, identity, district, session):
    """An upload from before row digests: its event counts 2 rows, which are counted and
    not checked.  One of them deleted behind the back: the count says so, but nothing was
    reported."""
    from inspect_core.audit.service import record
    from inspect_core.plans.models import Task
    from inspect_core.results.service import today_in_china

    _, _, tasks = _drawn(client, identity, district)
    rows = [
        factories.history_result(session.get(Task, t["id"]), today_in_china(), 0) for t in tasks[:2]
    ]
    ids = session.scalars(insert(Result).returning(Result.id, sort_by_parameter_order=True), rows)
    first = ids.all()[0]
    record(session, "tester", "import.results", "import", 777, {"accepted": 2})
    session.commit()
    assert verify_records(session).ok
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE results DISABLE TRIGGER USER"))
        session.execute(text(f"DELETE FROM results WHERE id = {first}"))
        session.execute(text("ALTER TABLE results ENABLE TRIGGER USER"))
    else:
        session.execute(text("DROP TRIGGER IF EXISTS results_no_delete"))
        session.execute(text(f"DELETE FROM results WHERE id = {first}"))
    session.commit()
    report = verify_records(session)
    assert not report.ok, "a row of a pre-0012 upload was deleted and nothing was named"


# --- a database from before row digests --------------------------------------------------


def _cli(app, *args: str):
    with app.app_context():
        return app.test_cli_runner().invoke(args=["audit", *args])


def test_baseline_records_the_rows_from_before_row_digests_once(
    app, client, identity, district, session
):
    """A demo database from before revision 0012: its history stored with no event, and
    an upload whose event counted its rows without a digest.  ``verify --records`` names
    the history rows; ``baseline-records`` records them all once, after which every row is
    checked, a second run records nothing, and an edit is named again."""
    from inspect_core.audit.service import record
    from inspect_core.plans.models import Task
    from inspect_core.results.service import today_in_china

    _, _, tasks = _drawn(client, identity, district)
    history = [
        factories.history_result(session.get(Task, t["id"]), today_in_china(), n % 2)
        for n, t in enumerate(tasks[:4])
    ]
    ids = session.scalars(
        insert(Result).returning(Result.id, sort_by_parameter_order=True), history
    ).all()
    record(session, "tester", "import.results", "import", 4242, {"accepted": 1})
    session.commit()
    before = verify_records(session)
    assert before.unverifiable == 1 and before.n_problems == 3, before
    assert (
        before.problems[0]
        == f"result {ids[1]} is in no audit event (written outside the application)"
    )

    done = _cli(app, "baseline-records")
    assert done.exit_code == 0, done.output
    assert "recorded 4 of 4 result rows" in done.output
    session.commit()  # (the CLI's transaction is nested in this session's, in tests)
    after = verify_records(session)
    assert after.ok and after.verified == after.rows == 4 and after.unverifiable == 0, after
    again = _cli(app, "baseline-records")
    assert again.exit_code == 0 and "nothing to record" in again.output, again.output

    _as_superuser(session, f"UPDATE results SET passed = NOT passed WHERE id = {ids[2]}")
    report = verify_records(session)
    assert not report.ok and "rows differ from the digest" in report.problems[0], report


def test_baseline_refuses_to_cover_a_row_that_differs(stored, session, app):
    _as_superuser(session, f"UPDATE results SET minor_count = 9 WHERE id = {stored['single']}")
    session.execute(
        text(
            "INSERT INTO results (chain, version, task_id, plan_id, enterprise_id, sector, "
            "inspected_on, payload, judgement, passed, findings, critical_count, major_count, "
            "minor_count, conclusion_code, recorded_by, recorded_at, disclosure_due, "
            "disclosure_basis) SELECT 'stray', version, task_id, plan_id, enterprise_id, "
            "sector, inspected_on, payload, judgement, passed, findings, critical_count, "
            f"major_count, minor_count, conclusion_code, recorded_by, recorded_at, "
            f"disclosure_due, disclosure_basis FROM results WHERE id = {stored['single']}"
        )
    )
    session.commit()
    refused = _cli(app, "baseline-records")
    assert refused.exit_code == 1, refused.output
    assert "NOT INTACT, nothing recorded" in refused.output
    assert f"result {stored['single']} differs" in refused.output
    session.commit()  # what the CLI wrote, if anything, stays (its transaction is nested)
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "result.load")
        )
        == 0
    )


FORGED = b"%PDF-1.4 lab rep0rt"
DIFFER = "its attachments (content, name, type or size) differ from audit event"
ATTACHMENT_TAMPERS = {
    "alter its content": (
        "UPDATE attachments SET content = :forged",
        "its content does not match its SHA-256",
    ),
    "alter its content and its SHA-256 alike": (
        "UPDATE attachments SET content = :forged, sha256 = :forged_sha256",
        DIFFER,
    ),
    "delete it": ("DELETE FROM attachments", DIFFER),
    # what a reader is shown beside the bytes: a failed lab report renamed, retyped
    "rename it": ("UPDATE attachments SET filename = '合格报告.pdf'", DIFFER),
    "change its type": ("UPDATE attachments SET content_type = 'image/png'", DIFFER),
    "change its size": (
        "UPDATE attachments SET size = size + 1",
        "its size does not match its content",
    ),
}


@pytest.mark.parametrize("tamper", list(ATTACHMENT_TAMPERS))
def test_an_attachment_tampered_with_is_named(stored, session, tamper):
    """A lab report is evidence: its bytes against its SHA-256, and each result's
    attachments against the list in its event."""
    assert verify_records(session).attachments == 1
    sql, named = ATTACHMENT_TAMPERS[tamper]
    forged = {"forged": FORGED, "forged_sha256": hashlib.sha256(FORGED).hexdigest()}
    _as_superuser(session, sql, tables=("attachments",), params=forged)
    report = verify_records(session)
    assert not report.ok
    assert any(named in p and str(stored["single"]) in p for p in report.problems), report
    if tamper in ("alter its content and its SHA-256 alike", "rename it", "change its type"):
        assert report.n_problems == 1, report  # only the event tells


def test_the_event_names_what_a_reader_is_shown_of_an_attachment(stored, session):
    """The event lists each attachment's filename, content type and size beside its
    SHA-256, as the result's answer shows them."""
    data = session.scalar(
        select(AuditEvent.data).where(
            AuditEvent.action == "result.record", AuditEvent.entity_id == str(stored["single"])
        )
    )
    body = b"%PDF-1.4 lab report"
    assert data["attachment_files"] == [
        {"sha256": hashlib.sha256(body).hexdigest(), "filename": REPORT["filename"],
         "content_type": REPORT["content_type"], "size": len(body)}
    ]  # fmt: skip
    assert data["attachments"] == [hashlib.sha256(body).hexdigest()]


def test_an_event_from_before_attachment_names_checks_contents_only(stored, session):
    """An event written before events named the files (``attachments`` only) still has
    its attachments' contents checked; their names, which it never held, are not."""
    event_id, data = session.execute(
        select(AuditEvent.id, AuditEvent.data).where(
            AuditEvent.action == "result.record", AuditEvent.entity_id == str(stored["single"])
        )
    ).one()
    older = {k: v for k, v in data.items() if k != "attachment_files"}
    _as_superuser(
        session,
        "UPDATE audit_events SET data = :data WHERE id = :id",
        "UPDATE attachments SET filename = 'renamed.pdf'",
        tables=("audit_events", "attachments"),
        params={"data": json.dumps(older, ensure_ascii=False), "id": event_id},
    )
    assert verify_records(session).ok
    forged = {"forged": FORGED, "forged_sha256": hashlib.sha256(FORGED).hexdigest()}
    _as_superuser(
        session,
        "UPDATE attachments SET content = :forged, sha256 = :forged_sha256",
        tables=("attachments",),
        params=forged,
    )
    report = verify_records(session)
    assert report.problems == [f"result {stored['single']}: {DIFFER} {event_id}"], report


def test_an_attachment_added_to_an_uploaded_result_is_named(stored, session):
    """INSERT alone (the app role may): evidence added to a result no event lists it for."""
    victim = stored["imported"][0]
    session.execute(
        text(
            "INSERT INTO attachments (result_id, filename, content_type, size, sha256, content) "
            f"SELECT {victim}, filename, content_type, size, sha256, content FROM attachments"
        )
    )
    session.commit()
    report = verify_records(session)
    assert report.problems == [f"result {victim} has attachments that no audit event lists"]


def test_a_loaders_rows_are_digested_as_stored(client, identity, district, session):
    """``store_loaded`` digests the rows as the database stored them: a column the loader
    left to its default (the counts) is in the digest as stored, and they verify."""
    from inspect_core.audit.records import store_loaded
    from inspect_core.plans.models import Task
    from inspect_core.results.service import today_in_china

    _, _, tasks = _drawn(client, identity, district)
    rows = []
    for t in tasks[:3]:
        row = factories.history_result(session.get(Task, t["id"]), today_in_china(), 0)
        del row["minor_count"]  # the column's default, 0, is what is stored
        rows.append(row)
    ids = store_loaded(session, "loader", rows)
    session.commit()
    assert session.scalars(select(Result.minor_count).where(Result.id.in_(ids))).all() == [0] * 3
    report = verify_records(session)
    assert report.ok and report.verified == report.rows == 3, report
