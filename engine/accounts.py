"""Users, passwords (argon2) and API bearer tokens (stored as sha256 only)."""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from engine.actors import ROLES
from engine.db import db
from engine.errors import Conflict, EngineError
from engine.models import ApiToken, User
from engine.validation import REGION_RE, DataInvalid

_hasher = PasswordHasher()
# A real hash to verify against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
MIN_PASSWORD_LENGTH = 10


class LockedOut(EngineError):
    code = "too_many_attempts"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DataInvalid({"password": f"密码至少 {MIN_PASSWORD_LENGTH} 位"})
    if password.isdigit() or password.isalpha():
        raise DataInvalid({"password": "密码须同时包含字母和数字或符号"})


def create_user(
    username: str, password: str, roles: list[str], region: str, now: datetime, *,
    display_name: str = "", must_change_password: bool = False,
) -> User:
    """Create a user (does not commit)."""
    fields = {}
    if not USERNAME_RE.match(username or ""):
        fields["username"] = "用户名须为2-64位字母、数字或 _ . -"
    bad_roles = [r for r in roles if r not in ROLES]
    if not roles or bad_roles:
        fields["role"] = "角色须为 " + " | ".join(ROLES)
    if not REGION_RE.match(region or "") and region != "":
        fields["region"] = "行政区划代码须为6位数字"
    if fields:
        raise DataInvalid(fields)
    check_password_strength(password)
    if db.session.scalar(select(User).where(User.username == username)):
        raise Conflict(f"用户 {username} 已存在")
    user = User(
        username=username, display_name=display_name or username, password_hash=hash_password(password),
        roles_csv=",".join(roles), region=region, created_at=now, must_change_password=must_change_password,
    )
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(username: str, password: str, now: datetime, *, max_failures: int = 5,
                 lock_minutes: int = 15) -> User | None:
    """The user when the password is right; None otherwise. Repeated failures lock the account for a while.
    Commits the failure counter."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password or "x")
        return None
    if user.locked_until and user.locked_until > now:
        raise LockedOut("登录失败次数过多，账户已暂时锁定，请稍后再试")
    try:
        _hasher.verify(user.password_hash, password or "")
        ok = user.active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.locked_until = now + timedelta(minutes=lock_minutes)
            user.failed_logins = 0
        db.session.commit()
        return None
    if user.failed_logins or user.locked_until:
        user.failed_logins = 0
        user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    db.session.commit()
    return user


def set_password(user: User, new_password: str) -> None:
    check_password_strength(new_password)
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    db.session.commit()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, now: datetime, hours: int) -> str:
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
    return row.user


def revoke_token(token: str, now: datetime) -> bool:
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now
    db.session.commit()
    return True
