"""The sign-in lock-out counts by name and client address (security review: five anonymous wrong passwords for
`admin` kept the only administrator out for 15 minutes, again and again). Failures from one address lock the name
for that address only; the right password from another address signs in, on the page and the API; a name that is no
account answers the same way; the password change form counts towards its address's lock; the address is
request.remote_addr, taken from X-Forwarded-For only behind TRUSTED_PROXIES proxies; an IPv6 client counts by its
/64."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from engine import sign_in_lock
from engine.db import db
from tests.conftest import make_user
from tests.integration.test_account_security import failure_row
from tests.integration.test_pages import FreshContextClient, text_of
from tests.integration.test_pages import token as csrf
from tests.integration.test_unknown_name_lockout import KNOWN, NOW, PASSWORD, UNKNOWN, WRONG, api_answer, page_answer

A, B = "10.0.0.2", "10.0.0.3"  # the guesser's PC and the account owner's
PROXY = "10.0.0.1"


@pytest.fixture
def clock(app, ctx, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "CLOCK", lambda: NOW)
    make_user(KNOWN, ["inspector"], "532301")


def browser_at(app: Flask, address: str) -> FreshContextClient:
    client = FreshContextClient(app, app.response_class, use_cookies=True)
    client.environ_base["REMOTE_ADDR"] = address
    return client


@pytest.fixture
def at_address(app) -> Callable[[str], FreshContextClient]:
    """A factory of browsers: each call is another browser, at the address given."""
    return lambda address: browser_at(app, address)


def locked_message(app: Flask) -> str:
    return sign_in_lock.LOCKED_MESSAGE.format(minutes=app.config["LOGIN_LOCK_MINUTES"])


# ---------------------------------------------------------------------------------------------------------------
# 1. Locked from one address, free from another: the API and the page, an account and a name that is not.

def test_locked_from_one_address_the_owner_gets_a_token_from_another(app, clock, at_address, caplog):
    limit = app.config["LOGIN_MAX_FAILURES"]
    guesser, owner = at_address(A), at_address(B)
    with caplog.at_level(logging.WARNING, logger="engine.accounts"):
        assert [api_answer(guesser, KNOWN)[0] for _ in range(limit)] == [401] * limit
    # Whoever has to find the guesser is told where from.
    assert any(A in record.getMessage() and KNOWN in record.getMessage() for record in caplog.records)
    locked = (429, {"error": {"code": "too_many_attempts", "message": locked_message(app)}})
    assert api_answer(guesser, KNOWN, PASSWORD) == locked  # the right password, from the locked address
    status, body = api_answer(owner, KNOWN, PASSWORD)
    assert status == 200 and body["user"]["username"] == KNOWN and body["token"]
    # The owner's sign-in does not free the guesser's address.
    assert api_answer(guesser, KNOWN, PASSWORD) == locked
    assert failure_row(KNOWN, A).locked_until is not None and failure_row(KNOWN, B) is None


def test_locked_from_one_address_the_owner_signs_in_on_the_page_from_another(app, clock, at_address):
    limit = app.config["LOGIN_MAX_FAILURES"]
    guesser, owner = at_address(A), at_address(B)
    assert [page_answer(guesser, KNOWN)[0] for _ in range(limit)] == [401] * limit
    status, page = page_answer(guesser, KNOWN, PASSWORD)
    assert status == 429 and locked_message(app) in page
    signed_in = owner.post("/login", data={"username": KNOWN, "password": PASSWORD, "csrf_token": csrf(owner)})
    assert signed_in.status_code == 302 and owner.get("/tasks").status_code == 200
    assert page_answer(guesser, KNOWN, PASSWORD)[0] == 429
    # Another browser at the guesser's address is the same address: locked too.
    assert page_answer(at_address(A), KNOWN, PASSWORD)[0] == 429


@pytest.mark.parametrize("answer", [api_answer, page_answer], ids=["api", "page"])
def test_a_name_that_is_no_account_answers_like_one_from_each_address(app, clock, at_address, answer):
    limit = app.config["LOGIN_MAX_FAILURES"]
    guesser, elsewhere = at_address(A), at_address(B)
    # From the guesser's address: the same answers, then the same lock.
    known = [answer(guesser, KNOWN) for _ in range(limit + 1)]
    unknown = [answer(guesser, UNKNOWN) for _ in range(limit + 1)]
    assert known == unknown
    assert [status for status, _body in known] == [401] * limit + [429]
    # From another address, neither is locked: the same answers again, and the same lock after the same failures.
    known = [answer(elsewhere, KNOWN) for _ in range(limit + 1)]
    unknown = [answer(elsewhere, UNKNOWN) for _ in range(limit + 1)]
    assert known == unknown
    assert [status for status, _body in known] == [401] * limit + [429]


def test_a_sign_in_clears_the_count_of_its_own_address_only(app, clock, at_address):
    """Clearing every address's count would hand a guesser a fresh set of guesses each time the owner signs in."""
    limit = app.config["LOGIN_MAX_FAILURES"]
    guesser, owner = at_address(A), at_address(B)
    for client in (guesser, owner):
        assert [api_answer(client, KNOWN)[0] for _ in range(limit - 1)] == [401] * (limit - 1)
    assert api_answer(owner, KNOWN, PASSWORD)[0] == 200
    assert failure_row(KNOWN, B) is None and failure_row(KNOWN, A).failed_logins == limit - 1
    # The guesser's next failure is the one that locks.
    assert api_answer(guesser, KNOWN)[0] == 401
    assert api_answer(guesser, KNOWN, PASSWORD)[0] == 429
    assert api_answer(owner, KNOWN, PASSWORD)[0] == 200


def test_the_password_form_counts_towards_its_address_s_lock(app, clock, at_address):
    limit = app.config["LOGIN_MAX_FAILURES"]
    shared_pc = at_address(A)
    assert shared_pc.post("/login", data={"username": KNOWN, "password": PASSWORD,
                                          "csrf_token": csrf(shared_pc)}).status_code == 302

    def change(current: str):
        return shared_pc.post("/password", data={"current_password": current, "new_password": "Better-pass-456",
                                                 "confirm": "Better-pass-456",
                                                 "csrf_token": csrf(shared_pc, "/password")})

    for _ in range(limit):
        wrong = change(WRONG)
        assert wrong.status_code == 400 and "当前密码不正确" in text_of(wrong)
    refused = change(PASSWORD)
    assert refused.status_code == 400 and locked_message(app) in text_of(refused)
    assert page_answer(at_address(A), KNOWN, PASSWORD)[0] == 429
    assert page_answer(at_address(B), KNOWN, PASSWORD)[0] == 302


# ---------------------------------------------------------------------------------------------------------------
# 2. Whose address: the client's, or the one the trusted proxies say.

@pytest.fixture
def proxied_app(app) -> Iterator[Flask]:
    """The app as TRUSTED_PROXIES=1 makes it (behind one reverse proxy), on the tests' database."""
    from web import create_app

    config = {key: value for key, value in app.config.items() if key.isupper()}
    config["TRUSTED_PROXIES"] = 1
    proxied = create_app(config)
    try:
        yield proxied
    finally:
        with proxied.app_context():
            db.session.remove()
            db.engine.dispose()


def test_trusted_proxies_is_off_by_default_and_applies_proxy_fix_for_the_address_only(app, proxied_app):
    assert app.config["TRUSTED_PROXIES"] == 0 and not isinstance(app.wsgi_app, ProxyFix)
    fix = proxied_app.wsgi_app
    assert isinstance(fix, ProxyFix)
    assert (fix.x_for, fix.x_proto, fix.x_host, fix.x_port, fix.x_prefix) == (1, 0, 0, 0, 0)
    from web import trust_proxies

    for wrong in (-1, "1"):
        with pytest.raises(RuntimeError, match="TRUSTED_PROXIES"):
            trust_proxies(_app_with(TRUSTED_PROXIES=wrong))


def _app_with(**config) -> Flask:
    bare = Flask("bare")
    bare.config.update(config)
    return bare


def test_without_trusted_proxies_a_client_cannot_pick_its_address(app, clock, at_address):
    limit = app.config["LOGIN_MAX_FAILURES"]
    guesser = at_address(A)
    # A new X-Forwarded-For at every guess changes nothing: the failures are the connection's address's.
    for i in range(limit):
        response = guesser.post("/api/v1/auth/token", json={"username": KNOWN, "password": WRONG},
                                headers={"X-Forwarded-For": f"10.9.9.{i}"})
        assert response.status_code == 401
    assert guesser.post("/api/v1/auth/token", json={"username": KNOWN, "password": PASSWORD},
                        headers={"X-Forwarded-For": "10.9.9.99"}).status_code == 429
    assert api_answer(at_address(B), KNOWN, PASSWORD)[0] == 200
    # Nor can it lock out the address it names.
    for _ in range(limit):
        guesser.post("/api/v1/auth/token", json={"username": UNKNOWN, "password": WRONG},
                     headers={"X-Forwarded-For": B})
    assert api_answer(guesser, UNKNOWN)[0] == 429
    assert api_answer(at_address(B), UNKNOWN)[0] == 401
    assert failure_row(UNKNOWN, B).failed_logins == 1


def test_behind_a_trusted_proxy_each_client_is_counted_by_its_forwarded_address(app, clock, proxied_app):
    limit = app.config["LOGIN_MAX_FAILURES"]
    through_proxy = browser_at(proxied_app, PROXY)

    def token(password: str, forwarded_for: str) -> int:
        return through_proxy.post("/api/v1/auth/token", json={"username": KNOWN, "password": password},
                                  headers={"X-Forwarded-For": forwarded_for}).status_code

    # The guesser writes B into the header itself; the proxy appends the address it was called from, A.
    assert [token(WRONG, f"{B}, {A}") for _ in range(limit)] == [401] * limit
    assert token(PASSWORD, A) == 429
    # The owner, behind the same proxy: not the proxy's address, not the one the guesser wrote, their own.
    assert token(PASSWORD, B) == 200
    assert failure_row(KNOWN, A).locked_until is not None
    assert failure_row(KNOWN, PROXY) is None and failure_row(KNOWN, B) is None
    # The page signs in the same way.
    page = browser_at(proxied_app, PROXY)
    page.environ_base["HTTP_X_FORWARDED_FOR"] = B
    response = page.post("/login", data={"username": KNOWN, "password": PASSWORD, "csrf_token": csrf(page)})
    assert response.status_code == 302
    guesser_page = browser_at(proxied_app, PROXY)
    guesser_page.environ_base["HTTP_X_FORWARDED_FOR"] = A
    assert page_answer(guesser_page, KNOWN, PASSWORD)[0] == 429


# ---------------------------------------------------------------------------------------------------------------
# 3. The address counted: an IPv6 client by its /64, written one way.

def test_the_address_counted_is_written_one_way_and_ipv6_by_its_64():
    same = ("2001:db8:1:2::10", "2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:DB8:1:2:0::11")
    assert {sign_in_lock.client_address(a) for a in same} == {"2001:db8:1:2::/64"}
    assert sign_in_lock.client_address("2001:db8:1:3::10") == "2001:db8:1:3::/64"
    assert sign_in_lock.client_address("::ffff:10.0.0.2") == "10.0.0.2"
    assert sign_in_lock.client_address("fe80::1%eth0") == "fe80::/64"
    assert sign_in_lock.client_address("10.0.0.2") == "10.0.0.2"
    assert sign_in_lock.client_address(None) == sign_in_lock.client_address("") == ""
    assert sign_in_lock.client_address("unix:/run/app.sock") == "unix:/run/app.sock"


def test_an_ipv6_client_cannot_escape_its_lock_within_its_64(app, clock, at_address):
    limit = app.config["LOGIN_MAX_FAILURES"]
    # A fresh address from the client's own /64 at every guess.
    for i in range(limit):
        assert api_answer(at_address(f"2001:db8:1:2::{i + 1:x}"), KNOWN)[0] == 401
    assert api_answer(at_address("2001:db8:1:2::abcd"), KNOWN, PASSWORD)[0] == 429
    assert api_answer(at_address("2001:db8:1:3::1"), KNOWN, PASSWORD)[0] == 200
