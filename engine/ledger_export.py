"""The return-visit ledger's exports as Excel: the notice's three lists (going home, returning, unemployed) and the
131 report. Write-only workbooks, so memory stays flat; ID numbers are masked; rows go through engine.xlsx, so
imported text stays text."""

from __future__ import annotations

import io
import os
from typing import IO

from openpyxl import Workbook

from engine.actors import Actor
from engine.db import db
from engine.ledger import LISTS, workers_in_scope
from engine.ledger_sheet import COLUMNS
from engine.placements import LedgerWorker
from engine.regions import region_name
from engine.service131 import REPORT_131_COLUMNS, report_131
from engine.summaries import mask_id_number, money_text
from engine.xlsx import append_row, save


def _yes_no(value: bool | None) -> str | None:
    return None if value is None else ("是" if value else "否")


def export_lists(actor: Actor, region: str | None, target: str | os.PathLike[str] | IO[bytes]) -> dict[str, int]:
    """Write the notice's three lists (going home, returning, unemployed) as sheets of one workbook, streaming
    (write-only mode), to a stream or a path (whole or not at all). ID numbers are masked. Returns the number of
    people per list. Clerks and supervisors only (the lists name people and their phones)."""
    base = workers_in_scope(actor, region)
    workbook = Workbook(write_only=True)
    counts: dict[str, int] = {}
    headers = ["序号", "区划", *[c.title for c in COLUMNS], "临时性岗位案件号"]
    for key, (title, condition) in LISTS.items():
        sheet = workbook.create_sheet(title)
        append_row(sheet, headers)
        count = 0
        query = base.where(condition()).order_by(LedgerWorker.region, LedgerWorker.id)
        for worker in db.session.scalars(query.execution_options(yield_per=1000)):
            count += 1
            append_row(sheet, [
                count, region_name(worker.region), worker.name, mask_id_number(worker.id_number), worker.phone,
                worker.work_place, worker.employer, worker.job, money_text(worker.wage), _yes_no(worker.going_home),
                worker.home_date, worker.travel_mode, worker.travel_number, _yes_no(worker.wish_to_return),
                _yes_no(worker.employed), worker.unemployed_reason, worker.training_wish, worker.case_number,
            ])
        counts[key] = count
    save(workbook, target)
    return counts


def export_bytes(actor: Actor, region: str | None) -> tuple[bytes, dict[str, int]]:
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
