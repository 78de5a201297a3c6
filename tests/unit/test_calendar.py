"""Tests for engine.calendar: the official Chinese working-day calendar and deadlines."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine import calendar as cal

SHANGHAI = ZoneInfo("Asia/Shanghai")
CST = timezone(timedelta(hours=8))
LOGGER = "engine.calendar"

FILE_2031 = """date,kind,name
2031-01-01,holiday,元旦
2031-01-18,workday,春节调休上班
2031-01-22,holiday,春节
2031-01-23,holiday,春节
2031-01-24,holiday,春节
2031-01-27,holiday,春节
2031-01-28,holiday,春节
"""


@pytest.fixture(autouse=True)
def _clean_calendar():
    cal.clear_overrides()
    cal.set_timezone(cal.DEFAULT_TIMEZONE)
    yield
    cal.clear_overrides()
    cal.set_timezone(cal.DEFAULT_TIMEZONE)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def eod(y: int, m: int, d: int, tz=SHANGHAI) -> datetime:
    return datetime(y, m, d, 23, 59, 59, tzinfo=tz)


def fallback_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


# ---------------------------------------------------------------------------------------- 2021 Spring Festival


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2021, 2, 5), True),  # Fri
        (date(2021, 2, 6), False),  # Sat
        (date(2021, 2, 7), True),  # Sun, make-up working day
        (date(2021, 2, 10), True),  # Wed, last day before the holiday
        *[(date(2021, 2, d), False) for d in range(11, 18)],  # 11-17 Feb: Spring Festival holiday
        (date(2021, 2, 18), True),
        (date(2021, 2, 20), True),  # Sat, make-up working day
        (date(2021, 2, 21), False),  # Sun
    ],
)
def test_spring_festival_2021_days(day, working):
    assert cal.is_working_day(day) is working


def test_is_working_day_accepts_datetime():
    assert cal.is_working_day(datetime(2021, 2, 7, 9, 0, tzinfo=SHANGHAI)) is True
    assert cal.is_working_day(datetime(2021, 2, 12, 9, 0)) is False


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2021, 2, 5), 1, date(2021, 2, 7)),  # Fri -> Sun make-up day
        (date(2021, 2, 5), 5, date(2021, 2, 18)),  # 7, 8, 9, 10, 18
        (date(2021, 2, 10), 1, date(2021, 2, 18)),  # across the holiday
        (date(2021, 2, 10), 3, date(2021, 2, 20)),  # 18, 19, 20 (Sat make-up day)
        (date(2021, 2, 10), 4, date(2021, 2, 22)),  # Sun 21 off
        (date(2021, 2, 12), 1, date(2021, 2, 18)),  # start inside the holiday
        (date(2021, 2, 6), 1, date(2021, 2, 7)),  # start on a Saturday
    ],
)
def test_working_days_after_spring_festival_2021(start, n, expected):
    assert cal.working_days_after(start, n) == eod(expected.year, expected.month, expected.day)


def test_next_working_day_spring_festival_2021():
    assert cal.next_working_day(date(2021, 2, 6)) == date(2021, 2, 7)
    assert cal.next_working_day(date(2021, 2, 10)) == date(2021, 2, 18)
    assert cal.next_working_day(date(2021, 2, 19)) == date(2021, 2, 20)
    assert cal.next_working_day(date(2021, 2, 20)) == date(2021, 2, 22)


def test_working_days_between_spring_festival_2021():
    # (5 Feb, 22 Feb]: 7, 8, 9, 10, 18, 19, 20, 22
    assert cal.working_days_between(date(2021, 2, 5), date(2021, 2, 22)) == 8
    assert cal.working_days_between(date(2021, 2, 10), date(2021, 2, 17)) == 0
    assert cal.working_days_between(date(2021, 2, 10), date(2021, 2, 18)) == 1
    assert cal.working_days_between(date(2021, 2, 18), date(2021, 2, 18)) == 0
    assert cal.working_days_between(date(2021, 2, 22), date(2021, 2, 5)) == 0


def test_working_days_between_matches_working_days_after():
    start = date(2021, 1, 4)
    for n in range(1, 80):
        deadline = cal.working_days_after(start, n).date()
        assert cal.working_days_between(start, deadline) == n


# ---------------------------------------------------------------------------------------- National Day 2021


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2021, 9, 25), False),  # Sat
        (date(2021, 9, 26), True),  # Sun, make-up working day
        (date(2021, 9, 30), True),
        *[(date(2021, 10, d), False) for d in range(1, 8)],  # 1-7 Oct: National Day holiday
        (date(2021, 10, 8), True),
        (date(2021, 10, 9), True),  # Sat, make-up working day
        (date(2021, 10, 10), False),  # Sun
    ],
)
def test_national_day_2021_days(day, working):
    assert cal.is_working_day(day) is working


def test_national_day_2021_deadlines():
    assert cal.working_days_after(date(2021, 9, 30), 1) == eod(2021, 10, 8)
    assert cal.working_days_after(date(2021, 9, 30), 2) == eod(2021, 10, 9)
    assert cal.working_days_after(date(2021, 9, 30), 3) == eod(2021, 10, 11)
    assert cal.working_days_after(date(2021, 9, 24), 1) == eod(2021, 9, 26)
    assert cal.working_days_after(date(2021, 9, 25), 0) == eod(2021, 9, 26)
    # (24 Sep, 10 Oct]: 26, 27, 28, 29, 30 Sep, 8, 9 Oct
    assert cal.working_days_between(date(2021, 9, 24), date(2021, 10, 10)) == 7


# ---------------------------------------------------------------------------------------- n=0, bad n


def test_zero_days_on_a_working_day_is_end_of_that_day():
    assert cal.working_days_after(datetime(2021, 2, 7, 8, 30, tzinfo=SHANGHAI), 0) == eod(2021, 2, 7)
    assert cal.working_days_after(date(2021, 2, 10), 0) == eod(2021, 2, 10)


def test_zero_days_on_a_day_off_is_end_of_next_working_day():
    assert cal.working_days_after(date(2021, 2, 13), 0) == eod(2021, 2, 18)
    assert cal.working_days_after(date(2021, 2, 6), 0) == eod(2021, 2, 7)


def test_negative_days_rejected():
    with pytest.raises(ValueError, match="negative"):
        cal.working_days_after(date(2021, 2, 8), -1)


def test_bad_day_counts():
    with pytest.raises(TypeError):
        cal.working_days_after(date(2021, 2, 8), 1.5)
    with pytest.raises(TypeError):
        cal.working_days_after(date(2021, 2, 8), True)
    with pytest.raises(TypeError):
        cal.working_days_after(date(2021, 2, 8), "3")
    # JSON numbers from workflow data may arrive as floats
    assert cal.working_days_after(date(2021, 2, 10), 1.0) == eod(2021, 2, 18)


# ---------------------------------------------------------------------------------------- time zones, input forms


def test_deadline_is_end_of_day_in_shanghai():
    result = cal.working_days_after(date(2021, 2, 10), 1)
    assert result == datetime(2021, 2, 18, 23, 59, 59, tzinfo=SHANGHAI)
    assert result.tzinfo == SHANGHAI
    assert result.utcoffset() == timedelta(hours=8)
    assert result.astimezone(UTC) == datetime(2021, 2, 18, 15, 59, 59, tzinfo=UTC)


def test_naive_datetime_taken_in_configured_timezone():
    result = cal.working_days_after(datetime(2021, 2, 10, 22, 0), 1)
    assert result == eod(2021, 2, 18)
    assert result.tzinfo == SHANGHAI


def test_late_evening_start_counts_from_its_own_day():
    # 23:30 on Wed 10 Feb is still 10 Feb: the holiday starts the next day
    assert cal.working_days_after(datetime(2021, 2, 10, 23, 30, tzinfo=SHANGHAI), 1) == eod(2021, 2, 18)


def test_iso_string_with_offset():
    result = cal.working_days_after("2021-02-08T10:00:00+08:00", 3)  # 9, 10, 18
    assert result == datetime(2021, 2, 18, 23, 59, 59, tzinfo=CST)
    assert result.utcoffset() == timedelta(hours=8)
    assert result.isoformat() == "2021-02-18T23:59:59+08:00"


def test_instants_count_beijing_days():
    # 20:00 UTC on 10 Feb is already 11 Feb, a Spring Festival holiday, in Beijing: the count starts there.
    result = cal.working_days_after("2021-02-10T20:00:00Z", 1)
    assert result == eod(2021, 2, 18)
    assert result.utcoffset() == timedelta(hours=8)
    assert cal.working_days_after("2021-02-05T09:00:00+00:00", 1) == eod(2021, 2, 7)


def test_iso_string_without_offset_and_date_string():
    assert cal.working_days_after("2021-02-08T10:00:00", 3) == eod(2021, 2, 18)
    assert cal.working_days_after("2021-02-08", 3) == eod(2021, 2, 18)
    assert cal.working_days_between("2021-02-05", "2021-02-22T12:00:00+08:00") == 8


def test_bad_inputs():
    with pytest.raises(ValueError, match="ISO 8601"):
        cal.working_days_after("8 Feb 2021", 1)
    with pytest.raises(TypeError):
        cal.working_days_after(20210208, 1)
    with pytest.raises(TypeError):
        cal.is_working_day(None)


def test_set_timezone():
    cal.set_timezone("Europe/Berlin")
    berlin = ZoneInfo("Europe/Berlin")
    assert cal.get_timezone() == berlin
    result = cal.working_days_after(date(2021, 2, 10), 1)
    assert result == datetime(2021, 2, 18, 23, 59, 59, tzinfo=berlin)
    assert result.utcoffset() == timedelta(hours=1)
    # an aware start is placed on the configured calendar
    assert cal.working_days_after(datetime(2021, 2, 10, 9, tzinfo=SHANGHAI), 1) == datetime(
        2021, 2, 18, 23, 59, 59, tzinfo=berlin
    )


def test_set_timezone_rejects_unknown_name():
    with pytest.raises(ValueError, match="unknown timezone"):
        cal.set_timezone("Mars/Olympus_Mons")
    assert cal.get_timezone() == SHANGHAI


# ---------------------------------------------------------------------------------------- years outside the package


def test_known_years_and_official():
    years = cal.known_years()
    assert years[0] == 2004
    assert 2021 in years and 2026 in years
    assert 2031 not in years
    assert cal.year_is_official(2021)
    assert not cal.year_is_official(2031)
    assert not cal.year_is_official(2003)


def test_unknown_year_falls_back_to_weekdays_with_one_warning(caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    assert cal.is_working_day(date(2031, 1, 1)) is True  # Wed; in reality New Year's Day
    assert cal.is_working_day(date(2031, 1, 4)) is False  # Sat
    assert cal.working_days_after(date(2031, 1, 21), 2) == eod(2031, 1, 23)
    assert cal.working_days_between(date(2031, 1, 1), date(2031, 1, 31)) == 22
    records = fallback_records(caplog)
    assert len(records) == 1
    assert "2031" in records[0].getMessage()
    assert "Monday-Friday" in records[0].getMessage()


def test_fallback_warns_once_per_year(caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    cal.working_days_between(date(2030, 12, 1), date(2032, 1, 31))
    messages = [r.getMessage() for r in fallback_records(caplog)]
    assert len(messages) == 3
    assert [y for y in ("2030", "2031", "2032") if any(y in m for m in messages)] == ["2030", "2031", "2032"]


def test_known_year_logs_no_warning(caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    cal.working_days_between(date(2021, 1, 1), date(2021, 12, 31))
    assert fallback_records(caplog) == []


# ---------------------------------------------------------------------------------------- holiday files


def test_loaded_file_changes_2031(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    assert cal.working_days_after(date(2031, 1, 21), 2) == eod(2031, 1, 23)  # fallback, cached
    assert cal.is_working_day(date(2031, 1, 18)) is False
    caplog.clear()

    assert cal.load_holiday_file(write(tmp_path, "2031.csv", FILE_2031)) == 7

    assert cal.year_is_official(2031)
    assert 2031 in cal.known_years()
    assert cal.is_working_day(date(2031, 1, 1)) is False
    assert cal.is_working_day(date(2031, 1, 18)) is True  # Sat make-up day
    assert cal.is_working_day(date(2031, 1, 2)) is True  # unlisted weekday
    assert cal.is_working_day(date(2031, 1, 5)) is False  # unlisted Sunday
    # 22-24, 27-28 Jan off (25-26 weekend): Tue 21 + 2 working days = Wed 29, Thu 30
    assert cal.working_days_after(date(2031, 1, 21), 2) == eod(2031, 1, 30)
    assert cal.working_days_after(date(2031, 1, 17), 1) == eod(2031, 1, 18)
    assert fallback_records(caplog) == []
    assert cal.loaded_days(2031)[:2] == [
        (date(2031, 1, 1), "holiday", "元旦"),
        (date(2031, 1, 18), "workday", "春节调休上班"),
    ]


def test_clear_overrides_restores_fallback(tmp_path):
    cal.load_holiday_file(write(tmp_path, "2031.csv", FILE_2031))
    assert cal.is_working_day(date(2031, 1, 1)) is False
    cal.clear_overrides()
    assert cal.is_working_day(date(2031, 1, 1)) is True
    assert not cal.year_is_official(2031)
    assert cal.loaded_days() == []


def test_override_takes_precedence_over_package(tmp_path):
    text = "date,kind,name\n2021-02-10,holiday,测试：提前放假\n2021-02-21,workday,测试：调休上班\n"
    cal.load_holiday_file(write(tmp_path, "fix-2021.csv", text))
    assert cal.is_working_day(date(2021, 2, 10)) is False
    assert cal.next_working_day(date(2021, 2, 9)) == date(2021, 2, 18)
    assert cal.working_days_after(date(2021, 2, 20), 1) == eod(2021, 2, 21)
    assert cal.is_working_day(date(2021, 2, 11)) is False  # rest of the package data untouched


def test_file_with_bom_comments_blank_lines_and_spaces(tmp_path):
    text = "# official notice of 2030-11-xx\n\ndate, kind, name\n 2031-01-01 , holiday , 元旦 \n\n"
    path = write(tmp_path, "2031.csv", text, encoding="utf-8-sig")
    assert cal.load_holiday_file(path) == 1
    assert cal.loaded_days() == [(date(2031, 1, 1), "holiday", "元旦")]


def test_header_only_file_loads_nothing(tmp_path):
    assert cal.load_holiday_file(write(tmp_path, "2031.csv", "date,kind,name\n")) == 0
    assert not cal.year_is_official(2031)


def test_bad_date_names_line_3_and_registers_nothing(tmp_path):
    text = "date,kind,name\n2031-01-01,holiday,元旦\n2031-02-30,holiday,春节\n2031-01-18,workday,春节调休上班\n"
    path = write(tmp_path, "2031.csv", text)
    with pytest.raises(cal.HolidayFileError, match="line 3") as info:
        cal.load_holiday_file(path)
    assert isinstance(info.value, ValueError)
    assert info.value.line == 3
    assert "2031-02-30" in str(info.value)
    assert str(path) in str(info.value)
    assert cal.loaded_days() == []
    assert not cal.year_is_official(2031)
    assert cal.is_working_day(date(2031, 1, 1)) is True  # line 2 was not registered


def test_unknown_kind_names_line_and_registers_nothing(tmp_path):
    text = "date,kind,name\n2031-01-01,holiday,元旦\n2031-01-18,work,春节调休上班\n"
    with pytest.raises(cal.HolidayFileError, match=r"line 3: unknown kind 'work'"):
        cal.load_holiday_file(write(tmp_path, "2031.csv", text))
    assert cal.loaded_days() == []


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("", 1, "empty file"),
        ("datum,art,name\n2031-01-01,holiday,元旦\n", 1, "header"),
        ("date,kind,name\n2031-01-01,holiday\n", 2, "expected 3 columns"),
        ("date,kind,name\n2031-01-01,holiday,元旦,extra\n", 2, "expected 3 columns"),
        ("date,kind,name\n2031/01/01,holiday,元旦\n", 2, "bad date"),
        ("date,kind,name\n31-1-1,holiday,元旦\n", 2, "bad date"),
        ("date,kind,name\n2031-01-01,holiday,\n", 2, "missing name"),
        ("date,kind,name\n2031-01-01,holiday,元旦\n\n2031-01-01,holiday,元旦\n", 4, "already listed on line 2"),
        ('date,kind,name\n2031-01-01,holiday,"元旦\n', 2, "malformed CSV"),
    ],
)
def test_file_validation(tmp_path, text, line, problem):
    with pytest.raises(cal.HolidayFileError) as info:
        cal.load_holiday_file(write(tmp_path, "2031.csv", text))
    assert info.value.line == line
    assert problem in info.value.problem
    assert f"line {line}:" in str(info.value)
    assert cal.loaded_days() == []


def test_a_file_saved_as_plain_csv_by_chinese_excel_gbk_loads(tmp_path):
    path = tmp_path / "2031.csv"
    path.write_bytes("date,kind,name\r\n2031-01-01,holiday,元旦\r\n2031-01-18,workday,春节调休上班\r\n".encode("gbk"))
    assert cal.load_holiday_file(path) == 2
    assert cal.loaded_days(2031) == [(date(2031, 1, 1), "holiday", "元旦"),
                                     (date(2031, 1, 18), "workday", "春节调休上班")]


def test_a_file_neither_utf8_nor_gbk_is_rejected(tmp_path):
    path = tmp_path / "2031.csv"
    path.write_bytes("date,kind,name\n2031-01-01,holiday,元旦\n".encode("utf-16"))
    with pytest.raises(cal.HolidayFileError, match="not UTF-8 or GBK"):
        cal.load_holiday_file(path)
    assert cal.loaded_days() == []


def test_load_holiday_dir(tmp_path):
    write(tmp_path, "2031.csv", FILE_2031)
    write(tmp_path, "2032.CSV", "date,kind,name\n2032-01-01,holiday,元旦\n")  # QA: capitals were skipped
    write(tmp_path, "draft-2033.csv.sample", "date,kind,name\n2033-01-03,holiday,元旦\n")
    assert cal.load_holiday_dir(tmp_path) == 8
    assert cal.year_is_official(2031) and cal.year_is_official(2032)
    assert not cal.year_is_official(2033)
    assert cal.is_working_day(date(2032, 1, 1)) is False


def test_load_holiday_dir_missing_folder(tmp_path):
    assert cal.load_holiday_dir(tmp_path / "nope") == 0


def test_load_holiday_dir_is_all_or_nothing(tmp_path):
    write(tmp_path, "2031.csv", FILE_2031)
    write(tmp_path, "2032.csv", "date,kind,name\n2032-01-01,holiday,元旦\n2032-13-01,holiday,坏\n")
    with pytest.raises(cal.HolidayFileError, match=r"2032\.csv, line 3"):
        cal.load_holiday_dir(tmp_path)
    assert cal.loaded_days() == []


def test_later_file_wins(tmp_path):
    cal.load_holiday_file(write(tmp_path, "a.csv", "date,kind,name\n2031-01-04,holiday,周六\n"))
    cal.load_holiday_file(write(tmp_path, "b.csv", "date,kind,name\n2031-01-04,workday,调休上班\n"))
    assert cal.is_working_day(date(2031, 1, 4)) is True


def test_shipped_example_file_is_valid_and_not_auto_loaded():
    folder = Path(cal.__file__).parent / "holidays"
    sample = folder / "example-2031.csv.sample"
    assert (folder / "README.md").is_file()
    assert cal.load_holiday_file(sample) == 10
    assert cal.is_working_day(date(2031, 1, 23)) is False
    cal.clear_overrides()
    cal.load_holiday_dir(folder)  # also checks that any real *.csv shipped there is valid
    if not (folder / "2031.csv").exists():
        assert not cal.year_is_official(2031)


# ---------------------------------------------------------------------------------------- years without holidays


def test_years_deadlines_may_reach_without_holidays_are_named(tmp_path):
    """Deadlines set in late 2030 reach 2031; until its holidays are loaded the year is named (pages, health)."""
    assert cal.years_without_holidays(date(2021, 3, 1)) == []  # 2021 is the package's
    assert cal.years_without_holidays(date(2030, 3, 1)) == [2030]  # the horizon ends within the year
    assert cal.years_without_holidays(date(2030, 11, 27)) == [2030, 2031]
    cal.load_holiday_file(write(tmp_path, "2031.csv", FILE_2031))
    assert cal.years_without_holidays(date(2030, 11, 27)) == [2030]
    assert cal.years_without_holidays(date(2031, 3, 1)) == []
