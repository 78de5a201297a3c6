"""The supervisors' clear-zero dashboard (两清零): the figures of engine.clear_zero summed in SQL over the case and
task projections for the actor's region, with drill-down by child region, on-time rates, the burn-down from the
daily snapshots (engine.clear_zero_snapshots) and the open escalations. Pure reads."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from engine import calendar
from engine.actors import Actor, region_filter
from engine.clear_zero import (
    PUBLIC_PROJECT_TYPES,
    SPRING_FESTIVAL,
    TARGET_TITLES,
    TARGETS,
    YEAR_END,
    ZERO,
    Campaign,
    add_figures,
    campaign,
    campaign_cases,
    cents,
    figure_columns,
    figures_json,
    figures_of,
    task_counts,
    working_days_left,
    yuan,
    zero_figures,
)
from engine.clear_zero_snapshots import ClearZeroSnapshot, OnTimeCount
from engine.db import db
from engine.errors import DataInvalid, Forbidden, NotFound
from engine.escalation import Escalation, current_levels, escalation_json
from engine.models import Case, Task
from engine.regions import children, region_name
from engine.summaries import money_text
from engine.validation import REGION_MESSAGE, REGION_RE

DASHBOARD_ROLES = ("supervisor", "head")  # and admin (Actor.has_role)
MAX_BURNDOWN_DAYS = 400


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
    if not REGION_RE.match(region):  # a filter: an old code still finds its rows; scope decides
        raise DataInvalid({"region": REGION_MESSAGE})
    if not actor.covers(region):
        raise NotFound(f"区划 {region} 不在您的辖区内")
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
# Reads.

def clear_zero(actor: Actor, now: datetime, region: str | None = None, campaign_: Campaign | None = None) -> dict:
    """The clear-zero figures for the actor's region, or `region` within it: API.md's shape (`deadline`, the four
    totals, `by_region`, `by_day`) plus `targets`, `on_time`, `campaign`, `region`, `parent`. Money as decimal
    strings. One grouped query over the cases, one over the tasks, one over the snapshots."""
    scoped = authorize(actor, region)
    camp = campaign_ or campaign()
    today = calendar.local_date(now)
    length = _child_length(scoped)
    # Grouped by the raw indexed columns (a streaming aggregate over the covering index), rolled up here: a few
    # hundred rows at most, one per case region and project type.
    by_target = {name: zero_figures() for name in TARGETS}
    # child region → target → figures
    by_child: dict[str, dict[str, dict[str, Any]]] = {r.code: {} for r in children(scoped.region)}
    query = (select(Case.region, Case.project_type, *figure_columns()).where(*campaign_cases(scoped, camp))
             .group_by(Case.region, Case.project_type))
    for row in db.session.execute(query):
        figures = figures_of(row)
        name = YEAR_END if row.project_type in PUBLIC_PROJECT_TYPES else SPRING_FESTIVAL
        add_figures(by_target[name], figures)
        add_figures(by_child.setdefault(_child_code(row.region, length), {}).setdefault(name, zero_figures()), figures)
    totals = zero_figures()
    for figures in by_target.values():
        add_figures(totals, figures)

    rates = _on_time(scoped, now, length)
    rate_cells: dict[str, dict[str, dict]] = {}
    for row in rates["by_region"]:
        rate_cells.setdefault(row["region"], {})[row["process"]] = {
            k: row[k] for k in ("completed", "on_time", "rate")}
    by_region = []
    for code in sorted(by_child):
        cells = {name: by_child[code].get(name) or zero_figures() for name in TARGETS}
        row_totals = zero_figures()
        for figures in cells.values():
            add_figures(row_totals, figures)
        by_region.append({"region": code, "region_name": _child_name(code, scoped.region), **figures_json(row_totals),
                          "targets": {name: figures_json(figures) for name, figures in cells.items()},
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
            "needed_per_working_day": money_text(needed), **figures_json(figures),
        })

    live = {**totals, "year_end_outstanding": by_target[YEAR_END]["arrears_outstanding"]}
    parent = parent_region(scoped.region)
    return {
        "deadline": camp.deadline.isoformat(),
        **figures_json(totals),
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
    rows += db.session.execute(task_counts(in_scope, Task.completed_at <= now, *since))
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
        func.coalesce(func.sum(cents(S.arrears_outstanding)), 0).label("outstanding"),
        func.coalesce(func.sum(cents(S.arrears_recovered)), 0).label("recovered"),
        func.coalesce(func.sum(cents(S.year_end_outstanding)), 0).label("year_end"),
    ).where(S.day >= first, S.day < today, region_filter(S.region, scoped)).group_by(S.day)
    known: dict[date, dict[str, Any]] = {}
    for row in db.session.execute(query):
        day = row.day if isinstance(row.day, date) else date.fromisoformat(str(row.day))
        known[day] = {**figures_of(row), "year_end_outstanding": yuan(row.year_end)}
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
            point["ideal"] = money_text(_ideal(known[anchor]["arrears_outstanding"], anchor, camp.deadline, day))
            point["ideal_year_end"] = money_text(_ideal(known[anchor]["year_end_outstanding"], anchor,
                                                    camp.year_end_deadline, day))
        if figures is not None:
            point.update(figures_json(figures))
        points.append(point)
        day += timedelta(days=1)
    return points


def open_escalations(actor: Actor, region: str | None = None, limit: int | None = 100) -> tuple[list[dict], int]:
    """Overdue tasks under escalation in the actor's region (or `region` within it), each once at its latest
    level, highest level and oldest first; with their total count."""
    scoped = authorize(actor, region)
    E = Escalation
    latest = current_levels(scoped, "open")  # as GET /api/v1/escalations?status=open counts them
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
