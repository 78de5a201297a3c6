"""Server time of the pages people open all day (queues, case list, a case, the dashboard) at 100,000 cases.

    .venv/bin/python -m bench.pages [--cases 100000] [--runs 15]
    BENCH_DATABASE_URL=postgresql://... .venv/bin/python -m bench.pages   # SQLite, then PostgreSQL

The cases are the lifecycle bench's bulk copies of a real case (bench._dataset.populate); requests go through the
real app (Flask test client, signed in through Flask-Login's session) after the day's dashboard snapshot that the
scheduler takes every 10 minutes, so the figure is the server's time for the
whole page: the queries, the templates and the translations. Target: under 200 ms each."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # `python bench/pages.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import describe_ms, each_database, env_int, machine, make_app, time_get, verdict  # noqa: E402

TARGET_MS = 200.0


def _signed_in_client(app, username: str):
    from sqlalchemy import select

    from engine.db import db
    from engine.models import User

    with app.app_context():
        session_id = db.session.scalar(select(User).where(User.username == username)).get_id()  # "id:epoch"
        db.session.remove()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = session_id  # what Flask-Login keeps after a sign-in
        session["_fresh"] = True
    return client


def run_backend(label: str, url: str, workdir: Path, cases: int, runs: int) -> list[tuple[str, float]]:
    from datetime import UTC, datetime

    from sqlalchemy import select

    from bench._dataset import REGION, populate
    from engine import accounts, clear_zero_snapshots
    from engine.db import db
    from engine.models import Case

    app = make_app(url, workdir)
    started = time.perf_counter()
    with app.app_context():
        counts = populate(cases)
        accounts.create_user("bench_sup_cz", "bench-pass-123", ["supervisor"], "532300", datetime.now(UTC))
        db.session.commit()
        clear_zero_snapshots.take_snapshot(datetime.now(UTC))  # as the running scheduler does every 10 minutes
        db.session.commit()
        one = db.session.scalar(select(Case.number).where(Case.region == REGION, Case.closed_at.is_(None)).limit(1))
        db.session.remove()
    print(f"[{label}] populated {counts['cases']:,} cases and {counts['tasks']:,} tasks in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    pages = {
        "inspector: my tasks": ("bench_insp", "/tasks?view=mine"),
        "inspector: unassigned in my region": ("bench_insp", "/tasks?view=unassigned"),
        "inspector: overdue": ("bench_insp", "/tasks?view=overdue"),
        "inspector: case list": ("bench_insp", "/cases"),
        "inspector: case list, search": ("bench_insp", "/cases?q=%E6%A5%9A%E9%9B%84"),
        "inspector: one case": ("bench_insp", f"/cases/{one}"),
        "prefecture supervisor: unassigned": ("bench_sup_cz", "/tasks?view=unassigned"),
        "prefecture supervisor: case list": ("bench_sup_cz", "/cases"),
        "prefecture supervisor: dashboard": ("bench_sup_cz", "/dashboard"),
    }
    clients = {who: _signed_in_client(app, who) for who in {w for w, _ in pages.values()}}
    medians = []
    for name, (who, path) in pages.items():
        times, _cpu, _response = time_get(clients[who], path, runs)
        medians.append((f"{label} {name}", statistics.median(times)))
        print(f"[{label}] {name:<38} {describe_ms(times)}", flush=True)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return medians


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.pages", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=env_int("BENCH_PAGE_CASES", 100_000),
                        help="cases in the database (default 100,000, or BENCH_PAGE_CASES)")
    parser.add_argument("--runs", type=int, default=15, help="timed requests per page (default 15)")
    args = parser.parse_args(argv)
    if args.cases < 1 or args.runs < 1:
        parser.error("--cases and --runs must be at least 1")
    import logging

    logging.disable(logging.INFO)
    print(f"machine: {machine()}")
    medians = []
    for label, url, workdir in each_database():
        medians += run_backend(label, url, workdir, args.cases, args.runs)
    slow = [name for name, ms in medians if ms >= TARGET_MS]
    print(f"target: every page under {TARGET_MS:.0f} ms server time at {args.cases:,} cases: "
          f"{verdict(not slow)}" + (f" (over: {', '.join(slow)})" if slow else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
