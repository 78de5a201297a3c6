"""The SQLAlchemy handle shared by the engine and the web app, and small column types."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# Stable constraint names so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC so SQLite and
    PostgreSQL compare and index them the same way."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # SQLite raw strings from some code paths
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)


def like_escape(typed: str) -> str:
    """Text a user typed, for LIKE ... ESCAPE '\\': `%` and `_` are then the characters themselves, not wildcards."""
    return typed.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def insert_with_conflicts(table: Table) -> postgresql.Insert | sqlite.Insert:
    """INSERT for the session's database, with its ON CONFLICT clauses (both databases spell them alike)."""
    return (postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite).insert(table)


def upsert(table: Table, rows: list[dict[str, Any]], keys: Sequence[str], keep: Collection[str] = ()) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET every other given column but `keep`, in the caller's
    transaction, on SQLite and PostgreSQL alike. Rows are written in the order given: callers that may race sort
    them by key, so two writers lock in the same order."""
    statement = insert_with_conflicts(table)
    if isinstance(statement, sqlite.Insert):
        # SQLite has no exact decimal type: bind the exact text rather than a float.
        rows = [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in row.items()} for row in rows]
    updated = {c: statement.excluded[c] for c in rows[0] if c not in keys and c not in keep}
    db.session.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=updated), rows)


def delete_all_rows() -> None:
    """Empty every table of the app in the session's transaction (the tests' and benchmarks' clean slate; nothing
    in the app calls it). PostgreSQL also restarts the id sequences."""
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
    else:
        for name in tables:
            db.session.execute(text(f"DELETE FROM {name}"))  # noqa: S608 - our own table names
