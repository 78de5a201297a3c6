"""Alembic migrations: one head; upgrading an empty database gives exactly the models' schema (autogenerate finds
nothing to add); downgrading to base removes every table. On SQLite always, and on a scratch PostgreSQL database
when TEST_DATABASE_URL points at PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from engine import sign_in_lock
from engine.db import db
from tests.conftest import TEST_DB_URL, requires_postgres

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def script_directory() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def test_exactly_one_head():
    heads = script_directory().get_heads()
    assert len(heads) == 1, f"several Alembic heads, merge them: {heads}"


def test_history_is_one_line_from_base():
    revisions = list(script_directory().walk_revisions())
    bases = [r.revision for r in revisions if r.down_revision is None]
    assert len(bases) == 1, bases
    assert not [r.revision for r in revisions if r.is_merge_point or r.is_branch_point]


def _fresh_app(app, url: str):
    """A second app on an empty database, sharing the session app's settings."""
    from web import create_app

    config = {k: v for k, v in app.config.items() if k.isupper()}
    config["SQLALCHEMY_DATABASE_URI"] = url
    return create_app(config)


def _diff(connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": False,
                                                           "render_as_batch": True})
    return compare_metadata(context, db.metadata)


def _describe(diff: list) -> list[str]:
    out = []
    for item in diff:
        if isinstance(item, list):  # column modifications come grouped
            out.extend(str(i[:3]) for i in item)
        else:
            out.append(f"{item[0]} {getattr(item[1], 'name', item[1])}")
    return out


def upgrade_compare_downgrade(app, url: str) -> None:
    from flask_migrate import downgrade, upgrade

    fresh = _fresh_app(app, url)
    with fresh.app_context():
        try:
            upgrade(revision="head")
            engine = db.engine
            tables = set(inspect(engine).get_table_names())
            missing = {t.name for t in db.metadata.sorted_tables} - tables
            assert not missing, f"tables of the models that migrations never create: {sorted(missing)}"
            with engine.connect() as connection:
                diff = _diff(connection)
                head = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            assert head == list(script_directory().get_heads())
            assert diff == [], "the models and the migrated schema differ:\n" + "\n".join(_describe(diff))

            downgrade(revision="base")
            left = set(inspect(engine).get_table_names()) - {"alembic_version"}
            assert left == set(), f"downgrade to base left tables behind: {sorted(left)}"

            # And up again: downgrade scripts leave nothing that makes the upgrade fail.
            upgrade(revision="head")
            assert {t.name for t in db.metadata.sorted_tables} <= set(inspect(engine).get_table_names())
        finally:
            db.session.remove()
            db.engine.dispose()


def test_upgrade_matches_models_and_downgrade_to_base_on_sqlite(app, scratch_sqlite):
    upgrade_compare_downgrade(app, scratch_sqlite)


@pytest.fixture
def scratch_sqlite(tmp_path) -> str:
    """The URL of a new, empty SQLite file (the other half of scratch_postgres)."""
    return f"sqlite:///{tmp_path / 'fresh.sqlite3'}"


@pytest.fixture
def scratch_postgres() -> Iterator[str]:
    from config import _normalise_db_url

    base = _normalise_db_url(TEST_DB_URL)
    name = f"migrations_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - no right to create databases: say so instead of failing
        admin.dispose()
        pytest.skip(f"cannot create a scratch database on {admin.url.host}: {exc}")
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@requires_postgres()
def test_upgrade_matches_models_and_downgrade_to_base_on_postgres(app, scratch_postgres):
    upgrade_compare_downgrade(app, scratch_postgres)


# ---------------------------------------------------------------------------------------------------------------
# b9_failed_sign_ins: the table of failed sign-ins under names that are no account, and users.last_failed_login_at
# (both replaced by c1_sign_in_failures_by_address, below).

def failed_sign_ins_up_and_down(app, url: str) -> None:
    """Up from b8 with a user whose failures were counted before, a failure of each kind, and down again."""
    from datetime import datetime

    from flask_migrate import downgrade, upgrade

    from engine import accounts

    before, after = "b8_user_session_epoch", "b9_failed_sign_ins"
    fresh = _fresh_app(app, url)
    with fresh.app_context():
        try:
            upgrade(revision=before)
            engine = db.engine
            with engine.begin() as connection:
                connection.execute(text(
                    "INSERT INTO users (username, display_name, password_hash, roles, region, language, "
                    "must_change_password, failed_logins, active, created_at, session_epoch) VALUES ('insp_cx', "
                    "'insp_cx', :hash, 'inspector', '532301', 'zh_CN', :no, 3, :yes, :created, 0)"),
                    {"hash": accounts.hash_password("correct-horse-9"), "no": False, "yes": True,
                     "created": datetime(2021, 1, 1)})  # naive UTC, as UTCDateTime stores it

            upgrade(revision=after)
            schema = inspect(engine)
            assert "last_failed_login_at" in {c["name"] for c in schema.get_columns("users")}
            assert {c["name"] for c in schema.get_columns("failed_sign_ins")} == {
                "name_key", "failed_logins", "locked_until", "last_failed_login_at"}
            assert schema.get_pk_constraint("failed_sign_ins")["constrained_columns"] == ["name_key"]
            assert [i["column_names"] for i in schema.get_indexes("failed_sign_ins")] == [["last_failed_login_at"]]
            # The count from before the upgrade is kept, with no time (b9's code took it as not stale). That code
            # is gone (c1_sign_in_failures_by_address): the schema is checked by hand, as b9 left it.
            with engine.begin() as connection:
                assert connection.execute(text("SELECT failed_logins, last_failed_login_at FROM users")).one() == \
                    (3, None)
                connection.execute(text("UPDATE users SET failed_logins = 4, last_failed_login_at = :at"),
                                   {"at": datetime(2021, 3, 11, 1, 0)})
                connection.execute(text("INSERT INTO failed_sign_ins (name_key, failed_logins, last_failed_login_at) "
                                        "VALUES (:key, 1, :at)"), {"key": "0" * 64, "at": datetime(2021, 3, 11, 1, 0)})
            with engine.connect() as connection:
                assert connection.execute(text("SELECT failed_logins FROM failed_sign_ins")).scalar_one() == 1

            downgrade(revision=before)
            schema = inspect(engine)
            assert "failed_sign_ins" not in schema.get_table_names()
            assert "last_failed_login_at" not in {c["name"] for c in schema.get_columns("users")}
            with engine.connect() as connection:
                assert connection.execute(text("SELECT username, failed_logins FROM users")).one() == ("insp_cx", 4)
                assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == before
            upgrade(revision=after)  # and up again
            assert "failed_sign_ins" in inspect(engine).get_table_names()
        finally:
            db.session.remove()
            db.engine.dispose()


def test_failed_sign_ins_upgrades_and_downgrades_on_sqlite(app, scratch_sqlite):
    failed_sign_ins_up_and_down(app, scratch_sqlite)


@requires_postgres()
def test_failed_sign_ins_upgrades_and_downgrades_on_postgres(app, scratch_postgres):
    failed_sign_ins_up_and_down(app, scratch_postgres)


def test_a_downgrade_on_sqlite_with_data_rebuilds_referenced_tables(app, scratch_sqlite):
    """QA: `flask db downgrade` on an instance with data failed half way (FOREIGN KEY constraint failed [SQL: DROP
    TABLE users]: the app turns foreign keys on for every connection, and batch mode rebuilds `users`, which API
    tokens reference), leaving _alembic_tmp_users behind so that the next try failed too."""
    from datetime import UTC, datetime

    from flask_migrate import downgrade, upgrade

    from engine import accounts
    from engine.api_tokens import issue_token

    fresh = _fresh_app(app, scratch_sqlite)
    with fresh.app_context():
        try:
            upgrade(revision="head")
            user = accounts.create_user("insp_cx", "correct-horse-9", ["inspector"], "532301",
                                        datetime(2021, 3, 1, tzinfo=UTC))
            issue_token(user, datetime(2021, 3, 1, tzinfo=UTC), 12)
            db.session.commit()
            db.session.remove()
            heads = script_directory().get_heads()
            downgrade(revision="-1")
            engine = db.engine
            tables = set(inspect(engine).get_table_names())
            assert not {t for t in tables if t.startswith("_alembic_tmp")}, tables
            with engine.connect() as connection:
                assert connection.execute(text("SELECT username FROM users")).scalar_one() == "insp_cx"
                assert connection.execute(text("SELECT count(*) FROM api_tokens")).scalar_one() == 1
                assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1  # back on
            upgrade(revision="head")
            with engine.connect() as connection:
                assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == list(
                    heads)
        finally:
            db.session.remove()
            db.engine.dispose()


# ---------------------------------------------------------------------------------------------------------------
# c1_sign_in_failures_by_address: failures counted per (name, client address), for every name, in one table.

def sign_in_failures_up_and_down(app, url: str) -> None:
    """Up from the revision before (b9's lock-out schema) with a locked account and a counted name that is no
    account, and down again."""
    from datetime import UTC, datetime, timedelta

    from flask_migrate import downgrade, upgrade

    from engine import accounts

    before, after = "c0_deadline_reviews", "c1_sign_in_failures_by_address"
    fresh = _fresh_app(app, url)
    with fresh.app_context():
        try:
            upgrade(revision=before)
            engine = db.engine
            with engine.begin() as connection:
                connection.execute(text(
                    "INSERT INTO users (username, display_name, password_hash, roles, region, language, "
                    "must_change_password, failed_logins, locked_until, last_failed_login_at, active, created_at, "
                    "session_epoch) VALUES ('insp_cx', 'insp_cx', :hash, 'inspector', '532301', 'zh_CN', :no, 0, "
                    ":locked, :at, :yes, :created, 0)"),
                    {"hash": accounts.hash_password("correct-horse-9"), "no": False, "yes": True,
                     "locked": datetime(2021, 3, 11, 1, 10), "at": datetime(2021, 3, 11, 0, 55),
                     "created": datetime(2021, 1, 1)})  # naive UTC, as UTCDateTime stores it
                connection.execute(text("INSERT INTO failed_sign_ins (name_key, failed_logins, last_failed_login_at) "
                                        "VALUES (:key, 2, :at)"), {"key": "0" * 64, "at": datetime(2021, 3, 11, 0, 55)})

            upgrade(revision=after)
            schema = inspect(engine)
            assert "failed_sign_ins" not in schema.get_table_names()
            assert not {"failed_logins", "locked_until", "last_failed_login_at"} & {
                c["name"] for c in schema.get_columns("users")}
            assert {c["name"] for c in schema.get_columns("sign_in_failures")} == {
                "name_key", "address_key", "failed_logins", "locked_until", "last_failed_login_at"}
            assert schema.get_pk_constraint("sign_in_failures")["constrained_columns"] == ["name_key", "address_key"]
            assert [i["column_names"] for i in schema.get_indexes("sign_in_failures")] == [["last_failed_login_at"]]
            # The lock from before had no address: it is dropped, not kept for every address.
            now = datetime(2021, 3, 11, 1, 0, tzinfo=UTC)
            assert accounts.authenticate("insp_cx", "correct-horse-9", now, address="10.0.0.2") is not None
            for _ in range(5):
                assert accounts.authenticate("insp_cx", "wrong-password-1", now, address="10.0.0.3") is None
                assert accounts.authenticate("nobody_cx", "wrong-password-1", now, address="10.0.0.3") is None
            with engine.connect() as connection:
                assert connection.execute(text("SELECT count(*) FROM sign_in_failures WHERE locked_until IS NOT NULL"
                                               )).scalar_one() == 2
            for name in ("insp_cx", "nobody_cx"):
                with pytest.raises(sign_in_lock.LockedOut):
                    accounts.authenticate(name, "correct-horse-9", now, address="10.0.0.3")
            assert accounts.authenticate("insp_cx", "correct-horse-9", now, address="10.0.0.2") is not None
            db.session.remove()

            downgrade(revision=before)
            schema = inspect(engine)
            assert "sign_in_failures" not in schema.get_table_names()
            assert {c["name"] for c in schema.get_columns("failed_sign_ins")} == {
                "name_key", "failed_logins", "locked_until", "last_failed_login_at"}
            with engine.connect() as connection:
                assert connection.execute(text(
                    "SELECT username, failed_logins, locked_until, last_failed_login_at FROM users")).one() == \
                    ("insp_cx", 0, None, None)
                assert connection.execute(text("SELECT count(*) FROM failed_sign_ins")).scalar_one() == 0
                assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == before
            # As b9 made it: no server default left behind on the count.
            default = {c["name"]: c["default"] for c in schema.get_columns("users")}["failed_logins"]
            assert default is None
            with engine.begin() as connection:  # and b9's rows go in as b9's code wrote them
                connection.execute(text("UPDATE users SET failed_logins = 1, last_failed_login_at = :at"),
                                   {"at": datetime(2021, 3, 11, 1, 0) + timedelta(minutes=1)})
            upgrade(revision=after)  # and up again
            assert "sign_in_failures" in inspect(engine).get_table_names()
        finally:
            db.session.remove()
            db.engine.dispose()


def test_sign_in_failures_upgrades_and_downgrades_on_sqlite(app, scratch_sqlite):
    sign_in_failures_up_and_down(app, scratch_sqlite)


@requires_postgres()
def test_sign_in_failures_upgrades_and_downgrades_on_postgres(app, scratch_postgres):
    sign_in_failures_up_and_down(app, scratch_postgres)


# ---------------------------------------------------------------------------------------------------------------
# c2_one_open_temp_job: people with several open temp_job cases (a race before the index) are named, not crashed on.

def one_open_temp_job_up(app, url: str, monkeypatch) -> None:
    from datetime import datetime

    import flask_migrate
    from flask_migrate import upgrade

    before = "c1_sign_in_failures_by_address"
    logged: list[str] = []
    monkeypatch.setattr(flask_migrate.log, "error", logged.append)  # alembic's log config stops its propagation
    fresh = _fresh_app(app, url)
    with fresh.app_context():
        try:
            upgrade(revision=before)
            engine = db.engine
            with engine.begin() as connection:
                connection.execute(text(
                    "INSERT INTO process_versions (id, process, content_hash, files, created_at) "
                    "VALUES (1, 'temp_job', 'x', '{}', :at)"), {"at": datetime(2021, 2, 1)})
                for number, region, closed in (("TJ-532301-2021-000001", "532301", None),
                                               ("TJ-532322-2021-000001", "532322", None),
                                               ("TJ-532301-2021-000002", "532301", datetime(2021, 2, 3))):
                    connection.execute(text(
                        "INSERT INTO cases (number, process, process_version_id, status, region, opened_at, "
                        "closed_at, version, summary, search_text, workflow_state, created_by, subject_id_number) "
                        "VALUES (:number, 'temp_job', 1, 'registered', :region, :at, :closed, 1, '{}', '', '', "
                        "'clerk_cx', '532301199001010024')"),
                        {"number": number, "region": region, "at": datetime(2021, 2, 2), "closed": closed})
            with pytest.raises(SystemExit):  # `flask db upgrade` logs the error and exits 1
                upgrade(revision="head")
            # Both open cases named, the closed one not; nothing changed.
            [error] = logged
            assert "(TJ-532301-2021-000001, TJ-532322-2021-000001)" in error and "withdrawn" in error
            with engine.connect() as connection:
                assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == before

            with engine.begin() as connection:  # the bureau closes one of them
                connection.execute(text("UPDATE cases SET closed_at = :at WHERE number = 'TJ-532322-2021-000001'"),
                                   {"at": datetime(2021, 2, 4)})
            upgrade(revision="head")
            assert "ux_cases_open_temp_job" in {i["name"] for i in inspect(engine).get_indexes("cases")}
        finally:
            db.session.remove()
            db.engine.dispose()


def test_one_open_temp_job_upgrade_names_the_duplicates_on_sqlite(app, scratch_sqlite, monkeypatch):
    one_open_temp_job_up(app, scratch_sqlite, monkeypatch)


@requires_postgres()
def test_one_open_temp_job_upgrade_names_the_duplicates_on_postgres(app, scratch_postgres, monkeypatch):
    one_open_temp_job_up(app, scratch_postgres, monkeypatch)
