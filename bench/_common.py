"""Shared pieces of the benchmarks: an app on a fresh database, a scratch PostgreSQL database, timing helpers."""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

if __package__ in (None, ""):  # pragma: no cover - imported as bench._common
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent


def postgres_url_from_env() -> str | None:
    """BENCH_DATABASE_URL, else TEST_DATABASE_URL, when it points at PostgreSQL."""
    for name in ("BENCH_DATABASE_URL", "TEST_DATABASE_URL"):
        value = os.environ.get(name, "")
        if value.startswith(("postgres://", "postgresql")):
            return value
    return None


def make_app(url: str, workdir: Path):
    """The real application on `url` with the scheduler off, its schema migrated to head."""
    from flask_migrate import upgrade

    from config import Config, _normalise_db_url
    from web import create_app

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = _normalise_db_url(url)
        SECRET_KEY = "bench-only-not-a-secret"
        SCHEDULER = "off"
        PUBLIC_BASE_URL = "https://bench.invalid"  # printed in the bench's notices only (and no start-up warning)
        DOCUMENTS_DIR = str(workdir / "documents")
        HOLIDAYS_DIR = str(workdir / "holidays")

    (workdir / "holidays").mkdir(parents=True, exist_ok=True)
    from engine import processes

    processes.forget()  # what is remembered of stored process versions belongs to the previous bench's database
    app = create_app(BenchConfig)
    logging.disable(logging.INFO)  # the migrations' progress lines are not figures
    try:
        with app.app_context():
            upgrade(revision="heads")
    finally:
        logging.disable(logging.NOTSET)
    return app


def empty_tables() -> None:
    """Delete every row of the app's tables (a bench database of its own, reused)."""
    from engine import processes
    from engine.db import db, delete_all_rows

    delete_all_rows()
    db.session.commit()
    processes.forget()  # the process versions went with the rows


def time_get(client, path: str, runs: int, *, warm: int = 2,
             headers: dict[str, str] | None = None) -> tuple[list[float], list[float], object]:
    """Wall and CPU milliseconds of `runs` GETs of `path` through a test client, after `warm` untimed ones that
    must answer 200 (they fill the caches); and the last response."""
    for _ in range(warm):
        response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code} {response.get_data(as_text=True)[:200]}")
    wall, cpu = [], []
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(path, headers=headers)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    return wall, cpu, response


def machine() -> str:
    try:
        with open("/proc/loadavg", encoding="ascii") as loadavg:
            load = loadavg.read().split()[0]
    except OSError:
        load = "?"
    return f"{os.cpu_count()} CPU(s), load average {load}"


@contextmanager
def scratch_postgres(base_url: str) -> Iterator[str]:
    """A new, empty database on the server of `base_url`, dropped afterwards; the database named in the URL is
    never touched."""
    from sqlalchemy import create_engine, text

    from config import _normalise_db_url

    normal = _normalise_db_url(base_url)
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normal, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield normal.rsplit("/", 1)[0] + "/" + name
    finally:
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()


@contextmanager
def sqlite_file() -> Iterator[tuple[str, Path]]:
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        path = Path(folder)
        yield f"sqlite:///{path / 'bench.sqlite3'}", path


def each_database(postgres: bool = True) -> Iterator[tuple[str, str, Path]]:
    """(label, URL, scratch folder) of a fresh SQLite file, then of a scratch PostgreSQL database when
    BENCH_DATABASE_URL or TEST_DATABASE_URL names a server (unless `postgres` is False); each is gone once the
    caller moves on."""
    with sqlite_file() as (url, workdir):
        yield "sqlite", url, workdir
    server = postgres_url_from_env() if postgres else None
    if server:
        with scratch_postgres(server) as url, tempfile.TemporaryDirectory(prefix="bench-") as folder:
            yield "postgresql", url, Path(folder)
    elif postgres:
        print("[postgresql] skipped: set BENCH_DATABASE_URL=postgresql://... to measure it")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


def describe_ms(values: list[float]) -> str:
    return (f"median {statistics.median(values):.1f} ms, p95 {percentile(values, 95):.1f} ms, "
            f"min {min(values):.1f} ms over {len(values)} requests")


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    try:
        return int(raw) if raw else default
    except ValueError:
        print(f"ignoring {name}={raw!r}: not an integer", file=sys.stderr)
        return default
