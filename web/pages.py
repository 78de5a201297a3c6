"""Pages for inspectors, clerks and supervisors: the queues and the case list (the case page is web/case_pages.py).
Thin views: parse, call the same engine service the JSON API calls, render. Every page works without JavaScript;
the BPMN diagram is the only thing drawn by a script. The intake forms (web/intake_pages.py) and the posts
catalogue (web/posts_pages.py) add their routes to the same `pages` blueprint; the template filters live in
web/formatting.py."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from engine import (
    calendar,
    clear_zero,
    dashboard,
    deadline_review,
    posts,
    regions,
    services,
)
from engine.actors import Actor, scope_prefix
from engine.db import db
from engine.errors import Conflict, Forbidden
from engine.models import User
from engine.services.tasks import count_tasks, task_actions
from engine.validation import REGION_MESSAGE, REGION_RE, DataInvalid
from web import labels, messages
from web.api import now
from web.auth import require_login, safe_local_url
from web.engine_texts import N_
from web.formatting import format_day, format_dt, format_money

bp = Blueprint("pages", __name__)
bp.add_app_template_filter(format_dt, "dt")
bp.add_app_template_filter(format_day, "day")
bp.add_app_template_filter(format_money, "money")

PER_PAGE = 25
QUEUE_VIEWS = ("mine", "unassigned", "overdue", "all")


bp.before_request(require_login)


def actor() -> Actor:
    return Actor.of(current_user)


@bp.app_context_processor
def _helpers():
    from web.auth import LANGUAGES

    signed_in = Actor.of(current_user) if current_user.is_authenticated else None
    supervises = signed_in is not None and dashboard.may_view(signed_in)
    return {
        **labels.TEMPLATE_HELPERS,
        "message": messages.message,
        "schema_text": messages.schema_text,
        # The menu offers what the engine would allow.
        "can_post": signed_in is not None and posts.may_post(signed_in),
        "can_view_dashboard": supervises,
        "languages": LANGUAGES,
        "current_locale": str(get_locale()),
        "region_name": regions.region_name,
        # Told to everyone signed in: inspectors and clerks state these deadlines in their notices (QA).
        "holidays_missing": calendar.years_without_holidays(calendar.local_date(now())) if signed_in else [],
        # Told to the same people: the campaign's dates are a yearly setting that is easy to forget.
        "earlier_campaign": clear_zero.earlier_winter_campaign(calendar.local_date(now())) if supervises else None,
        # Stated deadlines a holiday file loaded since puts on another day: a bureau must decide them again.
        "deadlines_to_review": deadline_review.count_to_review(signed_in) if supervises else 0,
    }


# ---------------------------------------------------------------------------------------------------------------
# Queues.

def int_arg(name: str, default: int, low: int = 1, high: int = 10**6) -> int:
    try:
        return min(max(int(request.args.get(name, default)), low), high)
    except ValueError:
        return default


def region_arg() -> str | None:
    """The ?region= filter, None when empty. Anything but a six-digit code is the 400 page naming it: showing the
    whole area under a filter that was not applied would mislead. (A code no longer in force still filters: rows
    written with it stay reachable; the engine's reads check it is within the user's area.)"""
    region = (request.args.get("region") or "").strip()
    if not region:
        return None
    if not REGION_RE.match(region):
        raise DataInvalid({"region": REGION_MESSAGE})
    return region


def _status_arg() -> str | None:
    status = request.args.get("status") or None
    return status if status in labels.STATUS_LABELS else None


def _process_arg() -> str | None:
    process = request.args.get("process") or None
    return process if process in labels.PROCESS_LABELS else None


def _page_of_tasks(who: Actor, at: datetime, descending: bool, page: int, **filters):
    """One page of `list_tasks` (most urgent first), or of the reverse order: the reverse page is cut from the
    (at most two) ascending pages that hold it, so both orders go through the same paginated service call."""
    if not descending:
        return services.list_tasks(who, now=at, page=page, per_page=PER_PAGE, **filters)
    total = count_tasks(who, now=at, **filters)
    end = total - (page - 1) * PER_PAGE
    if end <= 0:
        return [], total
    start = max(0, end - PER_PAGE)
    first, last = start // PER_PAGE + 1, (end - 1) // PER_PAGE + 1
    rows = []
    for p in range(first, last + 1):
        rows.extend(services.list_tasks(who, now=at, page=p, per_page=PER_PAGE, total=total, **filters)[0])
    offset = (first - 1) * PER_PAGE
    return list(reversed(rows[start - offset:end - offset])), total


def _preload_users(user_ids: set[int]) -> list:
    """Load the users a list shows in one query (no N+1): the rows' relationships then resolve from the session's
    identity map. The identity map holds objects weakly, so the caller keeps the returned list until the page is
    rendered."""
    return list(db.session.scalars(select(User).where(User.id.in_(user_ids)))) if user_ids else []


@bp.get("/")
def index():
    return queue()


@bp.get("/tasks")
def queue():
    who, at = actor(), now()
    view = request.args.get("view") or "mine"
    if view not in QUEUE_VIEWS:
        view = "mine"
    sort = "-due" if request.args.get("sort") == "-due" else "due"
    page = int_arg("page", 1)
    filters = {"process": _process_arg(), "region": region_arg(), "status": _status_arg()}
    view_filters = {
        "mine": {"assigned": "me"},
        "unassigned": {"assigned": "unassigned"},
        "overdue": {"assigned": "any", "overdue": True},
        "all": {"assigned": "any"},
    }
    rows, total = _page_of_tasks(who, at, sort == "-due", page, **filters, **view_filters[view])
    counts = {
        name: total if name == view else count_tasks(who, now=at, **filters, **view_filters[name])
        for name in ("mine", "unassigned", "overdue")
    }
    return render_template(
        "queue.html", tasks=rows, total=total, page=page, per_page=PER_PAGE, view=view,
        sort=sort, filters=filters, counts=counts, at=at, region_choices=region_choices(who),
        actions={t.id: task_actions(who, t) for t in rows},
    )


def region_choices(who: Actor) -> list[regions.Region]:
    prefix = scope_prefix(who.region or "")
    return [r for r in regions.REGIONS.values() if r.code.startswith(prefix)]



def _task_action(service, done: str, task_id: str):
    """Claim or release a task (`service` is the engine call), flash the outcome and go back to the queue."""
    try:
        task = service(actor(), task_id, now())
    except (Conflict, Forbidden) as exc:
        flash(messages.message(exc.message), "error")
    else:
        flash(_(done, task=labels.task_label(task.name, task.title), case=task.case.number), "success")
    return redirect(safe_local_url(request.form.get("next"), url_for("pages.queue")))


@bp.post("/tasks/<task_id>/claim")
def claim(task_id: str):
    return _task_action(services.claim_task, N_("已认领：%(task)s（%(case)s）"), task_id)


@bp.post("/tasks/<task_id>/release")
def release(task_id: str):
    return _task_action(services.release_task, N_("已退回：%(task)s（%(case)s）"), task_id)


# ---------------------------------------------------------------------------------------------------------------
# Cases.

@bp.get("/cases")
def cases():
    who, at = actor(), now()
    page = int_arg("page", 1)
    status = _status_arg()
    q = (request.args.get("q") or "").strip()[:100] or None
    overdue = request.args.get("overdue") in ("1", "true", "on")
    filters = {"process": _process_arg(), "status": status, "region": region_arg(), "overdue": overdue, "q": q}
    rows, total = services.list_cases(who, now=at, page=page, per_page=PER_PAGE, **filters)
    return render_template("cases.html", cases=rows, total=total, page=page,
                           per_page=PER_PAGE, filters=filters, at=at, region_choices=region_choices(who))


# ---------------------------------------------------------------------------------------------------------------
# Deadlines a holiday file loaded since puts on another day (engine/deadline_review.py).

@bp.get("/deadlines-to-review")
def deadlines_to_review():
    signed_in = actor()
    if not dashboard.may_view(signed_in):
        abort(403)
    return render_template("deadlines_to_review.html", rows=deadline_review.to_review(signed_in))


# The intake forms, the posts catalogue and the benefit payments register their routes on `bp`.
from web import (  # noqa: E402, F401
    benefit_pages,
    case_pages,
    intake_pages,
    ledger_pages,
    posts_pages,
    rules_pages,
)

