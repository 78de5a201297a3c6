"""The supervisors' clear-zero dashboard (两清零): figures summed in SQL over the case and task projections, one
snapshot row per day and case region for the burn-down. Pure reads, except `take_snapshot`, which the scheduler
runs (PERIODIC_JOBS, at most every SNAPSHOT_EVERY) and `flask dashboard snapshot` runs by hand.

The two targets (DOMAIN.md): (1) arrears on government-invested, SOE and PPP projects cleared by the end of the
year; (2) all other arrears cleared before the Spring Festival. Their deadlines and the campaign's first day are
rules (engine/rules.py: `campaign_start`, `clear_zero_year_end_deadline`, `clear_zero_spring_festival_deadline`),
so a province sets them per campaign in `rule_settings`, where supervisors see them.

On-time rates count completed tasks against their due time. Completed tasks never change, so take_snapshot also
stores the counts per region and process (`on_time_counts`) and the page adds only the tasks completed since:
its cost follows the regions, not the task history.

Semantics. Campaign cases are wage-arrears cases still open, closed on/after the campaign start, or closed with
money still owed (transferred to the police). Outstanding is the projection's `arrears_outstanding` (verified
amount minus paid; the claimed amount until investigated). A target is met when nothing is outstanding on its
cases. Days left count working days from today to the deadline, both included (engine.calendar).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    case,
    cast,
    delete,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, contains_eager, mapped_column

from engine import calendar
from engine.actors import SYSTEM, Actor, region_filter
from engine.db import UTCDateTime, db
from engine.errors import DataInvalid, Forbidden, NotFound
from engine.escalation import SUPERVISION_TASK, Escalation, escalation_json
from engine.models import Case, Task
from engine.regions import children, region_name
from engine.scheduler import PERIODIC_JOBS
from engine.services._common import rule_values, transactional
from engine.validation import REGION_RE

PROCESS = "wage_arrears"
# Target 1 covers these project types; target 2 everything else (private projects, unknown type).
PUBLIC_PROJECT_TYPES = ("government_invested", "soe", "ppp")
YEAR_END = "year_end"
SPRING_FESTIVAL = "spring_festival"
TARGETS = (YEAR_END, SPRING_FESTIVAL)
TARGET_TITLES = {
    YEAR_END: "政府投资、国有企业和PPP项目欠薪年底前清零",
    SPRING_FESTIVAL: "其他欠薪春节前动态清零",
}
DASHBOARD_ROLES = ("supervisor", "head")  # and admin (Actor.has_role)
MAX_BURNDOWN_DAYS = 400
# The scheduler sweeps every minute; the day's snapshot row is refreshed at most this often.
SNAPSHOT_EVERY = timedelta(minutes=10)
# Counts stop this long before the snapshot, so a task committed a little after its completion time is still
# counted (by the live part) rather than missed until the next recount.
COUNT_LAG = timedelta(minutes=5)
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


# ---------------------------------------------------------------------------------------------------------------
# Table.

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


# ---------------------------------------------------------------------------------------------------------------
# The campaign, from the rules.

@dataclass(frozen=True)
class Campaign:
    start: date
    year_end_deadline: date
    spring_festival_deadline: date

    @property
    def name(self) -> str:
        return f"{self.start.year}—{self.start.year + 1}年度根治欠薪冬季专项行动"

    @property
    def deadline(self) -> date:
        """The campaign's last deadline: everything must be zero by then."""
        return max(self.year_end_deadline, self.spring_festival_deadline)

    def deadline_of(self, target: str) -> date:
        return self.year_end_deadline if target == YEAR_END else self.spring_festival_deadline

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "start": self.start.isoformat(),
                "year_end_deadline": self.year_end_deadline.isoformat(),
                "spring_festival_deadline": self.spring_festival_deadline.isoformat()}


def campaign(values: Mapping[str, Any] | None = None) -> Campaign:
    """The campaign from the rule values (defaults overridden by `rule_settings`)."""
    values = rule_values() if values is None else values

    # rule_values() has checked them (a bad stored date is ignored there, with the default in force).
    return Campaign(*(date.fromisoformat(str(values[key])) for key in (
        "campaign_start", "clear_zero_year_end_deadline", "clear_zero_spring_festival_deadline")))


# ---------------------------------------------------------------------------------------------------------------
# Who sees what.

def may_view(actor: Actor) -> bool:
    """Supervisors, heads and administrators see the dashboard."""
    return any(actor.has_role(role) for role in DASHBOARD_ROLES)


def authorize(actor: Actor, region: str | None) -> Actor:
    """The actor narrowed to `region` (validated, within the actor's own region), or the actor itself."""
    if not may_view(actor):
        raise Forbidden("两清零看板仅供督导人员和负责人使用")
    if region is None or region == "":
        return actor
    if not isinstance(region, str) or not REGION_RE.match(region):
        raise DataInvalid({"region": "行政区划代码须为6位数字"})
    if not actor.covers(region):
        raise NotFound(f"行政区划 {region} 不存在")
    # region_filter on the narrowed actor is the drill-down filter; it implies the actor's own scope.
    return dataclasses.replace(actor, region=region)


def parent_region(code: str) -> str | None:
    """One level up: county → prefecture → province → "" (national); None above national."""
    if not code:
        return None
    if code.endswith("0000"):
        return ""
    if code.endswith("00"):
        return code[:2] + "0000"
    return code[:4] + "00"


def _child_length(scoped: Actor) -> int:
    """Leading digits of a case region that name its child region: national → province (2), province →
    prefecture (4), prefecture or county → county (6)."""
    return min(len(scoped.scope) + 2, 6)


def _child_code(region: str, length: int) -> str:
    """The child region a case region rolls up to: 532322 at length 4 → 532300."""
    return region[:length].ljust(6, "0")


def _child_name(code: str, region: str) -> str:
    # Cases filed by a prefecture's (or province's) own bureau group under its own code.
    return region_name(code) + ("（本级）" if code == region and code.endswith("00") else "")


# ---------------------------------------------------------------------------------------------------------------
# SQL helpers: money is summed in whole fen, exact on SQLite (REAL storage) and PostgreSQL (numeric) alike.

def _cents(column):
    return cast(func.round(func.coalesce(column, 0) * 100), BigInteger)


def _yuan(cents: Any) -> Decimal:
    return (Decimal(int(cents or 0)) / 100).quantize(CENT)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(CENT))


def _campaign_cases(scoped: Actor, campaign: Campaign) -> list:
    start = datetime.combine(campaign.start, datetime.min.time(), tzinfo=calendar.get_timezone())
    return [
        Case.process == PROCESS,
        region_filter(Case.region, scoped),
        or_(Case.closed_at.is_(None), Case.closed_at >= start, Case.arrears_outstanding > 0),
    ]


def _figure_columns() -> list:
    return [
        func.coalesce(func.sum(case((Case.closed_at.is_(None), 1), else_=0)), 0).label("open_cases"),
        func.coalesce(func.sum(func.coalesce(Case.workers_owed, 0)), 0).label("workers_owed"),
        func.coalesce(func.sum(_cents(Case.arrears_outstanding)), 0).label("outstanding"),
        func.coalesce(func.sum(_cents(Case.arrears_recovered)), 0).label("recovered"),
    ]


def _zero() -> dict[str, Any]:
    return {"open_cases": 0, "workers_owed": 0, "arrears_outstanding": ZERO, "arrears_recovered": ZERO}


def _figures(row) -> dict[str, Any]:
    return {"open_cases": int(row.open_cases or 0), "workers_owed": int(row.workers_owed or 0),
            "arrears_outstanding": _yuan(row.outstanding), "arrears_recovered": _yuan(row.recovered)}


def _add(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        into[key] += value


def _as_json(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: (_money(v) if isinstance(v, Decimal) else v) for k, v in figures.items()}


def today_of(now: datetime) -> date:
    return now.astimezone(calendar.get_timezone()).date()


def working_days_left(today: date, deadline: date) -> int:
    """Working days from today to the deadline, both included; 0 once the deadline has passed."""
    if today > deadline:
        return 0
    return calendar.working_days_between(today - timedelta(days=1), deadline)


# ---------------------------------------------------------------------------------------------------------------
# Reads.

def clear_zero(actor: Actor, now: datetime, region: str | None = None, campaign_: Campaign | None = None) -> dict:
    """The clear-zero figures for the actor's region, or `region` within it: API.md's shape (`deadline`, the four
    totals, `by_region`, `by_day`) plus `targets`, `on_time`, `campaign`, `region`, `parent`. Money as decimal
    strings. One grouped query over the cases, one over the tasks, one over the snapshots."""
    scoped = authorize(actor, region)
    camp = campaign_ or campaign()
    today = today_of(now)
    length = _child_length(scoped)
    # Grouped by the raw indexed columns (a streaming aggregate over the covering index), rolled up here: a few
    # hundred rows at most, one per case region and project type.
    by_target = {name: _zero() for name in TARGETS}
    # child region → target → figures
    by_child: dict[str, dict[str, dict[str, Any]]] = {r.code: {} for r in children(scoped.region)}
    query = (select(Case.region, Case.project_type, *_figure_columns()).where(*_campaign_cases(scoped, camp))
             .group_by(Case.region, Case.project_type))
    for row in db.session.execute(query):
        figures = _figures(row)
        name = YEAR_END if row.project_type in PUBLIC_PROJECT_TYPES else SPRING_FESTIVAL
        _add(by_target[name], figures)
        _add(by_child.setdefault(_child_code(row.region, length), {}).setdefault(name, _zero()), figures)
    totals = _zero()
    for figures in by_target.values():
        _add(totals, figures)

    rates = _on_time(scoped, now, length)
    rate_cells: dict[str, dict[str, dict]] = {}
    for row in rates["by_region"]:
        rate_cells.setdefault(row["region"], {})[row["process"]] = {
            k: row[k] for k in ("completed", "on_time", "rate")}
    by_region = []
    for code in sorted(by_child):
        cells = {name: by_child[code].get(name) or _zero() for name in TARGETS}
        row_totals = _zero()
        for figures in cells.values():
            _add(row_totals, figures)
        by_region.append({"region": code, "region_name": _child_name(code, scoped.region), **_as_json(row_totals),
                          "targets": {name: _as_json(figures) for name, figures in cells.items()},
                          "on_time": rate_cells.get(code, {})})

    targets = []
    for name in TARGETS:
        figures = by_target[name]
        deadline = camp.deadline_of(name)
        days_left = working_days_left(today, deadline)
        met = figures["arrears_outstanding"] == 0
        needed = figures["arrears_outstanding"] / days_left if not met and days_left else None
        targets.append({
            "key": name, "title": TARGET_TITLES[name],
            "project_types": list(PUBLIC_PROJECT_TYPES) if name == YEAR_END else ["private"],
            "deadline": deadline.isoformat(), "days_left": days_left,
            "calendar_days_left": max((deadline - today).days, 0),
            "met": met, "overdue": not met and today > deadline,
            "needed_per_working_day": _money(needed), **_as_json(figures),
        })

    live = {**totals, "year_end_outstanding": by_target[YEAR_END]["arrears_outstanding"]}
    parent = parent_region(scoped.region)
    return {
        "deadline": camp.deadline.isoformat(),
        **_as_json(totals),
        "by_region": by_region,
        "by_day": _burndown(scoped, today, camp, live),
        "targets": targets,
        "on_time": rates,
        "region": scoped.region,
        "region_name": region_name(scoped.region) if scoped.region else "全国",
        "parent": parent if parent is not None and actor.covers(parent) and scoped != actor else None,
        "campaign": camp.as_json(),
        "as_of": now.astimezone(calendar.get_timezone()).isoformat(),
    }


def _rate(completed: int, on_time: int) -> dict[str, Any]:
    return {"completed": completed, "on_time": on_time,
            "rate": round(on_time / completed, 4) if completed else None}


def _task_counts(*where):
    """(region, process, completed, on_time) of completed case-work tasks with a due time. Supervision tasks
    (督办) are the escalation machinery's, not case work: left out."""
    on_time = func.coalesce(func.sum(case((Task.completed_at <= Task.due_at, 1), else_=0)), 0).label("on_time")
    return (select(Task.region, Task.process, func.count().label("completed"), on_time)
            .where(Task.state == "completed", Task.due_at.is_not(None), Task.name != SUPERVISION_TASK, *where)
            .group_by(Task.region, Task.process))


def _on_time(scoped: Actor, now: datetime, length: int) -> dict[str, list[dict]]:
    """Tasks with a due time completed by `now`, and how many by their due time: per process and per (child
    region, process). The stored counts plus the tasks completed after them; everything live when there are no
    counts yet or `now` is before them."""
    C = OnTimeCount
    first, last = db.session.execute(select(func.min(C.counted_until), func.max(C.counted_until))).one()
    counted = first is not None and first == last and first <= now
    rows = list(db.session.execute(
        select(C.region, C.process, C.completed, C.on_time).where(region_filter(C.region, scoped)))) \
        if counted else []
    since = [Task.completed_at > first] if counted else []
    # `region || ''`: the region stays a filter, not an index key, so both databases read ix_tasks_on_time by
    # completion time (a few minutes of tasks) instead of every task of the region through the queue index.
    in_scope = region_filter(Task.region.concat(""), scoped)
    rows += db.session.execute(_task_counts(in_scope, Task.completed_at <= now, *since))
    cells: dict[tuple[str, str], tuple[int, int]] = {}
    for row in rows:
        key = (_child_code(row.region, length), row.process)
        done, ok = cells.get(key, (0, 0))
        cells[key] = (done + int(row.completed), ok + int(row.on_time))
    by_region, per_process = [], {}
    for (code, process), (completed, punctual) in sorted(cells.items()):
        by_region.append({"region": code, "region_name": _child_name(code, scoped.region), "process": process,
                          **_rate(completed, punctual)})
        done, ok = per_process.get(process, (0, 0))
        per_process[process] = (done + completed, ok + punctual)
    by_process = [{"process": p, **_rate(*per_process[p])} for p in sorted(per_process)]
    return {"by_process": by_process, "by_region": by_region}


def on_time_rates(actor: Actor, now: datetime, region: str | None = None) -> dict[str, list[dict]]:
    """On-time rates alone (per process, and per child region and process) for the actor's region or `region`."""
    scoped = authorize(actor, region)
    return _on_time(scoped, now, _child_length(scoped))


def _ideal(start: Decimal, anchor: date, deadline: date, day: date) -> Decimal:
    """The straight line from `start` on `anchor` to zero on `deadline`."""
    if day >= deadline or deadline <= anchor:
        return ZERO
    return start * (deadline - day).days / (deadline - anchor).days


def _burndown(scoped: Actor, today: date, camp: Campaign, live: dict[str, Any]) -> list[dict]:
    """One point per day from the campaign start to the later of today and the deadline: the snapshot figures
    (today's `live` from the projections; null for days without a snapshot and for future days), `ideal` — the
    straight line from the first known amount to zero at the campaign deadline — and `ideal_year_end`, the same
    for target 1's share and its own deadline."""
    first = camp.start
    last = max(today, camp.deadline)
    if (last - first).days > MAX_BURNDOWN_DAYS:
        first = last - timedelta(days=MAX_BURNDOWN_DAYS)

    S = ClearZeroSnapshot
    query = select(
        S.day,
        func.coalesce(func.sum(S.open_cases), 0).label("open_cases"),
        func.coalesce(func.sum(S.workers_owed), 0).label("workers_owed"),
        func.coalesce(func.sum(_cents(S.arrears_outstanding)), 0).label("outstanding"),
        func.coalesce(func.sum(_cents(S.arrears_recovered)), 0).label("recovered"),
        func.coalesce(func.sum(_cents(S.year_end_outstanding)), 0).label("year_end"),
    ).where(S.day >= first, S.day < today, region_filter(S.region, scoped)).group_by(S.day)
    known: dict[date, dict[str, Any]] = {}
    for row in db.session.execute(query):
        day = row.day if isinstance(row.day, date) else date.fromisoformat(str(row.day))
        known[day] = {**_figures(row), "year_end_outstanding": _yuan(row.year_end)}
    if first <= today:
        known[today] = live

    anchor = min(known) if known else None
    points = []
    day = first
    while day <= last:
        figures = known.get(day)
        point = {"date": day.isoformat(), "open_cases": None, "workers_owed": None, "arrears_outstanding": None,
                 "arrears_recovered": None, "year_end_outstanding": None, "ideal": None, "ideal_year_end": None,
                 "live": day == today}
        if anchor is not None and day >= anchor:
            point["ideal"] = _money(_ideal(known[anchor]["arrears_outstanding"], anchor, camp.deadline, day))
            point["ideal_year_end"] = _money(_ideal(known[anchor]["year_end_outstanding"], anchor,
                                                    camp.year_end_deadline, day))
        if figures is not None:
            point.update(_as_json(figures))
        points.append(point)
        day += timedelta(days=1)
    return points


def open_escalations(actor: Actor, region: str | None = None, limit: int | None = 100) -> tuple[list[dict], int]:
    """Overdue tasks under escalation in the actor's region (or `region` within it), each once at its latest
    level, highest level and oldest first; with their total count."""
    scoped = authorize(actor, region)
    E = Escalation
    latest = (select(func.max(E.id)).where(E.status == "open", region_filter(E.region, scoped))
              .group_by(E.task_id))
    total = db.session.scalar(select(func.count()).select_from(latest.subquery())) or 0
    query = (select(E).join(E.case).options(contains_eager(E.case)).where(E.id.in_(latest))
             .order_by(E.level.desc(), E.due_at, E.id))
    if limit is not None:
        query = query.limit(limit)
    rows = []
    for escalation in db.session.scalars(query):
        item = escalation_json(escalation)
        item["region_name"] = region_name(escalation.region)
        rows.append(item)
    return rows, total


# ---------------------------------------------------------------------------------------------------------------
# Snapshots.

@transactional
def take_snapshot(now: datetime, campaign_: Campaign | None = None) -> int:
    """Record today's (Beijing date of `now`) figures per case region; running it again the same day replaces
    that day's rows, so it is idempotent. Returns the number of regions written."""
    camp = campaign_ or campaign()
    day = today_of(now)
    public = Case.project_type.in_(PUBLIC_PROJECT_TYPES)
    year_end = func.coalesce(func.sum(case((public, _cents(Case.arrears_outstanding)), else_=0)), 0)
    query = (select(Case.region, *_figure_columns(), year_end.label("year_end"))
             .where(*_campaign_cases(SYSTEM, camp)).group_by(Case.region))
    values = {}
    for row in db.session.execute(query):
        values[row.region] = {"day": day, "region": row.region, **_figures(row),
                              "year_end_outstanding": _yuan(row.year_end), "taken_at": now}
    # A region with a row from an earlier run today but no campaign cases now drops to zero.
    for region in db.session.scalars(select(ClearZeroSnapshot.region).where(ClearZeroSnapshot.day == day)):
        values.setdefault(region, {"day": day, "region": region, **_zero(), "year_end_outstanding": ZERO,
                                   "taken_at": now})
    if values:
        _upsert(ClearZeroSnapshot, [values[k] for k in sorted(values)], ("day", "region"))
    _recount_on_time(now - COUNT_LAG)
    return len(values)


def _recount_on_time(until: datetime) -> None:
    """Replace the stored on-time counts by a full count up to `until` (upserts, so two schedulers recounting at
    once cannot collide; rows another recount left with another `until` go)."""
    counts = [{"region": row.region, "process": row.process, "completed": int(row.completed),
               "on_time": int(row.on_time), "counted_until": until}
              for row in db.session.execute(_task_counts(Task.completed_at <= until))]
    counts.sort(key=lambda c: (c["region"], c["process"]))  # one lock order for concurrent recounts
    if counts:
        _upsert(OnTimeCount, counts, ("region", "process"))
    db.session.execute(delete(OnTimeCount).where(OnTimeCount.counted_until != until))


def _upsert(model, values: list[dict], keys: tuple[str, ...]) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE: two schedulers snapshotting at once cannot collide (rows come
    sorted by key, so they also lock in the same order)."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    if dialect != "postgresql":  # SQLite's Numeric would go through float with Decimals: bind the exact text
        values = [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in value.items()} for value in values]
    statement = insert(model.__table__).values(values)
    updated = {c: statement.excluded[c] for c in values[0] if c not in keys}
    db.session.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=updated))


def snapshot_job(now: datetime) -> int:
    """The scheduler's periodic job: refresh today's snapshot unless it was refreshed within SNAPSHOT_EVERY."""
    snapshot = db.session.scalar(select(func.max(ClearZeroSnapshot.taken_at))
                                 .where(ClearZeroSnapshot.day == today_of(now)))
    counted = db.session.scalar(select(func.max(OnTimeCount.counted_until)))
    # Either row shows the last run (a place without wage-arrears cases still has on-time counts).
    runs = [t for t in (snapshot, counted + COUNT_LAG if counted else None) if t is not None]
    last = max(runs, default=None)
    if last is not None and timedelta(0) <= now - last < SNAPSHOT_EVERY:
        return 0
    return take_snapshot(now)


PERIODIC_JOBS["clear_zero_snapshot"] = snapshot_job
