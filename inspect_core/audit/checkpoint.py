"""Signed checkpoints of the audit chain's head, kept outside the database.

The hash chain shows an altered, deleted or swapped row, but not the last rows cut off
(the chain that is left is still a valid chain), and a superuser can rewrite the whole
chain and re-hash it.  A checkpoint is the head (event count, last id, its hash) signed
with HMAC-SHA256 under a key the database never sees, written to a file an operator keeps
elsewhere (write-once storage): later, the chain must still hold that event with that hash
at that position (RELIABILITY.md §1.4, a CT-style signed tree head).

A checkpoint is only signed over a chain that verifies, and, when appended to a file that
already holds checkpoints, only over a chain that still holds the file's last one: a
truncated or rewritten chain is never blessed by a newer checkpoint.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inspect_core.audit.models import AuditEvent
from inspect_core.audit.service import canonical_json, verify

VERSION = 1
MIN_KEY_BYTES = 32
FIELDS = ("version", "events", "last_id", "hash", "created_at", "key_id")
_DOMAIN = b"inspect-core audit checkpoint v1\x00"
_KEY_ENV = "INSPECT_AUDIT_CHECKPOINT_KEY"

NO_KEY = (
    "no audit checkpoint key: set INSPECT_AUDIT_CHECKPOINT_KEY, or "
    "INSPECT_AUDIT_CHECKPOINT_KEY_FILE (or pass --key-file), to a secret of at least "
    f"{MIN_KEY_BYTES} bytes kept outside the database, e.g. "
    "`python -c 'import secrets; print(secrets.token_hex(32))'`"
)


class CheckpointError(Exception):
    """A checkpoint cannot be made, read or trusted; the message says why."""


def load_key(config: Mapping[str, Any], key_file: str | None = None) -> bytes:
    """The signing key: ``key_file`` if given, else ``AUDIT_CHECKPOINT_KEY`` or
    ``AUDIT_CHECKPOINT_KEY_FILE`` (not both).  No key is a :class:`CheckpointError`."""
    value = config.get("AUDIT_CHECKPOINT_KEY")
    if value is not None and not isinstance(value, str):
        # from_prefixed_env parses JSON: an all-digit key arrived as a number
        value = os.environ.get(_KEY_ENV, str(value))
    path = key_file or config.get("AUDIT_CHECKPOINT_KEY_FILE")
    if value and path and not key_file:
        raise CheckpointError(
            "both AUDIT_CHECKPOINT_KEY and AUDIT_CHECKPOINT_KEY_FILE are set; set one"
        )
    if path:
        try:
            key = Path(path).read_bytes().strip()
        except OSError as exc:
            raise CheckpointError(f"cannot read the checkpoint key file {path}: {exc}") from None
        where = f"key file {path}"
    elif value:
        key, where = value.strip().encode(), "AUDIT_CHECKPOINT_KEY"
    else:
        raise CheckpointError(NO_KEY)
    if len(key) < MIN_KEY_BYTES:
        raise CheckpointError(f"the {where} is {len(key)} bytes; at least {MIN_KEY_BYTES}")
    return key


def key_id(key: bytes) -> str:
    """A fingerprint naming the key (it tells nothing about the key itself)."""
    return hashlib.sha256(b"inspect-core audit checkpoint key id\x00" + key).hexdigest()[:16]


def _signature(key: bytes, body: Mapping[str, Any]) -> str:
    message = _DOMAIN + canonical_json({name: body[name] for name in FIELDS})
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def make(session: Session, key: bytes, previous: Mapping[str, Any] | None = None) -> dict:
    """Verify the chain (and that it still holds ``previous``), then sign its head."""
    report = verify(session)
    if not report.ok:
        raise CheckpointError(
            f"audit chain BROKEN at event {report.first_broken}: {report.problem}; "
            "no checkpoint signed"
        )
    if previous is not None:
        try:
            problem = check(session, previous, key)
        except CheckpointError as exc:
            raise CheckpointError(f"the last checkpoint is refused: {exc}") from None
        if problem:
            raise CheckpointError(f"the last checkpoint does not hold: {problem}")
    body: dict[str, Any] = {
        "version": VERSION,
        "events": report.events,
        "last_id": report.events,  # a verified chain numbers its events 1..n
        "hash": report.head,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "key_id": key_id(key),
    }
    return {**body, "signature": _signature(key, body)}


def read(path: str | Path) -> dict[str, Any]:
    """The last checkpoint in a file of one JSON object per line (or one JSON object)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint file {path}: {exc}") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise CheckpointError(f"checkpoint file {path} holds no checkpoint")
    try:
        checkpoint = json.loads(text)  # one object, printed on one line or several
    except ValueError:
        try:
            checkpoint = json.loads(lines[-1])  # JSON lines: the newest is the last
        except ValueError as exc:
            raise CheckpointError(f"checkpoint file {path}: not JSON ({exc})") from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"checkpoint file {path}: not a checkpoint object")
    missing = [name for name in (*FIELDS, "signature") if name not in checkpoint]
    if missing:
        raise CheckpointError(f"checkpoint file {path}: not a checkpoint (no {missing})")
    return checkpoint


def last_in(path: str | Path) -> dict[str, Any] | None:
    """The last checkpoint of a file, or ``None`` while the file is missing or empty."""
    file = Path(path)
    if not file.exists() or not file.read_text(encoding="utf-8").strip():
        return None
    return read(file)


def append(path: str | Path, checkpoint: Mapping[str, Any]) -> None:
    """Add one line to a JSONL file and flush it to disk."""
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(checkpoint, sort_keys=True) + "\n")
        out.flush()
        os.fsync(out.fileno())


def check_signature(checkpoint: Mapping[str, Any], key: bytes) -> None:
    """Refuse a checkpoint signed with another key, or altered or forged since."""
    if checkpoint["version"] != VERSION:
        raise CheckpointError(f"checkpoint version {checkpoint['version']!r} is not {VERSION}")
    if checkpoint["key_id"] != key_id(key):
        raise CheckpointError(
            f"checkpoint signed with key {checkpoint['key_id']}, the key given is {key_id(key)}"
        )
    expected = _signature(key, checkpoint)
    if not hmac.compare_digest(expected, str(checkpoint["signature"])):
        raise CheckpointError(
            "checkpoint signature is invalid: the checkpoint was altered or forged"
        )


def check(session: Session, checkpoint: Mapping[str, Any], key: bytes) -> str | None:
    """``None`` if the signature holds and the chain still has the checkpoint's event with
    the same hash at the same position; else what differs."""
    check_signature(checkpoint, key)
    last_id, expected = checkpoint["last_id"], checkpoint["hash"]
    if last_id == 0:
        return None  # a checkpoint of the empty chain: every chain extends it
    found = session.scalar(select(AuditEvent.hash).where(AuditEvent.id == last_id))
    if found is None:
        head = session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
        return (
            f"event {last_id} (checkpoint of {checkpoint['created_at']}, hash {expected}) "
            f"is missing: the chain ends at event {head or 0} (truncated)"
        )
    if found != expected:
        return (
            f"event {last_id}: checkpoint of {checkpoint['created_at']} has hash {expected}, "
            f"the chain has {found} (rewritten)"
        )
    return None
