"""Complete wage-arrears lifecycles through the engine services, against the same BPMN run by bare SpiffWorkflow,
and the inspector's task list at 100,000 cases (bench/_task_list.py).

    .venv/bin/python -m bench.lifecycle                     # SQLite, and PostgreSQL when BENCH_DATABASE_URL
                                                            # (or TEST_DATABASE_URL) is a postgresql:// URL
    .venv/bin/python -m bench.lifecycle --n 50 --list-cases 5000 --no-postgres    # a quick run

A lifecycle is open -> accept -> investigate (order) -> issue order -> the payment deadline passes (the sweeper
fires the timer) -> payment checked, paid in full -> cleared. Through the services, every step is one transaction
that loads the case from the database, validates the form, runs the step, writes the workflow state, the task,
timer and case projections and the audit event. The step runs on the live workflow the case's last step kept in
this process when the stored state is still exactly what that step wrote (engine.workflow_cache), as it is when a
case is worked in one place; the same lifecycles are also timed with that cache off (WORKFLOW_CACHE_SIZE=0: every
step restores the workflow from the stored state, as when another process wrote the case last). The bare runs do
the same steps on the same parsed BPMN in memory with SpiffWorkflow only, serializing the state (without its spec,
as engine/runtime.py does) after every step, and either keeping the workflow live or restoring it before the next
step. The ratio is judged like for like, so that it is what the database, projections and audit cost on top of the
same workflow work: services (cache on) / bare live, and services (cache off) / bare restoring; the lower of the two
counts. The services against bare restoring every step is printed too (the services then do less workflow work).
A last, instrumented run splits a services lifecycle into the workflow, the database driver and the rest.

Targets (issue 2): >= 100 lifecycles/s through the services on SQLite; services >= 0.5 x bare in the same run;
GET /api/v1/tasks for an inspector under 20 ms with 100,000 cases in the database.

On PostgreSQL a scratch database is created on the server of the URL and dropped at the end: the database named in
the URL is not touched (the user needs the right to create databases). Environment: BENCH_LIFECYCLES and
BENCH_LIST_CASES set the defaults of --n and --list-cases."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/lifecycle.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _task_list  # noqa: E402 - after the path fix above
from bench._common import each_database, env_int, machine, make_app, verdict  # noqa: E402
from bench._dataset import (  # noqa: E402
    BEIJING,
    INVESTIGATE,
    ORDER,
    PAID,
    REGION,
    REVIEW,
    T_OPEN,
    bench_inspector,
    complete_step,
    intake,
)

T_REVIEW = datetime(2021, 3, 1, 10, 0, tzinfo=BEIJING)
T_INVESTIGATE = datetime(2021, 3, 2, 15, 0, tzinfo=BEIJING)
T_ORDER = datetime(2021, 3, 3, 10, 0, tzinfo=BEIJING)  # 3 working days to pay: due at the end of Mon 8 March
T_FIRE = datetime(2021, 3, 9, 0, 0, tzinfo=BEIJING)
T_CHECK = datetime(2021, 3, 9, 10, 0, tzinfo=BEIJING)

TARGET_RATE = 100
TARGET_RATIO = 0.5



# ---------------------------------------------------------------------------------------------------------------
# Bare SpiffWorkflow, in memory.

class Bare:
    """The same parsed BPMN, sandboxed script engine and engine clock as the services, and nothing else. The state
    is serialized after every step (as the services write it); with `live` the next step runs on the same workflow
    object (as the services do with their live-workflow cache), otherwise on one restored from that state."""

    def __init__(self, *, live: bool = False) -> None:
        from engine import processes
        from engine.rules import RULES
        from engine.runtime import Runtime

        self.live = live
        self.runtime = Runtime()
        self.parsed = self.runtime.parse("bench", "wage_arrears", processes.read_files("wage_arrears"))
        self.values = {key: rule.default for key, rule in RULES.items()}

    def _next(self, workflow, state: str):
        return workflow if self.live else self.runtime.loads(self.parsed, state)

    def lifecycle(self, i: int) -> None:
        from SpiffWorkflow.util.task import TaskState

        from engine.clock import engine_context

        start = dict(intake(i))
        start.update({"case_number": f"WA-{REGION}-2021-{i:06d}", "region": REGION,
                      "received_at": T_OPEN.isoformat(), "status": "received"})
        with engine_context(T_OPEN, self.values):
            workflow = self.runtime.start(self.parsed, start)
        state = self.runtime.dumps(workflow)
        for name, data, now in [("review_complaint", REVIEW, T_REVIEW), ("investigate", INVESTIGATE, T_INVESTIGATE),
                                ("issue_order", ORDER, T_ORDER), ("", None, T_FIRE),
                                ("check_payment", PAID, T_CHECK)]:
            workflow = self._next(workflow, state)
            with engine_context(now, self.values):
                if name:
                    [task] = workflow.get_tasks(state=TaskState.READY, spec_name=name)  # as a client picks it
                    self.runtime.complete_user_task(workflow, task.id, data)
                else:  # the payment deadline has passed
                    self.runtime.fire_due_timers(workflow)
            state = self.runtime.dumps(workflow)
        workflow = self._next(workflow, state)
        if not workflow.is_completed() or self.runtime.inspect(workflow).data.get("status") != "cleared":
            raise AssertionError("bare lifecycle did not end cleared")


def _rates(lifecycle, n: int, warmup: int) -> tuple[float, float]:
    """(lifecycles per second of wall time, per second of this process's CPU time). On a busy machine the CPU
    rate is the steadier figure; on PostgreSQL it leaves out the server's own work."""
    for i in range(warmup):
        lifecycle(i)
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        lifecycle(warmup + i)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return n / wall, n / cpu if cpu else float("inf")


def run_bare(n: int, warmup: int, *, live: bool = False) -> tuple[float, float]:
    return _rates(Bare(live=live).lifecycle, n, warmup)


# ---------------------------------------------------------------------------------------------------------------
# Through the services, with the database.

def _bench_statements() -> dict:
    from sqlalchemy import bindparam, select

    from engine.models import Case, Timer

    return {
        "payment_timer": select(Timer.id).where(Timer.case_id == bindparam("case_id"), Timer.kind == "bpmn",
                                                Timer.name == "payment_deadline", Timer.status == "pending"),
        "outcome": select(Case.status, Case.closed_at).where(Case.id == bindparam("case_id")),
    }


_STATEMENTS: dict = {}


class Services:
    def __init__(self) -> None:
        _STATEMENTS.update(_bench_statements())
        from engine.db import db
        from engine.services._common import rule_values

        self.actor = bench_inspector()
        self.values = rule_values()
        db.session.commit()


    def lifecycle(self, i: int) -> None:
        from sqlalchemy import inspect

        from engine import escalation, services
        from engine.db import db

        case = services.open_case(self.actor, "wage_arrears", REGION, intake(i), T_OPEN)
        # The bench's own reads are timed with the services: six plain statements of the 77 (the task id and case
        # version a client holds from its task list, the timer the sweeper finds, the outcome check). The case id
        # is read without reloading the (expired) case.
        case_id = inspect(case).identity[0]
        complete_step(self.actor, case_id, "review_complaint", REVIEW, T_REVIEW)
        complete_step(self.actor, case_id, "investigate", INVESTIGATE, T_INVESTIGATE)
        complete_step(self.actor, case_id, "issue_order", ORDER, T_ORDER)
        # What the sweeper does when the payment deadline has passed: claim and fire this timer.
        timer_id = db.session.connection().execute(_STATEMENTS["payment_timer"], {"case_id": case_id}).scalar_one()
        report = escalation.SweepReport()
        if not escalation.fire_timer(timer_id, T_FIRE, "bench", self.values, report):
            raise AssertionError(f"payment timer did not fire: {report.errors}")
        complete_step(self.actor, case_id, "check_payment", PAID, T_CHECK)
        status, closed_at = db.session.connection().execute(_STATEMENTS["outcome"], {"case_id": case_id}).one()
        if status != "cleared" or closed_at is None:
            raise AssertionError(f"case ended {status}, not cleared")
        db.session.remove()  # a fresh session per lifecycle, as per request in the app


def run_services(n: int, warmup: int, *, first: int = 0, cache_size: int | None = None) -> tuple[float, float]:
    """Rates through the services; `cache_size` overrides the live-workflow cache's size for this run."""
    from engine import processes

    services, size = Services(), processes.workflows.size
    processes.workflows.size = size if cache_size is None else cache_size
    try:
        return _rates(lambda i: services.lifecycle(first + i), n, warmup)
    finally:
        processes.workflows.size = size


# Where a services lifecycle's time goes.

_WORKFLOW_CALLS = ("start", "loads", "dumps", "complete_user_task", "fire_due_timers", "inspect", "waits_on")


def breakdown(n: int, first: int) -> dict[str, float]:
    """Milliseconds per lifecycle: in the workflow (engine.runtime: load, run, save, inspect; the case data the
    inspection merges on demand counts in the rest), in the database driver (executing statements and committing, as
    the driver reports it; the bench's own six reads included), and the rest (SQLAlchemy, projections, audit,
    validation, notices); and statements and commits per lifecycle. A separate run: the instruments cost time too."""
    from sqlalchemy import event

    from engine import processes
    from engine.db import db

    spent = {"workflow": 0.0, "driver": 0.0, "commits": 0.0}
    statements = commits = 0
    runtime = processes.runtime

    def timed(fn):
        def call(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent["workflow"] += time.perf_counter() - started
        return call

    def before(conn, *_args) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def after(conn, *_args) -> None:
        nonlocal statements
        statements += 1
        spent["driver"] += time.perf_counter() - conn.info.pop("bench_started")

    def commit(dbapi_connection, *_args, **_kwargs):
        nonlocal commits
        commits += 1
        started = time.perf_counter()
        try:
            return dbapi_commit(dbapi_connection)
        finally:
            spent["commits"] += time.perf_counter() - started

    services = Services()
    dialect = db.engine.dialect
    dbapi_commit = dialect.do_commit
    for name in _WORKFLOW_CALLS:  # on the instance the services use; the class is untouched
        setattr(runtime, name, timed(getattr(runtime, name)))
    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    dialect.do_commit = commit
    try:
        started = time.perf_counter()
        for i in range(n):
            services.lifecycle(first + i)
        total = time.perf_counter() - started
    finally:
        del dialect.do_commit
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)
        for name in _WORKFLOW_CALLS:
            delattr(runtime, name)
    per = {key: value / n * 1000 for key, value in spent.items()}
    per["commit_ms"], per["driver"] = per["commits"], per["driver"] + per["commits"]
    per["rest"] = total / n * 1000 - per["workflow"] - per["driver"]
    per["statements"], per["commits"] = statements / n, commits / n
    return per


# ---------------------------------------------------------------------------------------------------------------

def run_backend(label: str, url: str, workdir: Path, args) -> dict[str, Any]:
    from engine.db import db

    app = make_app(url, workdir)
    figures: dict[str, Any] = {"backend": label}
    try:
        with app.app_context():
            warmup = max(1, min(10, args.n // 10))
            # Each bare run twice, before and after the services, and the mean: a drift of the machine evens out.
            bare_runs = [run_bare(args.n, warmup), run_bare(args.n, warmup, live=True)]
            services_rate, services_cpu = run_services(args.n, warmup)
            restoring_rate, restoring_cpu = run_services(args.n, warmup, first=args.n + warmup, cache_size=0)
            bare_runs += [run_bare(args.n, warmup), run_bare(args.n, warmup, live=True)]
            (bare_rate, bare_cpu), (bare_live_rate, bare_live_cpu) = [
                ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) for a, b in ((bare_runs[0], bare_runs[2]),
                                                                    (bare_runs[1], bare_runs[3]))]
            # Like for like: the same workflow work on both sides, so the ratio is what the database, projections
            # and audit cost on top of the workflow.
            ratio_live, ratio_restoring = services_rate / bare_live_rate, restoring_rate / bare_rate
            ratio_cpu = min(services_cpu / bare_live_cpu, restoring_cpu / bare_cpu)
            ratio = min(ratio_live, ratio_restoring)
            figures.update(services_rate=services_rate, bare_rate=bare_rate, bare_live_rate=bare_live_rate,
                           ratio=ratio, ratio_cpu=ratio_cpu, restoring_rate=restoring_rate)
            print(f"[{label}] {args.n} lifecycles through the services: {services_rate:,.1f}/s "
                  f"({1000 / services_rate:.1f} ms each, 6 transactions; {services_cpu:,.1f} per CPU-second)")
            print(f"[{label}] bare SpiffWorkflow, the same workflow kept live, state serialized per step: "
                  f"{bare_live_rate:,.1f}/s ({1000 / bare_live_rate:.1f} ms each); ratio {ratio_live:.2f}")
            print(f"[{label}] the services with the live-workflow cache off, every step restoring its workflow from "
                  f"the database: {restoring_rate:,.1f}/s ({1000 / restoring_rate:.1f} ms each)")
            print(f"[{label}] bare SpiffWorkflow, serialize/deserialize per step: {bare_rate:,.1f}/s "
                  f"({1000 / bare_rate:.1f} ms each); ratio {ratio_restoring:.2f}")
            rate_note = (f"; >= {TARGET_RATE}/s through the services {verdict(services_rate >= TARGET_RATE)}"
                         if label == "sqlite" else "")
            print(f"[{label}] ratio services/bare, like for like: {ratio:.2f} wall, {ratio_cpu:.2f} CPU, the lower "
                  f"of the two pairs (target >= {TARGET_RATIO}: {verdict(ratio >= TARGET_RATIO)}); the services "
                  f"against bare restoring every step: {services_rate / bare_rate:.2f}{rate_note}", flush=True)
            parts = breakdown(min(args.n, 100), 10 * (warmup + 2 * args.n))
            print(f"[{label}] where a lifecycle goes (a separate, instrumented run): "
                  f"workflow {parts['workflow']:.1f} ms (bare, live: {1000 / bare_live_rate:.1f} ms), "
                  f"database driver {parts['driver']:.1f} ms ({parts['statements']:.0f} statements, and "
                  f"{parts['commits']:.0f} commits taking {parts['commit_ms']:.1f} ms), "
                  f"the rest {parts['rest']:.1f} ms (SQLAlchemy, projections, audit, validation, notices)", flush=True)
        if args.list_cases:
            figures["list_ms"] = _task_list.measure(app, label, args.list_cases, args.runs)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.lifecycle", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=env_int("BENCH_LIFECYCLES", 300),
                        help="lifecycles per run (default 300, or BENCH_LIFECYCLES)")
    parser.add_argument("--list-cases", type=int, default=env_int("BENCH_LIST_CASES", 100_000),
                        help="cases in the database for the task-list timing (default 100,000, or BENCH_LIST_CASES; "
                             "0 skips it)")
    parser.add_argument("--runs", type=int, default=30, help="timed requests per list query (default 30)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    if args.n < 1 or args.list_cases < 0 or args.runs < 1:
        parser.error("--n and --runs must be at least 1, --list-cases at least 0")

    import logging

    from sqlalchemy.exc import OperationalError, ProgrammingError

    logging.getLogger("engine.escalation").setLevel(logging.WARNING)
    results = []
    print(f"machine: {machine()} (timings are wall clock; the CPU figures are steadier on a busy machine)")
    try:
        for label, url, workdir in each_database(postgres=not args.no_postgres):
            results.append(run_backend(label, url, workdir, args))
    except (OperationalError, ProgrammingError) as exc:  # e.g. no right to create a scratch database: say why
        print(f"not measured: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print("summary:")
    for f in results:
        line = (f"  {f['backend']:<10} services {f['services_rate']:7.1f}/s (cache off {f['restoring_rate']:.1f}/s)  "
                f"bare {f['bare_live_rate']:7.1f}/s live, {f['bare_rate']:.1f}/s restoring  "
                f"ratio like for like {f['ratio']:.2f} (CPU {f['ratio_cpu']:.2f})")
        if "list_ms" in f:
            line += f"  GET /tasks {f['list_ms']:.1f} ms"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
