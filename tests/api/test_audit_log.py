"""The audit log against a superuser who bypasses the append-only triggers: the chain names
the exact event of an altered, deleted or swapped row; a signed checkpoint kept outside the
database catches what the chain alone cannot (its tail cut off, or the chain re-hashed).
(RELIABILITY.md §1.4.)"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select, text

from inspect_core.audit import checkpoint
from inspect_core.audit.models import AuditEvent
from inspect_core.audit.service import GENESIS, event_hash, record, verify

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


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """Two Ed25519 key pairs, outside the database: ``signer`` and ``other``."""
    folder = tmp_path_factory.mktemp("keys")
    pairs = {}
    for name in ("signer", "other"):
        private, public = folder / f"{name}.pem", folder / f"{name}.pub"
        key = checkpoint.generate(private, public)
        pairs[name] = KeyPair(private, public, checkpoint.key_id(key.public_key()))
    return pairs


class KeyPair(NamedTuple):
    private: Path
    public: Path
    key_id: str


@pytest.fixture
def keyed(app_factory, keys):
    """An app whose private key is configured (as INSPECT_AUDIT_CHECKPOINT_KEY_FILE sets it)."""
    return app_factory(AUDIT_CHECKPOINT_KEY_FILE=str(keys["signer"].private))


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
        expected = {
            "alter": "content does not match its hash (altered)",
            "delete": f"event {victim} is missing (next is {victim + 1})",
            "swap": "prev_hash does not match the previous event's hash",
        }
        assert report.problem == expected[tamper], report


def test_a_row_rehashed_alone_breaks_the_link_to_the_next(session):
    """An altered event given a hash of its new content (its own link kept) matches
    itself: the next event's ``prev_hash`` names the old hash, and that link is the break."""
    _chain(session)
    victim = _head(session) - EVENTS // 2
    row = session.execute(select(AuditEvent.__table__).where(AuditEvent.id == victim)).one()
    forged = event_hash(row.prev_hash, SimpleNamespace(**{**row._mapping, "actor": "mallory"}))
    _as_superuser(
        session,
        f"UPDATE audit_events SET actor = 'mallory', hash = '{forged}' WHERE id = {victim}",
    )
    report = verify(session)
    assert not report.ok and report.first_broken == victim + 1, report
    assert report.problem == "prev_hash does not match the previous event's hash"


@pytest.mark.parametrize("column", ["occurred_at", "action", "entity", "entity_id", "data"])
def test_an_edit_of_any_hashed_field_is_named(session, column):
    """The tamper test above edits ``actor`` alone: an event backdated, or its data or
    target rewritten, verified still if the hash left that field out."""
    _chain(session)
    victim = _head(session) - EVENTS // 2
    postgres = session.get_bind().dialect.name == "postgresql"
    earlier = "occurred_at - interval '1 day'" if postgres else "datetime(occurred_at, '-1 day')"
    value = {
        "occurred_at": earlier,
        "action": "'thing.undo'",
        "entity": "'other'",
        "entity_id": "'999'",
        "data": """'{"n": 999}'""",
    }[column]
    assert verify(session).ok
    _as_superuser(session, f"UPDATE audit_events SET {column} = {value} WHERE id = {victim}")
    report = verify(session)
    assert not report.ok and report.first_broken == victim, report
    assert report.problem == "content does not match its hash (altered)"


def test_an_event_with_nan_or_infinity_in_its_data_verifies(session):
    """What is hashed is what is stored: the column's serializer (orjson) stores NaN and
    Infinity as null, and an event hashed over NaN read as "altered" from the moment it
    was written, breaking the chain (and refusing every checkpoint) from there on."""
    _chain(session, 2)
    record(session, "tester", "model.train", "model", "m1", {"auc": float("nan"), "x": 1e400})
    _chain(session, 2)
    report = verify(session)
    assert report.ok, report
    stored = session.scalar(select(AuditEvent.data).where(AuditEvent.action == "model.train"))
    assert stored == {"auc": None, "x": None}


@pytest.mark.parametrize("stray", [0, -1])
def test_an_event_below_id_1_is_named_not_skipped(session, stray):
    """An event whose id is below 1 is on no chain, yet ``verify --records`` reads every
    event: verify skipped it and said intact, so a row inserted with the triggers off could
    cover a result row no write made.  It is named now."""
    _chain(session)
    assert verify(session).ok
    _as_superuser(
        session,
        "INSERT INTO audit_events (id, occurred_at, actor, action, entity, entity_id, data, "
        f"prev_hash, hash) VALUES ({stray}, '2026-01-01 00:00:00+00:00', 'mallory', "
        f"'result.record', 'result', '1', '{{}}', '{GENESIS}', '{'ab' * 32}')",
    )
    report = verify(session)
    assert not report.ok and report.first_broken == stray and report.events == 0
    assert "outside the chain" in report.problem


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

#: a line of the HMAC-SHA256 era (version 1), as `audit checkpoint` wrote it before Ed25519
HMAC_LINE = {
    "created_at": "2026-11-30T01:15:00+00:00",
    "events": 6,
    "hash": "ab" * 32,
    "key_id": "0f1e2d3c4b5a6978",
    "last_id": 6,
    "signature": "cd" * 32,
    "version": 1,
}


def test_checkpoint_is_refused_without_a_key(app_factory, tmp_path):
    """An unsigned head proves nothing, so no key means no checkpoint (and no file), and
    no key to check one with means no verdict on it."""
    out = tmp_path / "checkpoints.jsonl"
    refused = _cli(app_factory(), "checkpoint", "--out", str(out))
    assert refused.exit_code == 1
    assert "no audit checkpoint key" in refused.output
    assert "INSPECT_AUDIT_CHECKPOINT_KEY_FILE" in refused.output and "keygen" in refused.output
    assert not out.exists()
    out.write_text(json.dumps(HMAC_LINE) + "\n")
    unchecked = _cli(app_factory(), "verify", "--checkpoint", str(out))
    assert unchecked.exit_code == 1 and "--public-key" in unchecked.output


def test_keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites(keyed, tmp_path):
    """The private key is a new file of mode 0600; the public key beside it, or printed;
    the key id printed is SHA-256 of the raw public key; no existing file is replaced."""
    private, public = tmp_path / "audit.pem", tmp_path / "audit.pub"
    made = _cli(keyed, "keygen", "--private-key-out", str(private), "--public-key-out", str(public))
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    loaded = serialization.load_pem_public_key(public.read_bytes())
    raw = loaded.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert f"key id {hashlib.sha256(raw).hexdigest()[:16]}" in made.output
    assert private.read_text() not in made.output

    before = private.read_bytes()
    again = _cli(keyed, "keygen", "--private-key-out", str(private))
    assert again.exit_code == 1 and "exists" in again.output and "never overwritten" in again.output
    assert private.read_bytes() == before
    fresh = tmp_path / "fresh.pem"
    refused = _cli(
        keyed, "keygen", "--private-key-out", str(fresh), "--public-key-out", str(public)
    )
    assert refused.exit_code == 1 and "exists" in refused.output and not fresh.exists()

    printed = _cli(keyed, "keygen", "--private-key-out", str(fresh))
    assert printed.exit_code == 0 and "-----BEGIN PUBLIC KEY-----" in printed.output
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


def test_checkpoint_signs_the_head_and_the_public_key_alone_verifies_it(
    app_factory, keys, session, tmp_path, monkeypatch
):
    """Printed or appended, the checkpoint is the verified head, signed with Ed25519 under
    the key it names; a verifier with only the public key (given, configured, or derived
    from the private key) holds it; the private key is nowhere in it."""
    signer = keys["signer"]
    monkeypatch.setenv("INSPECT_AUDIT_CHECKPOINT_KEY_FILE", str(signer.private))
    from_env = app_factory()
    _chain(session)
    head = _head(session)
    printed = _cli(from_env, "checkpoint")
    assert printed.exit_code == 0, printed.output
    signed = json.loads(printed.output)
    assert signed["events"] == signed["last_id"] == head
    assert signed["hash"] == session.scalar(select(AuditEvent.hash).where(AuditEvent.id == head))
    assert (signed["version"], signed["alg"], signed["key_id"]) == (2, "Ed25519", signer.key_id)
    assert len(bytes.fromhex(signed["signature"])) == 64
    assert "PRIVATE" not in printed.output

    out = tmp_path / "checkpoints.jsonl"
    assert _cli(from_env, "checkpoint", "--out", str(out)).exit_code == 0
    _chain(session, 2, start=100)
    appended = _cli(from_env, "checkpoint", "--out", str(out))
    assert appended.exit_code == 0, appended.output
    lines = out.read_text().splitlines()
    assert [json.loads(line)["events"] for line in lines] == [head, head + 2]

    monkeypatch.delenv("INSPECT_AUDIT_CHECKPOINT_KEY_FILE")
    verifier = app_factory()  # no private key anywhere
    held = _cli(verifier, "verify", "--checkpoint", str(out), "--public-key", str(signer.public))
    assert held.exit_code == 0, held.output
    assert "intact" in held.output and f"event {head + 2}" in held.output
    assert f"2 checkpoint(s) signed by key {signer.key_id}" in held.output
    configured = app_factory(AUDIT_CHECKPOINT_PUBLIC_KEY_FILE=str(signer.public))
    assert _cli(configured, "verify", "--checkpoint", str(out)).exit_code == 0
    derived = _cli(verifier, "verify", "--checkpoint", str(out), "--key-file", str(signer.private))
    assert derived.exit_code == 0, derived.output


def test_tail_truncation_is_caught_against_the_last_checkpoint(keyed, keys, session, tmp_path):
    """Cut off the newest event behind the triggers: the chain still verifies, the
    checkpoint names the missing event and the hash it should have."""
    _chain(session)
    out = tmp_path / "checkpoints.jsonl"
    assert _cli(keyed, "checkpoint", "--out", str(out)).exit_code == 0
    head = _head(session)
    expected = json.loads(out.read_text())["hash"]
    _as_superuser(session, f"DELETE FROM audit_events WHERE id = {head}")

    caught = _cli(
        keyed, "verify", "--checkpoint", str(out), "--public-key", str(keys["signer"].public)
    )
    assert caught.exit_code == 1
    assert f"audit chain intact: {head - 1} events" in caught.output
    assert f"event {head}" in caught.output and expected in caught.output
    assert "missing" in caught.output and "truncated" in caught.output

    refused = _cli(keyed, "checkpoint", "--out", str(out))
    assert refused.exit_code == 1 and "does not hold" in refused.output
    assert out.read_text().count("\n") == 1


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


def test_a_forged_or_edited_line_is_refused_by_its_line(keyed, keys, session, tmp_path):
    """Whoever rewrites the chain cannot rewrite a checkpoint to match it without the
    private key: an edited line, or one signed by another key under the signer's key id,
    fails its signature, named by its line, in `verify` and before the next append."""
    public = str(keys["signer"].public)
    out = tmp_path / "checkpoints.jsonl"
    for start in (0, 100, 200):
        _chain(session, start=start)
        assert _cli(keyed, "checkpoint", "--out", str(out)).exit_code == 0
    assert _cli(keyed, "verify", "--checkpoint", str(out), "--public-key", public).exit_code == 0
    honest = out.read_text().splitlines()

    _as_superuser(session, f"DELETE FROM audit_events WHERE id > {_head(session) - EVENTS}")
    edited = {**json.loads(honest[2]), "events": _head(session), "last_id": _head(session)}
    edited["hash"] = verify(session).head
    out.write_text("\n".join([*honest[:2], json.dumps(edited)]) + "\n")
    refused = _cli(keyed, "verify", "--checkpoint", str(out), "--public-key", public)
    assert refused.exit_code == 1
    assert f"{out} line 3: checkpoint signature is invalid" in refused.output
    appended = _cli(keyed, "checkpoint", "--out", str(out))
    assert appended.exit_code == 1 and "line 3: checkpoint signature" in appended.output
    assert out.read_text().count("\n") == 3

    older = {**json.loads(honest[0]), "created_at": "2026-01-01T00:00:00+00:00"}
    out.write_text("\n".join([json.dumps(older), *honest[1:2]]) + "\n")
    refused = _cli(keyed, "verify", "--checkpoint", str(out), "--public-key", public)
    assert refused.exit_code == 1 and "line 1: checkpoint signature is invalid" in refused.output

    mallory = checkpoint.load_private_key({}, str(keys["other"].private))
    with_key_id = {**edited, "key_id": keys["signer"].key_id}
    body = {name: with_key_id[name] for name in checkpoint.FIELDS}
    with_key_id["signature"] = mallory.sign(checkpoint.message(body)).hex()
    out.write_text(json.dumps(with_key_id, indent=2))  # one object, printed on several lines
    refused = _cli(keyed, "verify", "--checkpoint", str(out), "--public-key", public)
    assert refused.exit_code == 1 and "line 1: checkpoint signature is invalid" in refused.output


def test_another_keys_public_key_does_not_verify(keyed, keys, session, tmp_path):
    """A checkpoint checked with another key's public key fails, naming both keys, and a
    file is appended to only by the key that signed it."""
    _chain(session)
    out = tmp_path / "checkpoints.jsonl"
    assert _cli(keyed, "checkpoint", "--out", str(out)).exit_code == 0
    signer, other = keys["signer"], keys["other"]
    foreign = _cli(keyed, "verify", "--checkpoint", str(out), "--public-key", str(other.public))
    assert foreign.exit_code == 1
    assert f"line 1: checkpoint signed with key {signer.key_id}" in foreign.output
    assert f"the key given is {other.key_id}" in foreign.output
    rotated = _cli(keyed, "checkpoint", "--out", str(out), "--key-file", str(other.private))
    assert rotated.exit_code == 1 and f"signed with key {signer.key_id}" in rotated.output
    assert out.read_text().count("\n") == 1


def test_the_public_key_cannot_sign(app_factory, keys, session, tmp_path):
    """A public key given where the private key belongs (option or setting) is refused by
    name, with no checkpoint written; and a private key is not taken as a public one."""
    _chain(session)
    out = tmp_path / "checkpoints.jsonl"
    public, private = str(keys["signer"].public), str(keys["signer"].private)
    for app, extra in (
        (app_factory(), ("--key-file", public)),
        (app_factory(AUDIT_CHECKPOINT_KEY_FILE=public), ()),
    ):
        refused = _cli(app, "checkpoint", "--out", str(out), *extra)
        assert refused.exit_code == 1, refused.output
        assert "is a public key" in refused.output and "cannot sign" in refused.output
        assert not out.exists()
    assert (
        _cli(app_factory(), "checkpoint", "--out", str(out), "--key-file", private).exit_code == 0
    )
    swapped = _cli(app_factory(), "verify", "--checkpoint", str(out), "--public-key", private)
    assert swapped.exit_code == 1 and "holds a private key" in swapped.output
    both = _cli(
        app_factory(),
        "verify",
        "--checkpoint",
        str(out),
        "--public-key",
        public,
        "--key-file",
        private,
    )
    assert both.exit_code == 1 and "not both" in both.output


def test_hmac_checkpoints_and_secrets_are_refused_by_name(
    app_factory, keyed, keys, session, tmp_path
):
    """The HMAC-SHA256 era is over (one deployment, none in production): a version-1 line
    is named as such rather than called forged, a file ending in one is not appended to,
    and an HMAC secret, as the setting or as the key file, is refused saying why."""
    _chain(session)
    out = tmp_path / "hmac.jsonl"
    out.write_text(json.dumps(HMAC_LINE, sort_keys=True) + "\n")
    public = str(keys["signer"].public)
    old = _cli(keyed, "verify", "--checkpoint", str(out), "--public-key", public)
    assert old.exit_code == 1
    assert "line 1 is an HMAC-SHA256 checkpoint" in old.output and "Ed25519" in old.output
    appended = _cli(keyed, "checkpoint", "--out", str(out))
    assert appended.exit_code == 1 and "HMAC-SHA256" in appended.output
    assert out.read_text().count("\n") == 1

    secret = "k3y-" + "0123456789abcdef" * 2
    setting = _cli(app_factory(AUDIT_CHECKPOINT_KEY=secret), "checkpoint")
    assert setting.exit_code == 1
    assert "INSPECT_AUDIT_CHECKPOINT_KEY is set, to an HMAC secret" in setting.output
    assert "keygen" in setting.output and secret not in setting.output
    key_file = tmp_path / "hmac.key"
    key_file.write_text(secret + "\n")
    as_file = _cli(app_factory(), "checkpoint", "--key-file", str(key_file))
    assert as_file.exit_code == 1
    assert "not an Ed25519 private key in PEM (an HMAC secret" in as_file.output


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o620, 0o602])
def test_a_private_key_others_can_read_or_write_signs_nothing(app_factory, session, tmp_path, mode):
    """As ssh does, a private key file its group or others may read or write is refused,
    naming the file and its mode, with no checkpoint written: whoever could read it could
    have forged checkpoints.  Its owner alone (0600, 0400) signs."""
    _chain(session)
    private, public = tmp_path / "audit.pem", tmp_path / "audit.pub"
    checkpoint.generate(private, public)
    out = tmp_path / "checkpoints.jsonl"
    private.chmod(mode)
    for app, extra in (
        (app_factory(AUDIT_CHECKPOINT_KEY_FILE=str(private)), ()),
        (app_factory(), ("--key-file", str(private))),
    ):
        refused = _cli(app, "checkpoint", "--out", str(out), *extra)
        assert refused.exit_code == 1, refused.output
        assert f"{private} has mode {mode:04o}" in refused.output
        assert "chmod 600" in refused.output
        assert not out.exists()
    private.chmod(0o400)
    signed = _cli(app_factory(), "checkpoint", "--out", str(out), "--key-file", str(private))
    assert signed.exit_code == 0, signed.output
    public.chmod(0o644)  # a public key is for anyone to read
    held = _cli(app_factory(), "verify", "--checkpoint", str(out), "--public-key", str(public))
    assert held.exit_code == 0, held.output


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
