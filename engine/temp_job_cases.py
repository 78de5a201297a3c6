"""The temp_job case itself: who may be registered (nobody under 16, one open case per person, the return-visit
ledger's worker linked to the case opened for them) and the case row's summary, with the parts of the 131 service
given and still owed. Referrals to posts and their slots are engine/placements.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, and_

from engine import calendar
from engine.db import db
from engine.models import Case
from engine.placements import PRIORITY_GROUP_TITLES, PROCESS, SERVICE_131_PARTS, LedgerWorker
from engine.posts import POST_KIND_TITLES
from engine.services.cases import OPEN_CASE_CHECKS, open_case_of_person
from engine.summaries import Projection, mask_id_number, summarizer
from engine.validation import MINIMUM_WORKING_AGE, DataInvalid, age_on

# ---------------------------------------------------------------------------------------------------------------
# Opening a case: one open temp_job case per person; a ledger worker links to the case opened for them.

def _check_open(case: Case, data: dict[str, Any], parsed, now: datetime) -> None:
    seeker = data.get("seeker") or {}
    id_number = (seeker.get("id_number") or "").upper()
    # 劳动法第十五条: nobody under 16 may be employed, so nobody under 16 is placed (the schema checked the number).
    if age_on(id_number, calendar.local_date(now)) < MINIMUM_WORKING_AGE:
        raise DataInvalid({"seeker.id_number":
                           "求职人员未满16周岁（按身份证号码中的出生日期），不得介绍就业（《劳动法》第十五条）"})
    other = open_case_of_person(case, id_number)
    if other:
        raise DataInvalid({"seeker.id_number": f"该求职人员已有在办案件 {other}"})
    worker_id = data.get("ledger_worker_id")
    if worker_id is None:
        return
    worker = db.session.get(LedgerWorker, worker_id)
    if worker is None or worker.region != case.region:
        raise DataInvalid({"ledger_worker_id": "回访台账中没有此人员（或不在本案区划）"})
    if worker.id_number != id_number:
        raise DataInvalid({"ledger_worker_id": "台账人员的身份证号与求职人员不符"})
    worker.case_number = case.number


OPEN_CASE_CHECKS.setdefault(PROCESS, []).append(_check_open)

# One open case per person also when two bureaus open one for them at the same moment: neither check above sees
# the other's uncommitted case (on PostgreSQL; each region numbers its cases apart, so nothing else orders them).
# The second then gets a conflict, and on retrying the check's message.
Index(
    "ux_cases_open_temp_job", Case.__table__.c.subject_id_number, unique=True,
    sqlite_where=and_(Case.__table__.c.process == PROCESS, Case.__table__.c.closed_at.is_(None)),
    postgresql_where=and_(Case.__table__.c.process == PROCESS, Case.__table__.c.closed_at.is_(None)),
)


# ---------------------------------------------------------------------------------------------------------------
# The case row's summary.

def service_131(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "career_guidance": {"date": data["guidance_date"], "content": data.get("guidance_content"),
                            "counsellor": data.get("counsellor")} if data.get("guidance_date") else None,
        "job_offers": data.get("offers") or None,
        "training": {"programme": data.get("training_programme"), "date": data["training_date"],
                     "provider": data.get("training_provider")} if data.get("training_date") else None,
    }


@summarizer(PROCESS)
def summarize_temp_job(data: dict[str, Any]) -> Projection:
    seeker = data.get("seeker") or {}
    given = service_131(data)
    status = data.get("status")
    post = data.get("post") if status in ("referred", "placed", "post_ended", "employed") else None
    if post:
        # The kind's title beside its code, as in the posts API (engine.posts.post_json).
        post = {**post, "kind_title": POST_KIND_TITLES.get(post.get("kind"), post.get("kind"))}
    group = seeker.get("priority_group")
    wishes = data.get("wishes", {})
    summary = {
        "seeker_name": seeker.get("name"),
        "seeker_id_number": mask_id_number(seeker.get("id_number")),
        "priority_group": group,
        "priority_group_title": PRIORITY_GROUP_TITLES.get(group, group) if group else None,
        "skills": data.get("skills", []),
        "wishes": wishes,
        # The wished kinds' titles beside their codes, for the case page (as `post.kind_title`).
        "wish_kind_titles": [POST_KIND_TITLES.get(k, k) for k in wishes.get("kinds") or []],
        "ledger_worker_id": data.get("ledger_worker_id"),
        "received_at": data.get("received_at"),
        "service_131": given,
        "service_131_owed": [part for part in SERVICE_131_PARTS if not given[part]],
        "market_outcome": data.get("market_outcome"),
        "employer": data.get("employer"),
        "post_id": post.get("id") if post else None,
        "post": post,
        "post_end_at": data.get("post_end_at") if post else None,
        "referred_at": data.get("referred_at") if post else None,
        "report_by": data.get("report_by") if status == "referred" else None,
        "placed": data.get("placed") if post else None,
        "exit_outcome": data.get("outcome"),
        "closed_reason": data.get("closed_reason"),
    }
    words = [seeker.get("name"), post.get("employer") if post else None, data.get("employer")]
    return Projection(
        summary=summary,
        search_text=" ".join(str(w) for w in words if w).lower(),
        subject_id_number=seeker.get("id_number"),
    )

