"""Users, their passwords (argon2) and the sign-in lock-out; API tokens are engine/api_tokens.py."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import ipaddress
import logging
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    ColumnElement,
    Delete,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    delete,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.selectable import TextualSelect

from engine.actors import ROLES
from engine.api_tokens import revoke_all_tokens
from engine.db import UTCDateTime, db
from engine.errors import Conflict, EngineError, NotFound
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
# What a locked name is told: that the lock holds on this computer (its address; the owner can sign in elsewhere),
# for how long, and the way out for whoever cannot wait or forgot the password.
LOCKED_MESSAGE = ("本机登录失败次数过多，该用户名在本机已锁定 {minutes} 分钟，请稍后再试；"
                  "忘记密码的，请联系系统管理员重置密码（flask users reset-password 用户名）")
# Stale rows of sign_in_failures deleted by one sign-in at most: each failure adds at most one row, so the table
# never holds much more than the (name, address) pairs that failed within the window (or are still locked).
PRUNE_BATCH = 100
_name_key_secret: bytes | None = None
_address_key_secret: bytes | None = None


def configure(secret_key: str | bytes) -> None:
    """The keys of the HMACs that stand for a name and for a client address in sign_in_failures, derived from the
    app's SECRET_KEY (web/__init__.py). Every process must have the same one, as for the session cookies; a new one
    starts every count afresh and ends every lock-out."""
    global _name_key_secret, _address_key_secret
    secret = secret_key if isinstance(secret_key, bytes) else secret_key.encode()
    # The names' label is that of the table they were first counted in: a new label would only start the counts afresh.
    _name_key_secret = hashlib.sha256(b"failed_sign_ins\x00" + secret).digest()
    _address_key_secret = hashlib.sha256(b"sign_in_addresses\x00" + secret).digest()


def name_key(username: str) -> str:
    """The sign_in_failures key of a name. The name exactly as the users lookup compares it, no case folding or
    trimming: two spellings share a count only if they would be the same account, otherwise comparing the two counts
    would tell whether the name is one."""
    if _name_key_secret is None:
        raise RuntimeError("engine.accounts.configure(SECRET_KEY) was not called")
    return hmac.new(_name_key_secret, username.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def client_address(address: str | None) -> str:
    """The address failures are counted under: the client's IP address as the web layer saw it (request.remote_addr,
    TRUSTED_PROXIES deciding whose), written one way. An IPv6 address stands for its /64 network: that is what one
    line or one host is given, and a client picks any address within it, so counting by the whole address would give
    it a fresh count at every guess. An IPv4 address written as IPv6 (::ffff:a.b.c.d) is the IPv4 address. Anything
    else (no address: a Unix socket) is kept as it came, "" for none."""
    try:
        ip = ipaddress.ip_address((address or "").split("%", 1)[0])  # without an IPv6 zone (fe80::1%eth0)
    except ValueError:
        return address or ""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


def address_key(address: str | None) -> str:
    """The sign_in_failures key of a client address (client_address): an HMAC, so the table holds no address."""
    if _address_key_secret is None:
        raise RuntimeError("engine.accounts.configure(SECRET_KEY) was not called")
    return hmac.new(_address_key_secret, client_address(address).encode(), hashlib.sha256).hexdigest()


class LockedOut(EngineError):
    code = "too_many_attempts"


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
    db.session.execute(delete(SignInFailure).where(SignInFailure.name_key == name_key(user.username))
                       .execution_options(synchronize_session=False))
    set_password(user, password, now, temporary=temporary)
    return user


def sign_in_locks(now: datetime) -> dict[str, tuple[int, datetime]]:
    """The names locked at `now`, by name_key: from how many client addresses, and when the last of those locks
    runs out (flask users list). Locked rows are few: no index needed."""
    rows = db.session.execute(
        select(SignInFailure.name_key, func.count(), func.max(SignInFailure.locked_until))
        .where(SignInFailure.locked_until > now).group_by(SignInFailure.name_key))
    return {key: (addresses, until) for key, addresses, until in rows}


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
    key_of_name, key_of_address = name_key(username), address_key(address)
    user_id, password_hash, active, locked_until = db.session.execute(
        sign_in_state(username, key_of_name, key_of_address)).one()
    if locked_until and locked_until > now:
        raise LockedOut(LOCKED_MESSAGE.format(minutes=lock_minutes))
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
        count, locked_until = db.session.execute(
            failure_statement(key_of_name, key_of_address, now, max_failures, lock_minutes, window_minutes)).one()
        db.session.execute(prune_statement(now, window_minutes))
        db.session.commit()
        if count == 0:  # this failure reached the limit
            # The address, for whoever has to find the guesser; the name only when it is an account (one that is
            # not may be a password typed into the wrong box).
            if user_id is None:
                log.warning("a name that is no account locked for %s until %s after %d failed sign-ins",
                            client_address(address), locked_until, max_failures)
            else:
                log.warning("user %s locked for %s until %s after %d failed sign-ins", username,
                            client_address(address), locked_until, max_failures)
        return None
    # Parallel failures from this address may have locked the name while this password was being checked: that
    # lock holds. An unlocked row is deleted (the count ends); a locked one stays and refuses.
    this_address = and_(SignInFailure.name_key == key_of_name, SignInFailure.address_key == key_of_address)
    cleared = db.session.execute(
        delete(SignInFailure).where(this_address, or_(SignInFailure.locked_until.is_(None),
                                                      SignInFailure.locked_until <= now))
        .execution_options(synchronize_session=False))
    if cleared.rowcount == 0 and db.session.scalar(
            select(SignInFailure.locked_until).where(this_address, SignInFailure.locked_until > now)) is not None:
        db.session.commit()
        raise LockedOut(LOCKED_MESSAGE.format(minutes=lock_minutes))
    # Sign-ins that succeed prune too, so an address is not kept long after its window when nothing fails.
    db.session.execute(prune_statement(now, window_minutes))
    user = db.session.get(User, user_id)
    if _hasher.check_needs_rehash(password_hash):
        user.password_hash = hash_password(password)
    db.session.commit()
    return user


def sign_in_state(username: str, key_of_name: str, key_of_address: str) -> Select:
    """One SELECT for either kind of name: (the user's id, password hash and active, all null when the name is no
    account; the lock of the name from this address, or null). From a one-row subquery outer-joined to both
    tables, so it returns one row, of the same columns, whether the name is an account or not; columns, not the User
    entity, so that building the object does not make an account's answer slower."""
    one_row = select(literal(1).label("one")).subquery()
    return (select(User.id, User.password_hash, User.active, SignInFailure.locked_until)
            .select_from(one_row)
            .outerjoin(User, User.username == username)
            .outerjoin(SignInFailure, and_(SignInFailure.name_key == key_of_name,
                                           SignInFailure.address_key == key_of_address)))


def _counted() -> dict[str, ColumnElement]:
    """The new values of one failure, in SQL from the row's current ones: a count whose latest failure is
    :stale_before or earlier starts afresh at 1; reaching :max_failures sets the lock (:lock_until) and starts the
    count afresh at 0."""
    table = SignInFailure
    count = case((table.last_failed_login_at <= bindparam("stale_before", type_=UTCDateTime()), 1),
                 else_=table.failed_logins + 1)
    reached = count >= bindparam("max_failures", type_=Integer())
    return {
        "failed_logins": case((reached, 0), else_=count),
        "locked_until": case((reached, bindparam("lock_until", type_=UTCDateTime())), else_=table.locked_until),
        "last_failed_login_at": bindparam("now", type_=UTCDateTime()),
    }


def failure_statement(key_of_name: str, key_of_address: str, now: datetime, max_failures: int, lock_minutes: int,
                      window_minutes: int = 60) -> TextualSelect:
    """One failed sign-in of a name from a client address (their keys) as a single statement, INSERT ... ON CONFLICT
    (name_key, address_key) DO UPDATE on SQLite and PostgreSQL alike: the count is incremented in the database, not
    in Python, so parallel failures cannot overwrite each other, and they all count even when the pair has no row
    yet (the losers of the insert update the winner's row). The inserted row is what _counted makes of a row that
    never failed; the update is _counted itself. RETURNING gives the new (failed_logins, locked_until).

    A row whose lock has run out and whose count is stale means nothing any more: the pair's next failure resets it
    (the window in _counted starts the count afresh at 1), and until then prune_statement may delete it, which comes
    to the same (no row: the count starts at 1 too)."""
    parameters = {"now": now, "stale_before": now - timedelta(minutes=window_minutes),
                  "max_failures": max_failures, "lock_until": now + timedelta(minutes=lock_minutes)}
    first = max_failures <= 1
    return _compiled(db.session.get_bind().dialect.name).bindparams(
        name_key=key_of_name, address_key=key_of_address, first_count=0 if first else 1,
        first_lock=parameters["lock_until"] if first else None, **parameters)


@functools.cache
def _compiled(dialect_name: str) -> TextualSelect:
    """The counting statement, compiled once per dialect, as text. SQLAlchemy 2.0 does not cache the compiled form
    of INSERT ... ON CONFLICT: compiled at each failure it took a millisecond longer than a prepared text."""
    dialects = postgresql if dialect_name == "postgresql" else sqlite
    statement = (
        dialects.insert(SignInFailure)
        .values(name_key=bindparam("name_key", type_=String()), address_key=bindparam("address_key", type_=String()),
                failed_logins=bindparam("first_count", type_=Integer()),
                locked_until=bindparam("first_lock", type_=UTCDateTime()),
                last_failed_login_at=bindparam("now", type_=UTCDateTime()))
        .on_conflict_do_update(index_elements=[SignInFailure.name_key, SignInFailure.address_key], set_=_counted())
        .returning(SignInFailure.failed_logins, SignInFailure.locked_until)
    )
    compiled = statement.compile(dialect=dialects.dialect(paramstyle="named"))
    # Every parameter again, by its name in the SQL: the named ones, typed, and _counted's constants with their value.
    binds = {name: bindparam(name, bind.value, type_=bind.type, required=bind.required)
             for bind, name in compiled.bind_names.items()}
    return text(compiled.string).bindparams(*binds.values()).columns(failed_logins=Integer(),
                                                                     locked_until=UTCDateTime())


def prune_statement(now: datetime, window_minutes: int = 60) -> Delete:
    """Delete up to PRUNE_BATCH rows of sign_in_failures whose count is stale (latest failure older than the window)
    and whose lock has run out: they count for nothing (failure_statement), and they are a client address kept. Run
    by every sign-in, failed or not, after its own statement: FOR UPDATE SKIP LOCKED passes over rows other sign-ins
    are writing, so this never waits and cannot deadlock with them (SQLite: no FOR UPDATE, one writer at a time)."""
    stale = (select(SignInFailure.name_key, SignInFailure.address_key)
             .where(SignInFailure.last_failed_login_at <= now - timedelta(minutes=window_minutes),
                    or_(SignInFailure.locked_until.is_(None), SignInFailure.locked_until <= now))
             .limit(PRUNE_BATCH).with_for_update(skip_locked=True))
    return (delete(SignInFailure).where(tuple_(SignInFailure.name_key, SignInFailure.address_key).in_(stale))
            .execution_options(synchronize_session=False))


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
