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
