"""Fast-track benefit claims decided per second: through the services with the database, beside bare
SpiffWorkflow evaluating the same three DMN tables in memory, in one run.

    .venv/bin/python -m bench.claims                     # SQLite (a fresh file), 2,000 claims
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench .venv/bin/python -m bench.claims [--reset]
    .venv/bin/python -m bench.claims --claims 300 --letters 5      # scaled down

Target (issue 4): at least 200 fast-track decisions per second on SQLite, one process.

What is timed:
1. bare DMN: SpiffWorkflow's DMNEngine on the tables of bpmn/benefit_claim/ (months -> entitlement -> amount),
   with SpiffWorkflow's default script environment, no BPMN, no database: the ceiling of the rules themselves;
2. sandboxed DMN: the same, with the engine's sandboxed expression environment;
3. process in memory: the whole benefit_claim process started with `engine.runtime` (scripts, gateways, the three
   business rule tasks, the sandbox), rates given from memory, no database;
4. services: `engine.services.open_case` for each claim, one transaction each, as the API calls it: rates lookup,
   workflow, duplicate check, projections, audit chain, payment schedule and the decision letter queued in the
   outbox. Every claim is complete and consistent, so every one must be decided by the rules (checked).
Letters are rendered after the commit from the outbox (as the scheduler does): not in the timed loop; a sample
is rendered afterwards and reported separately (ms per letter, and how long the whole outbox would take).

On PostgreSQL the database must be empty (a database of its own) or be emptied with `--reset`; the rows are
removed at the end unless `--keep`."""

from __future__ import annotations

import argparse
import functools
import logging
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

if __package__ in (None, ""):  # `python bench/claims.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import empty_tables, make_app  # noqa: E402 - after the path fix above

BEIJING = ZoneInfo("Asia/Shanghai")
OPENED = datetime(2021, 2, 1, 9, 0, tzinfo=BEIJING)
TARGET_RATE = 200
ROOT = Path(__file__).resolve().parent.parent
RATES_CSV = ROOT / "bpmn" / "benefit_claim" / "sample_rates_532300.csv"
DMN_FILES = ("benefit_months.dmn", "benefit_entitlement.dmn", "benefit_amount.dmn")


def claim(i: int) -> dict:
    """Claim i: complete, consistent, and within the supervisor ceiling, so the rules decide it at once.
    A mix of rows: benefit (12-119 months), temporary living allowance (rural, 1-11), refusals (not registered)."""
    from stdnum.cn import ric

    born = date(1985, 1, 1) + timedelta(days=i // 1000)  # a thousand people per birthday: unique ID numbers
    person = f"532301{born:%Y%m%d}{i % 1000:03d}"
    kind = i % 10
    rural = kind in (7, 8)
    data = {
        "claimant": {"name": "张秀英", "id_number": person + ric.calc_check_digit(person + "0"),
                     "phone": "13887654321", "household": "rural" if rural else "urban"},
        "last_employer": "楚雄市某建筑劳务有限公司",
        "separation_date": "2021-01-15",
        "separation_reason": "involuntary",
        "contribution_months": (1 + i % 11) if rural else 12 + (i * 7) % 108,
        "months_already_drawn": 0,
        "registered_unemployed": kind != 9,
        "seeking_work": True,
        "bank_account": "6222020200112233445",
    }
    if kind != 9:
        data["unemployment_registration_date"] = "2021-01-20"
    return data


def _people(n: int) -> list[dict]:
    data = [claim(i) for i in range(n)]
    ids = {d["claimant"]["id_number"] for d in data}
    if len(ids) != n:
        raise SystemExit(f"internal error: {n - len(ids)} duplicate ID numbers in the generated claims")
    return data


def _rates_in_memory() -> dict:
    return {"region": "532301", "effective_from": "2020-07-01", "minimum_wage": "1500.00",
            "benefit_rate": "1350.00", "benefit_rate_basis": "最低工资 1500.00 元/月 × 90%",
            "subsistence_rate": "680.00"}


def _dmn_inputs(data: dict, rates: dict) -> dict:
    return {**data, "benefit_rate": rates["benefit_rate"], "subsistence_rate": rates["subsistence_rate"]}


def bench_dmn(claims: list[dict], sandboxed: bool) -> tuple[float, dict[str, int]]:
    """The three tables with SpiffWorkflow's DMNEngine, no BPMN, no database. Returns (per second, type counts)."""
    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
    from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser

    from engine import sandbox as rt
    from engine.rules import default_value

    parser = BpmnDmnParser()
    for name in DMN_FILES:
        parser.add_dmn_str((ROOT / "bpmn" / "benefit_claim" / name).read_bytes(), filename=name)
    engines = {key: parser.get_engine(key, None) for key in ("benefit_months", "benefit_entitlement",
                                                              "benefit_amount")}
    helpers = {"money": rt.money, "money_str": rt.money_str, "rule": default_value}
    environment = rt.SandboxEnvironment(helpers) if sandboxed else TaskDataEnvironment(helpers)
    task = SimpleNamespace(data={}, workflow=SimpleNamespace(script_engine=PythonScriptEngine(environment=environment)))
    rates = _rates_in_memory()
    counts: dict[str, int] = {}
    started = time.perf_counter()
    for data in claims:
        task.data = _dmn_inputs(data, rates)
        task.data.update(engines["benefit_months"].result(task))
        hit = engines["benefit_entitlement"].result(task)
        if len(hit.get("candidate_type", [])) != 1:
            raise SystemExit(f"bench claim is ambiguous for the rules: {data}")
        task.data["benefit_type"] = hit["candidate_type"][0]
        task.data.update(engines["benefit_amount"].result(task))
        counts[task.data["benefit_type"]] = counts.get(task.data["benefit_type"], 0) + 1
    elapsed = time.perf_counter() - started
    return len(claims) / elapsed, counts


def bench_process_in_memory(claims: list[dict]) -> float:
    """The whole process with engine.runtime, rates from memory, no database."""
    from engine import processes
    from engine.clock import engine_context
    from engine.rules import RULES
    from engine.runtime import Runtime
    from engine.sandbox import BPMN_HELPERS

    helpers = dict(BPMN_HELPERS)
    rates = _rates_in_memory()
    helpers["benefit_rates"] = lambda region, day: dict(rates)
    runtime = Runtime(helpers)
    parsed = runtime.parse("bench", "benefit_claim", processes.read_files("benefit_claim"))
    values = {key: rule.default for key, rule in RULES.items()}
    started = time.perf_counter()
    with engine_context(OPENED, values):
        for i, data in enumerate(claims):
            workflow = runtime.start(parsed, {**data, "case_number": f"BC-{i}", "region": "532301",
                                              "received_at": OPENED.isoformat(), "status": "received"})
            decided = runtime.inspect(workflow).data
            if decided.get("decided_by") != "rules":
                raise SystemExit(f"not decided by the rules in memory: {decided.get('review_reasons')}")
            runtime.dumps(workflow)  # what saving the state costs, as the service does
    return len(claims) / (time.perf_counter() - started)


@contextmanager
def cpu_breakdown(totals: Counter) -> Iterator[None]:
    """CPU time per part of open_case, summed into `totals` (ms): wraps the parts for the duration of the block.
    Parts nest (project_case includes the status hooks; the workflow start includes the rates lookup)."""
    from engine import audit, benefit_rates, benefits, processes
    from engine.services import cases

    def timed(label, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            started = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[label] += (time.process_time() - started) * 1000
        return wrapper

    patches = [
        (cases.runtime, "start", "workflow run (SpiffWorkflow, incl. rates lookup)"),
        (cases.runtime, "dumps", "workflow state serialisation"),
        (cases, "project_case", "projection (incl. status hooks below)"),
        (benefits, "_on_status", "status hook: schedule + letter queued"),
        (benefits, "issue_notice", "letter queued (outbox row, number, audit)"),
        (benefit_rates, "rate_in_force", "rates lookup"),
        (benefits, "_check_open", "duplicate / intake checks"),
        (processes, "current_version", "process version lookup"),
        (cases, "rule_values", "rule settings"),
        (cases, "validate", "intake JSON Schema"),
        (audit, "record", "audit events (hash chain)"),
    ]
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    hooks = list(cases.STATUS_HOOKS)
    checks = list(cases.OPEN_CASE_CHECKS["benefit_claim"])
    try:
        for obj, name, label in patches:
            setattr(obj, name, timed(label, getattr(obj, name)))
        # The hook lists hold the functions themselves: swap the wrapped ones in.
        cases.STATUS_HOOKS[:] = [benefits._on_status if h is saved[3][2] else h for h in hooks]
        cases.OPEN_CASE_CHECKS["benefit_claim"][:] = [benefits._check_open if c is saved[6][2] else c for c in checks]
        yield
    finally:
        for obj, name, original in saved:
            setattr(obj, name, original)
        cases.STATUS_HOOKS[:] = hooks
        cases.OPEN_CASE_CHECKS["benefit_claim"][:] = checks


def main(argv: list[str] | None = None) -> int:
    url_env = os.environ.get("BENCH_DATABASE_URL", "")
    postgres = url_env.startswith(("postgres://", "postgresql"))
    parser = argparse.ArgumentParser(prog="bench.claims", description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=2000, help="claims decided through the services (2,000)")
    parser.add_argument("--memory-claims", type=int, default=5000,
                        help="claims for the in-memory figures (default 5,000)")
    parser.add_argument("--warmup", type=int, default=30, help="claims opened before timing (default 30)")
    parser.add_argument("--letters", type=int, default=20, help="letters rendered afterwards (default 20)")
    parser.add_argument("--breakdown", type=int, default=200, metavar="N",
                        help="after the timed run, N more claims with CPU time per part of open_case (default 200; "
                             "0 skips)")
    parser.add_argument("--reset", action="store_true", help="PostgreSQL: empty the database's tables first")
    parser.add_argument("--keep", action="store_true", help="keep the rows (and the SQLite file) afterwards")
    args = parser.parse_args(argv)
    if args.claims < 1 or args.memory_claims < 1 or args.warmup < 0 or args.letters < 0:
        parser.error("--claims and --memory-claims must be at least 1, --warmup and --letters at least 0")

    workdir = Path(tempfile.mkdtemp(prefix="bench-claims-"))
    url = url_env if postgres else f"sqlite:///{workdir / 'bench.sqlite3'}"
    app = make_app(url, workdir)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("spiff").setLevel(logging.WARNING)
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from engine import accounts, benefit_rates, documents, services
    from engine.actors import Actor
    from engine.db import db
    from engine.documents import Document
    from engine.models import Case

    people = _people(args.warmup + max(args.claims, args.memory_claims) + args.breakdown)
    status = 0
    with app.app_context():
        upgrade(revision="heads")
        if postgres and db.session.scalar(select(func.count()).select_from(Case)):
            if not args.reset:
                print("the PostgreSQL database holds cases: use a database of its own, or --reset to empty it",
                      file=sys.stderr)
                return 2
            empty_tables()
        try:
            memory = people[args.warmup:args.warmup + args.memory_claims]
            bare_rate, counts = bench_dmn(memory, sandboxed=False)
            sandbox_rate, _ = bench_dmn(memory, sandboxed=True)
            process_rate = bench_process_in_memory(memory)

            benefit_rates.import_rates(RATES_CSV.read_text(encoding="utf-8"), "bench", OPENED)
            user = accounts.create_user("bench_clerk", "bench-password-9", ["clerk"], "532301", OPENED)
            db.session.commit()
            clerk = Actor.of(user)
            for data in people[:args.warmup]:
                services.open_case(clerk, "benefit_claim", "532301", data, OPENED)
            timed = people[args.warmup:args.warmup + args.claims]
            started, cpu_started = time.perf_counter(), time.process_time()
            for i, data in enumerate(timed):
                services.open_case(clerk, "benefit_claim", "532301", data, OPENED + timedelta(milliseconds=i))
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            service_rate = len(timed) / elapsed

            parts: Counter = Counter()
            extra = people[args.warmup + max(args.claims, args.memory_claims):][:args.breakdown]
            if extra:
                with cpu_breakdown(parts):
                    cpu_started = time.process_time()
                    for i, data in enumerate(extra):
                        services.open_case(clerk, "benefit_claim", "532301", data, OPENED + timedelta(seconds=i))
                    parts["= open_case total"] = (time.process_time() - cpu_started) * 1000

            decided = dict(db.session.execute(
                select(Case.status, func.count()).where(Case.process == "benefit_claim").group_by(Case.status)
            ).all())
            undecided = sum(n for s, n in decided.items() if s not in ("approved", "rejected"))
            waiting = db.session.scalar(select(func.count()).select_from(Document).where(Document.status == "pending"))

            rendered_ms = None
            if args.letters:
                ids = list(db.session.scalars(select(Document.id).where(Document.status == "pending")
                                              .order_by(Document.id).limit(args.letters)))
                t0 = time.perf_counter()
                done = sum(documents.render_one(doc_id, OPENED) for doc_id in ids)
                rendered_ms = (time.perf_counter() - t0) * 1000 / max(done, 1)

            db_name = "PostgreSQL" if postgres else "SQLite"
            print(f"benefit_claim fast track, one process ({db_name}; {args.claims} claims through the services, "
                  f"{len(memory)} in memory)")
            print(f"  rule rows in the mix: {', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}")
            print(f"  bare SpiffWorkflow DMN, in memory ............ {bare_rate:10.0f} decisions/s")
            print(f"  same DMN in the engine's sandbox ............. {sandbox_rate:10.0f} decisions/s "
                  f"(compiled cells cached, so it may beat the bare engine)")
            print(f"  whole process in memory (no database) ........ {process_rate:10.0f} decisions/s")
            print(f"  services with the database (open_case) ....... {service_rate:10.0f} decisions/s "
                  f"({elapsed * 1000 / len(timed):.2f} ms each; {bare_rate / service_rate:.0f}x the bare DMN time)")
            print(f"    per CPU-second of this process .............. {len(timed) / cpu:10.0f} decisions/s "
                  f"(wall/CPU {elapsed / cpu:.1f}: >1 means waiting on the database or a busy machine)")
            print(f"  statuses: {', '.join(f'{k} {v}' for k, v in sorted(decided.items()))}")
            if extra:
                print(f"  CPU ms per claim by part ({len(extra)} more claims; parts nest):")
                for label, total in sorted(parts.items(), key=lambda kv: -kv[1]):
                    print(f"    {label:<52} {total / len(extra):6.2f}")
            if rendered_ms is not None:
                print(f"  letters (rendered after commit, not timed above): {rendered_ms:.0f} ms each; "
                      f"{waiting} queued -> {waiting * rendered_ms / 1000:.0f} s of outbox work")
            target_ok = service_rate >= TARGET_RATE or postgres
            if postgres:
                print(f"  target: >= {TARGET_RATE}/s is set for SQLite; PostgreSQL is shown for reference")
            else:
                verdict = "met" if service_rate >= TARGET_RATE else "NOT met"
                print(f"  target: >= {TARGET_RATE}/s on SQLite -> {verdict}")
            if undecided:
                print(f"ERROR: {undecided} claims were not decided by the rules", file=sys.stderr)
                status = 1
            elif not target_ok:
                status = 1
        finally:
            if postgres and not args.keep:
                empty_tables()
            db.session.remove()
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"kept {workdir}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
