"""The audit log against a superuser who bypasses the append-only triggers: the chain names
the exact event of an altered, deleted or swapped row; a signed checkpoint kept outside the
database catches what the chain alone cannot (its tail cut off, or the chain re-hashed).
(RELIABILITY.md §1.4.)"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from inspect_core.audit.models import AuditEvent
from inspect_core.audit.service import GENESIS, event_hash, record, verify

KEY = "k3y-" + "0123456789abcdef" * 2  # 36 bytes, outside the database
EVENTS = 6


def _chain(session, n: int = EVENTS, start: int = 0) -> None:
    """Append ``n`` events through the service, as the application writes them."""
    for i in range(start, start + n):
        record(session, "tester", "thing.do", "thing", i, {"n": i})
    session.commit()


def _as_superuser(session, *statements: str) -> None:
    """Run ``statements`` on audit_events as a superuser would, with its triggers off."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        for sql in statements:
            session.execute(text(sql))
        session.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
    else:
        session.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
        session.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        for sql in statements:
            session.execute(text(sql))
    session.commit()


def _rehash_from(session, first: int) -> None:
    """Recompute every hash from event ``first`` on, as a superuser covering an edit would."""
    prev = session.scalar(select(AuditEvent.hash).where(AuditEvent.id == first - 1)) or GENESIS
    rows = session.execute(
        select(AuditEvent.__table__).where(AuditEvent.id >= first).order_by(AuditEvent.id)
    ).all()
    updates = []
    for row in rows:
        digest = event_hash(prev, row)
        updates.append(
            f"UPDATE audit_events SET prev_hash = '{prev}', hash = '{digest}' WHERE id = {row.id}"
        )
        prev = digest
    _as_superuser(session, *updates)


def _head(session) -> int:
    return session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0


@pytest.fixture
def keyed(app_factory):
    """An app whose checkpoint key is configured (as INSPECT_AUDIT_CHECKPOINT_KEY sets it)."""
    return app_factory(AUDIT_CHECKPOINT_KEY=KEY)


def _cli(app, *args: str):
    """``inspect-core audit …`` under ``app`` (the CLI takes an app context already pushed,
    and the ``session`` fixture holds the default app's)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=["audit", *args])


# --- the chain alone ----------------------------------------------------------------------


@pytest.mark.parametrize("position", [1, EVENTS // 2, EVENTS - 1])
@pytest.mark.parametrize("tamper", ["none", "alter", "delete", "swap"])
def test_chain_verify_fails_exactly_when_a_row_was_tampered_and_names_it(session, tamper, position):
    """verify() fails iff a tamper was injected, at the tampered seq: an altered row, a
    deleted one before the head, two rows swapped (with ``position + 1``)."""
    _chain(session)
    first = _head(session) - EVENTS + 1
    victim = first + position - 1
    assert verify(session).ok
    statements = {
        "none": [],
        "alter": [f"UPDATE audit_events SET actor = 'mallory' WHERE id = {victim}"],
        "delete": [f"DELETE FROM audit_events WHERE id = {victim}"],
        "swap": [
            f"UPDATE audit_events SET id = -1 WHERE id = {victim}",
            f"UPDATE audit_events SET id = {victim} WHERE id = {victim + 1}",
            f"UPDATE audit_events SET id = {victim + 1} WHERE id = -1",
        ],
    }[tamper]
    _as_superuser(session, *statements)
    report = verify(session)
    if tamper == "none":
        assert report.ok and report.first_broken is None
    else:
        assert not report.ok
        assert report.first_broken == victim, report
        assert report.events == victim - 1


def test_without_a_checkpoint_a_cut_off_tail_still_verifies(client, identity, session):
    """Why checkpoints exist: the chain that is left after deleting its last event is a
    valid chain, so /audit/verify alone says ok with one event fewer."""
    _chain(session)
    regulator = identity("regulator")
    before = client.get("/api/v1/audit/verify", headers=regulator).json
    _as_superuser(session, f"DELETE FROM audit_events WHERE id = {before['events']}")
    after = client.get("/api/v1/audit/verify", headers=regulator).json
    assert after["ok"] is True and after["events"] == before["events"] - 1


# --- checkpoints ---------------------------------------------------------------------------


def test_checkpoint_is_refused_without_a_key_or_with_a_short_one(app_factory, tmp_path):
    """An unsigned head proves nothing, so no key means no checkpoint (and no file)."""
    out = tmp_path / "checkpoints.jsonl"
    refused = _cli(app_factory(), "checkpoint", "--out", str(out))
    assert refused.exit_code == 1
    assert "no audit checkpoint key" in refused.output
    assert "INSPECT_AUDIT_CHECKPOINT_KEY" in refused.output
    short = _cli(app_factory(AUDIT_CHECKPOINT_KEY="secret"), "checkpoint", "--out", str(out))
    assert short.exit_code == 1 and "at least 32" in short.output
    assert not out.exists()
    assert _cli(app_factory(), "verify", "--checkpoint", str(out)).exit_code != 0


def test_checkpoint_signs_the_head_and_verify_holds_it(app_factory, session, tmp_path, monkeypatch):
    """Printed or appended, the checkpoint is the verified head, signed; a key given as an
    environment variable (all digits: JSON-parsed to a number by Flask) or a key file
    verifies it; the key itself is nowhere in the checkpoint."""
    digits = "1234567890" * 4
    monkeypatch.setenv("INSPECT_AUDIT_CHECKPOINT_KEY", digits)
    from_env = app_factory()
    _chain(session)
    head = _head(session)
    printed = _cli(from_env, "checkpoint")
    assert printed.exit_code == 0, printed.output
    signed = json.loads(printed.output)
    assert signed["events"] == signed["last_id"] == head
    assert signed["hash"] == session.scalar(select(AuditEvent.hash).where(AuditEvent.id == head))
    assert digits not in printed.output and len(signed["signature"]) == 64

    out = tmp_path / "checkpoints.jsonl"
    assert _cli(from_env, "checkpoint", "--out", str(out)).exit_code == 0
    _chain(session, 2, start=100)
    appended = _cli(from_env, "checkpoint", "--out", str(out))
    assert appended.exit_code == 0, appended.output
    lines = out.read_text().splitlines()
    assert [json.loads(line)["events"] for line in lines] == [head, head + 2]

    monkeypatch.delenv("INSPECT_AUDIT_CHECKPOINT_KEY")
    key_file = tmp_path / "audit.key"
    key_file.write_text(digits + "\n")
    held = _cli(app_factory(), "verify", "--checkpoint", str(out), "--key-file", str(key_file))
    assert held.exit_code == 0, held.output
    assert "intact" in held.output and f"event {head + 2}" in held.output


def test_tail_truncation_is_caught_against_the_last_checkpoint(keyed, session, tmp_path):
    """Cut off the newest event behind the triggers: the chain still verifies, the
    checkpoint names the missing event and the hash it should have."""
    _chain(session)
    out = tmp_path / "checkpoints.jsonl"
    assert _cli(keyed, "checkpoint", "--out", str(out)).exit_code == 0
    head = _head(session)
    expected = json.loads(out.read_text())["hash"]
    _as_superuser(session, f"DELETE FROM audit_events WHERE id = {head}")

    caught = _cli(keyed, "verify", "--checkpoint", str(out))
    assert caught.exit_code == 1
    assert f"audit chain intact: {head - 1} events" in caught.output
    assert f"event {head}" in caught.output and expected in caught.output
    assert "missing" in caught.output and "truncated" in caught.output


def test_a_rehashed_chain_is_caught_and_not_signed_over(keyed, session, tmp_path):
    """A superuser edits an event and re-hashes every later one, then appends more: the
    chain verifies, but the checkpoint's event has another hash; and the next checkpoint
    refuses to sign over the file's last one rather than bless the rewrite."""
    _chain(session)
    out = tmp_path / "checkpoints.jsonl"
    assert _cli(keyed, "checkpoint", "--out", str(out)).exit_code == 0
    head = _head(session)
    signed = json.loads(out.read_text())
    _as_superuser(session, f"UPDATE audit_events SET actor = 'mallory' WHERE id = {head - 2}")
    _rehash_from(session, head - 2)
    _chain(session, 3, start=200)
    assert verify(session).ok
    found = session.scalar(select(AuditEvent.hash).where(AuditEvent.id == head))

    caught = _cli(keyed, "verify", "--checkpoint", str(out))
    assert caught.exit_code == 1
    assert f"event {head}" in caught.output
    assert signed["hash"] in caught.output and found in caught.output
    assert "rewritten" in caught.output

    refused = _cli(keyed, "checkpoint", "--out", str(out))
    assert refused.exit_code == 1 and "does not hold" in refused.output
    assert out.read_text().count("\n") == 1


def test_a_forged_or_foreign_checkpoint_is_refused(keyed, app_factory, session, tmp_path):
    """Whoever rewrites the chain cannot rewrite the checkpoint to match it without the
    key: an edited checkpoint fails its signature, one under another key is named so."""
    _chain(session)
    out = tmp_path / "checkpoint.json"
    signed = json.loads(_cli(keyed, "checkpoint").output)
    _as_superuser(session, f"DELETE FROM audit_events WHERE id = {signed['last_id']}")
    forged = {**signed, "events": signed["events"] - 1, "last_id": signed["last_id"] - 1}
    forged["hash"] = verify(session).head
    out.write_text(json.dumps(forged, indent=2))
    refused = _cli(keyed, "verify", "--checkpoint", str(out))
    assert refused.exit_code == 1 and "signature is invalid" in refused.output

    out.write_text(json.dumps(signed))
    other = app_factory(AUDIT_CHECKPOINT_KEY="another key, also outside the database")
    foreign = _cli(other, "verify", "--checkpoint", str(out))
    assert foreign.exit_code == 1 and f"signed with key {signed['key_id']}" in foreign.output


def test_checkpoint_refuses_to_sign_a_broken_chain(keyed, session):
    _chain(session)
    victim = _head(session) - 2
    _as_superuser(session, f"UPDATE audit_events SET actor = 'mallory' WHERE id = {victim}")
    refused = _cli(keyed, "checkpoint")
    assert refused.exit_code == 1
    assert f"BROKEN at event {victim}" in refused.output and "no checkpoint" in refused.output


def test_api_head_matches_the_signed_checkpoint(keyed, client, identity, session):
    """GET /audit/head and the checkpoint name the same event and hash."""
    regulator = identity("regulator")
    _chain(session)
    signed = json.loads(_cli(keyed, "checkpoint").output)
    head = client.get("/api/v1/audit/head", headers=regulator).json
    assert (head["id"], head["hash"]) == (signed["last_id"], signed["hash"])
