"""Users, passwords (argon2) and API bearer tokens (stored as sha256 only)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Update, case, literal, or_, select, update
from sqlalchemy.orm import joinedload

from engine.actors import ROLES
from engine.db import UTCDateTime, db
from engine.errors import Conflict, EngineError, Forbidden
from engine.models import ApiToken, User
from engine.validation import REGION_RE, DataInvalid

log = logging.getLogger(__name__)
_hasher = PasswordHasher()
# A real hash to verify against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
USERNAME_RE = re.compile(r"[A-Za-z0-9_.-]{2,64}")
MIN_PASSWORD_LENGTH = 10


class LockedOut(EngineError):
    code = "too_many_attempts"


class PasswordChangeRequired(Forbidden):
    """A temporary password opens only the web page that replaces it: no API token until then."""

    code = "password_change_required"

    def __init__(self) -> None:
        super().__init__("须先登录网页修改临时密码，之后才能使用 API")


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
    if not USERNAME_RE.fullmatch(username or ""):  # fullmatch: "alice\n" is not a name
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
    user_id = user.id
    try:
        _hasher.verify(user.password_hash, password or "")
        ok = user.active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        count, locked_until = db.session.execute(failure_statement(user_id, now, max_failures, lock_minutes)).one()
        db.session.commit()
        if count == 0:  # this failure reached the limit
            log.warning("user %s locked until %s after %d failed sign-ins", username, locked_until, max_failures)
        return None
    # Parallel failures may have locked the account while this password was being checked: that lock holds.
    cleared = db.session.execute(
        update(User).where(User.id == user_id, or_(User.locked_until.is_(None), User.locked_until <= now))
        .values(failed_logins=0, locked_until=None).execution_options(synchronize_session=False))
    if cleared.rowcount == 0:
        db.session.commit()
        raise LockedOut("登录失败次数过多，账户已暂时锁定，请稍后再试")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    db.session.commit()
    return user


def failure_statement(user_id: int, now: datetime, max_failures: int, lock_minutes: int) -> Update:
    """One failed sign-in as a single UPDATE: the count is incremented in the database, not in Python, so parallel
    failures cannot overwrite each other; reaching `max_failures` sets the lock and starts the count afresh.
    RETURNING gives the new (failed_logins, locked_until)."""
    reached = User.failed_logins + 1 >= max_failures
    return (
        update(User).where(User.id == user_id)
        .values(failed_logins=case((reached, 0), else_=User.failed_logins + 1),
                locked_until=case((reached, literal(now + timedelta(minutes=lock_minutes), UTCDateTime())),
                                  else_=User.locked_until))
        .returning(User.failed_logins, User.locked_until)
        .execution_options(synchronize_session=False)
    )


def set_password(user: User, new_password: str, now: datetime, *, temporary: bool = False) -> None:
    """Set a new password (`temporary`: an administrator's reset, to be changed at the next sign-in) and commit.
    Every API token of the user is revoked and every page session signed out: the caller signs its own session in
    again if it should stay (web/auth.py change_password)."""
    check_password_strength(new_password)
    user.password_hash = hash_password(new_password)
    user.must_change_password = temporary
    user.session_epoch = User.session_epoch + 1  # in SQL: two changes at once still give two new epochs
    revoke_all_tokens(user, now)
    db.session.commit()


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
