"""The administrator's official holiday files (engine/holidays/README.md): a CSV of ``date,kind,name`` per year that
chinese_calendar does not know, parsed and checked here; engine.calendar registers the days."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from os import PathLike
from pathlib import Path

from engine.textfiles import decode_text
from engine.validation import DataInvalid

HOLIDAY = "holiday"
WORKDAY = "workday"
_KINDS = {HOLIDAY: False, WORKDAY: True}
_HEADER = ["date", "kind", "name"]
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


class HolidayFileError(ValueError):
    """A holiday file is malformed; nothing from it was registered."""

    def __init__(self, path: str | PathLike[str], line: int, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        super().__init__(f"{self.path}, line {line}: {problem}")


@dataclass(frozen=True)
class HolidayEntry:
    day: date
    working: bool
    name: str


def parse_holiday_file(path: Path) -> list[HolidayEntry]:
    """Every day of a holiday CSV file (header ``date,kind,name``), each row checked; HolidayFileError names the
    first bad line."""
    try:
        # UTF-8 (with Excel's byte-order mark or without) or GBK, what Chinese Excel saves as plain "CSV".
        text = decode_text(path.read_bytes(), path.name)
    except DataInvalid as exc:
        raise HolidayFileError(path, 1, "not UTF-8 or GBK (GB18030) text; save it as \"CSV UTF-8\"") from exc

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    entries: list[HolidayEntry] = []
    seen: dict[date, int] = {}
    header_seen = False
    try:
        for row in reader:
            line = reader.line_num
            cells = [cell.strip() for cell in row]
            if not any(cells) or cells[0].startswith("#"):
                continue  # blank line or comment
            if not header_seen:
                if [c.lower() for c in cells] != _HEADER:
                    raise HolidayFileError(path, line, f"header must be 'date,kind,name', found {','.join(row)!r}")
                header_seen = True
                continue
            entry = _parse_row(path, line, cells)
            if entry.day in seen:
                raise HolidayFileError(path, line, f"date {entry.day} already listed on line {seen[entry.day]}")
            seen[entry.day] = line
            entries.append(entry)
    except csv.Error as exc:
        raise HolidayFileError(path, reader.line_num, f"malformed CSV: {exc}") from exc
    if not header_seen:
        raise HolidayFileError(path, 1, "empty file: expected the header 'date,kind,name'")
    return entries


def _parse_row(path: Path, line: int, cells: list[str]) -> HolidayEntry:
    if len(cells) != 3:
        raise HolidayFileError(path, line, f"expected 3 columns (date,kind,name), found {len(cells)}")
    raw_date, kind, name = cells
    if not _DATE_RE.fullmatch(raw_date):
        raise HolidayFileError(path, line, f"bad date {raw_date!r}: expected YYYY-MM-DD")
    try:
        day = date.fromisoformat(raw_date)
    except ValueError as exc:
        raise HolidayFileError(path, line, f"bad date {raw_date!r}: {exc}") from exc
    if kind not in _KINDS:
        raise HolidayFileError(path, line, f"unknown kind {kind!r}: expected 'holiday' or 'workday'")
    if not name:
        raise HolidayFileError(path, line, "missing name (e.g. 春节 or 春节调休上班)")
    return HolidayEntry(day=day, working=_KINDS[kind], name=name)
