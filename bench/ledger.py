"""Return-visit ledger import and export: rows per second through `engine.ledger.import_ledger` beside openpyxl's
bare read of the same file, then the prefecture's export of the three lists (`engine.ledger_export.export_bytes`,
what GET /ledger.xlsx runs), in one run.

    .venv/bin/python -m bench.ledger [--rows 100000] [--database sqlite:///...] [--batch-size 1000]

* the file: a generated ledger (every column of the notice, valid ID numbers, one worker in ten unemployed),
  written with openpyxl's write-only mode into a temporary directory;
* bare read: `load_workbook(read_only=True)` and every row's values, nothing else (the floor);
* import: the same file through `import_ledger` into an empty database (SQLite in the temporary directory by
  default), i.e. streaming read + validating every cell (ID checksums with python-stdnum, phones, dates, yes/no,
  wages) + batched INSERT ... ON CONFLICT DO UPDATE, in one transaction;
* re-import: the same file again, every row now an update;
* export: the three lists (going home, returning, unemployed) of the whole prefecture as one workbook, as a
  prefecture supervisor downloads them; its rows/s counts the rows written (a worker is on up to three lists),
  and the SQL statements it issued are counted (they must not grow with the rows).
* stray cells: a 5 KB ledger of one worker with a blank cell at column XFD and one at row 20,000 (then at row
  1,048,576), which stretch the sheet's used area; its import must stay well under a second (it took ~30 s when
  every row was read to column XFD).

The bare read runs before and after the import (its mean is printed); wall and CPU seconds are both shown.

Targets: import >= 2,000 rows/s on SQLite, peak resident memory (VmHWM from /proc/self/status) < 500 MB, and
each stray-cells import < 1 s."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # `python bench/ledger.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import make_app  # noqa: E402 - after the path fix above

TARGET_RATE = 2000.0
TARGET_PEAK_MB = 500.0
TARGET_STRAY_SECONDS = 1.0


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (VmHWM), in MiB (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def generate(path: Path, rows: int, region: str = "532301") -> None:
    """A ledger of `rows` workers with distinct, valid ID numbers (write-only mode: flat memory)."""
    from openpyxl import Workbook
    from stdnum.cn import ric

    from engine.ledger_sheet import COLUMNS

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("回访台账")
    sheet.append([c.title for c in COLUMNS])
    first = date(1985, 1, 1)
    for i in range(rows):
        born = first + timedelta(days=i // 900)
        base = f"{region}{born:%Y%m%d}{i % 900 + 100:03d}"
        unemployed = i % 10 == 0
        going_home = i % 3 != 0
        sheet.append([
            f"务工人员{i}", base + ric.calc_check_digit(base + "0"), f"139{i:08d}",
            None if unemployed else "浙江省宁波市", None if unemployed else "宁波某电子厂",
            None if unemployed else "装配工", None if unemployed else 4000 + i % 3000,
            "是" if going_home else "否", date(2021, 2, 1 + i % 10) if going_home else None,
            ("火车", "自驾", "飞机")[i % 3] if going_home else None, ("K1234", "云E12345", "MU5701")[i % 3],
            "是" if i % 4 else "否", "否" if unemployed else "是", "企业停工待岗" if unemployed else None,
            "电工培训" if i % 5 == 0 else None,
        ])
    workbook.save(path)


def stray_cells(path: Path, far_row: int) -> None:
    """One worker, and blank cells at XFD2 and A`far_row` stretching the sheet's used area."""
    from openpyxl import Workbook
    from stdnum.cn import ric

    from engine.ledger_sheet import COLUMNS

    base = "53230119850101001"
    workbook = Workbook()  # not write-only: cells are set anywhere
    sheet = workbook.active
    sheet.append([c.title for c in COLUMNS])
    sheet.append(["务工人员", base + ric.calc_check_digit(base + "0"), "13900000000", "浙江省宁波市", "宁波某电子厂",
                  "装配工", 4800, "否", None, None, None, "是", "是", None, None])
    sheet.cell(row=2, column=16384, value=" ")
    sheet.cell(row=far_row, column=1, value=" ")
    workbook.save(path)


def bare_read(path: Path) -> int:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        count = 0
        for _row in workbook.worksheets[0].iter_rows(values_only=True):
            count += 1
        return count - 1  # the header
    finally:
        workbook.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.ledger", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the generated file (default 100000)")
    parser.add_argument("--database", help="database URL (default: a new SQLite file in a temporary directory; "
                                           "PostgreSQL: an empty database of your own, its ledger is emptied)")
    parser.add_argument("--batch-size", type=int, default=1000, help="rows per INSERT batch (default 1000)")
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be at least 1")

    import logging

    logging.disable(logging.INFO)  # SpiffWorkflow and Alembic chatter
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp_name:
        tmp = Path(tmp_name)
        database = args.database or f"sqlite:///{tmp / 'bench.sqlite3'}"
        if database.startswith(("postgres://", "postgresql://")):
            from config import _normalise_db_url

            database = _normalise_db_url(database)
        path = tmp / "ledger.xlsx"
        started = time.perf_counter()
        generate(path, args.rows)
        generated = time.perf_counter() - started
        size_mb = path.stat().st_size / 2**20
        print(f"generated {args.rows:,} rows ({size_mb:.1f} MB) in {generated:.1f}s")

        app = make_app(database, tmp)
        with app.app_context():
            from flask_migrate import upgrade
            from sqlalchemy import delete

            from engine import ledger
            from engine.actors import Actor
            from engine.db import db
            from engine.placements import LedgerWorker

            upgrade(revision="heads")
            db.session.execute(delete(LedgerWorker))
            db.session.commit()
            clerk = Actor("bench_clerk", ("clerk",), "532301")
            now = datetime.now(UTC)

            # Bare read, import, bare read, re-import: the floor is measured on both sides of the import, so
            # a machine busy with other work slows all alike. CPU time (this process only) is printed beside
            # wall time: it is what the work costs, whatever else the machine is doing.
            def timed(fn):
                wall, cpu = time.perf_counter(), time.process_time()
                value = fn()
                return value, time.perf_counter() - wall, time.process_time() - cpu

            read, bare1, bare1_cpu = timed(lambda: bare_read(path))
            assert read == args.rows, (read, args.rows)
            result, imported, imported_cpu = timed(lambda: ledger.import_ledger(
                clerk, str(path), "532301", now, batch_size=args.batch_size))
            assert (result.rows, result.created) == (args.rows, args.rows), result
            _, bare2, bare2_cpu = timed(lambda: bare_read(path))
            again, reimported, reimported_cpu = timed(lambda: ledger.import_ledger(
                clerk, str(path), "532301", now, batch_size=args.batch_size))
            assert again.updated == args.rows, again
            bare, bare_cpu = (bare1 + bare2) / 2, (bare1_cpu + bare2_cpu) / 2

            from sqlalchemy import event

            from engine import ledger_export

            statements = 0

            def count_statement(*_args) -> None:
                nonlocal statements
                statements += 1

            prefecture = Actor("bench_supervisor", ("supervisor",), "532300")
            event.listen(db.engine, "before_cursor_execute", count_statement)
            try:
                (content, counts), exported, exported_cpu = timed(
                    lambda: ledger_export.export_bytes(prefecture, None))
            finally:
                event.remove(db.engine, "before_cursor_execute", count_statement)
            written = sum(counts.values())

            stray = []
            for far_row in (20_000, 1_048_576):
                stray_path = tmp / f"stray-{far_row}.xlsx"
                stray_cells(stray_path, far_row)
                result, wall, cpu = timed(lambda p=stray_path: ledger.import_ledger(clerk, str(p), "532301", now))
                assert result.rows == 1, result
                stray.append((far_row, stray_path.stat().st_size, wall, cpu))

    dialect = database.split(":", 1)[0].split("+", 1)[0]  # postgresql+psycopg: postgresql
    rate = args.rows / imported
    peak = peak_rss_mb()
    n = args.rows
    print(f"{'':<30}{'wall s':>9}{'rows/s':>10}{'cpu s':>9}{'rows/cpu-s':>12}")
    for title, rows, wall, cpu in (("openpyxl bare read (mean)", n, bare, bare_cpu),
                                   (f"import, new rows ({dialect})", n, imported, imported_cpu),
                                   ("import again, updates", n, reimported, reimported_cpu),
                                   ("export, 3 lists (prefecture)", written, exported, exported_cpu)):
        print(f"{title:<30}{wall:>9.2f}{rows / wall:>10,.0f}{cpu:>9.2f}{rows / cpu:>12,.0f}")
    print(f"import / bare read: {imported / bare:.2f}x the wall time, {imported_cpu / bare_cpu:.2f}x the CPU time "
          f"(the rest is validation and the database)")
    per_list = ", ".join(f"{key} {rows:,}" for key, rows in counts.items())
    print(f"export: {n:,} workers, {written:,} rows on the lists ({per_list}), {len(content) / 2**20:.1f} MB, "
          f"{statements} SQL statement(s)")
    for far_row, size, wall, cpu in stray:
        print(f"stray cells (1 worker, blank cells at XFD2 and A{far_row:,}, {size / 1024:.0f} KB): import "
              f"{wall:.3f}s wall, {cpu:.3f}s cpu")
    print(f"peak resident memory (VmHWM): {peak:.0f} MB")
    try:
        with open("/proc/loadavg", encoding="ascii") as load:
            print(f"machine load average during the run: {load.read().split()[0]} "
                  "(wall figures are only comparable on an idle machine)")
    except OSError:
        pass
    ok_stray = all(wall < TARGET_STRAY_SECONDS for _, _, wall, _ in stray)
    ok_rate = rate >= TARGET_RATE
    ok_memory = not peak >= TARGET_PEAK_MB
    print(f"target >= {TARGET_RATE:,.0f} rows/s: {'met' if ok_rate else 'MISSED'}; "
          f"peak < {TARGET_PEAK_MB:.0f} MB: {'met' if ok_memory else 'MISSED'}; "
          f"stray cells < {TARGET_STRAY_SECONDS:g} s: {'met' if ok_stray else 'MISSED'}")
    return 0 if ok_rate and ok_memory and ok_stray else 1


if __name__ == "__main__":
    raise SystemExit(main())
