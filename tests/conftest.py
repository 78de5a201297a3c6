"""One app per test session; every test starts from empty tables.

`TEST_DATABASE_URL` switches the whole suite to PostgreSQL. Tables are emptied after each test rather than
rolled back, because services commit for real and the concurrency tests need real transactions in threads."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from engine.actors import Actor
from engine.db import db, delete_all_rows

SHANGHAI = ZoneInfo("Asia/Shanghai")
_tmp = tempfile.mkdtemp(prefix="hrss-test-")
atexit.register(shutil.rmtree, _tmp, ignore_errors=True)  # the SQLite file and the notices of one run
TEST_DB_URL = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{_tmp}/test.sqlite3"
IS_POSTGRES = TEST_DB_URL.startswith("postgres")


def at(text_value: str) -> datetime:
    """A moment in Beijing time: at('2021-02-08 09:00')."""
    return datetime.fromisoformat(text_value).replace(tzinfo=SHANGHAI)


def _test_config():
    from config import TestConfig, _normalise_db_url

    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = _normalise_db_url(TEST_DB_URL)
        DOCUMENTS_DIR = os.path.join(_tmp, "documents")
        HOLIDAYS_DIR = os.path.join(_tmp, "holidays")

    return Cfg


# The suite's configuration on the test database, for a test that needs a second app with one setting changed.
SuiteConfig = _test_config()


@pytest.fixture(scope="session")
def app():
    from web import create_app

    application = create_app(SuiteConfig)
    with application.app_context():
        if IS_POSTGRES:
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        from flask_migrate import upgrade

        upgrade(revision="heads")
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()  # close pooled connections before exit (psycopg warns about open ones)


@pytest.fixture(autouse=True)
def _clean_tables(request):
    yield
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    with application.app_context():
        db.session.rollback()
        delete_all_rows()
        db.session.commit()
        db.session.remove()
    from engine import processes

    processes.forget()  # the process versions are gone with the rows; their ids will be reused


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch) -> None:
    """argon2 at production cost would dominate the run time; no test depends on the cost itself."""
    from argon2 import PasswordHasher

    from engine import accounts

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(params=["live", "restored"])
def workflow_source(request, monkeypatch) -> str:
    """Runs a test twice: with the live-workflow cache (engine.workflow_cache), and with it off so that every step
    restores its workflow from the database."""
    if request.param == "restored":
        from engine import processes

        monkeypatch.setattr(processes.workflows, "size", 0)
    return request.param


@pytest.fixture
def _close_pool(app) -> Iterator[None]:
    """For a test that runs requests in threads: their pooled connections are closed afterwards."""
    yield
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


def make_user(username: str, roles: list[str], region: str, password: str = "correct-horse-9"):
    from engine import accounts

    user = accounts.create_user(username, password, roles, region, at("2021-01-01 09:00"))
    db.session.commit()
    return user


@pytest.fixture
def inspector(ctx):
    return Actor.of(make_user("insp_cx", ["inspector"], "532301"))


@pytest.fixture
def supervisor(ctx):
    return Actor.of(make_user("sup_cz", ["supervisor"], "532300"))


@pytest.fixture
def head(ctx):
    """The prefecture bureau's head: level-3 supervision across its counties. Not the one who decides a county
    case's criminal referral (county_head)."""
    return Actor.of(make_user("head_cz", ["head"], "532300"))


@pytest.fixture
def county_head(ctx):
    """The head of Chuxiong city's bureau (532301), where the tests' cases are handled: the bureau's own chief
    decides its criminal referrals (国务院令第310号 art. 5)."""
    return Actor.of(make_user("head_cx", ["head"], "532301"))


@pytest.fixture
def clerk(ctx):
    """A benefit and employment clerk of Chuxiong city (532301)."""
    return Actor.of(make_user("clerk_cx", ["clerk"], "532301"))


# The prefecture's sample regional rates (minimum wage, benefit and subsistence rates by effective date).
SAMPLE_RATES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bpmn", "benefit_claim",
                            "sample_rates_532300.csv")


@pytest.fixture
def rates(ctx) -> None:
    """The sample rates loaded, as a bureau does before taking claims."""
    from engine import benefit_rates

    with open(SAMPLE_RATES, encoding="utf-8") as handle:
        benefit_rates.import_rates(handle.read(), "test", at("2021-01-01 09:00"))
    db.session.commit()


class SettableClock:
    """The app's clock (config CLOCK, read as `now` by the API and the pages) at `moment`, moved with set()."""

    def __init__(self, app, monkeypatch, moment: datetime) -> None:
        self.moment = moment
        monkeypatch.setitem(app.config, "CLOCK", lambda: self.moment)

    def set(self, value: datetime) -> None:
        self.moment = value


def fixed_clock(moment: datetime):
    """An autouse fixture for a module (`_clock = fixed_clock(WHEN)`): the app's clock, which the API and the pages
    read as `now`, stands at `moment` for each of its tests."""

    @pytest.fixture(autouse=True)
    def _fixed(app):
        app.config["CLOCK"] = lambda: moment
        yield
        app.config.pop("CLOCK", None)

    return _fixed


@pytest.fixture
def far_inspector(ctx):
    """An inspector of another county (532322, Shuangbai)."""
    return Actor.of(make_user("insp_sb", ["inspector"], "532322"))


def requires_postgres():
    return pytest.mark.skipif(not IS_POSTGRES, reason="needs PostgreSQL: set TEST_DATABASE_URL=postgresql://...")
