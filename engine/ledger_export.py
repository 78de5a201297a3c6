"""The return-visit ledger's exports as Excel: the notice's three lists (going home, returning, unemployed) and the
131 report. Write-only workbooks, so memory stays flat; ID numbers are masked; rows go through engine.xlsx, so
imported text stays text and wages are numbers."""

from __future__ import annotations

import io
import os
from typing import IO, Any

from openpyxl import Workbook
from sqlalchemy import or_

from engine.actors import Actor
from engine.db import db
from engine.ledger import LISTS, workers_in_scope
from engine.ledger_sheet import COLUMNS
from engine.placements import LedgerWorker
from engine.regions import region_name
from engine.service131 import REPORT_131_COLUMNS, report_131
from engine.summaries import mask_id_number
from engine.xlsx import append_row, money_cell, save

# What the lists show, selected as plain columns: building an ORM object per list row (45,000 for a prefecture of
# 30,000 workers) cost more than reading the rows. The ledger's columns, between the region and the case number.
_LIST_COLUMNS = (LedgerWorker.region, *(getattr(LedgerWorker, c.key) for c in COLUMNS), LedgerWorker.case_number)
_BATCH = 2000  # rows fetched at a time: memory stays flat


def _yes_no(value: bool | None) -> str | None:
    return None if value is None else ("是" if value else "否")


# How a ledger column of each kind is shown on the lists (the others as stored; money as a number, per sheet).
_SHOWN = {"id": mask_id_number, "bool": _yes_no}
# Where the money columns are in a list's row (after 序号 and 区划).
_MONEY_AT = tuple(i + 2 for i, c in enumerate(COLUMNS) if c.kind == "money")


def _list_row(row: Any) -> list[Any]:
    """A worker's cells after the 序号 column, in the order of the lists' headers."""
    region, *values, case_number = row[:len(_LIST_COLUMNS)]
    shown = [_SHOWN[c.kind](v) if c.kind in _SHOWN else v for c, v in zip(COLUMNS, values, strict=True)]
    return [region_name(region), *shown, case_number]


def export_lists(actor: Actor, region: str | None, target: str | os.PathLike[str] | IO[bytes]) -> dict[str, int]:
    """Write the notice's three lists (going home, returning, unemployed) as sheets of one workbook, streaming
    (write-only mode), to a stream or a path (whole or not at all). ID numbers are masked. Returns the number of
    people per list. Clerks and supervisors only (the lists name people and their phones)."""
    base = workers_in_scope(actor, region)  # the role check and the region scope
    workbook = Workbook(write_only=True)
    headers = ["序号", "区划", *[c.title for c in COLUMNS], "临时性岗位案件号"]
    sheets = []
    for title, _condition in LISTS.values():
        sheet = workbook.create_sheet(title)
        append_row(sheet, headers)
        sheets.append(sheet)
    # One pass over the workers for all three lists (in the same order each list had on its own): each list's
    # condition is selected as a flag, so the lists' definitions stay those of engine.ledger.LISTS. Write-only
    # sheets each stream to their own file, so appending to them in turn is fine.
    conditions = [condition() for _title, condition in LISTS.values()]
    query = (base.with_only_columns(*_LIST_COLUMNS, *(c.label(f"on_list_{i}") for i, c in enumerate(conditions)))
             .where(or_(*conditions))
             .order_by(LedgerWorker.region, LedgerWorker.id))
    numbers = [0] * len(sheets)
    for row in db.session.execute(query.execution_options(yield_per=_BATCH)):
        cells = _list_row(row)
        for index, on_list in enumerate(row[len(_LIST_COLUMNS):]):
            if on_list:
                numbers[index] += 1
                values = [numbers[index], *cells]
                for at in _MONEY_AT:  # a styled cell belongs to the sheet it is written to
                    if values[at] is not None:
                        values[at] = money_cell(sheets[index], values[at])
                append_row(sheets[index], values)
    save(workbook, target)
    return dict(zip(LISTS, numbers, strict=True))


def export_bytes(actor: Actor, region: str | None) -> tuple[bytes, dict[str, int]]:
    """The three lists' workbook in memory (GET /ledger.xlsx) and the number of people per list."""
    buffer = io.BytesIO()
    counts = export_lists(actor, region, buffer)
    return buffer.getvalue(), counts


# ---------------------------------------------------------------------------------------------------------------
# The 131 report as Excel.

def report_131_bytes(actor: Actor, region: str | None) -> bytes:
    report = report_131(actor, region)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("“131”服务情况")
    append_row(sheet, [title for _, title in REPORT_131_COLUMNS])
    for row in report["by_region"]:
        append_row(sheet, [row[key] for key, _ in REPORT_131_COLUMNS])
    total = report["total"]
    append_row(sheet, ["合计", "", *[total[key] for key, _ in REPORT_131_COLUMNS[2:]]])
    buffer = io.BytesIO()
    save(workbook, buffer)
    return buffer.getvalue()
