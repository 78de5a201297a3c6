"""The return-visit ledger's sheet (回访台账, 楚应疫指就组〔2021〕1号 section 4): its columns in the notice's order,
the parsing and validation of each cell and row, and streaming rows from an .xlsx file (openpyxl read-only mode,
so memory stays flat). No database: engine/ledger.py imports what this reads."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from itertools import zip_longest
from typing import IO, Any
from xml.etree.ElementTree import ParseError

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from engine.errors import DataInvalid
from engine.validation import PHONE_RE, is_valid_ric

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



# ---------------------------------------------------------------------------------------------------------------
# Reading and validating.

def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


class FormulaWithoutValue(str):
    """A cell holding a formula the file has no computed value for (written by a program, never opened and saved in
    Excel): read as empty it would drop what the formula stands for without a word."""


FORMULA_WITHOUT_VALUE = "公式没有计算结果：请在 Excel 中打开并保存后重新上传，或将公式粘贴为数值"


def parse_cell(column: Column, value: Any) -> tuple[Any, str | None]:
    """(parsed value, None) or (None, message) for one cell."""
    if isinstance(value, FormulaWithoutValue):
        return None, FORMULA_WITHOUT_VALUE
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
    # Rules between columns (the notice: when and how they go home; why the unemployed are not working), skipped
    # for a cell that already failed: one problem per cell, not "missing" beside "too long".
    failed = {key for key, _ in errors}
    if parsed.get("going_home") and parsed.get("home_date") is None and "home_date" not in failed:
        errors.append(("home_date", "返乡人员须填写返乡时间"))
    if parsed.get("employed") is False and not parsed.get("unemployed_reason") and "unemployed_reason" not in failed:
        errors.append(("unemployed_reason", "未就业人员须填写未就业原因"))
    return parsed, errors


# How much of a sheet is read. A sheet's used area can reach column XFD and row 1,048,576 through one stray cell;
# only the header's columns are read, and a ledger past MAX_DATA_ROWS people is refused, not worked through.
HEADER_ROWS = 5  # non-blank rows the header is looked for in: templates put a title (and a date line) above it
HEADER_COLUMNS = 100  # columns the header is looked for in
MAX_DATA_ROWS = 100_000  # people per file: a county's ledger; a larger one is split (by township)
EMPTY_SHEET = "工作表为空：第一行须为列名（姓名、身份证号码……）"
NO_HEADER = "找不到列名行：前5行中没有一行含有“姓名”“身份证号码”“联系电话”“是否返乡”“是否就业”等列名"
_REQUIRED = tuple(c for c in COLUMNS if c.required)
# A formula element (`<f>`, `<f t="shared" ...>`, `<x:f/>`) in a worksheet's XML; text there is escaped, so a
# literal "<f" is always a tag.
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")


def too_many_rows(limit: int) -> str:
    return f"台账超过 {limit} 行，未导入任何数据：请分成多个文件导入（例如按乡镇）"


NOT_XLSX = "不是有效的 Excel（.xlsx）文件"
# An .xlsx is a zip of XML parts. openpyxl streams a sheet's rows but holds the shared strings in memory, and only
# the upload's packed size is limited: a 2 MB upload of one string repeated unpacked to 1.7 GB of memory. A real
# ledger packs 5 to 15 times (100,000 rows: 6 MB packed, 82 MB unpacked); a part that unpacks beyond these is no
# ledger. Each part's unpacked size is bounded by what its header declares (zipfile reads no further).
MAX_PACKING_RATIO = 50  # for parts above PACKING_CHECKED_FROM bytes unpacked (small XML packs far better)
PACKING_CHECKED_FROM = 1 << 20
MAX_SHARED_STRINGS_BYTES = 64 << 20
TOO_LARGE_UNPACKED = "Excel 文件解压后异常庞大（{part}），不是正常的回访台账"


def _check_packing(source: str | IO[bytes]) -> None:
    """Refuse an archive whose parts unpack far beyond what a ledger does (a decompression bomb), before parsing."""
    try:
        with zipfile.ZipFile(source) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DataInvalid({"file": NOT_XLSX}) from exc
    for part in parts:
        shared_strings = part.filename.lower().endswith("sharedstrings.xml")
        if ((part.file_size > PACKING_CHECKED_FROM
             and part.file_size > MAX_PACKING_RATIO * max(part.compress_size, 1))
                or (shared_strings and part.file_size > MAX_SHARED_STRINGS_BYTES)):
            raise DataInvalid({"file": TOO_LARGE_UNPACKED.format(part=part.filename)})


def _open_workbook(source: str | IO[bytes], *, formulas: bool = False):
    """The workbook with each formula's computed value as the file stores it, or with `formulas` the formulas."""
    if not isinstance(source, str):
        source.seek(0)
    _check_packing(source)
    if not isinstance(source, str):
        source.seek(0)  # read again by openpyxl (and a second time for the formulas)
    try:
        return load_workbook(source, read_only=True, data_only=not formulas)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError, ParseError) as exc:
        raise DataInvalid({"file": NOT_XLSX}) from exc


def _has_formulas(sheet: Any) -> bool:
    """Whether the sheet's XML holds a formula: a scan of the raw bytes, a fraction of a parse, so a sheet without
    formulas (most ledgers) is parsed once, not twice. True when the part cannot be scanned."""
    try:
        part = sheet._get_source()  # openpyxl's read-only sheet: its XML part in the archive
    except (AttributeError, KeyError, OSError):
        return True
    with part:
        tail = b""
        while chunk := part.read(1 << 20):
            if _FORMULA_TAG.search(tail + chunk):
                return True
            tail = chunk[-64:]  # a tag cut between two chunks
    return False


def _with_formulas(values: tuple, formulas: tuple) -> tuple:
    """`values` with every empty cell whose formula has no stored result marked FormulaWithoutValue."""
    return tuple(FormulaWithoutValue(formula) if value is None and isinstance(formula, str) and formula.startswith("=")
                 else value for value, formula in zip_longest(values, formulas[:len(values)]))


def _blank(row: tuple) -> bool:
    # Most blank rows are all None (rows missing from the file): counted in C before looking at each cell.
    return row.count(None) == len(row) or all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


def _find_header(sheet: Any) -> tuple[int, list[str | None]] | list[RowError]:
    """(row number, column key per column up to the last known one) of the first row among the first HEADER_ROWS
    non-blank ones naming every required column; else the errors to report."""
    best: tuple[int, int, list[str | None]] | None = None  # (known columns, row number, keys)
    first = 0
    seen = 0
    rows = sheet.iter_rows(max_col=HEADER_COLUMNS, values_only=True)
    try:
        for number, row in enumerate(rows, 1):
            if _blank(row):
                continue
            first = first or number
            columns = [_HEADER_INDEX.get(_normalise_header(v)) for v in row]
            known = {key for key in columns if key}
            if all(c.key in known for c in _REQUIRED):
                last = max(i for i, key in enumerate(columns) if key)
                return number, columns[:last + 1]
            if known and (best is None or len(known) > best[0]):
                best = (len(known), number, columns)
            seen += 1
            if seen == HEADER_ROWS:
                break
    finally:
        rows.close()  # the sheet's XML stays open until its generator ends
    if best is not None:  # the likeliest header, and what it lacks
        _, number, columns = best
        return [RowError(number, c.key, c.title, f"缺少“{c.title}”列") for c in _REQUIRED if c.key not in columns]
    return [RowError(0, "file", "文件", NO_HEADER if first else EMPTY_SHEET)]


def read_rows(source: str | IO[bytes]) -> Iterator[tuple[int, dict[str, Any] | None, list[RowError]]]:
    """Stream (row number, raw cells by key, header errors) for every non-blank data row of the first sheet.
    The header is the first of the first HEADER_ROWS non-blank rows that names the required columns; its problems
    come back once, with row None. Only the header's columns are read. DataInvalid past MAX_DATA_ROWS rows."""
    limit = MAX_DATA_ROWS
    workbook = _open_workbook(source)
    formula_book = None
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # the <dimension> a file states may be wrong either way: read the rows it has
        header = _find_header(sheet)
        if isinstance(header, list):
            yield header[0].row, None, header
            return
        header_row, columns = header
        width = len(columns)
        rows: Iterator[tuple] = sheet.iter_rows(min_row=header_row + 1, max_col=width, values_only=True)
        if _has_formulas(sheet):
            formula_book = _open_workbook(source, formulas=True)
            formula_sheet = formula_book.worksheets[0]
            formula_sheet.reset_dimensions()
            formulas = formula_sheet.iter_rows(min_row=header_row + 1, max_col=width, values_only=True)
            rows = (_with_formulas(v, f) for v, f in zip(rows, formulas, strict=False))
        people = 0
        for number, row in enumerate(rows, header_row + 1):
            if _blank(row):
                continue
            people += 1
            if people > limit:
                raise DataInvalid({"file": too_many_rows(limit)})
            yield number, {key: value for key, value in zip(columns, row, strict=False) if key}, []
    except ParseError as exc:  # a sheet's XML broken or hostile (entities), met while streaming its rows
        raise DataInvalid({"file": NOT_XLSX}) from exc
    finally:
        workbook.close()
        if formula_book is not None:
            formula_book.close()
