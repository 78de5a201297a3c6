"""Users and their passwords (argon2), and signing in (the lock-out's counting is engine/sign_in_lock.py); API tokens
are engine/api_tokens.py."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    delete,
    select,
)

from engine import sign_in_lock
from engine.actors import ROLES
from engine.api_tokens import revoke_all_tokens
from engine.db import db
from engine.errors import Conflict, NotFound
from engine.models import SignInFailure, User
from engine.text_patterns import TEXT_MESSAGE, TEXT_PATTERN, USERNAME_MESSAGE, USERNAME_PATTERN
from engine.validation import REGION_MESSAGE, DataInvalid, WholeString, is_region

log = logging.getLogger(__name__)
_hasher = PasswordHasher()
# A real hash to verify against when the user does not exist, so timing does not reveal usernames: made by the
# hasher of the users' hashes, so it costs what theirs cost (made again if the hasher is replaced, as the tests do).
_dummy = (_hasher, _hasher.hash("not-a-real-password"))
# The name and display-name rules the forms publish (one rule each, as the patterns say).
USERNAME_RE = WholeString(USERNAME_PATTERN)
_TEXT = WholeString(TEXT_PATTERN)
LAST_ADMIN = "不能停用或撤销最后一个在用的系统管理员：请先设置另一名系统管理员"
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _dummy_hash() -> str:
    global _dummy
    if _dummy[0] is not _hasher:
        _dummy = (_hasher, _hasher.hash("not-a-real-password"))
    return _dummy[1]


def check_password_strength(password: str, username: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DataInvalid({"password": f"密码至少 {MIN_PASSWORD_LENGTH} 位"})
    if password.isdigit() or password.isalpha():
        raise DataInvalid({"password": "密码须同时包含字母和数字或符号"})
    # The name is the first thing tried against an account ("clerk_sb123" for clerk_sb), in any case. A two-letter
    # name would refuse half the dictionary, and guessing it in a password is no easier than guessing two letters.
    if len(username) >= 3 and username.casefold() in password.casefold():
        raise DataInvalid({"password": "密码不能包含用户名"})


def _account_errors(roles: list[str], region: str) -> dict[str, str]:
    """What is wrong with an account's roles and region, by field."""
    fields = {}
    bad_roles = [r for r in roles if r not in ROLES]
    if not roles or bad_roles:
        fields["role"] = "角色须为 " + " | ".join(ROLES)
    if region != "" and not is_region(region):
        fields["region"] = REGION_MESSAGE
    elif region == "" and set(roles) - {"admin"}:
        # No region is the whole country (engine.actors): an administrator's, never a caseworker's.
        fields["region"] = "只有系统管理员可以不设辖区（全国）：请填写行政区划代码"
    return fields


def create_user(
    username: str, password: str, roles: list[str], region: str, now: datetime, *,
    display_name: str = "", must_change_password: bool = False,
) -> User:
    """Create a user (does not commit)."""
    fields = {}
    if not USERNAME_RE.match(username or ""):  # the whole string: "alice\n" is not a name
        fields["username"] = USERNAME_MESSAGE
    fields.update(_account_errors(roles, region))
    if display_name and not _TEXT.fullmatch(display_name.strip()):
        fields["display_name"] = TEXT_MESSAGE
    if fields:
        raise DataInvalid(fields)
    check_password_strength(password, username)
    if db.session.scalar(select(User).where(User.username == username)):
        raise Conflict(f"用户 {username} 已存在")
    user = User(
        username=username, display_name=display_name or username, password_hash=hash_password(password),
        roles_csv=",".join(roles), region=region, created_at=now, must_change_password=must_change_password,
    )
    db.session.add(user)
    db.session.flush()
    return user


def user_named(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"用户 {username} 不存在")
    return user


def update_user(username: str, now: datetime, *, roles: list[str] | None = None, region: str | None = None,
                display_name: str | None = None, active: bool | None = None) -> User:
    """Change an account; what is None stays (does not commit). Roles and region take effect at the user's next
    request (every request loads the user). A deactivated user is refused at once, and their page sessions and
    API tokens end for good: reactivating the account does not bring them back."""
    user = user_named(username)
    new_roles = user.roles if roles is None else list(dict.fromkeys(roles))
    new_region = user.region if region is None else region.strip()
    fields = _account_errors(new_roles, new_region)
    if display_name is not None and not _TEXT.fullmatch(display_name.strip()):
        fields["display_name"] = TEXT_MESSAGE if display_name.strip() else "不能为空"
    if user.active and "admin" in user.roles and (active is False or "admin" not in new_roles) and not _other_admin(
            user):
        # Nobody could then change the rules or manage the accounts from the pages.
        fields["active" if active is False else "role"] = LAST_ADMIN
    if fields:
        raise DataInvalid(fields)
    deactivated = active is False and user.active
    user.roles_csv, user.region = ",".join(new_roles), new_region
    if display_name is not None:
        user.display_name = display_name.strip()
    if active is not None:
        user.active = active
    if deactivated:
        end_page_sessions(user)
        revoke_all_tokens(user, now)
    db.session.flush()
    return user


def _other_admin(user: User) -> bool:
    """Whether an active administrator other than `user` exists."""
    # "admin" is no part of another role's code, so the comma-separated column can be searched for it.
    return db.session.scalar(select(User.id).where(User.active.is_(True), User.id != user.id,
                                                   User.roles_csv.like("%admin%")).limit(1)) is not None


def reset_password(username: str, password: str, now: datetime, *, temporary: bool = True) -> User:
    """An administrator's reset (to be changed at the next sign-in unless not `temporary`); the name's failed
    sign-ins, and so its lock-out, end with it from every address. Commits, as set_password."""
    user = user_named(username)
    check_password_strength(password, username)
    db.session.execute(delete(SignInFailure).where(SignInFailure.name_key == sign_in_lock.name_key(user.username))
                       .execution_options(synchronize_session=False))
    set_password(user, password, now, temporary=temporary)
    return user


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.region, User.username)))


def authenticate(username: str, password: str, now: datetime, *, address: str | None, max_failures: int = 5,
                 lock_minutes: int = 15, window_minutes: int = 60) -> User | None:
    """The user when the password is right; None otherwise. `max_failures` failures of the name from one client
    `address` (client_address), each within `window_minutes` of the one before, lock the name for `lock_minutes`
    for that address only: whoever guesses a colleague's password, or an administrator's, keeps out themselves, not
    the account's owner at another PC. Commits the failure counter.

    A right password clears the name's count from this address only. Clearing the other addresses' counts too would
    let a guesser who knows the owner signs in every morning wait for it and get a fresh set of guesses, or lose a
    lock, each time; and the owner at one PC says nothing about who is typing at another.

    Every name is counted the same way, in sign_in_failures, whether it is an account or not: the same answers after
    the same failures, so the lock-out does not tell which names are accounts. And in the same time: a failure of
    either kind is one SELECT (of the same columns), one argon2 verify (of a hash at the same cost), one counting
    statement (the same, compiled once), one prune and one commit; a locked name of either kind answers after the
    SELECT alone."""
    key_of_name, key_of_address = sign_in_lock.name_key(username), sign_in_lock.address_key(address)
    user_id, password_hash, active, locked_until = db.session.execute(
        sign_in_lock.sign_in_state(username, key_of_name, key_of_address)).one()
    if locked_until and locked_until > now:
        raise sign_in_lock.LockedOut(sign_in_lock.LOCKED_MESSAGE.format(minutes=lock_minutes))
    if user_id is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_dummy_hash(), password or "x")
        ok = False
    else:
        try:
            _hasher.verify(password_hash, password or "")
            ok = active
        except (VerificationError, InvalidHashError):
            ok = False
    if not ok:
        sign_in_lock.count_failure(username if user_id is not None else None, key_of_name, key_of_address, address,
                                   now, max_failures, lock_minutes, window_minutes)
        db.session.commit()
        return None
    if not sign_in_lock.clear_count(key_of_name, key_of_address, now, window_minutes):
        db.session.commit()
        raise sign_in_lock.LockedOut(sign_in_lock.LOCKED_MESSAGE.format(minutes=lock_minutes))
    user = db.session.get(User, user_id)
    if _hasher.check_needs_rehash(password_hash):
        user.password_hash = hash_password(password)
    db.session.commit()
    return user


def end_page_sessions(user: User) -> None:
    """Sign out every page session of `user` (in the caller's transaction): their session ids carry the epoch this
    moves. Page sessions are signed cookies kept by the browser only, so a copy of one (a shared office PC, an
    intranet without HTTPS) would otherwise work until it expires, sign-out or not. API tokens are not touched."""
    user.session_epoch = User.session_epoch + 1  # in SQL: two changes at once still give two new epochs


def set_password(user: User, new_password: str, now: datetime, *, temporary: bool = False) -> None:
    """Set a new password (`temporary`: an administrator's reset, to be changed at the next sign-in) and commit.
    Every API token of the user is revoked and every page session signed out: the caller signs its own session in
    again if it should stay (web/auth.py change_password)."""
    check_password_strength(new_password, user.username)
    user.password_hash = hash_password(new_password)
    user.must_change_password = temporary
    end_page_sessions(user)
    revoke_all_tokens(user, now)
    db.session.commit()
