"""The sweeper with many pending timers of which some are due: time to find and fire the due ones, and the time
of a sweep when none is due.

    .venv/bin/python -m bench.sweep                      # SQLite (a fresh file): 100,000 pending, 1,000 due
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench .venv/bin/python -m bench.sweep [--reset]
                                                         # PostgreSQL: 1,000,000 pending, 10,000 due
    .venv/bin/python -m bench.sweep --pending 20000 --due 300    # scaled down

Targets (issue 3): a no-op sweep under 50 ms whatever the number of pending timers; at least 300 due timers fired
per second per process.

How the rows are made. Firing goes through `engine.escalation.sweep` for real, so every due timer is a real timer
of a real case. Most are task-due timers: `--cases` wage-arrears cases are opened through
`engine.services.cases.open_case` (workflow state, review task with its deadline, task-due timer, audit chain), then
cloned with bulk inserts: each clone is a copy of a real case row (same workflow state, own number) with its own
copy of the open review task and one task-due timer on it, due before `now`. Opening 10,000 cases through the
service would measure the service, not the sweeper. The rest (`--bpmn`, 5% by default) are BPMN payment-deadline
timers of cases taken through the services to the rectification order: firing one loads, runs and saves the
workflow, the sweeper's heavier kind of work. The rate printed is over both kinds, as they come in fire-time order.
The pending (not yet due) timers are task-due timers on those same tasks with fire times spread over the next six
months: the due query and the no-op sweep read only the timers index, so a million pending timers do not need a
million case rows (whose workflow state would make the database tens of GB).

On PostgreSQL the database must be empty (a database of its own) or be emptied with `--reset`; the rows are
removed at the end unless `--keep`."""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

if __package__ in (None, ""):  # `python bench/sweep.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import empty_tables, make_app  # noqa: E402 - after the path fix above
from bench._dataset import INVESTIGATE, ORDER, REVIEW, complete_step  # noqa: E402

BEIJING = ZoneInfo("Asia/Shanghai")
OPENED = datetime(2021, 3, 1, 9, 0, tzinfo=BEIJING)  # a Monday; 5 working days to review: due end of Mon 8 March
NOW = datetime(2021, 3, 9, 9, 0, tzinfo=BEIJING)  # the sweep's clock: the review deadlines (end of 8 March) passed
CHUNK = 10_000
TARGET_NOOP_MS = 50
TARGET_FIRE_RATE = 300


def _intake(i: int) -> dict:
    from stdnum.cn import ric, uscc

    base = f"91532301MA6K{i % 100000:05d}"
    person = f"5323011988{(i % 12) + 1:02d}{(i % 28) + 1:02d}{i % 1000:03d}"
    return {
        "complainant": {"name": "李建国", "id_number": person + ric.calc_check_digit(person + "0"),
                        "phone": "13887654321"},
        "workers_count": 12,
        "employer": {"name": f"楚雄市某建筑劳务有限公司{i}", "uscc": base + uscc.calc_check_digit(base),
                     "address": "楚雄市鹿城南路88号"},
        "project": {"name": "鹿城镇安置房二期", "type": "government_invested", "sector": "construction"},
        "amount_owed": "126000.00",
        "period_from": "2020-09-01",
        "period_to": "2020-12-31",
        "source": "hotline",
    }


def _to_payment_deadline(actor, i: int) -> None:
    """One case through the services up to the issued rectification order: its payment-deadline timer (3 working
    days from the order on 2 March) is due at NOW."""
    from engine import services

    case = services.open_case(actor, "wage_arrears", "532301", _intake(i), OPENED)
    case_id = case.id
    for name, data, hours in [("review_complaint", REVIEW, 1), ("investigate", INVESTIGATE, 2),
                              ("issue_order", ORDER, 25)]:
        complete_step(actor, case_id, name, data, OPENED + timedelta(hours=hours))


def _explain(stmt, postgres: bool) -> list[str]:
    """The plan of a SQLAlchemy statement, with its parameters processed as the column types would."""
    from engine.db import db

    compiled = stmt.compile(dialect=db.engine.dialect)
    params = {k: (v.astimezone(UTC).replace(tzinfo=None) if isinstance(v, datetime) else v)
              for k, v in compiled.params.items()}
    args = tuple(params[k] for k in compiled.positiontup) if compiled.positional else params
    prefix = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " if postgres else "EXPLAIN QUERY PLAN "
    rows = db.session.connection().exec_driver_sql(prefix + str(compiled), args).all()
    db.session.rollback()
    return [row[0] if postgres else row[-1] for row in rows]


def _bulk(table, rows: list[dict]) -> None:
    from sqlalchemy import insert

    from engine.db import db

    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(table), rows[start:start + CHUNK])
    db.session.commit()


def _populate(args, postgres: bool) -> dict[str, float]:
    """Real cases through the service, then clones and timers with bulk inserts. Returns setup timings."""
    from sqlalchemy import func, select, text

    from engine import accounts, services
    from engine.actors import Actor
    from engine.db import db
    from engine.models import Case, Task, Timer

    timings: dict[str, float] = {}
    inspector = accounts.create_user("bench_insp", "bench-password-9", ["inspector"], "532301", OPENED)
    accounts.create_user("bench_sup", "bench-password-9", ["supervisor"], "532300", OPENED)
    db.session.commit()
    actor = Actor.of(inspector)

    started = time.perf_counter()
    real = [services.open_case(actor, "wage_arrears", "532301", _intake(i), OPENED + timedelta(minutes=i))
            for i in range(args.cases)]
    timings["open_case"] = time.perf_counter() - started
    real_ids = [case.id for case in real]
    started = time.perf_counter()
    for i in range(args.bpmn):
        _to_payment_deadline(actor, args.cases + i)
    if args.bpmn:
        print(f"took {args.bpmn} more cases to the rectification order through the services in "
              f"{time.perf_counter() - started:.1f} s: their payment deadlines are due", flush=True)
    real_due = db.session.scalar(select(func.count()).select_from(Timer).where(
        Timer.status == "pending", Timer.fire_at <= NOW, Timer.kind == "task_due"))
    case_columns = [c.name for c in Case.__table__.columns if c.name != "id"]
    templates = [dict(zip(case_columns, row, strict=True)) for row in db.session.execute(
        select(*[Case.__table__.c[name] for name in case_columns]).where(Case.id.in_(real_ids)))]
    template_tasks = {row.case_id: row for row in db.session.scalars(
        select(Task).where(Task.case_id.in_(real_ids), Task.state == "open"))}
    db.session.rollback()
    sizes = [len(t["workflow_state"]) for t in templates]
    print(f"opened {args.cases} real cases through open_case in {timings['open_case']:.1f} s "
          f"({args.cases / timings['open_case']:.0f}/s); workflow state {statistics.mean(sizes) / 1024:.0f} KiB; "
          f"{real_due} of their task-due timers are due at {NOW:%Y-%m-%d %H:%M}", flush=True)

    clones = max(0, args.due - real_due - args.bpmn)
    started = time.perf_counter()
    first_id = (db.session.scalar(select(func.max(Case.id))) or 0) + 1
    case_rows, task_rows, timer_rows = [], [], []
    task_ids: list[tuple[int, str, str]] = []
    rng = random.Random(3)
    for n in range(clones):
        template = templates[n % len(templates)]
        source_task = template_tasks[real_ids[n % len(real_ids)]]
        case_id = first_id + n
        number = f"WA-532301-2021-B{n + 1:07d}"
        case_rows.append({**template, "id": case_id, "number": number,
                          "search_text": template["search_text"].replace(template["number"].lower(), number.lower())})
        # Due a little before NOW, spread over the previous working days so the order by fire time is real work.
        due = NOW - timedelta(minutes=rng.randint(1, 3 * 24 * 60))
        task_id = str(uuid.uuid4())
        task_rows.append({"id": task_id, "case_id": case_id, "process": source_task.process,
                          "region": source_task.region, "name": source_task.name, "title": source_task.title,
                          "role": source_task.role, "state": "open", "created_at": OPENED, "due_at": due,
                          "due_rule": source_task.due_rule, "escalation_level": 0})
        timer_rows.append({"case_id": case_id, "kind": "task_due", "task_id": task_id, "name": source_task.name,
                           "level": 1, "fire_at": due, "status": "pending", "spiff_task_id": None})
        task_ids.append((case_id, task_id, source_task.name))
    task_ids += [(case_id, template_tasks[case_id].id, template_tasks[case_id].name) for case_id in real_ids]
    _bulk(Case.__table__, case_rows)
    _bulk(Task.__table__, task_rows)
    _bulk(Timer.__table__, timer_rows)
    del case_rows, task_rows
    timings["clone"] = time.perf_counter() - started

    started = time.perf_counter()
    horizon = 180 * 24 * 3600
    batch: list[dict] = []
    for n in range(args.pending):
        case_id, task_id, name = task_ids[n % len(task_ids)]
        batch.append({"case_id": case_id, "kind": "task_due", "task_id": task_id, "name": name, "level": 1,
                      "fire_at": NOW + timedelta(seconds=rng.randint(60, horizon)), "status": "pending",
                      "spiff_task_id": None})
        if len(batch) == CHUNK * 5:
            _bulk(Timer.__table__, batch)
            batch = []
            print(f"  pending timers inserted: {n + 1:,}/{args.pending:,}", end="\r", flush=True)
    _bulk(Timer.__table__, batch)
    timings["pending"] = time.perf_counter() - started
    if postgres:
        for table in ("cases", "timers"):  # explicit ids above: move the sequences past them
            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                                    f"(SELECT max(id) FROM {table}))"))
        db.session.commit()
        # Fresh statistics and visibility map, as autovacuum would leave them after a bulk load.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in ("timers", "tasks", "cases"):
                connection.exec_driver_sql(f"VACUUM ANALYZE {table}")
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    print(f"inserted {clones:,} cloned cases with their tasks and due timers in {timings['clone']:.1f} s, "
          f"{args.pending:,} pending timers in {timings['pending']:.1f} s" + " " * 20, flush=True)
    return timings


def main(argv: list[str] | None = None) -> int:
    url_env = os.environ.get("BENCH_DATABASE_URL", "")
    postgres = url_env.startswith(("postgres://", "postgresql"))
    parser = argparse.ArgumentParser(prog="bench.sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pending", type=int, default=1_000_000 if postgres else 100_000,
                        help="timers not yet due (default 1,000,000 on PostgreSQL, 100,000 on SQLite)")
    parser.add_argument("--due", type=int, default=10_000 if postgres else 1_000,
                        help="timers due at the sweep's now (default 10,000 on PostgreSQL, 1,000 on SQLite)")
    parser.add_argument("--cases", type=int, default=20, help="real cases opened through open_case (default 20)")
    parser.add_argument("--bpmn", type=int, default=None,
                        help="of the due timers, BPMN payment deadlines of cases taken through the services "
                             "(default 5%% of --due)")
    parser.add_argument("--batch", type=int, default=500, help="sweep batch size (default 500, as the scheduler)")
    parser.add_argument("--noop-runs", type=int, default=7, help="no-op sweeps to time (default 7)")
    parser.add_argument("--reset", action="store_true", help="PostgreSQL: empty the database's tables first")
    parser.add_argument("--keep", action="store_true", help="keep the rows (and the SQLite file) afterwards")
    args = parser.parse_args(argv)
    if args.cases < 1 or args.due < 0 or args.pending < 0:
        parser.error("--cases must be at least 1, --due and --pending at least 0")
    args.cases = min(args.cases, max(args.due, 1))
    if args.bpmn is None:
        args.bpmn = args.due // 20
    if args.bpmn < 0 or args.bpmn + args.cases > max(args.due, 1):
        parser.error("--bpmn must be at least 0, and --bpmn plus --cases at most --due")

    workdir = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    url = url_env if postgres else f"sqlite:///{workdir / 'bench.sqlite3'}"
    import logging

    app = make_app(url, workdir)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from flask_migrate import upgrade
    from sqlalchemy import func, select, update

    from engine import escalation, processes
    from engine.db import db
    from engine.documents import Document
    from engine.models import Case, Task, Timer

    status = 0
    with app.app_context():
        upgrade(revision="heads")
        if postgres and not args.reset and db.session.scalar(select(func.count()).select_from(Case)):
            print("the PostgreSQL database holds cases: use a database of its own, or --reset to empty it",
                  file=sys.stderr)
            return 2
        if postgres:
            empty_tables()
        print(f"database: {db.engine.dialect.name} ({db.engine.url.render_as_string(hide_password=True)}); "
              f"{args.pending:,} pending + {args.due:,} due timers; batch {args.batch}", flush=True)
        try:
            _populate(args, postgres)
            total = db.session.scalar(select(func.count()).select_from(Timer).where(Timer.status == "pending"))
            due = db.session.scalar(select(func.count()).select_from(Timer).where(
                Timer.status == "pending", Timer.fire_at <= NOW))
            db.session.rollback()
            print(f"timers pending: {total:,}, of which due: {due:,}")

            due_query = (select(Timer.id).where(Timer.status == "pending", Timer.fire_at <= NOW)
                         .order_by(Timer.fire_at, Timer.id).limit(args.batch))
            print("plan of the due query (engine.escalation.due_timer_ids):")
            for line in _explain(due_query, postgres):
                print("   ", line)
            uses_index = any("ix_timers_due" in line for line in _explain(due_query, postgres))

            started = time.perf_counter()
            first = escalation.due_timer_ids(NOW, args.batch)
            find_ms = (time.perf_counter() - started) * 1000
            db.session.rollback()
            print(f"find: the first batch of {len(first)} due timer ids in {find_ms:.1f} ms")

            def progress(done: int, total: int) -> None:
                if done and done % 1000 == 0:
                    print(f"  fired {done:,} / ~{total:,}", end="\r", file=sys.stderr, flush=True)

            # A scheduler is its own process (README): it holds none of the workflows the services just wrote.
            processes.workflows.clear()
            started, cpu = time.perf_counter(), time.process_time()
            # Firing only: the notices the BPMN cases queued on their way here are rendered by the outbox, which
            # bench.notices measures.
            report = escalation.sweep(NOW, batch=args.batch, worker="bench", progress=progress, render_notices=False)
            fire_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu
            fired = len(report.fired) + len(report.escalated)
            print(f"fire: {fired:,} due timers found and fired in {fire_s:.2f} s = {fired / fire_s:,.0f} timers/s "
                  f"({fired / cpu_s:,.0f} per CPU-second of this process; escalations {len(report.escalated):,}, "
                  f"BPMN timers {len(report.fired):,}, skipped {report.skipped}, errors {len(report.errors)})"
                  + " " * 10)
            with open("/proc/loadavg", encoding="ascii") as loadavg:
                print(f"machine: {os.cpu_count()} CPU(s), load average {loadavg.read().split()[0]}")
            for line in report.errors[:5]:
                print("   error:", line)
            left = db.session.scalar(select(func.count()).select_from(Timer).where(
                Timer.status == "pending", Timer.fire_at <= NOW))
            claimed = db.session.scalar(select(func.count()).select_from(Timer).where(Timer.claimed_by == "bench"))
            escalations = db.session.scalar(select(func.count()).select_from(escalation.Escalation))
            checks = db.session.scalar(select(func.count()).select_from(Task).where(Task.name == "check_payment"))
            db.session.rollback()
            print(f"check: {claimed:,} timers marked fired by this sweep, {escalations:,} escalations recorded, "
                  f"{checks:,} payment checks opened by fired BPMN timers, {left} due timers left")

            # Those notices are put off, so the no-op sweeps find nothing to fire and nothing to render.
            db.session.execute(update(Document).where(Document.status == "pending")
                               .values(next_attempt_at=NOW + timedelta(days=365)))
            db.session.commit()
            noop = []
            for _ in range(args.noop_runs):
                started = time.perf_counter()
                again = escalation.sweep(NOW, batch=args.batch, worker="bench")
                noop.append((time.perf_counter() - started) * 1000)
                assert not again.fired and not again.escalated, "a no-op sweep fired something"
            docs_plan = _explain(select(Document.id).where(Document.status == "pending",
                                                           Document.next_attempt_at <= NOW)
                                 .order_by(Document.next_attempt_at, Document.id).limit(100), postgres)
            print(f"no-op sweep (nothing due, {total - due:,}+ timers pending; due query, outbox query, "
                  f"transactions): median {statistics.median(noop):.1f} ms, min {min(noop):.1f} ms, "
                  f"max {max(noop):.1f} ms over {len(noop)} runs")
            print("plan of the outbox query of every sweep (engine.documents.render_pending):")
            for line in docs_plan:
                print("   ", line)

            ok_noop = statistics.median(noop) < TARGET_NOOP_MS
            ok_rate = fired / fire_s >= TARGET_FIRE_RATE if fired else True
            ok_fired = left == 0 and claimed == fired and checks == args.bpmn and not report.errors
            print(f"targets: no-op sweep < {TARGET_NOOP_MS} ms {'met' if ok_noop else 'MISSED'}; "
                  f">= {TARGET_FIRE_RATE}/s {'met' if ok_rate else 'MISSED'}; every due timer fired once "
                  f"{'yes' if ok_fired else 'NO'}; due query on ix_timers_due {'yes' if uses_index else 'NO'}")
            status = 0 if ok_fired and uses_index else 1
        finally:
            db.session.rollback()
            if postgres and not args.keep:
                empty_tables()
            db.session.remove()
            db.engine.dispose()
    if args.keep:
        print(f"kept: {url if postgres else workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
