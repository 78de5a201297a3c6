"""Temporary-job placement (process `temp_job`): placements (referrals to the posts of engine/posts.py), the
status hooks that take and free a post's slot, the referral letter, and the return-visit ledger's worker rows
(import in engine/ledger.py, export in engine/ledger_export.py). Who may be registered and the case's summary are
engine/temp_job_cases.py.

How a referral stays consistent (DESIGN.md, one service call = one transaction):

* `match_post` is an ordinary user task. It may be completed through `POST /api/v1/tasks/{id}/complete` (the API.md
  contract) or through `refer_to_post` (`POST /api/v1/cases/{number}/match-post`), which calls the undecorated
  `complete_task` inside its own transaction. Either way the workflow's `set_referred` script moves the case to
  `referred`, and the status hook below runs inside the same transaction: it checks the post (open, serving the
  case's region, not ended), takes a slot with a conditional UPDATE (`filled = filled + 1 WHERE filled < slots`),
  records the placement, writes the post's facts and `post_end_at` (the timer's timeDate) into the workflow data
  and queues the referral letter. A full post raises, so the whole completion rolls back: slots never over-fill.
* `confirm_placement` with `placed: false` moves the case back to `in_service` (matching): the hook frees the slot.
* The 131 report (engine/service131.py) reads `service_131`, a projection row per case written by a
  `CASE_WRITTEN_HOOKS` hook on every `write_case` of a temp_job case (same transaction), so reports never open
  workflow state.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    func,
    select,
    update,
)
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Mapped, mapped_column

from engine import calendar
from engine.actors import Actor
from engine.db import UTCDateTime, db
from engine.errors import Conflict, DataInvalid, NotFound
from engine.models import Case, Task, Timer
from engine.posts import POST_KIND_TITLES, POST_KINDS, Post, post_json
from engine.regions import lineage, region_name
from engine.sandbox import money
from engine.services._common import case_in_scope, rule_values, transactional
from engine.services.cases import (
    NON_WORKFLOW_TASKS,
    STATUS_HOOKS,
    load_workflow,
    write_case,
)
from engine.summaries import mask_id_number, money_text
from engine.summaries import project as summarize

PROCESS = "temp_job"
PRIORITY_GROUPS = ("poverty_alleviated", "low_income", "employment_difficulty", "returning_migrant")
SERVICE_131_PARTS = ("career_guidance", "job_offers", "training")


# ---------------------------------------------------------------------------------------------------------------
# Tables.

class Placement(db.Model):
    """One referral of a case to a post: referred → placed | refused; placed → ended."""

    __tablename__ = "placements"
    __table_args__ = (Index("ix_placements_post_status", "post_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    status: Mapped[str] = mapped_column(String(16))
    referred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    document_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class LedgerWorker(db.Model):
    """A worker of the return-visit ledger (回访台账), keyed by ID number + region."""

    __tablename__ = "ledger_workers"
    __table_args__ = (
        UniqueConstraint("id_number", "region"),
        Index("ix_ledger_workers_region_employed", "region", "employed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = mapped_column(String(12))
    id_number: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    work_place: Mapped[str | None] = mapped_column(String(100), nullable=True)
    employer: Mapped[str | None] = mapped_column(String(100), nullable=True)
    job: Mapped[str | None] = mapped_column(String(50), nullable=True)
    wage: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), nullable=True)
    going_home: Mapped[bool] = mapped_column(Boolean)
    home_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    travel_mode: Mapped[str | None] = mapped_column(String(20), nullable=True)
    travel_number: Mapped[str | None] = mapped_column(String(50), nullable=True)
    wish_to_return: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    employed: Mapped[bool] = mapped_column(Boolean)
    unemployed_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    training_wish: Mapped[str | None] = mapped_column(String(200), nullable=True)
    case_number: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# ---------------------------------------------------------------------------------------------------------------
# Small helpers.

def post_end_moment(post: Post) -> datetime:
    """When a post has ended: the start of the day after its end date, local time (the exit-review timer)."""
    return datetime.combine(post.end_date + timedelta(days=1), time(0, 0), tzinfo=calendar.get_timezone())


# ---------------------------------------------------------------------------------------------------------------
# Matching.

def temp_job_case(actor: Actor, number: str) -> Case:
    case = case_in_scope(actor, number)
    if case.process != PROCESS:
        raise NotFound(f"案件 {number} 不是临时性岗位安置案件")
    return case


def suggest_posts(actor: Actor, number: str, now: datetime, limit: int = 10) -> tuple[Case, list[dict[str, Any]]]:
    """Open posts with a free slot that serve the seeker's region, best fit first: own region before the bureaus
    above, a kind the seeker wishes, the soonest start, the most free slots."""
    case = temp_job_case(actor, number)
    wishes = (case.summary or {}).get("wishes") or {}
    kinds = [k for k in wishes.get("kinds") or [] if k in POST_KINDS]
    order = [case_expr(Post.region == case.region).desc()]
    if kinds:
        order.append(case_expr(Post.kind.in_(kinds)).desc())
    order += [Post.start_date, (Post.slots - Post.filled).desc(), Post.id]
    rows = db.session.scalars(
        select(Post).where(
            Post.status == "open", Post.filled < Post.slots, Post.end_date >= calendar.local_date(now),
            Post.region.in_(lineage(case.region)),  # posts of its own bureau and of those above it
        ).order_by(*order).limit(limit)
    )
    expected = wishes.get("min_monthly_pay")
    items = []
    for rank, post in enumerate(rows, 1):
        reasons = ["本地岗位" if post.region == case.region else f"{region_name(post.region)}岗位"]
        if post.kind in kinds:
            reasons.append(f"意向类别：{POST_KIND_TITLES[post.kind]}")
        if expected and post.monthly_pay >= money(expected):
            reasons.append("工资符合期望")
        reasons.append(f"剩余名额 {post.slots - post.filled}")
        items.append({**post_json(post, calendar.local_date(now)), "rank": rank,
                      "region_match": post.region == case.region, "kind_wished": post.kind in kinds,
                      "reasons": reasons})
    return case, items


def case_expr(condition):
    return sql_case((condition, 1), else_=0)


@transactional
def refer_to_post(actor: Actor, number: str, post_id: Any, case_version: Any, now: datetime,
                  note: str | None = None) -> Case:
    """Complete the case's open `match_post` task with `post_id` (the referral itself runs in the status hook)."""
    from engine.services.tasks import complete_task

    case = temp_job_case(actor, number)
    task = db.session.scalar(select(Task).where(Task.case_id == case.id, Task.name == "match_post",
                                                Task.state == "open"))
    if task is None:
        raise Conflict(f"案件 {number} 当前不在岗位匹配环节")
    data: dict[str, Any] = {"post_id": post_id}
    if note:
        data["note"] = note
    # The undecorated service: same checks and projections, inside this transaction (no nested commit).
    return complete_task.__wrapped__(actor, task.id, data, case_version, now)


def _refer(case: Case, data: dict[str, Any], now: datetime, by: str) -> None:
    post_id = data.get("post_id")
    post = db.session.get(Post, post_id) if isinstance(post_id, int) else None
    if post is None or post.region not in lineage(case.region):
        raise DataInvalid({"post_id": "岗位不存在或不面向本案所在地区"})
    if post.status != "open":
        raise DataInvalid({"post_id": "岗位已关闭"})
    if post.end_date < calendar.local_date(now):
        raise DataInvalid({"post_id": "岗位已期满"})
    if post.filled >= post.slots:
        raise DataInvalid({"post_id": "岗位名额已满"})
    taken = db.session.execute(
        update(Post).where(Post.id == post.id, Post.status == "open", Post.filled < Post.slots)
        .values(filled=Post.filled + 1).execution_options(synchronize_session=False)
    ).rowcount
    if not taken:
        raise Conflict("岗位最后的名额刚被他人占用，请重新选择岗位")
    db.session.refresh(post)
    values = rule_values()
    report_by = calendar.working_days_after(now, int(values["confirm_placement_days"]))
    # Nobody can report to a post before it starts (confirm_placement refuses such a reported_on): a post starting
    # after the usual window is reported to on its first working day, and confirmation is due then.
    if post.start_date > calendar.local_date(report_by):
        report_by = calendar.working_days_after(post.start_date, 0)
    tz = calendar.get_timezone()
    facts = {
        "post": {
            "id": post.id, "title": post.title, "kind": post.kind, "employer": post.employer, "region": post.region,
            "monthly_pay": money_text(post.monthly_pay), "start_date": post.start_date.isoformat(),
            "end_date": post.end_date.isoformat(), "work_place": post.work_place,
        },
        "post_end_at": post_end_moment(post).isoformat(),
        "referred_at": now.astimezone(tz).isoformat(),
        "report_by": calendar.local_date(report_by).isoformat(),
    }
    placement = Placement(case_id=case.id, post_id=post.id, status="referred", referred_at=now)
    db.session.add(placement)
    _move_confirmation_due(case, report_by)
    _write_into_workflow(case, data, facts)
    seeker = data.get("seeker") or {}
    placement.document_id = issue_referral_letter(case, referral_letter_facts(seeker, post, facts["report_by"]),
                                                  now, by)


def _move_confirmation_due(case: Case, due: datetime) -> None:
    """Give the confirm_placement task just projected (due by its rule from the referral) the referral's report-by
    deadline, with its escalation timer; the case's due time follows in `_write_into_workflow`."""
    task = db.session.scalar(select(Task).where(Task.case_id == case.id, Task.name == "confirm_placement",
                                                Task.state == "open"))
    if task is None or task.due_at == due:
        return
    db.session.execute(update(Task).where(Task.id == task.id).values(due_at=due)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(Timer).where(Timer.task_id == task.id, Timer.kind == "task_due",
                                           Timer.status == "pending", Timer.level == 1).values(fire_at=due)
                       .execution_options(synchronize_session=False))
    db.session.expire(task)


def _write_into_workflow(case: Case, data: dict[str, Any], facts: dict[str, Any]) -> None:
    """Put the post's facts into the data of the match_post task just completed and every task after it (so the
    exit-review timer reads `post_end_at`), then re-project the summary."""
    parsed, workflow = load_workflow(case)
    done = [t for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id == "match_post"]
    latest = max(done, key=lambda t: t.last_state_change)
    stack = [latest]
    while stack:
        task = stack.pop()
        task.data.update(facts)
        stack.extend(task.children)
    data.update(facts)
    projection = summarize(case.process, data)
    # The case is due when its most urgent open task is (engine.services.cases.project_case), which may have moved.
    due = db.session.scalar(select(func.min(Task.due_at)).where(
        Task.case_id == case.id, Task.state == "open", Task.name.not_in(list(NON_WORKFLOW_TASKS) or [""])))
    write_case(case, {"summary": projection.summary, "due_at": due,
                      "search_text": f"{case.number.lower()} {projection.search_text}"}, workflow)


PRIORITY_GROUP_TITLES = {
    "poverty_alleviated": "脱贫人口", "low_income": "低收入人口", "employment_difficulty": "就业困难人员",
    "returning_migrant": "返乡农民工", "other": "求职人员",
}
REFERRAL_BASIS = "《关于开展“迎新春送温暖、稳岗留工”专项行动的通知》（人社部函〔2021〕8号）"


def referral_letter_facts(seeker: dict[str, Any], post: Post, report_by: str) -> dict[str, Any]:
    """The temporary-post referral letter's facts (pdfs kind `temp_post_referral`), addressed to the employer."""
    name = seeker.get("name") or ""
    group = PRIORITY_GROUP_TITLES.get(seeker.get("priority_group") or "other", "求职人员")
    facts: dict[str, Any] = {
        "recipient": post.employer,
        "candidate": name,
        "candidate_id": mask_id_number(seeker.get("id_number")),
        "post_title": post.title,
        "employer": post.employer,
        "pay": f"每月{money_text(post.monthly_pay)}元",
        "start_date": post.start_date.isoformat(),
        "end_date": post.end_date.isoformat(),
        "report_by": report_by,
        "facts": [f"{name}系{group}，已在本局进行求职登记，本人有就业意愿，经评估适合从事该临时性岗位"
                  f"（{POST_KIND_TITLES.get(post.kind, post.kind)}）。"],
        "legal_basis": [REFERRAL_BASIS],
    }
    if post.work_place:
        facts["work_place"] = post.work_place
    return facts


def issue_referral_letter(case: Case, facts: dict[str, Any], now: datetime, actor_name: str) -> int:
    """The one place the letter is issued (queued in this transaction, rendered from the outbox)."""
    from engine.documents import issue_notice

    return issue_notice(case, "temp_post_referral", facts, now, actor_name)


def _latest_placement(case: Case, status: str) -> Placement | None:
    return db.session.scalar(select(Placement).where(Placement.case_id == case.id, Placement.status == status)
                             .order_by(Placement.id.desc()).limit(1))


def _release(case: Case, now: datetime) -> None:
    placement = _latest_placement(case, "referred")
    if placement is None:
        return
    placement.status, placement.decided_at = "refused", now
    db.session.execute(
        update(Post).where(Post.id == placement.post_id, Post.filled > 0).values(filled=Post.filled - 1)
        .execution_options(synchronize_session=False)
    )
    post = db.session.get(Post, placement.post_id)
    if post is not None:
        db.session.refresh(post)


def _on_status(case: Case, before: str, data: dict[str, Any], now: datetime, by: str) -> None:
    if case.process != PROCESS:
        return
    if case.status == "referred":
        _refer(case, data, now, by)
    elif before == "referred" and case.status == "in_service":
        _release(case, now)
    elif case.status == "placed":
        placement = _latest_placement(case, "referred")
        if placement is not None:
            placement.status, placement.decided_at = "placed", now
    elif before == "placed":
        placement = _latest_placement(case, "placed")
        if placement is not None:
            placement.status, placement.ended_at = "ended", now


STATUS_HOOKS.append(_on_status)
