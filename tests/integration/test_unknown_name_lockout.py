"""The lock-out does not tell which names are accounts: a name that is no account answers exactly like one (the same
401s, then after the same failures the same 429 for the same time), on the sign-in page and the API's token
endpoint; it is counted in sign_in_failures by the same race-safe statement as an account's failures; stale rows are
pruned; and both kinds of name take the same steps (one argon2 verify at the same cost, the same statements)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher, extract_parameters
from sqlalchemy import event, func, select

from engine import accounts, sign_in_lock
from engine.db import db
from engine.models import SignInFailure
from tests.conftest import at, make_user, requires_postgres
from tests.integration.test_account_security import (
    ADDRESS,
    _HookedHasher,
    _in_other_request,
    failure_row,
    parallel_wrong_passwords,
)
from tests.integration.test_pages import FreshContextClient
from tests.integration.test_pages import token as csrf

PASSWORD = "correct-horse-9"
WRONG = "wrong-password-1"
NOW = at("2021-03-11 09:00")
API = "/api/v1"
KNOWN, UNKNOWN = "insp_cx", "insp_xx"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(app, ctx, monkeypatch) -> Clock:
    moving = Clock()
    monkeypatch.setitem(app.config, "CLOCK", moving)
    make_user(KNOWN, ["inspector"], "532301")
    return moving


@pytest.fixture
def browser(app) -> Callable[[], FreshContextClient]:
    return lambda: FreshContextClient(app, app.response_class, use_cookies=True)


def api_answer(client, username: str, password: str = WRONG) -> tuple[int, object]:
    response = client.post(f"{API}/auth/token", json={"username": username, "password": password})
    return response.status_code, response.get_json()


def page_answer(client, username: str, password: str = WRONG) -> tuple[int, str]:
    """The status and the whole page, with every value attribute (the name typed, the CSRF token) blanked."""
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": csrf(client)})
    return response.status_code, re.sub(r'value="[^"]*"', 'value=""', response.get_data(as_text=True))


def failures(answer: Callable[[str], tuple[int, object]], username: str, times: int) -> list[tuple[int, object]]:
    return [answer(username) for _ in range(times)]


# ---------------------------------------------------------------------------------------------------------------
# 1. The same answers, on the API and on the page.

def test_an_unknown_name_is_locked_like_an_account_on_the_api(app, browser, clock):
    limit = app.config["LOGIN_MAX_FAILURES"]
    client = browser()
    answer = lambda name: api_answer(client, name)  # noqa: E731
    known, unknown = failures(answer, KNOWN, limit + 1), failures(answer, UNKNOWN, limit + 1)
    assert known == unknown
    unauthorized = (401, {"error": {"code": "unauthorized", "message": "用户名或密码错误"}})
    message = sign_in_lock.LOCKED_MESSAGE.format(minutes=app.config["LOGIN_LOCK_MINUTES"])
    locked = (429, {"error": {"code": "too_many_attempts", "message": message}})
    assert known == [unauthorized] * limit + [locked]
    # Locked, even for the right password (the unknown name has none: any password is as good).
    assert api_answer(client, KNOWN, PASSWORD) == api_answer(client, UNKNOWN, PASSWORD) == locked


def test_an_unknown_name_is_locked_like_an_account_on_the_page(app, browser, clock):
    limit = app.config["LOGIN_MAX_FAILURES"]
    client = browser()
    answer = lambda name: page_answer(client, name)  # noqa: E731
    known, unknown = failures(answer, KNOWN, limit + 1), failures(answer, UNKNOWN, limit + 1)
    assert known == unknown
    assert [status for status, _page in known] == [401] * limit + [429]
    message = sign_in_lock.LOCKED_MESSAGE.format(minutes=app.config["LOGIN_LOCK_MINUTES"])
    assert "用户名或密码错误" in known[0][1] and message in known[-1][1]


def test_the_lock_of_an_unknown_name_runs_out_like_an_account_s(app, browser, clock):
    limit, minutes = app.config["LOGIN_MAX_FAILURES"], app.config["LOGIN_LOCK_MINUTES"]
    client = browser()
    answer = lambda name: api_answer(client, name)[0]  # noqa: E731
    for name in (KNOWN, UNKNOWN):
        assert failures(answer, name, limit + 1) == [401] * limit + [429]
    clock.advance(minutes=minutes, seconds=-1)
    assert [answer(KNOWN), answer(UNKNOWN)] == [429, 429]
    clock.advance(seconds=1)
    # Free again, with the count started afresh: the same number of failures locks both again.
    for name in (KNOWN, UNKNOWN):
        assert failures(answer, name, limit + 1) == [401] * limit + [429], name
    for name in (KNOWN, UNKNOWN):
        assert failure_row(name).locked_until == clock.now + timedelta(minutes=minutes), name


def test_failures_further_apart_than_the_window_start_afresh_for_both(app, browser, clock):
    limit, window = app.config["LOGIN_MAX_FAILURES"], app.config["LOGIN_FAILURE_WINDOW_MINUTES"]
    client = browser()
    answer = lambda name: api_answer(client, name)[0]  # noqa: E731
    for name in (KNOWN, UNKNOWN):
        assert failures(answer, name, limit - 1) == [401] * (limit - 1)
    clock.advance(minutes=window)  # the last failure is `window` old: stale
    for name in (KNOWN, UNKNOWN):
        assert failures(answer, name, limit) == [401] * limit, name  # 1 .. limit - 1, then the lock
        assert answer(name) == 429, name
    clock.advance(minutes=60 * 24)
    for name in (KNOWN, UNKNOWN):  # within the window each time: they add up
        answers = []
        for i in range(limit):
            if i:
                clock.advance(minutes=window - 1)
            answers.append(answer(name))
        answers.append(answer(name))
        assert answers == [401] * limit + [429], name


def test_the_right_password_of_an_account_is_unaffected(app, browser, clock):
    limit = app.config["LOGIN_MAX_FAILURES"]
    client = browser()
    # Names that are the account's only to a careless eye are other names, with counts of their own.
    for name in (UNKNOWN, KNOWN.upper(), f" {KNOWN}", f"{KNOWN}\t"):
        assert [api_answer(client, name)[0] for _ in range(limit + 1)] == [401] * limit + [429], repr(name)
    status, body = api_answer(client, KNOWN, PASSWORD)
    assert status == 200 and body["user"]["username"] == KNOWN
    page = browser()
    response = page.post("/login", data={"username": KNOWN, "password": PASSWORD, "csrf_token": csrf(page)})
    assert response.status_code == 302
    assert failure_row(KNOWN) is None
    # A few failures of the account itself, then its right password: the count is cleared as before.
    for _ in range(limit - 1):
        assert api_answer(client, KNOWN)[0] == 401
    assert api_answer(client, KNOWN, PASSWORD)[0] == 200
    assert failure_row(KNOWN) is None
    assert api_answer(client, KNOWN)[0] == 401
    assert failure_row(KNOWN).failed_logins == 1
    # A name locked while it was no account, from this address: once it is one, the lock holds from here until it
    # runs out (counted by name and address, whoever the name belongs to); from another address it signs in.
    make_user(UNKNOWN, ["inspector"], "532301")
    assert api_answer(client, UNKNOWN, PASSWORD)[0] == 429
    other = browser()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.2"
    assert api_answer(other, UNKNOWN, PASSWORD)[0] == 200


def test_the_page_and_the_api_share_the_count_of_an_unknown_name(app, browser, clock):
    limit = app.config["LOGIN_MAX_FAILURES"]
    api, page = browser(), browser()
    for name in (KNOWN, UNKNOWN):
        for i in range(limit):
            status = (api_answer(api, name) if i % 2 else page_answer(page, name))[0]
            assert status == 401, (name, i)
        assert api_answer(api, name)[0] == page_answer(page, name)[0] == 429


# ---------------------------------------------------------------------------------------------------------------
# 2. The table: keyed by HMACs of the name and of the address, counted in SQL, pruned.

def test_the_table_holds_no_name_and_no_address(ctx):
    names = ("nobody_here", "Nobody_here", "my-password-9")  # the last: a password typed into the name box
    for name in names:
        assert accounts.authenticate(name, WRONG, NOW, address=ADDRESS) is None
    keys = db.session.scalars(select(SignInFailure.name_key)).all()
    assert sorted(keys) == sorted(sign_in_lock.name_key(n) for n in names)
    addresses = set(db.session.scalars(select(SignInFailure.address_key)))
    assert addresses == {sign_in_lock.address_key(ADDRESS)}
    assert all(re.fullmatch(r"[0-9a-f]{64}", key) for key in [*keys, *addresses])
    assert sign_in_lock.address_key(ADDRESS) != sign_in_lock.name_key(ADDRESS)  # keyed apart
    # HMACs keyed by the app's secret: with the table alone, no name or address can be tried against the keys.
    secrets = sign_in_lock._name_key_secret, sign_in_lock._address_key_secret
    try:
        sign_in_lock.configure("another-secret")
        assert not {sign_in_lock.name_key(n) for n in names} & set(keys)
        assert sign_in_lock.address_key(ADDRESS) not in addresses
    finally:
        sign_in_lock._name_key_secret, sign_in_lock._address_key_secret = secrets
    # A name that is an account is counted in the same table, the same way.
    make_user(KNOWN, ["inspector"], "532301")
    assert accounts.authenticate(KNOWN, WRONG, NOW, address=ADDRESS) is None
    assert db.session.scalar(select(func.count()).select_from(SignInFailure)) == 4
    assert failure_row(KNOWN).failed_logins == 1


def test_the_statements_count_in_sql_and_start_afresh_after_the_window(ctx):
    make_user(KNOWN, ["inspector"], "532301")
    here = sign_in_lock.address_key(ADDRESS)
    statement = sign_in_lock.failure_statement(sign_in_lock.name_key(UNKNOWN), here, NOW, 3, 15)
    sql = str(statement.compile(db.engine)).lower()
    assert sql.startswith("insert into sign_in_failures") and "on conflict (name_key, address_key) do update" in sql
    assert "sign_in_failures.failed_logins + " in sql and "returning" in sql
    locked = NOW + timedelta(minutes=15)
    moments = [NOW, NOW, NOW, NOW, NOW + timedelta(minutes=59), NOW + timedelta(minutes=119)]
    for name in (KNOWN, UNKNOWN):  # the same statement for both kinds of name
        seen = []
        for moment in moments:
            seen.append(tuple(db.session.execute(
                sign_in_lock.failure_statement(sign_in_lock.name_key(name), here, moment, 3, 15, 60)).one()))
            db.session.commit()
        # 1, 2, the lock (count afresh), 1, 2 (59 minutes later: within the window), 1 (60 after that: stale).
        assert seen == [(1, None), (2, None), (0, locked), (1, locked), (2, locked), (1, locked)], name
        assert failure_row(name).last_failed_login_at == moments[-1]
    # A limit of one locks at the first failure, inserted or updated alike.
    for name in ("first_a", "first_b"):
        assert db.session.execute(sign_in_lock.failure_statement(
            sign_in_lock.name_key(name), here, NOW, 1, 15)).one() == (0, locked)
    assert db.session.execute(sign_in_lock.failure_statement(
        sign_in_lock.name_key("first_a"), here, NOW + timedelta(minutes=20), 1, 15)).one() == \
        (0, NOW + timedelta(minutes=35))
    # Another address is another count, of the same name.
    elsewhere = sign_in_lock.address_key("10.0.0.2")
    assert db.session.execute(sign_in_lock.failure_statement(
        sign_in_lock.name_key(KNOWN), elsewhere, NOW + timedelta(minutes=119), 3, 15)).one() == (1, None)


def test_a_failure_prunes_stale_rows_but_not_live_counts_or_locks(ctx, monkeypatch):
    def fail(name: str, moment: datetime, **limits: int) -> None:
        assert accounts.authenticate(name, WRONG, moment, address=ADDRESS, **limits) is None

    for i in range(5):
        fail(f"stale_{i}", NOW)  # one failure each, an hour old below: stale
    for _ in range(3):
        fail("long_lock", NOW, max_failures=3, lock_minutes=100)  # locked until 10:40
    fail("recent", NOW + timedelta(minutes=30))
    monkeypatch.setattr(sign_in_lock, "PRUNE_BATCH", 3)  # at most this many go per failure
    later = NOW + timedelta(minutes=60)

    def names_left() -> set[str]:
        keys = set(db.session.scalars(select(SignInFailure.name_key)))
        everyone = [f"stale_{i}" for i in range(5)] + ["long_lock", "recent", "newcomer", KNOWN]
        return {name for name in everyone if sign_in_lock.name_key(name) in keys}

    fail("newcomer", later)
    assert len(names_left() & {f"stale_{i}" for i in range(5)}) == 2
    fail("newcomer", later)
    assert names_left() == {"long_lock", "recent", "newcomer"}
    # An account's failure prunes too (both kinds of name take the same steps).
    make_user(KNOWN, ["inspector"], "532301")
    fail(KNOWN, NOW + timedelta(minutes=110))  # the lock has run out; the newcomer failed 50 minutes ago
    assert names_left() == {"newcomer", KNOWN}
    # And so does a sign-in that succeeds: an address is not kept past its window because nothing failed since.
    # (The account's own count, 59 minutes old, is live: it stays.)
    assert accounts.authenticate(KNOWN, PASSWORD, NOW + timedelta(minutes=169), address="10.0.0.2") is not None
    assert names_left() == {KNOWN}
    # The right password from the address the count is of ends it.
    assert accounts.authenticate(KNOWN, PASSWORD, NOW + timedelta(minutes=169), address=ADDRESS) is not None
    assert names_left() == set()


def test_a_pruned_name_counts_like_a_stale_one(ctx):
    """Deleting a stale row changes nothing: the name's next failure starts at 1 either way."""
    for _ in range(4):
        assert accounts.authenticate(UNKNOWN, WRONG, NOW, address=ADDRESS) is None
    later = NOW + timedelta(hours=2)
    assert accounts.authenticate("someone_else", WRONG, later, address=ADDRESS) is None  # prunes UNKNOWN's row
    assert failure_row(UNKNOWN) is None
    for _ in range(5):  # 1 .. 4, then the fifth locks
        assert accounts.authenticate(UNKNOWN, WRONG, later, address=ADDRESS) is None
    with pytest.raises(sign_in_lock.LockedOut):
        accounts.authenticate(UNKNOWN, WRONG, later, address=ADDRESS)


# ---------------------------------------------------------------------------------------------------------------
# 3. Timing: the same steps for both kinds of name.

def test_the_dummy_hash_costs_what_a_password_hash_costs(monkeypatch):
    production = PasswordHasher()
    assert extract_parameters(accounts._dummy_hash()) == extract_parameters(accounts.hash_password("any-password-1"))
    monkeypatch.setattr(accounts, "_hasher", production)
    assert extract_parameters(accounts._dummy_hash()) == extract_parameters(production.hash("any-password-1"))


@pytest.fixture
def steps(app, ctx, monkeypatch) -> Iterator[list[str]]:
    """The argon2 verifications and SQL statements of the code under test, in order."""
    seen: list[str] = []
    inner = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

    class CountingHasher:
        def __getattr__(self, name: str):
            return getattr(inner, name)

        def verify(self, hashed: str, password: str) -> bool:
            seen.append("argon2 verify")
            return inner.verify(hashed, password)

    def statement(conn, cursor, sql, parameters, context, executemany) -> None:
        kind = sql.split()[0].upper()
        seen.append("count" if kind in ("INSERT", "UPDATE") else kind)  # the failure counter of either kind

    def commit(conn) -> None:
        seen.append("COMMIT")

    make_user(KNOWN, ["inspector"], "532301")
    monkeypatch.setattr(accounts, "_hasher", CountingHasher())
    db.session.close()
    event.listen(db.engine, "before_cursor_execute", statement)
    event.listen(db.engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
        event.remove(db.engine, "commit", commit)


def test_both_kinds_of_name_take_the_same_steps(app, ctx, steps):
    def steps_of(name: str) -> list[str]:
        steps.clear()
        try:
            accounts.authenticate(name, WRONG, NOW, address=ADDRESS, max_failures=3)
        except sign_in_lock.LockedOut:
            steps.append("locked")
        db.session.close()
        return list(steps)

    for attempt in range(4):
        known, unknown = steps_of(KNOWN), steps_of(UNKNOWN)
        assert known == unknown, attempt
    assert known[-1] == "locked" and "argon2 verify" not in known
    assert steps_of(f"{UNKNOWN}2") == ["SELECT", "argon2 verify", "count", "DELETE", "COMMIT"]


# ---------------------------------------------------------------------------------------------------------------
# 4. Parallel failures of an unknown name all count.

def test_a_failure_of_an_unknown_name_during_another_is_not_lost(app, ctx, monkeypatch):
    def other_failure() -> None:
        assert accounts.authenticate(UNKNOWN, "wrong-password-2", NOW, address=ADDRESS) is None

    monkeypatch.setattr(accounts, "_hasher", _HookedHasher(lambda: _in_other_request(app, other_failure)))
    assert accounts.authenticate(UNKNOWN, "wrong-password-1", NOW, address=ADDRESS) is None
    assert failure_row(UNKNOWN).failed_logins == 2


@requires_postgres()
@pytest.mark.usefixtures("_close_pool")
def test_parallel_failures_of_an_unknown_name_lock_it(app, ctx, monkeypatch):
    # Every attempt has found no row for the name before any of them writes: all race to insert it.
    assert parallel_wrong_passwords(app, monkeypatch, UNKNOWN) == [None] * 10  # every one a plain failure
    row = failure_row(UNKNOWN)
    # Ten failures: the fifth and the tenth reached the limit (each starts the count afresh).
    assert (row.failed_logins, row.locked_until) == (0, NOW + timedelta(minutes=15))
    with pytest.raises(sign_in_lock.LockedOut):
        accounts.authenticate(UNKNOWN, PASSWORD, NOW + timedelta(minutes=1), address=ADDRESS)
    # Locked for that address only, as an account is (the name is no account: any password is as good).
    assert accounts.authenticate(UNKNOWN, PASSWORD, NOW + timedelta(minutes=1), address="10.0.0.2") is None
