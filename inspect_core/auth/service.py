"""Accounts: Argon2id password hashes, opaque revocable bearer tokens, user creation."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app, g, request
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from inspect_core.auth.models import ROLES, ApiToken, User, UserRegion
from inspect_core.db import db, utcnow
from inspect_core.errors import Conflict, Unauthorized, Unprocessable
from inspect_core.inspectors.models import Inspector

TOKEN_PREFIX = "ic_"
#: a hash verified when the username is unknown, so both paths cost the same time
_DUMMY_HASH: str | None = None


def hasher() -> PasswordHasher:
    """Argon2id at the configured cost (OWASP minimum by default: m=19 MiB, t=2, p=1)."""
    cfg = current_app.config
    return PasswordHasher(
        time_cost=int(cfg["ARGON2_TIME_COST"]),
        memory_cost=int(cfg["ARGON2_MEMORY_COST"]),
        parallelism=int(cfg["ARGON2_PARALLELISM"]),
    )


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


#: what a login accepts (``TokenRequestSchema``): a longer password could never be used
PASSWORD_MAX = 1024


def password_problem(password: str) -> str | None:
    """Why a new password is refused, if it is."""
    if len(password) < 8:
        return "at least 8 characters"
    if len(password) > PASSWORD_MAX:
        return f"at most {PASSWORD_MAX} characters"
    return None


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    badge: str | None = None,
    regions: Sequence[str] = (),
) -> User:
    """Create an account; inspectors must be linked to an existing badge."""
    errors: dict[str, list[str]] = {}
    if role not in ROLES:
        errors["role"] = [f"unknown role '{role}'; one of {', '.join(ROLES)}"]
    if not username or len(username) > 64:
        errors["username"] = ["1 to 64 characters"]
    if problem := password_problem(password):
        errors["password"] = [problem]
    if role == "inspector" and not badge:
        errors["badge"] = ["an inspector account must be linked to an inspector badge"]
    if badge and session.scalar(select(Inspector.id).where(Inspector.badge == badge)) is None:
        errors["badge"] = [f"no inspector with badge '{badge}'"]
    if errors:
        raise Unprocessable("invalid user", errors)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"user '{username}' exists", {"username": ["already taken"]})
    user = User(
        username=username,
        password_hash=hasher().hash(password),
        role=role,
        inspector_badge=badge,
        region_rows=[UserRegion(region=r) for r in dict.fromkeys(regions)],
    )
    session.add(user)
    session.flush()
    from inspect_core.audit.service import record as audit

    audit(
        session,
        None,
        "user.create",
        "user",
        username,
        {"role": role, "badge": badge, "regions": list(regions)},
    )
    return user


def issue_token(session: Session, username: str, password: str) -> tuple[str, int]:
    """Check the password and return ``(token, expires_in)``; one message for every failure."""
    global _DUMMY_HASH
    ph = hasher()
    stmt = select(User).where(User.username == username)
    if session.get_bind().dialect.name == "postgresql":
        # the account's row until the token is stored (FOR NO KEY UPDATE, what the rehash
        # below takes): a password change or a disabling (UPDATE users) waits for this
        # login and then revokes its token, or goes first and this login reads its result.
        # Unlocked, a login that had checked the old password stored its token after the
        # change had revoked the live ones: a token of the leaked password outlived it
        stmt = stmt.with_for_update(key_share=True)
    user = session.scalar(stmt)
    failure = Unauthorized("invalid username or password", message_zh="用户名或密码错误")
    if user is None or not user.active:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = ph.hash(secrets.token_hex(8))
        with contextlib.suppress(VerificationError, InvalidHashError):
            ph.verify(_DUMMY_HASH, password)
        raise failure
    try:
        ph.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise failure from None
    if ph.check_needs_rehash(user.password_hash):
        user.password_hash = ph.hash(password)
    ttl = int(current_app.config["TOKEN_TTL_SECONDS"])
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id,
            token_sha256=_sha256(token),
            expires_at=utcnow() + dt.timedelta(seconds=ttl),
        )
    )
    session.commit()
    return token, ttl


def revoke_token(session: Session, token: str) -> None:
    """Revoke one token (its owner logging out); audited by the token's id, never its value."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _sha256(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        from inspect_core.audit.service import record as audit

        audit(session, row.user, "token.revoke", "user", row.user.username, {"token_id": row.id})
        session.commit()


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise Unprocessable("no such user", {"username": [f"no user '{username}'"]})
    return user


def _revoke_live(session: Session, user: User) -> int:
    """Revoke the user's unrevoked tokens (not committed); how many."""
    now = utcnow()
    rows = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    for row in rows:
        row.revoked_at = now
    return len(rows)


def revoke_all(session: Session, username: str, actor: str = "cli") -> int:
    """Revoke every live token of a user (lost phone, staff change); returns the count.
    Audited when a token was revoked, with their number (an account's unrevoked tokens,
    expired ones included, can run to thousands; their values are never recorded)."""
    user = _user(session, username)
    count = _revoke_live(session, user)
    if count:
        from inspect_core.audit.service import record as audit

        audit(session, actor, "token.revoke_all", "user", username, {"tokens": count})
    session.commit()
    return count


def set_password(session: Session, username: str, password: str, actor: str = "cli") -> int:
    """Give a user a new password (a leaked one, a forgotten one) and revoke every live
    token, which the old password may have issued; returns how many.  Revoking tokens
    alone left the leaked password able to log in again.  Audited without the password."""
    user = _user(session, username)
    if problem := password_problem(password):
        raise Unprocessable("invalid password", {"password": [problem]})
    user.password_hash = hasher().hash(password)
    count = _revoke_live(session, user)
    from inspect_core.audit.service import record as audit

    audit(session, actor, "user.password", "user", username, {"tokens_revoked": count})
    session.commit()
    return count


def set_active(session: Session, username: str, active: bool, actor: str = "cli") -> int:
    """Disable an account (staff leaving, a compromised account: it can no longer log in,
    and its live tokens are revoked) or enable it again; returns the tokens revoked."""
    user = _user(session, username)
    if user.active == active:
        return 0
    user.active = active
    count = 0 if active else _revoke_live(session, user)
    from inspect_core.audit.service import record as audit

    action = "user.enable" if active else "user.disable"
    audit(session, actor, action, "user", username, {"tokens_revoked": count})
    session.commit()
    return count


def list_users(session: Session) -> list[User]:
    """Every account, by username."""
    return list(session.scalars(select(User).order_by(User.username)))


def authenticate_request() -> None:
    """Resolve ``Authorization: Bearer`` into ``g.user``; remember why a token failed."""
    g.user = None
    header = request.headers.get("Authorization")
    if not header:
        return
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        g.auth_error = "Authorization header must be 'Bearer <token>'"
        return
    # token, account and region scope in one round trip (every request pays for it)
    row = (
        db.session.execute(
            select(ApiToken)
            .options(joinedload(ApiToken.user).joinedload(User.region_rows))
            .where(ApiToken.token_sha256 == _sha256(token.strip()))
        )
        .unique()  # a joined collection: one token row per region row
        .scalar_one_or_none()
    )
    if row is None:
        g.auth_error = "invalid token"
    elif row.revoked_at is not None:
        g.auth_error = "token revoked"
    elif row.expires_at <= utcnow():
        g.auth_error = "token expired"
    elif not row.user.active:
        g.auth_error = "account disabled"
    else:
        g.user = row.user
        g.token = token.strip()
    # a Bearer token sent and refused: the 401's challenge says invalid_token (RFC 6750 §3)
    g.token_refused = g.user is None
