"""`flask audit verify`: every case's hash chain checks out, and an edited, re-hashed or deleted event is named
(case number and event number) with a non-zero exit."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update

from engine import audit, services
from engine.db import db
from engine.models import AuditEvent, Case
from tests.conftest import at
from tests.factories import REVIEW_ACCEPT, complete, investigate_data, wage_arrears_intake


@pytest.fixture
def cases(inspector, far_inspector, supervisor) -> list[str]:
    """Three cases with several events each, in two counties, opened and handled at different times."""
    numbers = []
    for i, actor in enumerate((inspector, far_inspector, inspector)):
        region = "532322" if actor is far_inspector else "532301"
        case = services.open_case(actor, "wage_arrears", region, wage_arrears_intake(), at(f"2021-02-0{i + 1} 09:00"))
        case = complete(actor, case, "review_complaint", REVIEW_ACCEPT, at(f"2021-02-0{i + 1} 10:30"))
        case = complete(actor, case, "investigate", investigate_data("order"), at(f"2021-02-0{i + 2} 15:00"))
        numbers.append(case.number)
    db.session.remove()
    return numbers


def verify(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def events(number: str) -> list[AuditEvent]:
    db.session.expire_all()
    case = db.session.scalar(select(Case).where(Case.number == number))
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.seq)))


def test_intact_chains_pass(app, cases):
    assert all(len(events(n)) >= 3 for n in cases)
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert "all 3 case chains intact" in result.output
    assert "BROKEN" not in result.output


def test_empty_database_passes(app, ctx):
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert "all 0 case chains intact" in result.output


def test_edited_event_is_named(app, cases):
    target = events(cases[1])[1]  # the second event of the second case
    db.session.execute(update(AuditEvent).where(AuditEvent.id == target.id).values(actor="someone_else"))
    db.session.commit()

    result = verify(app)
    assert result.exit_code != 0
    broken = [line for line in result.output.splitlines() if line.startswith("BROKEN")]
    assert broken == [f"BROKEN {cases[1]} event #2: content does not match its hash"], result.output
    assert "1 of 3 case chains are broken" in result.output


def test_edited_detail_through_raw_sql_is_named(app, cases):
    """An edit of the JSON detail (the decision recorded) straight in the database."""
    target = events(cases[0])[2]
    detail = dict(target.detail)
    detail["forged"] = True
    db.session.execute(update(AuditEvent).where(AuditEvent.id == target.id).values(detail=detail))
    db.session.commit()
    result = verify(app)
    assert result.exit_code != 0
    assert f"BROKEN {cases[0]} event #3" in result.output, result.output


def test_rehashed_edit_breaks_the_next_link(app, cases):
    """Re-computing the edited event's own hash does not help: the next event still points at the old one."""
    chain = events(cases[2])
    target = chain[1]
    number = cases[2]
    new_hash = audit._digest(number, target.seq, target.at, "forger", target.kind, target.detail, target.prev_hash)
    db.session.execute(update(AuditEvent).where(AuditEvent.id == target.id).values(actor="forger", hash=new_hash))
    db.session.commit()
    result = verify(app)
    assert result.exit_code != 0
    assert f"BROKEN {number} event #3: previous hash does not match" in result.output, result.output


def test_deleted_event_is_named(app, cases):
    chain = events(cases[0])
    db.session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": chain[1].id})
    db.session.commit()
    result = verify(app)
    assert result.exit_code != 0
    assert f"BROKEN {cases[0]} event #2: event missing" in result.output, result.output


def test_moved_event_time_is_named(app, cases):
    chain = events(cases[1])
    db.session.execute(update(AuditEvent).where(AuditEvent.id == chain[0].id).values(at=at("2020-12-31 09:00")))
    db.session.commit()
    result = verify(app)
    assert result.exit_code != 0
    assert f"BROKEN {cases[1]} event #1" in result.output, result.output


def test_verify_after_more_activity_still_passes(app, cases, inspector):
    """Events appended after a verification chain on correctly (the last hash is read back from the database)."""
    assert verify(app).exit_code == 0
    case = db.session.scalar(select(Case).where(Case.number == cases[0]))
    complete(inspector, case, "issue_order", {"payment_deadline_days": 3}, at("2021-02-08 10:00"))
    db.session.remove()
    result = verify(app)
    assert result.exit_code == 0, result.output
