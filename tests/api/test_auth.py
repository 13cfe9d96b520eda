"""Tokens: issued for the right password, refused when missing, expired, revoked or tampered."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from inspect_core.auth.models import ApiToken, User
from inspect_core.auth.service import create_user


def login(client, username, password):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def test_token_for_right_password_and_argon2id_at_rest(app, client, session):
    create_user(session, "li.na", "a long passphrase", "regulator")
    session.commit()
    response = login(client, "li.na", "a long passphrase")
    assert response.status_code == 200
    assert response.json["token_type"] == "Bearer"
    assert response.json["expires_in"] == app.config["TOKEN_TTL_SECONDS"]
    stored = session.scalar(select(User.password_hash).where(User.username == "li.na"))
    assert stored.startswith("$argon2id$")
    assert "a long passphrase" not in stored
    me = client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {response.json['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json["role"] == "regulator"


def test_wrong_password_and_unknown_user_get_the_same_401(client, session):
    create_user(session, "wang.wu", "a long passphrase", "regulator")
    session.commit()
    wrong = login(client, "wang.wu", "not the passphrase")
    unknown = login(client, "nobody", "a long passphrase")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json["message"] == unknown.json["message"]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_missing_expired_revoked_and_tampered_tokens_get_401(client, session):
    create_user(session, "zhao.liu", "a long passphrase", "regulator")
    session.commit()
    token = login(client, "zhao.liu", "a long passphrase").json["access_token"]
    assert client.get("/api/v1/enterprises", headers=_bearer(token)).status_code == 200

    assert client.get("/api/v1/enterprises").status_code == 401
    assert (
        client.get("/api/v1/enterprises", headers={"Authorization": "Basic abc"}).status_code == 401
    )
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.get("/api/v1/enterprises", headers=_bearer(tampered)).status_code == 401

    # expired
    session.execute(
        update(ApiToken).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    )
    session.commit()
    expired = client.get("/api/v1/enterprises", headers=_bearer(token))
    assert expired.status_code == 401
    assert expired.json["message"] == "token expired"

    # revoked
    fresh = login(client, "zhao.liu", "a long passphrase").json["access_token"]
    assert client.post("/api/v1/auth/revoke", headers=_bearer(fresh)).status_code == 204
    revoked = client.get("/api/v1/enterprises", headers=_bearer(fresh))
    assert revoked.status_code == 401
    assert revoked.json["message"] == "token revoked"


def test_every_401_carries_a_bearer_challenge(client, session):
    """RFC 7235 §3.1: a 401 must send ``WWW-Authenticate``; none did, so a client could not
    tell a missing login from a refused token.  RFC 6750 §3: a token sent and refused
    (unknown, revoked, expired, its account disabled) is ``error="invalid_token"``."""
    create_user(session, "qian.ba", "a long passphrase", "regulator")
    session.commit()
    token = login(client, "qian.ba", "a long passphrase").json["access_token"]
    bare, invalid = (
        'Bearer realm="inspect-core"',
        'Bearer realm="inspect-core", error="invalid_token"',
    )
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}):
        r = client.get("/api/v1/enterprises", headers=headers)
        assert (r.status_code, r.headers.get("WWW-Authenticate")) == (401, bare), headers
    assert login(client, "qian.ba", "wrong").headers.get("WWW-Authenticate") == bare
    assert client.post("/api/v1/auth/revoke", headers=_bearer(token)).status_code == 204
    for sent in (token, "not-a-token"):
        r = client.get("/api/v1/enterprises", headers=_bearer(sent))
        assert (r.status_code, r.headers.get("WWW-Authenticate")) == (401, invalid), sent
    fresh = login(client, "qian.ba", "a long passphrase").json["access_token"]
    assert (
        "WWW-Authenticate" not in client.get("/api/v1/enterprises", headers=_bearer(fresh)).headers
    )
    session.execute(update(User).where(User.username == "qian.ba").values(active=False))
    session.commit()
    r = client.get("/api/v1/enterprises", headers=_bearer(fresh))
    assert r.headers.get("WWW-Authenticate") == invalid


def test_disabled_account_cannot_use_its_token(client, session):
    create_user(session, "sun.qi", "a long passphrase", "regulator")
    session.commit()
    token = login(client, "sun.qi", "a long passphrase").json["access_token"]
    session.execute(update(User).where(User.username == "sun.qi").values(active=False))
    session.commit()
    assert client.get("/api/v1/enterprises", headers=_bearer(token)).status_code == 401
    assert login(client, "sun.qi", "a long passphrase").status_code == 401


def test_inspector_account_needs_an_existing_badge(client, session):
    import pytest

    from inspect_core.errors import Unprocessable

    with pytest.raises(Unprocessable) as info:
        create_user(session, "insp", "a long passphrase", "inspector", badge="NOPE-1")
    assert "badge" in info.value.errors


def _token_events(session, username: str) -> list:
    from inspect_core.audit.models import AuditEvent

    return session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity == "user", AuditEvent.entity_id == username)
        .where(AuditEvent.action.like("token.%"))
        .order_by(AuditEvent.id)
    ).all()


def test_logging_out_is_audited_by_token_id_never_its_value(client, session):
    """Revoking a token is a write like any other: the chain records who revoked which
    token (its row id), but neither the token nor its SHA-256, which would let a reader
    of the audit log look it up; a second revoke of the same token writes nothing."""
    import hashlib

    create_user(session, "qian.ba", "a long passphrase", "regulator")
    session.commit()
    token = login(client, "qian.ba", "a long passphrase").json["access_token"]
    row = session.scalar(select(ApiToken).where(ApiToken.user.has(username="qian.ba")))
    assert client.post("/api/v1/auth/revoke", headers=_bearer(token)).status_code == 204
    (event,) = _token_events(session, "qian.ba")
    assert (event.action, event.actor) == ("token.revoke", "qian.ba")
    assert event.data == {"token_id": row.id}
    stored = f"{event.data} {event.entity_id}"
    assert token not in stored and hashlib.sha256(token.encode()).hexdigest() not in stored
    # the revoked token is refused before it reaches the service again: still one event
    assert client.post("/api/v1/auth/revoke", headers=_bearer(token)).status_code == 401
    assert len(_token_events(session, "qian.ba")) == 1


def test_a_login_racing_a_password_change_keeps_no_token_on_postgresql(committed_app, monkeypatch):
    """A leaked password: the operator sets a new one (``users set-password``), which
    revokes every live token, while the holder of the old one logs in.  The login had
    checked the old password and not yet stored its token when the change committed, so
    its token was not among those revoked and stayed valid after the change.  The login
    now holds the account's row until its token is stored: the change waits for it, then
    revokes that token too (or, first, makes the login check the new password)."""
    from inspect_core.auth import service
    from inspect_core.db import db
    from tests.concurrency import linger, together

    app, _ = committed_app
    with app.app_context():
        create_user(db.session, "leaked", "the old passphrase", "regulator")
        db.session.commit()
    # the login lingers after the password check, its token not yet stored
    checked = linger(monkeypatch, service, "_sha256", seconds=0.5)
    answers: list = []

    def log_in() -> None:
        answers.append(login(app.test_client(), "leaked", "the old passphrase"))

    def change_password() -> None:
        assert checked.wait(timeout=10)
        with app.app_context(), db.new_session() as session:
            service.set_password(session, "leaked", "the new passphrase")

    together(log_in, change_password)
    monkeypatch.undo()
    if answers[0].status_code == 200:  # the login went first: its token is revoked
        token = answers[0].json["access_token"]
        assert app.test_client().get("/api/v1/auth/me", headers=_bearer(token)).status_code == 401
    else:
        assert answers[0].status_code == 401
    assert login(app.test_client(), "leaked", "the old passphrase").status_code == 401
    assert login(app.test_client(), "leaked", "the new passphrase").status_code == 200
