"""The temporary-posts catalogue (临时性岗位 / 公益性岗位) of the temp_job process: the Post table, creating, editing
and listing posts within the actor's region, and each post's JSON. Referrals take slots in engine/placements.py."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Date, Index, Integer, Numeric, String, Text, func, or_, select
from sqlalchemy.orm import Mapped, mapped_column

from engine import calendar
from engine.actors import Actor, region_filter, scope_prefix
from engine.db import UTCDateTime, db
from engine.errors import DataInvalid, Forbidden, NotFound
from engine.regions import lineage, region_name
from engine.sandbox import money
from engine.services._common import rule_values, transactional
from engine.summaries import money_text
from engine.text_patterns import TEXT_PATTERN
from engine.validation import POSITIVE_MONEY_PATTERN, validate

POST_KINDS = ("disinfection", "sanitation", "community_service", "other")
POST_KIND_TITLES = {
    "disinfection": "消杀防疫", "sanitation": "保洁环卫", "community_service": "社区服务", "other": "其他",
}
POSTING_ROLES = ("clerk", "supervisor")


class Post(db.Model):
    """A temporary post (临时性岗位 / 公益性岗位). `filled` only changes through conditional UPDATEs."""

    __tablename__ = "posts"
    __table_args__ = (
        CheckConstraint("filled >= 0 AND filled <= slots", name="slots"),
        Index("ix_posts_region_status", "region", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    employer: Mapped[str] = mapped_column(String(100))  # employer or community (用工单位 / 社区)
    title: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(12))
    slots: Mapped[int] = mapped_column(Integer)
    filled: Mapped[int] = mapped_column(Integer, default=0)
    monthly_pay: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    work_place: Mapped[str | None] = mapped_column(String(100), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


def post_json(post: Post, today: date) -> dict[str, Any]:
    """A post as the API shows it: `status` is what it is on `today` (post_state), so a post past its end date
    reads `expired`, not `open` (stored as open: `expired` and `open` are both the open a PATCH sets)."""
    return {
        "id": post.id, "kind": post.kind, "kind_title": POST_KIND_TITLES.get(post.kind, post.kind),
        "employer": post.employer, "title": post.title, "region": post.region,
        "region_name": region_name(post.region), "slots": post.slots, "filled": post.filled,
        "free": post.slots - post.filled, "monthly_pay": money_text(post.monthly_pay),
        "start_date": post.start_date.isoformat(), "end_date": post.end_date.isoformat(),
        "status": post_state(post, today),
        "work_place": post.work_place, "description": post.description, "created_by": post.created_by,
        "created_at": post.created_at.astimezone(calendar.get_timezone()).isoformat(),
        "updated_at": post.updated_at.astimezone(calendar.get_timezone()).isoformat(),
    }


def post_state(post: Post, today: date) -> str:
    """What a post is on `today` (a local date), as the pages show it: `closed` (已关闭) when closed, `expired`
    (已期满) once its end date has passed (it takes no more referrals, engine/placements.py), else `open` (招用中)."""
    if post.status != "open":
        return "closed"
    return "expired" if post.end_date < today else "open"


_TEXT = {"type": "string", "minLength": 1, "pattern": TEXT_PATTERN}  # not blank, no control characters
POST_STATES = ("open", "expired", "closed")
POST_FIELDS: dict[str, dict] = {
    "title": {**_TEXT, "maxLength": 100, "title": "岗位名称"},
    "kind": {"type": "string", "enum": list(POST_KINDS), "title": "岗位类别", "x-enum-titles": POST_KIND_TITLES},
    "employer": {**_TEXT, "maxLength": 100, "title": "用工单位或社区"},
    "region": {"type": "string", "format": "region", "title": "行政区划代码"},
    "slots": {"type": "integer", "minimum": 1, "maximum": 100000, "title": "岗位数"},
    "monthly_pay": {"type": "string", "format": "money", "pattern": POSITIVE_MONEY_PATTERN, "title": "月工资（元）"},
    "start_date": {"type": "string", "format": "date", "title": "开始日期"},
    "end_date": {"type": "string", "format": "date", "title": "结束日期"},
    "work_place": {"type": ["string", "null"], "maxLength": 100, "title": "工作地点"},
    "description": {"type": ["string", "null"], "maxLength": 2000, "title": "岗位说明"},
}
CREATE_POST_SCHEMA = {
    "type": "object", "title": "新增临时性岗位", "properties": POST_FIELDS,
    # API.md's fields; `employer` is optional so a client sending exactly those is served.
    "required": ["title", "kind", "region", "slots", "monthly_pay", "start_date", "end_date"],
    "additionalProperties": False,
}
UPDATE_POST_SCHEMA = {
    "type": "object", "title": "修改临时性岗位",
    "properties": {**{k: v for k, v in POST_FIELDS.items() if k != "region"},
                   "status": {"type": "string", "enum": ["open", "closed"], "title": "状态",
                              "x-enum-titles": {"open": "招用中", "closed": "已关闭"}}},
    "additionalProperties": False, "minProperties": 1,
}


def may_post(actor: Actor) -> bool:
    """Clerks and supervisors (and administrators) manage the post catalogue."""
    return any(actor.has_role(r) for r in POSTING_ROLES)


def may_edit_post(actor: Actor, post: Post) -> bool:
    """Whether `actor` may change `post`: a post of their own region or below, not one of a bureau above that
    they may only read and offer (`readable`)."""
    return may_post(actor) and actor.covers(post.region)


def readable(actor: Actor):
    """The posts `actor` may read: those of their region and below, and those of the bureaus above it, which serve
    its seekers too (engine.placements.suggest_posts offers them)."""
    above = lineage(actor.region)[1:] if actor.scope else []
    own = region_filter(Post.region, actor)
    return or_(own, Post.region.in_(above)) if above else own


def _require_posting_role(actor: Actor) -> None:
    if not may_post(actor):
        raise Forbidden("只有经办人员或科室负责人可以管理岗位")


def _check_post_dates(start: date, end: date, today: date | None) -> None:
    """The period's rules; with `today`, also that the post has not ended already (a new or moved end date)."""
    months = int(rule_values().get("temp_post_max_months", 6))
    if end < start:
        raise DataInvalid({"end_date": "结束日期不能早于开始日期"})
    if today is not None and end < today:  # it could take nobody: no referral goes to an expired post
        raise DataInvalid({"end_date": "结束日期不能早于今天"})
    last = calendar.add_months(start, months) - timedelta(days=1)  # 15 Feb + 6 months: the last day is 14 Aug
    if end > last:
        raise DataInvalid({"end_date": f"临时性岗位期限最长 {months} 个月（最迟至 {last.isoformat()}）"})


def _apply(post: Post, body: dict[str, Any]) -> None:
    for key, value in body.items():
        if key in ("start_date", "end_date"):
            value = date.fromisoformat(value)
        elif key == "monthly_pay":
            value = money(value)
        setattr(post, key, value)


@transactional
def create_post(actor: Actor, body: Any, now: datetime) -> Post:
    _require_posting_role(actor)
    validate(CREATE_POST_SCHEMA, body)
    if not actor.covers(body["region"]):
        raise Forbidden("不能在您的辖区以外发布岗位")
    post = Post(filled=0, status="open", created_by=actor.username, created_at=now, updated_at=now)
    # Temporary public-welfare posts are developed by the local government unless an employer is named.
    post.employer = f"{region_name(body['region'])}人民政府"
    _apply(post, body)
    _check_post_dates(post.start_date, post.end_date, calendar.local_date(now))
    db.session.add(post)
    db.session.flush()
    return post


def post_in_scope(actor: Actor, post_id: int, *, to_edit: bool = False) -> Post:
    """The post if `actor` may read it (`readable`); with `to_edit`, only if they may change it (their own region
    and below): a post of a bureau above, which they can read, is Forbidden, not NotFound."""
    post = db.session.scalar(select(Post).where(Post.id == post_id, readable(actor)))
    if post is None:
        raise NotFound(f"岗位 {post_id} 不存在")
    if to_edit and not actor.covers(post.region):
        raise Forbidden("上级部门发布的岗位只能查看和推荐，不能修改")
    return post


@transactional
def update_post(actor: Actor, post_id: int, body: Any, now: datetime) -> Post:
    _require_posting_role(actor)
    validate(UPDATE_POST_SCHEMA, body, root="body")
    post = post_in_scope(actor, post_id, to_edit=True)
    dates = (post.start_date, post.end_date)
    _apply(post, body)
    # An expired post may still be edited or closed; only a new end date must not lie in the past.
    _check_post_dates(post.start_date, post.end_date,
                      calendar.local_date(now) if post.end_date != dates[1] else None)
    if post.filled and (post.start_date, post.end_date) != dates:
        # Referred and placed people hold letters and exit-review timers for these dates.
        raise DataInvalid({"end_date" if post.start_date == dates[0] else "start_date":
                           f"已有 {post.filled} 人被推荐或上岗，不能修改岗位期限"})
    if post.slots < post.filled:
        raise DataInvalid({"slots": f"岗位数不能少于已占用名额（{post.filled}）"})
    post.updated_at = now
    db.session.flush()  # the CHECK constraint catches a slot taken meanwhile (IntegrityError → Conflict)
    return post


def list_posts(actor: Actor, today: date, *, region: str | None = None, status: str | None = None,
               kind: str | None = None, page: int = 1, per_page: int = 50) -> tuple[list[Post], int]:
    """Posts `actor` may read; `status` is one of POST_STATES as post_state gives it on `today`."""
    query = select(Post).where(readable(actor))
    if region:
        query = query.where(Post.region.like(scope_prefix(region) + "%"))
    if status == "closed":
        query = query.where(Post.status != "open")
    elif status == "open":
        query = query.where(Post.status == "open", Post.end_date >= today)
    elif status == "expired":
        query = query.where(Post.status == "open", Post.end_date < today)
    if kind:
        query = query.where(Post.kind == kind)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.order_by(Post.start_date, Post.id).offset((page - 1) * per_page).limit(per_page))
    return list(rows), total
