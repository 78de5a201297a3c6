"""API bearer tokens: issued at sign-in for a number of hours, stored as their sha256 only (a leaked table grants
nothing), revoked one by one or all of a user's at once."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from engine.db import db
from engine.errors import Forbidden
from engine.models import ApiToken, User


class PasswordChangeRequired(Forbidden):
    """A temporary password opens only the web page that replaces it: no API token until then."""

    code = "password_change_required"

    def __init__(self) -> None:
        super().__init__("须先登录网页修改临时密码，之后才能使用 API")


def revoke_all_tokens(user: User, now: datetime) -> int:
    """Revoke every live API token of `user` (does not commit); how many were revoked."""
    result = db.session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now)
        .execution_options(synchronize_session=False))
    return result.rowcount


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, now: datetime, hours: int) -> str:
    if user.must_change_password:
        raise PasswordChangeRequired
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(token_hash=_token_hash(token), user_id=user.id, created_at=now,
                            expires_at=now + timedelta(hours=hours)))
    db.session.commit()
    return token


def user_for_token(token: str, now: datetime) -> User | None:
    # With its user in the same query: every API call asks this first.
    row = db.session.scalar(select(ApiToken).options(joinedload(ApiToken.user))
                            .where(ApiToken.token_hash == _token_hash(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.user.active:
        return None
    if row.user.must_change_password:  # a token from before a reset to a temporary password
        raise PasswordChangeRequired
    return row.user


def revoke_token(token: str, now: datetime) -> bool:
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now
    db.session.commit()
    return True
