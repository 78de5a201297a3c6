"""The 100,000-case dataset of the task-list and page benches: bulk copies of one real wage-arrears case, opened
through the service, spread over Chuxiong's counties with their task rows (bench.lifecycle, bench.pages)."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
REGION = "532301"  # Chuxiong city
# Chuxiong prefecture's cities and counties: the 100,000 listed cases are spread over them.
COUNTIES = ["532301", "532302", "532322", "532323", "532324", "532325", "532326", "532327", "532328", "532329"]
T_OPEN = datetime(2021, 3, 1, 9, 0, tzinfo=BEIJING)  # a Monday, no holiday near
CHUNK = 5_000


def _valid_ric(prefix17: str) -> str:
    from stdnum.cn import ric

    return prefix17 + ric.calc_check_digit(prefix17 + "0")


def _valid_uscc(base17: str) -> str:
    from stdnum.cn import uscc

    return base17 + uscc.calc_check_digit(base17)


_ID_NUMBER = _valid_ric("53230119880512001")
_USCC = _valid_uscc("91532301MA6K0X123")


def intake(i: int) -> dict[str, Any]:
    return {
        "complainant": {"name": f"李建国{i}", "id_number": _ID_NUMBER, "phone": "13887654321"},
        "workers_count": 12,
        "employer": {"name": f"楚雄市第{i}建筑劳务有限公司", "uscc": _USCC, "address": "楚雄市鹿城南路88号"},
        "project": {"name": "鹿城镇安置房二期", "type": "government_invested", "sector": "construction"},
        "amount_owed": "126000.00",
        "period_from": "2020-09-01",
        "period_to": "2020-12-31",
        "source": "hotline",
    }


# The steps of a wage-arrears case to a rectification order and on to payment (bench.lifecycle, bench.sweep).
REVIEW = {"decision": "accept"}
INVESTIGATE = {"verified_amount": "100000.00", "workers_owed": 10, "outcome": "order",
               "findings": "经调取工资台账、考勤记录，核实拖欠情况属实", "co_inspector": "bench_insp2"}
ORDER = {"payment_deadline_days": 3}
PAID = {"amount_paid": "100000.00"}

_OPEN_TASK: list = []


def complete_step(actor, case_id: int, name: str, data: dict, now: datetime):
    """Complete the case's open task `name` through the service, as a client that holds the task's id and the case
    version from its task list would (one plain read for them)."""
    from engine import services
    from engine.db import db

    if not _OPEN_TASK:
        from sqlalchemy import bindparam, select

        from engine.models import Case, Task

        _OPEN_TASK.append(select(Task.id, Case.version).join(Case, Case.id == Task.case_id).where(
            Task.case_id == bindparam("case_id"), Task.state == "open", Task.name == bindparam("name")))
    task_id, version = db.session.connection().execute(_OPEN_TASK[0], {"case_id": case_id, "name": name}).one()
    return services.complete_task(actor, task_id, data, version, now)


def select_user(username: str):
    from sqlalchemy import select

    from engine.models import User

    return select(User).where(User.username == username)


def bench_inspector():
    """The bench's inspector in REGION (created on first use), as an Actor."""
    from engine import accounts
    from engine.actors import Actor
    from engine.db import db

    user = db.session.scalar(select_user("bench_insp"))
    if user is None:
        user = accounts.create_user("bench_insp", "bench-pass-123", ["inspector"], REGION, T_OPEN)
        # The second inspector an investigation is made with (劳动保障监察条例 art. 16).
        accounts.create_user("bench_insp2", "bench-pass-123", ["inspector"], REGION, T_OPEN)
        db.session.commit()
    return Actor.of(user)


OPEN_STEPS = [  # (status, open task, role) of cases still in progress
    ("received", "review_complaint", "inspector"),
    ("investigating", "investigate", "inspector"),
    ("investigating", "issue_order", "inspector"),
    ("order_issued", "check_payment", "inspector"),
    ("enforcement", "choose_enforcement", "inspector"),
    ("enforcement", "approve_enforcement", "supervisor"),
]
DONE_TASKS = ["review_complaint", "investigate", "issue_order", "check_payment"]


def populate(n_cases: int, seed: int = 2021) -> dict[str, Any]:
    """`n_cases` wage-arrears cases over Chuxiong's counties with their task rows, by bulk insert: copies of one real
    case opened through the service (its workflow state and summary), each with its own number, region, status,
    dates and tasks: ~40 % still open with one open task, the rest closed with their completed tasks."""
    from sqlalchemy import func, insert, select, text

    from engine import services
    from engine.db import db
    from engine.models import Case, Task

    rng = random.Random(seed)
    actor = bench_inspector()
    template = services.open_case(actor, "wage_arrears", REGION, intake(0), T_OPEN)
    template_row = {c.key: getattr(template, c.key) for c in Case.__table__.columns if c.key != "id"}
    db.session.commit()
    state_kb = len(template_row["workflow_state"]) / 1024
    base_open = datetime(2020, 6, 1, 9, 0, tzinfo=BEIJING)
    tasks_total = 0
    next_id = (db.session.scalar(select(func.max(Case.id))) or 0) + 1
    titles = {"review_complaint": "受理审查", "investigate": "调查核实", "issue_order": "下达限期整改指令",
              "check_payment": "履行情况核查", "choose_enforcement": "确定处置措施",
              "approve_enforcement": "处置措施审批"}
    for chunk_start in range(0, n_cases, CHUNK):
        cases, tasks = [], []
        for i in range(chunk_start, min(n_cases, chunk_start + CHUNK)):
            region = REGION if rng.random() < 0.2 else rng.choice(COUNTIES)
            opened = base_open + timedelta(minutes=7 * i)
            still_open = rng.random() < 0.4
            status, open_name, role = rng.choice(OPEN_STEPS) if still_open else ("cleared", None, None)
            case_id = next_id + i
            row = dict(template_row)
            row.update(id=case_id, number=f"WA-{region}-2020-{i + 1:06d}", region=region, status=status,
                       opened_at=opened, due_at=opened + timedelta(days=90) if still_open else None,
                       closed_at=None if still_open else opened + timedelta(days=rng.randint(10, 80)),
                       assignee_id=None, version=rng.randint(2, 12))
            cases.append(row)
            if still_open:
                done = DONE_TASKS[: DONE_TASKS.index(open_name)] if open_name in DONE_TASKS else DONE_TASKS
            else:
                done = DONE_TASKS[: rng.randint(1, 4)]
            for k, name in enumerate(done):
                tasks.append(dict(id=str(uuid.uuid4()), case_id=case_id, process="wage_arrears", region=region,
                                  name=name, title=titles[name], role="inspector", state="completed",
                                  assignee_id=actor.user_id, created_at=opened + timedelta(days=k),
                                  due_at=opened + timedelta(days=k + 5), due_rule=None, escalation_level=0,
                                  completed_at=opened + timedelta(days=k + 1), completed_by="bench_insp"))
            if still_open:
                created = opened + timedelta(days=len(done))
                assigned = region == REGION and rng.random() < 0.3
                tasks.append(dict(id=str(uuid.uuid4()), case_id=case_id, process="wage_arrears", region=region,
                                  name=open_name, title=titles[open_name], role=role, state="open",
                                  assignee_id=actor.user_id if assigned else None, created_at=created,
                                  due_at=created + timedelta(days=rng.randint(1, 400)), due_rule=None,
                                  escalation_level=0, completed_at=None, completed_by=None))
        db.session.execute(insert(Case.__table__), cases)
        db.session.execute(insert(Task.__table__), tasks)
        db.session.commit()
        tasks_total += len(tasks)
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))"))
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            # VACUUM as autovacuum would have by now: index-only scans need the visibility map.
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    counts = {
        "cases": db.session.scalar(select(func.count(Case.id))),
        "tasks": db.session.scalar(select(func.count(Task.id))),
        "open_in_region": db.session.scalar(select(func.count(Task.id)).where(
            Task.state == "open", Task.region.like(REGION + "%"), Task.role == "inspector")),
        "state_kb": state_kb,
    }
    db.session.remove()
    return counts
