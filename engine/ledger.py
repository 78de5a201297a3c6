"""The return-visit ledger (回访台账, 楚应疫指就组〔2021〕1号 section 4): import from Excel, listing, and bulk
`temp_job` cases for unemployed workers who want work. The three lists and the 131 report as Excel are in
engine/ledger_export.py; the sheet's columns and the validation of its cells in engine/ledger_sheet.py.

Import is one pass over the sheet (streamed, so memory stays flat) inside one transaction: every row is validated,
good rows are upserted by (ID number, region) in batches (INSERT ... ON CONFLICT DO UPDATE on SQLite and
PostgreSQL), and if any row is bad the transaction is rolled back and every bad row is reported by row number and
field: nothing of a bad file is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from sqlalchemy import func, select

from engine.actors import Actor, region_filter, scope_prefix
from engine.db import db, like_escape, upsert
from engine.errors import DataInvalid, Forbidden, NotFound
from engine.ledger_sheet import BY_KEY, RowError, read_rows, validate_row
from engine.placements import PRIORITY_GROUPS, LedgerWorker
from engine.regions import region_name
from engine.services._common import transactional
from engine.summaries import mask_id_number, money_text
from engine.validation import REGION_MESSAGE, REGION_RE, is_region

MAX_REPORTED_ERRORS = 1000
# Kept when a worker is imported again: when their row was created and the case opened for them.
_KEEP = ("created_at", "case_number")
BATCH_SIZE = 1000


class LedgerInvalid(DataInvalid):
    """The file has bad rows (or no usable header); nothing was imported."""

    def __init__(self, errors: list[RowError], total: int, message: str = "台账数据校验未通过，未导入任何数据"):
        fields = {}
        for e in errors:
            fields.setdefault(f"row{e.row}.{e.field}" if e.row else e.field, f"第{e.row}行：{e.message}"
                              if e.row else e.message)
        super().__init__(fields, f"{message}（共 {total} 处错误）")
        self.errors = errors
        self.total = total


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    region: str = ""
    cases: dict[str, Any] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        body = {"rows": self.rows, "created": self.created, "updated": self.updated, "region": self.region}
        if self.cases:
            body["cases"] = self.cases
        return body


# ---------------------------------------------------------------------------------------------------------------
# Importing.

def _import_region(actor: Actor, region: str | None) -> str:
    region = region or actor.region
    if not is_region(region):
        raise DataInvalid({"region": REGION_MESSAGE})
    if not actor.covers(region):
        raise Forbidden("不能导入您辖区以外的台账")
    return region


def may_use_ledger(actor: Actor) -> bool:
    """Clerks and supervisors (and administrators): the ledger names people with their phones and employers."""
    return any(actor.has_role(r) for r in ("clerk", "supervisor"))


def _require_ledger_role(actor: Actor, message: str = "只有经办人员或科室负责人可以管理回访台账") -> None:
    if not may_use_ledger(actor):
        raise Forbidden(message)


NO_DATA_ROWS = "台账只有列名，没有人员：列名下每行填写一人"


@transactional
def import_ledger(actor: Actor, source: str | IO[bytes], region: str | None, now: datetime, *,
                  progress: Callable[[int], None] | None = None, batch_size: int = BATCH_SIZE) -> ImportResult:
    """Import a ledger file for `region` (default: the actor's). All rows or none: raises LedgerInvalid naming
    every bad row (up to MAX_REPORTED_ERRORS) and field; `progress(rows_read)` is called after every batch."""
    _require_ledger_role(actor)
    region = _import_region(actor, region)
    before = db.session.scalar(select(func.count()).select_from(LedgerWorker).where(LedgerWorker.region == region))
    errors: list[RowError] = []
    total_errors = 0
    seen: dict[str, int] = {}
    batch: list[dict[str, Any]] = []
    result = ImportResult(region=region)
    for number, raw, header_errors in read_rows(source):
        if header_errors:
            raise LedgerInvalid(header_errors, len(header_errors), "台账表头不正确，未导入任何数据")
        parsed, problems = validate_row(raw)
        id_number = parsed.get("id_number")
        if id_number:
            first = seen.setdefault(id_number, number)
            if first != number:
                problems.append(("id_number", f"与第{first}行的身份证号码重复"))
        if problems:
            total_errors += len(problems)
            for key, message in problems:
                if len(errors) < MAX_REPORTED_ERRORS:
                    errors.append(RowError(number, key, BY_KEY[key].title, message))
        result.rows += 1
        if not total_errors:  # after the first bad row, keep validating (to name them all) but write nothing
            parsed.update(region=region, created_at=now, updated_at=now, case_number=None)
            batch.append(parsed)
            if len(batch) >= batch_size:
                upsert(LedgerWorker.__table__, batch, ("id_number", "region"), keep=_KEEP)
                batch.clear()
        if progress and result.rows % batch_size == 0:
            progress(result.rows)
    if total_errors:
        raise LedgerInvalid(errors, total_errors)
    if not result.rows:  # a header alone: "0 rows imported" would read as success
        raise LedgerInvalid([RowError(0, "file", "文件", NO_DATA_ROWS)], 1, NO_DATA_ROWS)
    if batch:
        upsert(LedgerWorker.__table__, batch, ("id_number", "region"), keep=_KEEP)
    if progress and result.rows % batch_size:
        progress(result.rows)
    after = db.session.scalar(select(func.count()).select_from(LedgerWorker).where(LedgerWorker.region == region))
    result.created = after - before
    result.updated = result.rows - result.created
    return result


# ---------------------------------------------------------------------------------------------------------------
# Reading the ledger, the three lists.

LISTS: dict[str, tuple[str, Any]] = {
    "going_home": ("春节返乡人员清单", lambda: LedgerWorker.going_home.is_(True)),
    "returning": ("返岗人员清单", lambda: LedgerWorker.wish_to_return.is_(True)),
    "unemployed": ("未就业人员清单", lambda: LedgerWorker.employed.is_(False)),
}


def worker_json(worker: LedgerWorker) -> dict[str, Any]:
    """A worker for lists: the ID number masked."""
    return {
        "id": worker.id, "region": worker.region, "region_name": region_name(worker.region), "name": worker.name,
        "id_number": mask_id_number(worker.id_number), "phone": worker.phone, "work_place": worker.work_place,
        "employer": worker.employer, "job": worker.job, "wage": money_text(worker.wage),
        "going_home": worker.going_home, "home_date": worker.home_date.isoformat() if worker.home_date else None,
        "travel_mode": worker.travel_mode, "travel_number": worker.travel_number,
        "wish_to_return": worker.wish_to_return, "employed": worker.employed,
        "unemployed_reason": worker.unemployed_reason, "training_wish": worker.training_wish,
        "case_number": worker.case_number,
    }


def workers_in_scope(actor: Actor, region: str | None):
    """The ledger's workers `actor` may read, as a query: every reader (lists, exports, bulk cases) starts here,
    so the role check is here too."""
    _require_ledger_role(actor, "只有经办人员或科室负责人可以查看回访台账")
    query = select(LedgerWorker).where(region_filter(LedgerWorker.region, actor))
    if region:
        if not REGION_RE.match(region):  # a filter: an old code still finds its rows; scope decides
            raise DataInvalid({"region": REGION_MESSAGE})
        if not scope_prefix(region).startswith(actor.scope):
            raise NotFound(f"区划 {region} 不在您的辖区内")
        query = query.where(LedgerWorker.region.like(scope_prefix(region) + "%"))
    return query


def list_workers(actor: Actor, *, region: str | None = None, which: str | None = None, q: str | None = None,
                 page: int = 1, per_page: int = 50) -> tuple[list[LedgerWorker], int]:
    query = workers_in_scope(actor, region)
    if which:
        if which not in LISTS:
            raise DataInvalid({"list": "取值应为 " + " | ".join(LISTS)})
        query = query.where(LISTS[which][1]())
    if q:
        query = query.where(LedgerWorker.name.like(f"%{like_escape(q.strip())}%", escape="\\"))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.order_by(LedgerWorker.region, LedgerWorker.id)
                              .offset((page - 1) * per_page).limit(per_page))
    return list(rows), total


# ---------------------------------------------------------------------------------------------------------------
# Bulk temp_job cases for unemployed workers who want work.

def priority_group_of(value: str | None) -> str:
    """The priority group new temp_job cases are opened under (default: returning migrant workers), checked."""
    group = value or "returning_migrant"
    if group not in PRIORITY_GROUPS + ("other",):
        raise DataInvalid({"priority_group": "取值应为 " + " | ".join(PRIORITY_GROUPS + ("other",))})
    return group


def create_cases(actor: Actor, now: datetime, *, region: str | None = None,
                 priority_group: str | None = None, limit: int = 1000) -> dict[str, Any]:
    """Open a `temp_job` case (its own transaction each) for every worker in scope who is not employed, wants to
    work (返岗意愿 = 是) and has no case yet, `limit` at a time. Returns the numbers opened, the workers skipped with
    why, and how many still wait past the limit (`remaining`)."""
    from engine.services.cases import open_case

    _require_ledger_role(actor)
    priority_group = priority_group_of(priority_group)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10000:
        raise DataInvalid({"limit": "须为 1 到 10000 之间的整数"})
    waiting = (workers_in_scope(actor, region).with_only_columns(LedgerWorker.id)
               .where(LedgerWorker.employed.is_(False), LedgerWorker.wish_to_return.is_(True),
                      LedgerWorker.case_number.is_(None)))
    ids = list(db.session.scalars(waiting.order_by(LedgerWorker.id).limit(limit)))
    # Those past the limit wait for the next run: said, not left unmentioned.
    remaining = max((db.session.scalar(select(func.count()).select_from(waiting.subquery())) or 0) - len(ids), 0)
    db.session.rollback()
    opened: list[str] = []
    skipped: list[dict[str, Any]] = []
    for worker_id in ids:
        worker = db.session.get(LedgerWorker, worker_id)
        wishes: dict[str, Any] = {}
        if worker.training_wish:
            wishes["training_wish"] = worker.training_wish[:200]
        if worker.unemployed_reason:
            wishes["note"] = f"未就业原因：{worker.unemployed_reason}"[:500]
        data = {
            "seeker": {"name": worker.name, "id_number": worker.id_number, "phone": worker.phone,
                       "priority_group": priority_group},
            "wishes": wishes,
            "ledger_worker_id": worker.id,
        }
        try:
            case = open_case(actor, "temp_job", worker.region, data, now)
        except DataInvalid as exc:
            skipped.append({"worker_id": worker_id, "name": worker.name, "reason": "；".join(exc.fields.values())})
            continue
        opened.append(case.number)
    return {"opened": opened, "skipped": skipped, "remaining": remaining}
