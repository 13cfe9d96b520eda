"""Idempotency keys (Stripe's model, IETF draft-ietf-httpapi-idempotency-key-header).

The first response to ``(user, key)`` is stored in the same transaction as the rows it
created, so a retry either finds the whole effect and its response, or nothing.  A retry
with the same key and the same body replays the response; a different body is a 422;
a missing key where one is required is a 400.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from flask import request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inspect_core.errors import ApiError, BadRequest, Unprocessable
from inspect_core.results.models import IdempotencyRecord

HEADER = "Idempotency-Key"


def request_key(required: bool) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        if required:
            raise BadRequest(
                f"the {HEADER} header is required for this request",
                {HEADER: ["missing; send a unique key (e.g. a UUID) and reuse it on retry"]},
                message_zh="缺少幂等键",
            )
        return None
    return check_key(key)


def check_key(key: str) -> str:
    """``key`` as it is stored: trimmed, 1-255 printable characters (the column's size),
    else a 400 naming the header; the CLI's ``--key`` is checked the same way."""
    key = key.strip()
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise BadRequest(
            "invalid idempotency key",
            {HEADER: ["1-255 printable characters"]},
            message_zh="幂等键无效：须为 1 至 255 个可打印字符",
        )
    return key


def fingerprint(endpoint: str, body: Any) -> str:
    canonical = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(f"{endpoint}\n{canonical}".encode()).hexdigest()


def _existing(session: Session, user_id: int, key: str) -> IdempotencyRecord | None:
    return session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
        )
    )


def reused() -> Unprocessable:
    """The 422 of a key sent again with a different body or to another endpoint."""
    return Unprocessable(
        "this idempotency key was used with a different request",
        {HEADER: ["reused with a different body or endpoint; use a new key"]},
        message_zh="幂等键已用于不同的请求",
    )


def _replay(record: IdempotencyRecord, digest: str) -> tuple[int, dict[str, Any], bool]:
    if record.request_sha256 != digest:
        raise reused()
    return record.status_code, record.response, True


def run(
    session: Session,
    user: Any,
    key: str | None,
    endpoint: str,
    body: Any,
    work: Callable[[], tuple[int, dict[str, Any]]],
) -> tuple[int, dict[str, Any], bool]:
    """Do ``work`` once per key; returns (status, body, replayed).

    ``work`` adds rows to ``session`` without committing; this function stores the response
    under the key and commits both together.
    """
    if key is None:
        status, response = work()
        session.commit()
        return status, response, False
    digest = fingerprint(endpoint, body)
    record = _existing(session, user.id, key)
    if record is not None:
        return _replay(record, digest)
    try:
        status, response = work()
    except ApiError as failure:
        # a request with the same key may have committed while this one ran (a correction
        # waits for the first, then finds the version superseded): replay its answer
        return _replay_committed(session, user.id, key, digest, failure)
    session.add(
        IdempotencyRecord(
            user_id=user.id, key=key, endpoint=endpoint, request_sha256=digest,
            status_code=status, response=response,
        )
    )  # fmt: skip
    try:
        session.commit()
    except IntegrityError as failure:
        # a concurrent request with the same key committed first: replay it
        return _replay_committed(session, user.id, key, digest, failure)
    return status, response, False


def _replay_committed(
    session: Session, user_id: int, key: str, digest: str, failure: Exception
) -> tuple[int, Any, bool]:
    """After this request's ``failure``: the answer another request with the same key
    committed meanwhile, replayed; with none, ``failure`` raised again."""
    session.rollback()
    record = _existing(session, user_id, key)
    if record is None:
        raise failure
    return _replay(record, digest)
