"""The benefit demo seeder (web/cli_benefits.py, registered in web.demo.DEMO_SEEDERS), the payment job on the
scheduler's list, and the generic escalation ladder on an overdue review_claim task."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import func, select

from engine import benefit_rates, escalation
from engine.actors import Actor
from engine.db import db
from engine.models import Case
from tests.conftest import at, make_user
from tests.factories import open_task
from tests.integration.test_benefit_claim import SAMPLE, claim_data


def test_demo_seeder_is_registered_and_loads_several_statuses(ctx):
    from web import cli_benefits
    from web.demo import DEMO_SEEDERS

    assert cli_benefits.seed_benefits in DEMO_SEEDERS
    users = {name: Actor.of(make_user(name, roles, region)) for name, roles, region in (
        ("clerk_cx", ["clerk"], "532301"), ("clerk_sb", ["clerk"], "532322"), ("sup_cz", ["supervisor"], "532300"))}
    lines: list[str] = []
    cli_benefits.seed_benefits(users, datetime(2021, 6, 20, 2, 0, tzinfo=UTC), lines.append)
    statuses = Counter(db.session.scalars(select(Case.status).where(Case.process == "benefit_claim")))
    assert {"paying", "closed", "rejected", "under_review", "awaiting_approval", "stopped"} <= set(statuses)
    assert db.session.scalar(select(func.count()).select_from(benefit_rates.BenefitRate)) == 6
    assert any("benefit claims" in line for line in lines)
    before = db.session.scalar(select(func.count()).select_from(Case))
    cli_benefits.seed_benefits(users, datetime(2021, 6, 21, 2, 0, tzinfo=UTC), lines.append)  # seeding again
    assert db.session.scalar(select(func.count()).select_from(Case)) == before


def test_payment_job_runs_with_the_scheduler(ctx):
    from engine.scheduler import PERIODIC_JOBS

    benefit_rates.import_rates(SAMPLE.read_text(encoding="utf-8"), "test", at("2021-01-01 09:00"))
    clerk = Actor.of(make_user("clerk_cx", ["clerk"], "532301"))
    db.session.commit()
    from engine import services

    case = services.open_case(clerk, "benefit_claim", "532301", claim_data(contribution_months=12),
                              at("2021-02-01 10:00"))
    result = PERIODIC_JOBS["benefit_payments"](at("2021-03-01 08:00"))
    assert result.paid == 2  # February, the registration month, and March
    db.session.refresh(case)
    assert case.status == "paying"


def test_overdue_review_is_escalated(ctx):
    from engine import services

    benefit_rates.import_rates(SAMPLE.read_text(encoding="utf-8"), "test", at("2021-01-01 09:00"))
    clerk = Actor.of(make_user("clerk_cx", ["clerk"], "532301"))
    make_user("sup_cx", ["supervisor"], "532301")
    db.session.commit()
    case = services.open_case(clerk, "benefit_claim", "532301",
                              claim_data(contribution_months=30, separation_reason="voluntary"),
                              at("2021-02-01 10:00"))
    report = escalation.sweep(at("2021-02-10 09:00"))
    assert not report.errors and open_task(case, "review_claim").escalation_level == 0
    report = escalation.sweep(at("2021-02-12 09:00"))  # due end of 11 Feb (10 days)
    assert not report.errors
    assert open_task(case, "review_claim").escalation_level >= 1
