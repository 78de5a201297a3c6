"""Realistic intake data for tests (valid ID and credit-code checksums)."""

from __future__ import annotations

import copy


def _valid_uscc() -> str:
    from stdnum.cn import uscc

    base = "91532301MA6K0X123"
    return base + uscc.calc_check_digit(base)


def _valid_ric(prefix17: str) -> str:
    from stdnum.cn import ric

    return prefix17 + ric.calc_check_digit(prefix17 + "0")  # the function ignores the last character


def wage_arrears_intake(**overrides) -> dict:
    data = {
        "complainant": {"name": "李建国", "id_number": _valid_ric("53230119880512001"), "phone": "13887654321"},
        "workers_count": 12,
        "employer": {"name": "楚雄市某建筑劳务有限公司", "uscc": _valid_uscc(), "address": "楚雄市鹿城南路88号"},
        "project": {"name": "鹿城镇安置房二期", "type": "government_invested", "sector": "construction"},
        "amount_owed": "126000.00",
        "period_from": "2020-09-01",
        "period_to": "2020-12-31",
        "source": "hotline",
    }
    result = copy.deepcopy(data)
    for key, value in overrides.items():
        result[key] = value
    return result


# ---------------------------------------------------------------------------------------------------------------
# Driving cases through the engine services (tests/integration).

REVIEW_ACCEPT = {"decision": "accept"}


# The second inspector every investigation in the tests is made with (劳动保障监察条例 art. 16: at least two): of
# the prefecture (州监察支队), so a case of any of its counties may name them.
CO_INSPECTOR = "insp_partner"


def investigate_data(outcome: str = "order", verified_amount: str = "100000.00", workers_owed: int = 10,
                     co_inspector: str = CO_INSPECTOR) -> dict:
    """An investigation's findings, made with the second inspector the law requires (created on first use)."""
    if co_inspector == CO_INSPECTOR:
        _ensure_co_inspector()
    return {"verified_amount": verified_amount, "workers_owed": workers_owed, "outcome": outcome,
            "findings": "经调取工资台账、考勤记录，核实拖欠情况属实", "co_inspector": co_inspector}


def _ensure_co_inspector() -> None:
    from sqlalchemy import select

    from engine.db import db
    from engine.models import User
    from tests.conftest import make_user

    if db.session.scalar(select(User.id).where(User.username == CO_INSPECTOR)) is None:
        make_user(CO_INSPECTOR, ["inspector"], "532300")


def open_task(case, name: str):
    """The one open Task row of `case` called `name` (fails loudly when there is none or several)."""
    from engine.services.cases import open_tasks

    found = [t for t in open_tasks(case) if t.name == name]
    names = [t.name for t in open_tasks(case)]
    assert len(found) == 1, f"expected one open {name!r} task, open tasks are {names}"
    return found[0]


def complete(actor, case, name: str, data: dict, now):
    """Complete the open task `name` of `case` through the service, as `actor`, at `now`; returns the case."""
    from engine import services

    task = open_task(case, name)
    return services.complete_task(actor, task.id, data, case.version, now)


def ordered_case(actor, issued_at, *, deadline_days: int = 3, verified_amount: str = "120000.00",
                 investigated_at=None):
    """A wage-arrears case of 532301 opened on 1 Feb 2021 and taken to a rectification order issued at `issued_at`
    with `deadline_days` working days to pay."""
    from engine import services
    from tests.conftest import at

    case = services.open_case(actor, "wage_arrears", "532301", wage_arrears_intake(), at("2021-02-01 09:00"))
    case = complete(actor, case, "review_complaint", REVIEW_ACCEPT, at("2021-02-01 10:00"))
    case = complete(actor, case, "investigate", investigate_data(verified_amount=verified_amount),
                    investigated_at or at("2021-02-02 10:00"))
    return complete(actor, case, "issue_order", {"payment_deadline_days": deadline_days}, issued_at)


def fire_due_timers(now) -> None:
    """Fire every timer due at `now` (engine clock) through the sweeper, as the scheduler would."""
    from engine.escalation import sweep

    report = sweep(now)
    assert not report.errors, report.errors


def stored_workflow(case):
    """(parsed version, workflow) of `case` restored from its stored state. When the engine kept the case's live
    workflow for the next step (engine.workflow_cache), also checks that it is exactly the stored state, and
    leaves it kept: the checks between steps must not change which workflow the next step runs on."""
    from engine import processes
    from engine.db import db
    from engine.services.cases import runtime

    parsed = processes.parsed_by_id(case.process_version_id)
    stored = runtime.loads(parsed, case.workflow_state)
    if processes.workflows.size:
        live = processes.workflows.take(db.session(), case.id, case.process_version_id, case.workflow_state)
        assert live is not None, "every write of a workflow keeps it for the next step"
        assert runtime.dumps(live) == case.workflow_state, "the live workflow changed after it was written"
        processes.workflows.keep(db.session(), case.id, case.process_version_id, live, case.workflow_state)
        db.session.commit()
    return parsed, stored
