"""Account security: a password change revokes the user's API tokens and signs out their other sessions; a temporary
password gets no API token; parallel wrong passwords still lock the account (one atomic statement per failure); the
language picked on the sign-in page sticks; the engine-defined forms (posts, supervision) read in English; signing
out ends the session everywhere, and a session lasts a working day."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from babel.messages.pofile import read_po
from sqlalchemy import select

from engine import accounts, api_tokens, escalation, posts, sign_in_lock
from engine.actors import Actor
from engine.db import db
from engine.models import ApiToken, SignInFailure, User
from engine.services.cases import open_tasks
from tests.conftest import at, make_user, requires_postgres
from tests.factories import ordered_case
from tests.integration.test_pages import FreshContextClient, sign_in, text_of
from tests.integration.test_pages import token as csrf
from web import engine_texts, labels
from web.auth import _load_user
from web.forms import extract_schema_strings

PASSWORD = "correct-horse-9"
NEW_PASSWORD = "Better-pass-456"
NOW = at("2021-03-11 09:00")
API = "/api/v1"
ADDRESS = "127.0.0.1"  # the test client's REMOTE_ADDR, and the address of the direct calls below
PO = Path(labels.__file__).parent / "translations" / "en" / "LC_MESSAGES" / "messages.po"


@pytest.fixture
def browser(app) -> Callable[[], FreshContextClient]:
    """A factory of browsers: each call is another browser with its own session cookie."""
    return lambda: FreshContextClient(app, app.response_class, use_cookies=True)


@pytest.fixture
def clock(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "CLOCK", lambda: NOW)


def api_token(client, username: str, password: str = PASSWORD):
    return client.post(f"{API}/auth/token", json={"username": username, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def user_row(username: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def failure_row(username: str, address: str = ADDRESS) -> SignInFailure | None:
    """The failed sign-ins of `username` from `address` (engine/accounts.py), None when there are none."""
    db.session.expire_all()
    return db.session.get(SignInFailure, (sign_in_lock.name_key(username), sign_in_lock.address_key(address)))


# ---------------------------------------------------------------------------------------------------------------
# 1. A password change revokes API tokens and signs out the other sessions.

def test_password_change_revokes_tokens_and_signs_out_other_sessions(browser, clock):
    make_user("clerk_cx", ["clerk"], "532301")
    api = browser()
    token = api_token(api, "clerk_cx").get_json()["token"]
    assert api.get(f"{API}/tasks", headers=bearer(token)).status_code == 200
    here, elsewhere = browser(), browser()
    assert sign_in(here, "clerk_cx").status_code == 302
    assert sign_in(elsewhere, "clerk_cx").status_code == 302
    assert elsewhere.get("/tasks").status_code == 200

    changed = here.post("/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                           "confirm": NEW_PASSWORD, "csrf_token": csrf(here, "/password")})
    assert changed.status_code == 302
    assert here.get("/tasks").status_code == 200, "the session that changed the password stays signed in"
    signed_out = elsewhere.get("/tasks")
    assert signed_out.status_code == 302 and "/login" in signed_out.headers["Location"]
    refused = api.get(f"{API}/tasks", headers=bearer(token))
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "unauthorized"
    # The new password works everywhere again.
    assert sign_in(elsewhere, "clerk_cx", NEW_PASSWORD).status_code == 302
    assert elsewhere.get("/tasks").status_code == 200
    fresh = api_token(api, "clerk_cx", NEW_PASSWORD).get_json()["token"]
    assert api.get(f"{API}/tasks", headers=bearer(fresh)).status_code == 200


def test_set_password_revokes_every_token_and_moves_the_session_epoch(ctx):
    user = make_user("clerk_cx", ["clerk"], "532301")
    tokens = [api_tokens.issue_token(user, NOW, 12) for _ in range(3)]
    api_tokens.revoke_token(tokens[0], NOW + timedelta(minutes=1))
    old_session = user.get_id()
    assert old_session == f"{user.id}:0" and _load_user(old_session) is user
    assert _load_user(str(user.id)) is user  # a session id from before epochs: epoch 0

    accounts.set_password(user, NEW_PASSWORD, NOW + timedelta(hours=1), temporary=True)
    assert all(api_tokens.user_for_token(t, NOW + timedelta(hours=1)) is None for t in tokens)
    revoked = db.session.scalars(select(ApiToken.revoked_at).where(ApiToken.user_id == user.id)).all()
    assert sorted(revoked) == [NOW + timedelta(minutes=1), NOW + timedelta(hours=1), NOW + timedelta(hours=1)]
    assert user.must_change_password  # an administrator's reset: changed again at the next sign-in
    assert user.get_id() == f"{user.id}:1"
    assert _load_user(old_session) is None and _load_user(str(user.id)) is None
    assert _load_user(user.get_id()) is user
    assert _load_user("not-a-number") is None and _load_user(f"{user.id}:x") is None


# ---------------------------------------------------------------------------------------------------------------
# 2. A temporary password gets no API token.

def test_temporary_password_gets_no_api_token(browser, clock):
    accounts.create_user("new_clerk", "Temp-pass-123", ["clerk"], "532301", NOW, must_change_password=True)
    db.session.commit()
    api = browser()
    refused = api_token(api, "new_clerk", "Temp-pass-123")
    assert refused.status_code == 403
    error = refused.get_json()["error"]
    assert error["code"] == "password_change_required" and "网页修改临时密码" in error["message"]
    assert db.session.scalar(select(ApiToken.id)) is None
    # A wrong password still answers 401: the 403 tells nothing to someone without the password.
    assert api_token(api, "new_clerk", "wrong-pass-123").status_code == 401
    # Once the page changed it, the API serves the user.
    page = browser()
    assert sign_in(page, "new_clerk", "Temp-pass-123").headers["Location"] == "/password"
    page.post("/password", data={"current_password": "Temp-pass-123", "new_password": NEW_PASSWORD,
                                 "confirm": NEW_PASSWORD, "csrf_token": csrf(page, "/password")})
    assert api_token(api, "new_clerk", NEW_PASSWORD).status_code == 200
    # The contract says so too.
    documented = api.get("/api/v1/openapi.json").get_json()["paths"]["/auth/token"]["post"]["responses"]
    assert {"401", "403", "429"} <= set(documented)


def test_token_of_a_user_flagged_for_a_password_change_is_refused(browser, clock):
    make_user("clerk_cx", ["clerk"], "532301")
    api = browser()
    token = api_token(api, "clerk_cx").get_json()["token"]
    user = user_row("clerk_cx")
    user.must_change_password = True  # flagged while a token was live (a token from before this check)
    db.session.commit()
    refused = api.get(f"{API}/tasks", headers=bearer(token))
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "password_change_required"


# ---------------------------------------------------------------------------------------------------------------
# 3. Lock-out: each failure is one atomic statement, so parallel failures all count.

class _HookedHasher:
    """The tests' cheap hasher, with `hook` run inside the first verify: what other requests do while this one is
    checking its password."""

    def __init__(self, hook: Callable[[], None]) -> None:
        self._inner = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        self._hook: Callable[[], None] | None = hook

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    def verify(self, hashed: str, password: str) -> bool:
        hook, self._hook = self._hook, None
        if hook is not None:
            hook()
        return self._inner.verify(hashed, password)


def _in_other_request(app, fn: Callable[[], object]) -> None:
    """Run `fn` to its end in another thread, app context and database session (another request)."""
    failure: list[BaseException] = []

    def run() -> None:
        with app.app_context():
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
                failure.append(exc)
            finally:
                db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    if failure:
        raise failure[0]


def test_failure_statement_increments_in_sql_and_locks_at_the_limit(ctx):
    make_user("insp_cx", ["inspector"], "532301")
    keys = sign_in_lock.name_key("insp_cx"), sign_in_lock.address_key(ADDRESS)
    statement = sign_in_lock.failure_statement(*keys, NOW, 3, 15)
    sql = str(statement.compile(db.engine)).lower()
    assert sql.startswith("insert into sign_in_failures") and "sign_in_failures.failed_logins + " in sql
    assert "on conflict (name_key, address_key) do update" in sql and "returning" in sql
    seen = []
    for _ in range(4):
        seen.append(tuple(db.session.execute(sign_in_lock.failure_statement(*keys, NOW, 3, 15)).one()))
        db.session.commit()
    locked = NOW + timedelta(minutes=15)
    # 1, 2, then the third failure locks and starts the count afresh; the lock time is stored in UTC.
    assert seen == [(1, None), (2, None), (0, locked), (1, locked)]
    assert failure_row("insp_cx").locked_until == locked


def test_a_failure_during_another_failure_is_not_lost(app, ctx, monkeypatch):
    make_user("insp_cx", ["inspector"], "532301")

    def other_failure() -> None:
        assert accounts.authenticate("insp_cx", "wrong-password-2", NOW, address=ADDRESS) is None

    monkeypatch.setattr(accounts, "_hasher", _HookedHasher(lambda: _in_other_request(app, other_failure)))
    assert accounts.authenticate("insp_cx", "wrong-password-1", NOW, address=ADDRESS) is None
    assert failure_row("insp_cx").failed_logins == 2


def test_a_lock_that_lands_while_the_right_password_is_checked_holds(app, ctx, monkeypatch):
    make_user("insp_cx", ["inspector"], "532301")

    def guesses_lock_the_account() -> None:
        for _ in range(5):
            assert accounts.authenticate("insp_cx", "wrong-password-1", NOW, address=ADDRESS, max_failures=5) is None

    monkeypatch.setattr(accounts, "_hasher", _HookedHasher(lambda: _in_other_request(app, guesses_lock_the_account)))
    with pytest.raises(sign_in_lock.LockedOut):
        accounts.authenticate("insp_cx", PASSWORD, NOW, address=ADDRESS, max_failures=5)
    assert failure_row("insp_cx").locked_until == NOW + timedelta(minutes=15)
    # After the lock has run out the right password works and clears it.
    later = NOW + timedelta(minutes=16)
    assert accounts.authenticate("insp_cx", PASSWORD, later, address=ADDRESS) is not None
    assert failure_row("insp_cx") is None


@requires_postgres()
@pytest.mark.usefixtures("_close_pool")
def test_parallel_wrong_passwords_lock_the_account(app, ctx, monkeypatch):
    make_user("insp_cx", ["inspector"], "532301")
    # Every attempt has read the name's state (no failures from this address, so no row: all race to insert it)
    # before any of them writes: the worst case.
    assert parallel_wrong_passwords(app, monkeypatch, "insp_cx") == [None] * 10  # every one a plain failure
    row = failure_row("insp_cx")
    # Ten failures: the fifth and the tenth reached the limit (each starts the count afresh).
    assert (row.failed_logins, row.locked_until) == (0, NOW + timedelta(minutes=15))
    with pytest.raises(sign_in_lock.LockedOut):
        accounts.authenticate("insp_cx", PASSWORD, NOW + timedelta(minutes=1), address=ADDRESS)
    # Locked for that address only: the owner at another PC signs in.
    assert accounts.authenticate("insp_cx", PASSWORD, NOW + timedelta(minutes=1), address="10.0.0.2") is not None


def parallel_wrong_passwords(app, monkeypatch, username: str, attempts: int = 10) -> list[object]:
    """What `attempts` wrong passwords for `username` from ADDRESS, made at once, each returned (or raised): each
    waits, after reading the name's state, until all have read it. Ten, not twenty: each holds a pooled connection
    while it waits (the default pool has 5 + 10). The cheap hasher is put back afterwards."""
    everyone_read = threading.Barrier(attempts)
    inner = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

    class BarrierHasher:
        def __getattr__(self, name: str):
            return getattr(inner, name)

        def verify(self, hashed: str, password: str) -> bool:
            everyone_read.wait(timeout=20)
            return inner.verify(hashed, password)

    monkeypatch.setattr(accounts, "_hasher", BarrierHasher())
    results: list[object] = [None] * attempts

    def attempt(i: int) -> None:
        with app.app_context():
            try:
                results[i] = accounts.authenticate(username, f"wrong-password-{i}", NOW, address=ADDRESS,
                                                   max_failures=5)
            except Exception as exc:  # noqa: BLE001 - inspected by the caller
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    monkeypatch.setattr(accounts, "_hasher", inner)
    db.session.expire_all()
    return results


# ---------------------------------------------------------------------------------------------------------------
# 4. The language picked before signing in.

def test_language_chosen_on_the_sign_in_page_wins_and_is_saved(browser, clock):
    make_user("insp_cx", ["inspector"], "532301")
    assert user_row("insp_cx").language == "zh_CN"
    client = browser()
    client.post("/language", data={"language": "en", "next": "/login", "csrf_token": csrf(client)})
    assert "Sign in" in text_of(client.get("/login"))
    assert sign_in(client, "insp_cx").status_code == 302
    assert "My tasks" in text_of(client.get("/tasks"))
    assert user_row("insp_cx").language == "en"
    # Chosen again on the sign-in page, the other way round.
    client.post("/logout", data={"csrf_token": csrf(client, "/tasks")})
    client.post("/language", data={"language": "zh_CN", "next": "/login", "csrf_token": csrf(client)})
    sign_in(client, "insp_cx")
    assert "我的待办" in text_of(client.get("/tasks"))
    assert user_row("insp_cx").language == "zh_CN"


def test_the_next_person_at_a_shared_pc_keeps_their_own_language(browser, clock):
    make_user("insp_cx", ["inspector"], "532301")
    make_user("clerk_cx", ["clerk"], "532301")
    client = browser()
    client.post("/language", data={"language": "en", "next": "/login", "csrf_token": csrf(client)})
    sign_in(client, "insp_cx")
    client.post("/logout", data={"csrf_token": csrf(client, "/tasks")})
    # Nobody picked a language since the sign-out: the next user signs in in their own (Chinese).
    sign_in(client, "clerk_cx")
    assert "我的待办" in text_of(client.get("/tasks"))
    assert user_row("clerk_cx").language == "zh_CN"


# ---------------------------------------------------------------------------------------------------------------
# 5. The forms the engine defines in Python read in English.

def _english(username: str) -> None:
    user = user_row(username)
    user.language = "en"
    db.session.commit()


def test_post_forms_in_english(browser, clock):
    clerk = Actor.of(make_user("clerk_cx", ["clerk"], "532301"))
    _english("clerk_cx")
    post = posts.create_post(clerk, {"region": "532301", "title": "社区保洁员", "kind": "sanitation", "slots": 3,
                                     "monthly_pay": "1800", "start_date": "2021-03-01", "end_date": "2021-06-30"},
                             NOW)
    client = browser()
    sign_in(client, "clerk_cx")
    for url in ("/posts/new", f"/posts/{post.id}/edit"):
        page = text_of(client.get(url))
        for english in ("Slots", "Start date", "End date", "Work place", "Post description"):
            assert english in page, (url, english)
        for chinese in ("岗位数", "开始日期", "结束日期", "工作地点", "岗位说明"):
            assert chinese not in page, (url, chinese)


def test_supervision_form_in_english(browser, clock, inspector, supervisor):
    case = ordered_case(inspector, at("2021-03-01 10:00"))
    for moment in ("2021-03-05 08:00", "2021-03-09 00:00", "2021-03-11 00:00"):  # to level 2: a supervision task
        escalation.sweep(at(moment))
    db.session.refresh(case)
    assert any(t.name == escalation.SUPERVISION_TASK for t in open_tasks(case))
    _english(supervisor.username)
    client = browser()
    sign_in(client, supervisor.username)
    page = text_of(client.get(f"/cases/{case.number}"))
    for english in ("Action taken", "Urged", "Reassigned", "Reported to superiors", "Supervision comment"):
        assert english in page, english
    for chinese in ("督办措施", "已催办", "已改派", "已报告上级", "督办意见"):
        assert chinese not in page, chinese


def test_engine_form_texts_are_listed_for_the_catalogue_and_have_english():
    """The engine's Python-defined schemas are not in babel.cfg's reach: web/engine_texts.py lists their texts."""
    schemas = (posts.CREATE_POST_SCHEMA, posts.UPDATE_POST_SCHEMA, escalation.SUPERVISION_FORM)
    texts = set()
    for schema in schemas:
        source = io.BytesIO(json.dumps(schema, ensure_ascii=False).encode())
        texts |= {message for _line, _fn, message, _comments in extract_schema_strings(source, None, None, None)}
    assert texts <= set(engine_texts.ENGINE_FORM_TEXTS), texts - set(engine_texts.ENGINE_FORM_TEXTS)
    with PO.open("rb") as handle:
        catalogue = {m.id: m.string for m in read_po(handle) if m.id}
    missing = sorted(t for t in texts if not catalogue.get(t))
    assert not missing, missing


# ---------------------------------------------------------------------------------------------------------------
# 6. Signing out ends the session, a copy of its cookie included; a session lasts a working day.

def test_a_copied_session_cookie_is_refused_after_signing_out(browser, clock, app):
    """Security review: sessions are signed cookies kept by the browser only; signing out cleared the browser's copy,
    and a copy taken before (a shared office PC, plain HTTP on the intranet) still revealed ID numbers."""
    make_user("clerk_cx", ["clerk"], "532301")
    office = browser()
    assert sign_in(office, "clerk_cx").status_code == 302
    cookie = office.get_cookie("session").value
    token_for_replay = csrf(office, "/tasks")
    copy = browser()
    copy.set_cookie("session", cookie)
    assert copy.get("/tasks").status_code == 200  # the copy works while the session does
    office.post("/logout", data={"csrf_token": token_for_replay})
    replayed = copy.get("/tasks")
    assert replayed.status_code == 302 and "/login" in replayed.headers["Location"]
    assert copy.post("/logout", data={"csrf_token": token_for_replay}).status_code in (302, 400)
    # Signing in again works, with a new session.
    assert sign_in(office, "clerk_cx").status_code == 302 and office.get("/tasks").status_code == 200


def test_a_session_ends_a_working_day_after_signing_in_however_it_is_used(browser, clock, app):
    """QA: the 12 hours counted from the cookie's last signature, and Flask signs it again whenever the session
    changes (a CSRF token, a flash message, a language switch): a session in use, or a copy of its cookie kept
    alive by loading a page now and then, never ended. It now ends 12 hours after signing in."""
    import time

    from web.auth import SIGNED_IN_AT

    make_user("clerk_cx", ["clerk"], "532301")
    client = browser()
    assert sign_in(client, "clerk_cx").status_code == 302
    assert app.permanent_session_lifetime == timedelta(hours=12)
    with client.session_transaction() as session:
        session[SIGNED_IN_AT] = int(time.time()) - 11 * 3600 - 50 * 60  # signed in 11 h 50 min ago
    assert client.get("/tasks").status_code == 200
    client.post("/language", data={"language": "en", "next": "/tasks", "csrf_token": csrf(client, "/tasks")})
    with client.session_transaction() as session:  # in use: the cookie was signed again, the sign-in time kept
        assert time.time() - session[SIGNED_IN_AT] > 11 * 3600
        session[SIGNED_IN_AT] -= 15 * 60  # 12 h 5 min
    expired = client.get("/tasks")
    assert expired.status_code == 302 and "/login" in expired.headers["Location"]
    assert client.get("/tasks").status_code == 302  # the session is gone, not only this request refused
    # A session from before sign-in times were kept has none: it is signed out once.
    assert sign_in(client, "clerk_cx").status_code == 302
    with client.session_transaction() as session:
        del session[SIGNED_IN_AT]
    assert client.get("/tasks").status_code == 302
