"""The 131 service (一次职业指导、三个岗位信息、一次培训) owed to temp_job job seekers: the `service_131` projection row
per case, written with every write of a temp_job case's row (engine.services.cases.write_case), and the
per-region report that reads it, so reports never open workflow state; and the checks of the service's forms that
a JSON Schema cannot say (dates not in the future, three different offers, reporting for work within the
referral and the post)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, func, or_, select, text
from sqlalchemy.orm import Mapped, mapped_column

from engine import calendar
from engine.actors import Actor, region_filter, scope_prefix
from engine.db import db
from engine.errors import DataInvalid, NotFound
from engine.models import Case
from engine.placements import PROCESS, SERVICE_131_PARTS, case_expr
from engine.regions import region_name
from engine.services.cases import CASE_WRITTEN_HOOKS
from engine.services.tasks import TASK_FORM_CHECKS
from engine.validation import REGION_MESSAGE, REGION_RE


class Service131(db.Model):
    """Projection of each temp_job case's 131 service: what is still owed (for the per-region report)."""

    __tablename__ = "service_131"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    region: Mapped[str] = mapped_column(String(12), index=True)
    priority_group: Mapped[str | None] = mapped_column(String(32), nullable=True)
    owes_career_guidance: Mapped[bool] = mapped_column(Boolean)
    owes_job_offers: Mapped[bool] = mapped_column(Boolean)
    owes_training: Mapped[bool] = mapped_column(Boolean)
    open: Mapped[bool] = mapped_column(Boolean)



# The 131 projection row, written with every write of a temp_job case's row (same transaction).
_UPSERT_131 = text(
    "INSERT INTO service_131 (case_id, region, priority_group, owes_career_guidance, owes_job_offers, owes_training,"
    " open) VALUES (:case_id, :region, :group, :cg, :jo, :tr, :open) ON CONFLICT (case_id) DO UPDATE SET"
    " region = excluded.region, priority_group = excluded.priority_group,"
    " owes_career_guidance = excluded.owes_career_guidance, owes_job_offers = excluded.owes_job_offers,"
    " owes_training = excluded.owes_training, open = excluded.open"
)


def _project_131(case: Case) -> None:
    if case.process != PROCESS:
        return
    summary = case.summary or {}
    owed = summary.get("service_131_owed", list(SERVICE_131_PARTS))
    db.session.connection().execute(_UPSERT_131, {
        "case_id": case.id, "region": case.region, "group": summary.get("priority_group"),
        "cg": "career_guidance" in owed, "jo": "job_offers" in owed, "tr": "training" in owed,
        "open": case.closed_at is None,
    })


CASE_WRITTEN_HOOKS.append(_project_131)


# ---------------------------------------------------------------------------------------------------------------
# The 131 service's forms: what a JSON Schema cannot say.

# Per task, the dates of things already done (guidance given, training recommended, reporting for work).
_DONE_DATES = {"career_guidance": ("guidance_date",), "training": ("training_date",),
               "confirm_placement": ("reported_on",)}


def _offer_key(offer: dict[str, Any]) -> tuple[str, str]:
    """Employer and post, with case and spacing ignored: "甲公司 保洁" and "甲公司  保洁 " are one offer."""
    def norm(value: Any) -> str:
        return " ".join(str(value or "").split()).casefold()

    return norm(offer.get("employer")), norm(offer.get("job"))


def _check_form(task: str) -> Callable[..., None]:
    """The check of `task`'s form (engine.services.tasks.TASK_FORM_CHECKS: before the step runs, so a refusal
    changes nothing): no date in the future or before the case was opened, three offers of three different posts,
    no reporting for work before the referral or outside the post's dates."""
    return lambda case, form, workflow_data, values, now, actor: _check_dates_and_offers(case, task, form, now)


def _check_dates_and_offers(case: Case, task: str, form: dict[str, Any], now: datetime) -> None:
    dated = [(name, form.get(name)) for name in _DONE_DATES.get(task, ())]
    fields: dict[str, str] = {}
    if task == "job_offers":
        offers = [o for o in form.get("offers") or [] if isinstance(o, dict)]
        dated += [(f"offers.{i}.date", offer.get("date")) for i, offer in enumerate(offers)]
        first: dict[tuple[str, str], int] = {}
        for i, offer in enumerate(offers):
            key = _offer_key(offer)
            if key in first:
                fields[f"offers.{i}.job"] = f"与第 {first[key] + 1} 个岗位相同：须推荐3个不同的岗位"
            first.setdefault(key, i)
    if task == "confirm_placement" and isinstance(form.get("reported_on"), str):
        refusal = _reporting_refusal(case.summary or {}, date.fromisoformat(form["reported_on"]))
        if refusal:
            fields["reported_on"] = refusal
    elif task == "confirm_placement" and form.get("placed") is True:
        # Placed with no reporting date: placed by today, which cannot be before the post starts.
        start = ((case.summary or {}).get("post") or {}).get("start_date")
        if start and calendar.local_date(now) < date.fromisoformat(start):
            fields["placed"] = f"岗位于 {start} 开始，尚不能确认已上岗"
    today, opened = calendar.local_date(now), calendar.local_date(case.opened_at)
    for name, value in dated:
        if not isinstance(value, str) or name in fields:
            continue
        day = date.fromisoformat(value)  # the form schema checked the format
        if day > today:
            fields[name] = f"日期不能晚于今天（{today.isoformat()}）"
        elif day < opened:
            fields[name] = f"日期不能早于求职登记日期（{opened.isoformat()}）"
    if fields:
        raise DataInvalid(fields)


def _reporting_refusal(summary: dict[str, Any], day: date) -> str | None:
    """Why a person cannot have reported for work on `day`: before the referral, before the post starts or after it
    ends. The referral's facts come from the summary (engine.placements._refer wrote them with the referral)."""
    referred_at = summary.get("referred_at")
    if referred_at:
        referred_on = calendar.local_date(datetime.fromisoformat(referred_at))
        if day < referred_on:
            return f"报到日期不能早于推荐上岗日期（{referred_on.isoformat()}）"
    post = summary.get("post") or {}
    if post.get("start_date") and day < date.fromisoformat(post["start_date"]):
        return f"报到日期不能早于岗位开始日期（{post['start_date']}）"
    if post.get("end_date") and day > date.fromisoformat(post["end_date"]):
        return f"报到日期不能晚于岗位结束日期（{post['end_date']}）"
    return None


for _task in ("career_guidance", "job_offers", "training", "confirm_placement"):
    TASK_FORM_CHECKS.setdefault((PROCESS, _task), []).append(_check_form(_task))


# ---------------------------------------------------------------------------------------------------------------
# The 131 report.

REPORT_131_COLUMNS = [
    ("region", "区划代码"), ("region_name", "区划名称"), ("people", "在办人数"),
    ("career_guidance", "尚欠职业指导"), ("job_offers", "尚欠3个岗位信息"), ("training", "尚欠培训项目"),
    ("owed_any", "尚欠“131”服务人数"), ("served", "已完成“131”服务人数"),
]


def report_131(actor: Actor, region: str | None = None) -> dict[str, Any]:
    """Per region: people with an open temp_job case and how many are still owed each part of the 131 service."""
    if region is not None:
        if not REGION_RE.match(region):  # a filter: an old code still finds its rows; scope decides
            raise DataInvalid({"region": REGION_MESSAGE})
        if not scope_prefix(region).startswith(actor.scope):
            raise NotFound(f"区划 {region} 不在您的辖区内")
    s = Service131
    owed_any = or_(s.owes_career_guidance, s.owes_job_offers, s.owes_training)
    query = select(
        s.region, func.count(),
        func.sum(case_expr(s.owes_career_guidance)), func.sum(case_expr(s.owes_job_offers)),
        func.sum(case_expr(s.owes_training)), func.sum(case_expr(owed_any)),
    ).where(s.open.is_(True), region_filter(s.region, actor))
    if region:
        query = query.where(s.region.like(scope_prefix(region) + "%"))
    rows = []
    totals = dict.fromkeys(("people", "career_guidance", "job_offers", "training", "owed_any", "served"), 0)
    for code, people, cg, jo, tr, anyone in db.session.execute(query.group_by(s.region).order_by(s.region)):
        row = {"region": code, "region_name": region_name(code), "people": int(people),
               "career_guidance": int(cg or 0), "job_offers": int(jo or 0), "training": int(tr or 0),
               "owed_any": int(anyone or 0)}
        row["served"] = row["people"] - row["owed_any"]
        for key in totals:
            totals[key] += row[key]
        rows.append(row)
    return {"region": region or actor.region, "by_region": rows, "total": totals}
