"""Daily clear-zero snapshots for the burn-down, and stored on-time counts: one row per day and case region,
refreshed by the scheduler (PERIODIC_JOBS, at most every SNAPSHOT_EVERY) and by `flask dashboard snapshot`.

Completed tasks never change, so a snapshot also stores the on-time counts per region and process
(`on_time_counts`) and the dashboard adds only the tasks completed since: its cost follows the regions, not the
task history."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Date, Index, Integer, Numeric, String, UniqueConstraint, case, delete, func, select
from sqlalchemy.orm import Mapped, mapped_column

from engine import calendar
from engine.actors import SYSTEM
from engine.clear_zero import (
    PUBLIC_PROJECT_TYPES,
    ZERO,
    Campaign,
    campaign,
    campaign_cases,
    cents,
    figure_columns,
    figures_of,
    task_counts,
    yuan,
    zero_figures,
)
from engine.db import UTCDateTime, db, upsert
from engine.models import Case, Task
from engine.scheduler import PERIODIC_JOBS
from engine.services._common import transactional

# The scheduler sweeps every minute; the day's snapshot row is refreshed at most this often.
SNAPSHOT_EVERY = timedelta(minutes=10)
# Counts stop this long before the snapshot, so a task committed a little after its completion time is still
# counted (by the live part) rather than missed until the next recount.
COUNT_LAG = timedelta(minutes=5)


class ClearZeroSnapshot(db.Model):
    """The clear-zero figures of one case region on one (Beijing) day, refreshed through the day by the
    scheduler, so the last refresh of a day stands for that day in the burn-down."""

    __tablename__ = "clear_zero_snapshots"
    __table_args__ = (UniqueConstraint("day", "region"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)  # the unique (day, region) index serves queries by day
    region: Mapped[str] = mapped_column(String(12))
    open_cases: Mapped[int] = mapped_column(Integer, default=0)
    workers_owed: Mapped[int] = mapped_column(Integer, default=0)
    arrears_outstanding: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=ZERO)
    arrears_recovered: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=ZERO)
    # Target 1's share of the outstanding amount (government-invested, SOE and PPP projects).
    year_end_outstanding: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=ZERO)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)


# Covering indexes for the two aggregates, in the order they group by: the page reads the index, never the wide
# rows (a case row carries its workflow state). Declared here, with the feature; created by b6_dashboard.
Index("ix_cases_clear_zero", Case.process, Case.region, Case.project_type, Case.closed_at, Case.workers_owed,
      Case.arrears_outstanding, Case.arrears_recovered)
Index("ix_tasks_on_time", Task.state, Task.completed_at, Task.region, Task.process, Task.due_at, Task.name)


class OnTimeCount(db.Model):
    """Completed tasks with a due time, and how many on time, per case region and process, counted up to
    `counted_until` (the same in every row) by take_snapshot. Completed tasks never change, so the page adds only
    the tasks completed since then instead of counting every task ever done."""

    __tablename__ = "on_time_counts"

    region: Mapped[str] = mapped_column(String(12), primary_key=True)
    process: Mapped[str] = mapped_column(String(64), primary_key=True)
    completed: Mapped[int] = mapped_column(Integer)
    on_time: Mapped[int] = mapped_column(Integer)
    counted_until: Mapped[datetime] = mapped_column(UTCDateTime)


@transactional
def take_snapshot(now: datetime, campaign_: Campaign | None = None) -> int:
    """Record today's (Beijing date of `now`) figures per case region; running it again the same day replaces
    that day's rows, so it is idempotent. Returns the number of regions written."""
    camp = campaign_ or campaign()
    day = calendar.local_date(now)
    public = Case.project_type.in_(PUBLIC_PROJECT_TYPES)
    year_end = func.coalesce(func.sum(case((public, cents(Case.arrears_outstanding)), else_=0)), 0)
    query = (select(Case.region, *figure_columns(), year_end.label("year_end"))
             .where(*campaign_cases(SYSTEM, camp)).group_by(Case.region))
    values = {}
    for row in db.session.execute(query):
        values[row.region] = {"day": day, "region": row.region, **figures_of(row),
                              "year_end_outstanding": yuan(row.year_end), "taken_at": now}
    # A region with a row from an earlier run today but no campaign cases now drops to zero.
    for region in db.session.scalars(select(ClearZeroSnapshot.region).where(ClearZeroSnapshot.day == day)):
        values.setdefault(region, {"day": day, "region": region, **zero_figures(), "year_end_outstanding": ZERO,
                                   "taken_at": now})
    if values:
        upsert(ClearZeroSnapshot.__table__, [values[k] for k in sorted(values)], ("day", "region"))
    _recount_on_time(now - COUNT_LAG)
    return len(values)


def _recount_on_time(until: datetime) -> None:
    """Replace the stored on-time counts by a full count up to `until` (upserts, so two schedulers recounting at
    once cannot collide; rows another recount left with another `until` go)."""
    counts = [{"region": row.region, "process": row.process, "completed": int(row.completed),
               "on_time": int(row.on_time), "counted_until": until}
              for row in db.session.execute(task_counts(Task.completed_at <= until))]
    counts.sort(key=lambda c: (c["region"], c["process"]))  # one lock order for concurrent recounts
    if counts:
        upsert(OnTimeCount.__table__, counts, ("region", "process"))
    db.session.execute(delete(OnTimeCount).where(OnTimeCount.counted_until != until))


def snapshot_job(now: datetime) -> int:
    """The scheduler's periodic job: refresh today's snapshot unless it was refreshed within SNAPSHOT_EVERY."""
    snapshot = db.session.scalar(select(func.max(ClearZeroSnapshot.taken_at))
                                 .where(ClearZeroSnapshot.day == calendar.local_date(now)))
    counted = db.session.scalar(select(func.max(OnTimeCount.counted_until)))
    # Either row shows the last run (a place without wage-arrears cases still has on-time counts).
    runs = [t for t in (snapshot, counted + COUNT_LAG if counted else None) if t is not None]
    last = max(runs, default=None)
    if last is not None and timedelta(0) <= now - last < SNAPSHOT_EVERY:
        return 0
    return take_snapshot(now)


PERIODIC_JOBS["clear_zero_snapshot"] = snapshot_job
