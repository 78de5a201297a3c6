"""The clear-zero campaign (两清零) and its figures: the two targets and their deadlines from the rules, and the SQL
that sums the case projections into figures, shared by the dashboard's reads (engine.dashboard) and the daily
snapshots (engine.clear_zero_snapshots).

The two targets (DOMAIN.md): (1) arrears on government-invested, SOE and PPP projects cleared by the end of the
year; (2) all other arrears cleared before the Spring Festival. Their deadlines and the campaign's first day are
rules (engine/rules.py: `campaign_start`, `clear_zero_year_end_deadline`, `clear_zero_spring_festival_deadline`),
so a province sets them per campaign (`flask rules set`).

Campaign cases are wage-arrears cases still open, closed on/after the campaign start, or closed with money still
owed (transferred to the police). Outstanding is the projection's `arrears_outstanding` (verified amount minus
paid; the claimed amount until investigated). A target is met when nothing is outstanding on its cases. Days left
count working days from today to the deadline, both included (engine.calendar). Money is summed in whole fen,
exact on SQLite (REAL storage) and PostgreSQL (numeric) alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, case, cast, func, or_, select

from engine import calendar
from engine.actors import Actor, region_filter
from engine.escalation import SUPERVISION_TASK
from engine.models import Case, Task
from engine.services._common import rule_values
from engine.summaries import money_text

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
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


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

    def runs_on(self, day: date) -> bool:
        return self.start <= day <= self.deadline

    def deadline_of(self, target: str) -> date:
        return self.year_end_deadline if target == YEAR_END else self.spring_festival_deadline

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "start": self.start.isoformat(),
                "year_end_deadline": self.year_end_deadline.isoformat(),
                "spring_festival_deadline": self.spring_festival_deadline.isoformat()}


CAMPAIGN_RULES = ("campaign_start", "clear_zero_year_end_deadline", "clear_zero_spring_festival_deadline")


def campaign(values: Mapping[str, Any] | None = None) -> Campaign:
    """The campaign from the rule values (defaults overridden by `rule_settings`)."""
    values = rule_values() if values is None else values
    # rule_values() has checked them (a bad stored date is ignored there, with the default in force).
    return Campaign(*(date.fromisoformat(str(values[key])) for key in CAMPAIGN_RULES))


# The winter campaign runs from November to the Spring Festival (DOMAIN.md); the dates a province set for an earlier
# winter stay in force until it sets this winter's.
WINTER_MONTHS = (11, 12, 1, 2)


def earlier_winter_campaign(today: date, values: Mapping[str, Any] | None = None) -> Campaign | None:
    """The campaign in force when `today` falls in a winter (November to February) later than the campaign's and
    after its deadline: the dashboard then counts the wrong winter, and a rectification order gets the payment
    deadline of the time outside the campaign. None when the campaign in force is this winter's (or it is not
    winter). The rules are read (`values` None: from the database) only in winter: every page asks."""
    if today.month not in WINTER_MONTHS:
        return None
    winter = today.year if today.month >= 11 else today.year - 1
    camp = campaign(values)
    return camp if camp.start.year < winter and today > camp.deadline else None


# Rules with one value during the winter campaign and another outside it, by the key of the ordinary value: the
# rectification order's payment deadline is 3 working days in the campaign, otherwise 7 (DOMAIN.md section 1).
SEASONAL_RULES = {"payment_deadline_days": "payment_deadline_days_outside_campaign"}


def seasonal_values(values: Mapping[str, Any], day: date) -> dict[str, Any]:
    """The rule `values` as they apply on `day`: outside the campaign each seasonal rule takes its ordinary value
    (what a form offers as its default)."""
    if campaign(values).runs_on(day):
        return dict(values)
    return {**values, **{key: values[ordinary] for key, ordinary in SEASONAL_RULES.items()}}


def cents(column):
    return cast(func.round(func.coalesce(column, 0) * 100), BigInteger)


def yuan(cents: Any) -> Decimal:
    return (Decimal(int(cents or 0)) / 100).quantize(CENT)


def campaign_cases(scoped: Actor, camp: Campaign) -> list:
    """Where-clauses of the campaign's cases within `scoped`'s region (the module docstring says which)."""
    start = datetime.combine(camp.start, datetime.min.time(), tzinfo=calendar.get_timezone())
    return [
        Case.process == PROCESS,
        region_filter(Case.region, scoped),
        or_(Case.closed_at.is_(None), Case.closed_at >= start, Case.arrears_outstanding > 0),
    ]


def figure_columns() -> list:
    return [
        func.coalesce(func.sum(case((Case.closed_at.is_(None), 1), else_=0)), 0).label("open_cases"),
        func.coalesce(func.sum(func.coalesce(Case.workers_owed, 0)), 0).label("workers_owed"),
        func.coalesce(func.sum(cents(Case.arrears_outstanding)), 0).label("outstanding"),
        func.coalesce(func.sum(cents(Case.arrears_recovered)), 0).label("recovered"),
    ]


def zero_figures() -> dict[str, Any]:
    return {"open_cases": 0, "workers_owed": 0, "arrears_outstanding": ZERO, "arrears_recovered": ZERO}


def figures_of(row) -> dict[str, Any]:
    return {"open_cases": int(row.open_cases or 0), "workers_owed": int(row.workers_owed or 0),
            "arrears_outstanding": yuan(row.outstanding), "arrears_recovered": yuan(row.recovered)}


def add_figures(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        into[key] += value


def figures_json(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: (money_text(v) if isinstance(v, Decimal) else v) for k, v in figures.items()}


def working_days_left(today: date, deadline: date) -> int:
    """Working days from today to the deadline, both included; 0 once the deadline has passed."""
    if today > deadline:
        return 0
    return calendar.working_days_between(today - timedelta(days=1), deadline)


def task_counts(*where):
    """(region, process, completed, on_time) of completed case-work tasks with a due time. Supervision tasks
    (督办) are the escalation machinery's, not case work: left out."""
    on_time = func.coalesce(func.sum(case((Task.completed_at <= Task.due_at, 1), else_=0)), 0).label("on_time")
    return (select(Task.region, Task.process, func.count().label("completed"), on_time)
            .where(Task.state == "completed", Task.due_at.is_not(None), Task.name != SUPERVISION_TASK, *where)
            .group_by(Task.region, Task.process))
