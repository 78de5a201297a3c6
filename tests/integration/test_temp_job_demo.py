"""The temporary-job demo seeder (web/cli_ledger.py, registered in web.demo.DEMO_SEEDERS) runs on an empty
database and leaves posts across the counties, cases in several statuses and a ledger."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import func, select

from engine.actors import Actor
from engine.db import db
from engine.models import Case
from engine.placements import LedgerWorker
from engine.posts import Post
from tests.conftest import make_user


def test_demo_seeder_is_registered_and_loads_every_status(ctx):
    from web import cli_ledger
    from web.demo import DEMO_SEEDERS

    assert cli_ledger.seed_temp_jobs in DEMO_SEEDERS
    users = {name: Actor.of(make_user(name, roles, region)) for name, roles, region in (
        ("clerk_cx", ["clerk"], "532301"), ("clerk_sb", ["clerk"], "532322"), ("sup_cz", ["supervisor"], "532300"),
        ("sup_cx", ["supervisor"], "532301"))}
    lines: list[str] = []
    now = datetime(2021, 3, 20, 2, 0, tzinfo=UTC)
    cli_ledger.seed_temp_jobs(users, now, lines.append)
    statuses = Counter(db.session.scalars(select(Case.status).where(Case.process == "temp_job")))
    assert {"registered", "in_service", "referred", "placed", "post_ended", "employed"} <= set(statuses)
    regions = set(db.session.scalars(select(Post.region)))
    assert regions == {"532301", "532322", "532328"}
    assert db.session.scalar(select(func.count()).select_from(LedgerWorker)) == 12
    assert lines and "temp_job" in lines[0]
