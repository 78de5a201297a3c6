"""The return-visit ledger (回访台账, 楚应疫指就组〔2021〕1号 section 4): import from Excel, listing, and bulk
`temp_job` cases for unemployed workers who want work. The three lists and the 131 report as Excel are in
engine/ledger_export.py.

Import is one pass over the sheet (openpyxl read-only mode streams rows, so memory stays flat) inside one
transaction: every row is validated, good rows are upserted by (ID number, region) in batches
(INSERT ... ON CONFLICT DO UPDATE on SQLite and PostgreSQL), and if any row is bad the transaction is rolled back
and every bad row is reported by row number and field: nothing of a bad file is imported.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import IO, Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import func, select
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from engine.actors import Actor, region_filter, scope_prefix
from engine.db import db
from engine.errors import DataInvalid, Forbidden, NotFound
from engine.placements import PRIORITY_GROUPS, LedgerWorker
from engine.regions import region_name
from engine.services._common import transactional
from engine.summaries import mask_id_number, money_text
from engine.validation import PHONE_RE, REGION_RE

# ---------------------------------------------------------------------------------------------------------------
# Columns of the ledger, in the notice's order: key, header, kind, required, max length.


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: str  # text | id | phone | money | bool | date
    required: bool = False
    max_length: int = 0
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", "text", True, 50),
    Column("id_number", "身份证号码", "id", True, aliases=("公民身份号码", "身份证号")),
    Column("phone", "联系电话", "phone", True, aliases=("电话", "手机号码")),
    Column("work_place", "就业地点", "text", False, 100, ("务工地点",)),
    Column("employer", "务工企业", "text", False, 100, ("就业单位", "用工单位")),
    Column("job", "就业岗位", "text", False, 50, ("岗位",)),
    Column("wage", "工资收入（元/月）", "money", False, aliases=("工资收入", "月工资")),
    Column("going_home", "是否返乡", "bool", True),
    Column("home_date", "返乡时间", "date", False, aliases=("返乡日期",)),
    Column("travel_mode", "出行方式", "text", False, 20),
    Column("travel_number", "车牌号/航班号/列车号", "text", False, 50, ("车次航班号", "车牌号、航班号、列车号")),
    Column("wish_to_return", "返岗意愿", "bool", False, aliases=("是否有返岗意愿", "就业意愿")),
    Column("employed", "是否就业", "bool", True, aliases=("是否已就业",)),
    Column("unemployed_reason", "未就业原因", "text", False, 200),
    Column("training_wish", "培训意愿", "text", False, 200),
)
BY_KEY = {c.key: c for c in COLUMNS}
YES = {"是", "有", "y", "yes", "true", "1", "√", "✓"}
NO = {"否", "无", "n", "no", "false", "0", "×", "✗"}
MAX_REPORTED_ERRORS = 1000
BATCH_SIZE = 1000
XLSX_TYPES = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/octet-stream")
_DATE_TEXT = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")


def _normalise_header(value: Any) -> str:
    text = str(value or "").strip().replace("(", "（").replace(")", "）").replace(" ", "")
    return text


_HEADER_INDEX: dict[str, str] = {}
for _c in COLUMNS:
    for _name in (_c.title, _c.key, *_c.aliases):
        _HEADER_INDEX[_normalise_header(_name)] = _c.key


@dataclass
class RowError:
    row: int
    field: str
    title: str
    message: str

    def json(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "title": self.title, "message": self.message}

    def __str__(self) -> str:
        return f"第{self.row}行 {self.title}（{self.field}）：{self.message}"


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
# Reading and validating.

def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


@lru_cache(maxsize=8192)
def _birth_place_known(prefix: str, year: int) -> bool:
    """python-stdnum's place-of-birth check (a lookup in its division database, the slow part of ric.validate),
    cached per (division code, birth year): a ledger has few of each."""
    try:
        ric.get_birth_place(f"{prefix}{year:04d}01010000")
    except StdnumError:
        return False
    return True


def is_valid_ric(text: str) -> bool:
    """Exactly `stdnum.cn.ric.validate` (length, digits, check digit, birth date, place of birth), faster on many
    rows because the place lookup is cached."""
    if len(text) != 18 or not (text.isascii() and text[:17].isdigit()) or text[17] != ric.calc_check_digit(text):
        return False
    try:
        born = ric.get_birth_date(text)
    except StdnumError:
        return False
    return _birth_place_known(text[:6], born.year)


def parse_cell(column: Column, value: Any) -> tuple[Any, str | None]:
    """(parsed value, None) or (None, message) for one cell."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, ("必填" if column.required else None)
    kind = column.kind
    if kind == "text":
        text = _text(value)
        if column.max_length and len(text) > column.max_length:
            return None, f"最多 {column.max_length} 个字符"
        return text, None
    if kind == "id":
        text = _text(value).upper()
        if not is_valid_ric(text):
            return None, "身份证号码无效（18位，校验位不符）"
        return text, None
    if kind == "phone":
        text = _text(value).replace(" ", "")
        if not PHONE_RE.match(text):
            return None, "电话号码无效"
        return text, None
    if kind == "money":
        if isinstance(value, bool):
            return None, "须为金额（元，最多两位小数）"
        text = str(value) if isinstance(value, (int, float)) else _text(value).replace(",", "")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            return None, "须为金额（元，最多两位小数）"
        if not amount.is_finite() or amount < 0 or amount >= Decimal("1e10") or amount != amount.quantize(
                Decimal("0.01")):
            return None, "须为金额（元，最多两位小数）"
        return amount.quantize(Decimal("0.01")), None
    if kind == "bool":
        if isinstance(value, bool):
            return value, None
        text = _text(value).lower()
        if text in YES:
            return True, None
        if text in NO:
            return False, None
        return None, "须为“是”或“否”"
    if kind == "date":
        if isinstance(value, datetime):
            return value.date(), None
        if isinstance(value, date):
            return value, None
        match = _DATE_TEXT.match(_text(value))
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3])), None
            except ValueError:
                pass
        return None, "日期格式须为 YYYY-MM-DD"
    raise ValueError(kind)  # a programming error: an unknown column kind


def validate_row(values: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Parse one row's raw cells by column key; returns the parsed row and (field, message) errors."""
    parsed: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    for column in COLUMNS:
        value, problem = parse_cell(column, values.get(column.key))
        if problem:
            errors.append((column.key, problem))
        parsed[column.key] = value
    # Rules between columns (the notice: when and how they go home; why the unemployed are not working).
    if parsed.get("going_home") and parsed.get("home_date") is None and "home_date" not in dict(errors):
        errors.append(("home_date", "返乡人员须填写返乡时间"))
    if parsed.get("employed") is False and not parsed.get("unemployed_reason"):
        errors.append(("unemployed_reason", "未就业人员须填写未就业原因"))
    return parsed, errors


def _open_workbook(source: str | IO[bytes]):
    try:
        return load_workbook(source, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError) as exc:
        raise DataInvalid({"file": "不是有效的 Excel（.xlsx）文件"}) from exc


def read_rows(source: str | IO[bytes]) -> Iterator[tuple[int, dict[str, Any] | None, list[RowError]]]:
    """Stream (row number, raw cells by key, header errors) for every non-blank data row of the first sheet.
    The header is the first non-blank row; its problems come back once, with row None."""
    workbook = _open_workbook(source)
    try:
        sheet = workbook.worksheets[0]
        columns: list[str | None] | None = None
        for number, row in enumerate(sheet.iter_rows(values_only=True), 1):
            if not row or all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
                continue
            if columns is None:
                columns = [_HEADER_INDEX.get(_normalise_header(v)) for v in row]
                missing = [c for c in COLUMNS if c.required and c.key not in columns]
                if missing:
                    yield number, None, [RowError(number, c.key, c.title, f"缺少“{c.title}”列") for c in missing]
                    return
                continue
            yield number, {key: value for key, value in zip(columns, row, strict=False) if key}, []
        if columns is None:
            yield 0, None, [RowError(0, "file", "文件", "工作表为空：第一行须为列名（姓名、身份证号码……）")]
    finally:
        workbook.close()


# ---------------------------------------------------------------------------------------------------------------
# Importing.

def _upsert(rows: list[dict[str, Any]]) -> None:
    table = LedgerWorker.__table__
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(table)
    keep = {"id", "created_at", "case_number", "region", "id_number"}
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.id_number, table.c.region],
        set_={c.name: statement.excluded[c.name] for c in table.columns if c.name not in keep},
    )
    db.session.execute(statement, rows)


def _import_region(actor: Actor, region: str | None) -> str:
    region = region or actor.region
    if not isinstance(region, str) or not REGION_RE.match(region):
        raise DataInvalid({"region": "行政区划代码须为6位数字"})
    if not actor.covers(region):
        raise Forbidden("不能导入您辖区以外的台账")
    return region


def _require_ledger_role(actor: Actor) -> None:
    if not any(actor.has_role(r) for r in ("clerk", "supervisor")):
        raise Forbidden("只有经办人员或科室负责人可以管理回访台账")


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
                _upsert(batch)
                batch.clear()
        if progress and result.rows % batch_size == 0:
            progress(result.rows)
    if total_errors:
        raise LedgerInvalid(errors, total_errors)
    if batch:
        _upsert(batch)
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
    query = select(LedgerWorker).where(region_filter(LedgerWorker.region, actor))
    if region:
        if not REGION_RE.match(region):
            raise DataInvalid({"region": "行政区划代码须为6位数字"})
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
        query = query.where(LedgerWorker.name.like(f"%{q.strip()}%"))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.order_by(LedgerWorker.region, LedgerWorker.id)
                              .offset((page - 1) * per_page).limit(per_page))
    return list(rows), total


# ---------------------------------------------------------------------------------------------------------------
# Bulk temp_job cases for unemployed workers who want work.

def create_cases(actor: Actor, now: datetime, *, region: str | None = None,
                 priority_group: str = "returning_migrant", limit: int = 1000) -> dict[str, Any]:
    """Open a `temp_job` case (its own transaction each) for every worker in scope who is not employed, wants to
    work (返岗意愿 = 是) and has no case yet. Returns the numbers opened and the workers skipped, with why."""
    from engine.services.cases import open_case

    _require_ledger_role(actor)
    if priority_group not in PRIORITY_GROUPS + ("other",):
        raise DataInvalid({"priority_group": "取值应为 " + " | ".join(PRIORITY_GROUPS + ("other",))})
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10000:
        raise DataInvalid({"limit": "须为 1 到 10000 之间的整数"})
    ids = list(db.session.scalars(
        workers_in_scope(actor, region).with_only_columns(LedgerWorker.id)
        .where(LedgerWorker.employed.is_(False), LedgerWorker.wish_to_return.is_(True),
               LedgerWorker.case_number.is_(None))
        .order_by(LedgerWorker.id).limit(limit)
    ))
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
    return {"opened": opened, "skipped": skipped}
