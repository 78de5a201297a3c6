"""GET /api/v1/tasks (and its neighbours) timed at scale: the database filled with realistic cases, then each list
requested through the test client. Run by bench.lifecycle (issue 2's target: an inspector's task list under 20 ms at
100,000 cases)."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime

from bench._common import describe_ms, time_get, verdict
from bench._dataset import REGION, T_OPEN, populate, select_user

TARGET_MS = 20


def measure(app, label: str, cases: int, runs: int) -> float:
    """Fill the database up to `cases`, time every list and print the figures; the inspector's median (ms)."""
    with app.app_context():
        started = time.perf_counter()
        counts = populate(cases)
        print(f"[{label}] populated {counts['cases']:,} cases and {counts['tasks']:,} tasks in "
              f"{time.perf_counter() - started:.1f} s (workflow state {counts['state_kb']:.1f} KB per case); "
              f"{counts['open_in_region']:,} open inspector tasks in {REGION}", flush=True)
    listing = _time_lists(app, runs)
    median = statistics.median(listing["inspector: GET /api/v1/tasks"])
    median_cpu = statistics.median(listing["inspector: GET /api/v1/tasks cpu"])
    print(f"[{label}] GET /api/v1/tasks for an inspector at {cases:,} cases: median "
          f"{median:.1f} ms, {median_cpu:.1f} ms of it CPU in this process (target < {TARGET_MS} ms: "
          f"{verdict(median < TARGET_MS)})", flush=True)
    return median


def _time_lists(app, runs: int) -> dict[str, list[float]]:
    from engine import accounts, api_tokens
    from engine.db import db
    from engine.models import User

    with app.app_context():
        inspector = db.session.scalar(select_user("bench_insp"))
        supervisor = db.session.scalar(select_user("bench_sup"))
        if supervisor is None:
            supervisor = accounts.create_user("bench_sup", "bench-pass-123", ["supervisor"], "532300", T_OPEN)
            db.session.commit()
        assert isinstance(inspector, User)
        tokens = {"inspector": api_tokens.issue_token(inspector, datetime.now(UTC), 2),
                  "supervisor": api_tokens.issue_token(supervisor, datetime.now(UTC), 2)}
        db.session.remove()
    client = app.test_client()
    queries = {
        "inspector: GET /api/v1/tasks": ("inspector", "/api/v1/tasks"),
        "inspector: ?assigned=me": ("inspector", "/api/v1/tasks?assigned=me"),
        "inspector: ?overdue=true": ("inspector", "/api/v1/tasks?overdue=true"),
        "inspector: ?page=20": ("inspector", "/api/v1/tasks?page=20"),
        "prefecture supervisor: GET /api/v1/tasks": ("supervisor", "/api/v1/tasks"),
        "inspector: GET /api/v1/cases": ("inspector", "/api/v1/cases"),
    }
    results: dict[str, list[float]] = {}
    for label, (who, path) in queries.items():
        times, cpu, response = time_get(client, path, runs, warm=3,
                                        headers={"Authorization": f"Bearer {tokens[who]}"})
        body = response.get_json()
        results[label] = times
        results[label + " cpu"] = cpu
        print(f"  {label:<44} {describe_ms(times)}; CPU median {statistics.median(cpu):.1f} ms; "
              f"{len(body['items'])} of {body['total']:,} items")
    return results
