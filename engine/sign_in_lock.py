"""The sign-in lock-out's counting: failures per (name, client address), kept as keyed hashes in sign_in_failures
for accounts and names that are no account alike, one atomic statement per failure, stale rows pruned. Who may sign
in is engine/accounts.py's `authenticate`, which counts through this."""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import logging
from datetime import datetime, timedelta

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

from engine.db import UTCDateTime, db
from engine.errors import EngineError
from engine.models import SignInFailure, User

log = logging.getLogger(__name__)

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
        raise RuntimeError("engine.sign_in_lock.configure(SECRET_KEY) was not called")
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
        raise RuntimeError("engine.sign_in_lock.configure(SECRET_KEY) was not called")
    return hmac.new(_address_key_secret, client_address(address).encode(), hashlib.sha256).hexdigest()


class LockedOut(EngineError):
    code = "too_many_attempts"


def sign_in_locks(now: datetime) -> dict[str, tuple[int, datetime]]:
    """The names locked at `now`, by name_key: from how many client addresses, and when the last of those locks
    runs out (flask users list). Locked rows are few: no index needed."""
    rows = db.session.execute(
        select(SignInFailure.name_key, func.count(), func.max(SignInFailure.locked_until))
        .where(SignInFailure.locked_until > now).group_by(SignInFailure.name_key))
    return {key: (addresses, until) for key, addresses, until in rows}


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




def count_failure(account: str | None, key_of_name: str, key_of_address: str, address: str | None, now: datetime,
                  max_failures: int, lock_minutes: int, window_minutes: int) -> None:
    """Count one failed sign-in of a name from an address (in the caller's transaction) and prune stale rows. The
    failure that locks the name is logged with the address, for whoever has to find the guesser, and with the name
    only when it is an account (`account`; a name that is not may be a password typed into the wrong box)."""
    count, locked_until = db.session.execute(
        failure_statement(key_of_name, key_of_address, now, max_failures, lock_minutes, window_minutes)).one()
    db.session.execute(prune_statement(now, window_minutes))
    if count == 0:  # this failure reached the limit
        if account is None:
            log.warning("a name that is no account locked for %s until %s after %d failed sign-ins",
                        client_address(address), locked_until, max_failures)
        else:
            log.warning("user %s locked for %s until %s after %d failed sign-ins", account,
                        client_address(address), locked_until, max_failures)


def clear_count(key_of_name: str, key_of_address: str, now: datetime, window_minutes: int) -> bool:
    """After a right password: end the name's count from this address (in the caller's transaction) and prune stale
    rows, so an address is not kept long after its window when nothing fails. False when parallel failures from this
    address locked the name while the password was being checked: that lock holds (the row stays)."""
    this_address = and_(SignInFailure.name_key == key_of_name, SignInFailure.address_key == key_of_address)
    cleared = db.session.execute(
        delete(SignInFailure).where(this_address, or_(SignInFailure.locked_until.is_(None),
                                                      SignInFailure.locked_until <= now))
        .execution_options(synchronize_session=False))
    if cleared.rowcount == 0 and db.session.scalar(
            select(SignInFailure.locked_until).where(this_address, SignInFailure.locked_until > now)) is not None:
        return False
    db.session.execute(prune_statement(now, window_minutes))
    return True
