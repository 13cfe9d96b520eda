"""Signed checkpoints of the audit chain's head, kept outside the database.

The hash chain shows an altered, deleted or swapped row, but not the last rows cut off
(the chain that is left is still a valid chain), and a superuser can rewrite the whole
chain and re-hash it.  A checkpoint is the head (event count, last id, its hash) signed
with an Ed25519 private key the database never sees, written to a file an operator keeps
elsewhere (write-once storage): later, the chain must still hold that event with that hash
at that position (RELIABILITY.md §1.4, a CT-style signed tree head).  Checking one takes
only the public key, so an auditor or the public can verify checkpoints without being able
to make one.  Each checkpoint names its algorithm and its key (``key_id``: the first 16
hex digits of SHA-256 over the raw 32-byte public key), and both are under the signature.

A checkpoint is only signed over a chain that verifies, and, when appended to a file that
already holds checkpoints, only when every checkpoint in the file is signed by this key
and the chain still holds the file's last one: a truncated or rewritten chain is never
blessed by a newer checkpoint.

Checkpoints of version 1 were HMAC-SHA256, under a secret that verifying also needed;
they are refused by name (no public key can check them), and so is the old secret's
``INSPECT_AUDIT_CHECKPOINT_KEY``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from inspect_core.audit.models import AuditEvent
from inspect_core.audit.service import canonical_json, verify

VERSION = 2
ALGORITHM = "Ed25519"
FIELDS = ("version", "alg", "key_id", "events", "last_id", "hash", "created_at")
_DOMAIN = b"inspect-core audit checkpoint v2\x00"

KEYGEN = "inspect-core audit keygen --private-key-out FILE --public-key-out FILE.pub"
NO_KEY = (
    "no audit checkpoint key: set INSPECT_AUDIT_CHECKPOINT_KEY_FILE (or pass --key-file) "
    "to an Ed25519 private key kept outside the database; make one with "
    f"`{KEYGEN}`"
)
NO_PUBLIC_KEY = (
    "no key to verify the checkpoint with: pass --public-key (the signer's Ed25519 public "
    "key), or set INSPECT_AUDIT_CHECKPOINT_PUBLIC_KEY_FILE; the private key "
    "(--key-file, INSPECT_AUDIT_CHECKPOINT_KEY_FILE) serves as well"
)
HMAC_RETIRED = (
    "HMAC-SHA256 checkpoints (version 1) are no longer made or read: checkpoints are signed "
    "with Ed25519, so verifying needs only a public key"
)


class CheckpointError(Exception):
    """A checkpoint cannot be made, read or trusted; the message says why."""


class Line(NamedTuple):
    """A checkpoint, the file it was read from and the line it starts on."""

    source: str
    number: int
    checkpoint: dict[str, Any]


# --- keys -------------------------------------------------------------------------------


def key_id(public_key: Ed25519PublicKey) -> str:
    """The key's name in a checkpoint: SHA-256 of the raw public key, 16 hex digits."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def generate(private_out: str | Path, public_out: str | Path | None = None) -> Ed25519PrivateKey:
    """A new key pair: the private key as unencrypted PKCS#8 PEM in a new file of mode
    0600, the public key as PEM in ``public_out`` if given.  An existing file is never
    overwritten (the key it holds may be the only one that checks a published file)."""
    targets = [Path(private_out)] + ([Path(public_out)] if public_out else [])
    if len(set(targets)) != len(targets):
        raise CheckpointError("the private and the public key need two different files")
    for path in targets:
        if path.exists():
            raise CheckpointError(f"{path} exists; a key file is never overwritten")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_new(targets[0], pem, 0o600)
    if public_out:
        try:
            _write_new(targets[1], public_pem(key.public_key()), 0o644)
        except CheckpointError:
            targets[0].unlink()
            raise
    return key


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` with ``mode`` (never a file that exists) and flush it to disk."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise CheckpointError(f"{path} exists; a key file is never overwritten") from None
    except OSError as exc:
        raise CheckpointError(f"cannot create {path}: {exc}") from None
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(path, mode)  # the umask may have taken bits off the public key's


def _read_key_file(path: str | Path) -> tuple[bytes, int]:
    """The file's bytes and the mode of the file they were read from."""
    try:
        with open(path, "rb") as key_file:
            return key_file.read(), os.fstat(key_file.fileno()).st_mode
    except OSError as exc:
        raise CheckpointError(f"cannot read the checkpoint key file {path}: {exc}") from None


def _refuse_loose_mode(path: str | Path, mode: int) -> None:
    """As ssh does (POSIX only): a private key its group or others may read or write may
    have been copied, and whoever holds a copy can forge checkpoints, so it signs none."""
    if os.name == "posix" and mode & 0o077:
        raise CheckpointError(
            f"the key file {path} has mode {stat.S_IMODE(mode):04o}: a private key its group "
            f"or others may read or write is refused; `chmod 600 {path}` (or 0400), and if "
            f"anyone else may have read it, make a new key pair with `{KEYGEN}`"
        )


def _refuse_hmac_secret(config: Mapping[str, Any]) -> None:
    if config.get("AUDIT_CHECKPOINT_KEY") is not None:
        raise CheckpointError(
            f"INSPECT_AUDIT_CHECKPOINT_KEY is set, to an HMAC secret: {HMAC_RETIRED}. "
            f"Make a key pair with `{KEYGEN}`, set INSPECT_AUDIT_CHECKPOINT_KEY_FILE to the "
            "private key and unset INSPECT_AUDIT_CHECKPOINT_KEY"
        )


def _private_from_pem(data: bytes, where: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:  # encrypted
        raise CheckpointError(
            f"{where} is an encrypted private key; the checkpoint job reads an unencrypted "
            "one (protect it by the file's owner and mode 0400)"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        try:
            serialization.load_pem_public_key(data)
        except (ValueError, UnsupportedAlgorithm):
            raise CheckpointError(
                f"{where} is not an Ed25519 private key in PEM (an HMAC secret from before "
                f"checkpoints were signed with Ed25519? {HMAC_RETIRED}); make a key pair with "
                f"`{KEYGEN}`"
            ) from None
        raise CheckpointError(
            f"{where} is a public key: it verifies checkpoints but cannot sign one; "
            "signing takes the private key (the file `audit keygen --private-key-out` wrote)"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{where} is a {type(key).__name__}, not an Ed25519 private key")
    return key


def load_private_key(config: Mapping[str, Any], key_file: str | None = None) -> Ed25519PrivateKey:
    """The signing key: ``key_file`` if given, else ``AUDIT_CHECKPOINT_KEY_FILE``.  No key,
    a public key, or the retired HMAC secret is a :class:`CheckpointError`."""
    if not key_file:
        _refuse_hmac_secret(config)
    path = key_file or config.get("AUDIT_CHECKPOINT_KEY_FILE")
    if not path:
        raise CheckpointError(NO_KEY)
    data, mode = _read_key_file(path)
    key = _private_from_pem(data, f"the key file {path}")
    _refuse_loose_mode(path, mode)  # after the parse: a public key given here is named so
    return key


def load_public_key(
    config: Mapping[str, Any], public_key_file: str | None = None, key_file: str | None = None
) -> Ed25519PublicKey:
    """The verifying key: ``public_key_file``, else the public half of ``key_file``, else
    ``AUDIT_CHECKPOINT_PUBLIC_KEY_FILE``, else the public half of
    ``AUDIT_CHECKPOINT_KEY_FILE``."""
    if public_key_file and key_file:
        raise CheckpointError("give --public-key or --key-file, not both")
    if key_file:
        return load_private_key(config, key_file).public_key()
    path = public_key_file or config.get("AUDIT_CHECKPOINT_PUBLIC_KEY_FILE")
    if not path:
        _refuse_hmac_secret(config)
        if config.get("AUDIT_CHECKPOINT_KEY_FILE"):
            return load_private_key(config).public_key()
        raise CheckpointError(NO_PUBLIC_KEY)
    (data, _), where = _read_key_file(path), f"the public key file {path}"
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        if b"PRIVATE KEY" in data:
            raise CheckpointError(
                f"{where} holds a private key; give its public key (or the private key as "
                "--key-file, where it may be read)"
            ) from None
        raise CheckpointError(f"{where} is not an Ed25519 public key in PEM") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError(f"{where} is a {type(key).__name__}, not an Ed25519 public key")
    return key


# --- checkpoints ------------------------------------------------------------------------


def message(body: Mapping[str, Any]) -> bytes:
    """The bytes signed: a domain tag, then the canonical JSON of :data:`FIELDS`."""
    return _DOMAIN + canonical_json({name: body[name] for name in FIELDS})


def make(
    session: Session, key: Ed25519PrivateKey, previous: Sequence[Line] | None = None
) -> dict[str, Any]:
    """Verify the chain (and, with ``previous``, a file's checkpoints: each signed by this
    key, the last still held), then sign its head."""
    report = verify(session)
    if not report.ok:
        raise CheckpointError(
            f"audit chain BROKEN at event {report.first_broken}: {report.problem}; "
            "no checkpoint signed"
        )
    if previous:
        try:
            check_lines(previous, key.public_key())
        except CheckpointError as exc:
            raise CheckpointError(f"{exc}; no checkpoint signed") from None
        problem = check(session, previous[-1].checkpoint)
        if problem:
            raise CheckpointError(f"the last checkpoint does not hold: {problem}")
    body: dict[str, Any] = {
        "version": VERSION,
        "alg": ALGORITHM,
        "key_id": key_id(key.public_key()),
        "events": report.events,
        "last_id": report.events,  # a verified chain numbers its events 1..n
        "hash": report.head,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    return {**body, "signature": key.sign(message(body)).hex()}


def _parsed(value: Any, path: str | Path, number: int) -> dict[str, Any]:
    where = f"checkpoint file {path} line {number}"
    if not isinstance(value, dict):
        raise CheckpointError(f"{where}: not a checkpoint object")
    if value.get("version") == 1 and "alg" not in value:
        raise CheckpointError(
            f"{where} is an HMAC-SHA256 checkpoint: {HMAC_RETIRED}. Start a new checkpoint "
            "file; keep the old one, with its HMAC key, as the record of the chain up to then"
        )
    if value.get("version") != VERSION:
        raise CheckpointError(f"{where}: checkpoint version {value.get('version')!r} is not 2")
    if value.get("alg") != ALGORITHM:
        raise CheckpointError(f"{where}: algorithm {value.get('alg')!r} is not {ALGORITHM}")
    missing = [name for name in (*FIELDS, "signature") if name not in value]
    if missing:
        raise CheckpointError(f"{where}: not a checkpoint (no {', '.join(missing)})")
    return value


def read(path: str | Path) -> list[Line]:
    """Every checkpoint of a file of one JSON object per line (or of one JSON object,
    printed on several lines), in order: the newest is the last."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"cannot read checkpoint file {path}: {exc}") from None
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not numbered:
        raise CheckpointError(f"checkpoint file {path} holds no checkpoint")
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    if isinstance(whole, dict):  # one object (on one line, or printed on several)
        return [Line(str(path), numbered[0][0], _parsed(whole, path, numbered[0][0]))]
    lines = []
    for number, line in numbered:
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise CheckpointError(
                f"checkpoint file {path} line {number}: not JSON ({exc})"
            ) from None
        lines.append(Line(str(path), number, _parsed(value, path, number)))
    return lines


def last_in(path: str | Path) -> list[Line] | None:
    """The checkpoints of a file, or ``None`` while the file is missing or empty."""
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


def check_signature(checkpoint: Mapping[str, Any], public_key: Ed25519PublicKey) -> None:
    """Refuse a checkpoint signed with another key, or altered or forged since."""
    if checkpoint["key_id"] != key_id(public_key):
        raise CheckpointError(
            f"checkpoint signed with key {checkpoint['key_id']}, "
            f"the key given is {key_id(public_key)}"
        )
    try:
        public_key.verify(bytes.fromhex(str(checkpoint["signature"])), message(checkpoint))
    except (InvalidSignature, ValueError, TypeError):
        raise CheckpointError(
            "checkpoint signature is invalid: the checkpoint was altered or forged"
        ) from None


def check_lines(lines: Sequence[Line], public_key: Ed25519PublicKey) -> None:
    """Every checkpoint of a file signed by ``public_key``'s key; else the first that is
    not, by its line."""
    for source, number, checkpoint in lines:
        try:
            check_signature(checkpoint, public_key)
        except CheckpointError as exc:
            raise CheckpointError(f"checkpoint file {source} line {number}: {exc}") from None


def check(session: Session, checkpoint: Mapping[str, Any]) -> str | None:
    """``None`` if the chain still has a (signature-checked) checkpoint's event with the
    same hash at the same position; else what differs."""
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
