"""Flask CLI commands for the return-visit ledger (registered by web/cli.py from COMMANDS), and the temporary-job
demo data (appended to web.demo.DEMO_SEEDERS when this module is imported, which create_app does)."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta

import click
from flask.cli import AppGroup

from engine.actors import SYSTEM, Actor
from engine.placements import PRIORITY_GROUPS
from web.cli import fail

ledger_cli = AppGroup("ledger", help="The return-visit ledger (回访台账): import, export, temp_job cases.")


def _actor(username: str | None) -> Actor:
    if not username:
        return SYSTEM
    from sqlalchemy import select

    from engine.db import db
    from engine.models import User

    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.BadParameter(f"no user {username!r}", param_hint="--user")
    return Actor.of(user)


def _print_cases(result: dict) -> None:
    for number in result["opened"]:
        click.echo(f"opened {number}")
    for skipped in result["skipped"]:
        click.echo(f"skipped worker {skipped['worker_id']} {skipped['name']}: {skipped['reason']}")
    click.echo(f"{len(result['opened'])} temp_job cases opened, {len(result['skipped'])} skipped")


@ledger_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--region", required=True, help="GB/T 2260 code of the county whose ledger this is, e.g. 532301")
@click.option("--user", "username", help="Act as this user (default: the system account)")
@click.option("--create-cases", is_flag=True, help="Then open temp_job cases for unemployed workers who want work")
@click.option("--priority-group", default="returning_migrant", show_default=True,
              type=click.Choice([*PRIORITY_GROUPS, "other"]), help="Priority group of the cases opened")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(10, 50000))
@click.option("--progress-every", default=10000, show_default=True, type=click.IntRange(1, 10**7),
              help="Print a progress line every N rows (on standard error)")
def import_command(path: str, region: str, username: str | None, create_cases: bool, priority_group: str,
                   batch_size: int, progress_every: int) -> None:
    """Import the ledger in PATH (.xlsx): every row is checked; if any is bad, nothing is imported and each bad
    row is named by row number and field."""
    from engine import ledger

    actor = _actor(username)
    started = datetime.now(UTC)
    last = [0]

    def progress(rows: int) -> None:
        # Called after every batch: a line every `progress_every` rows, so long files show they are moving and
        # logs stay short.
        if rows - last[0] >= progress_every:
            last[0] = rows
            seconds = max((datetime.now(UTC) - started).total_seconds(), 1e-6)
            click.echo(f"  {rows} rows read ({rows / seconds:,.0f} rows/s)", err=True)

    try:
        result = ledger.import_ledger(actor, path, region, datetime.now(UTC), progress=progress,
                                      batch_size=batch_size)
    except Exception as exc:  # noqa: BLE001 - every engine error becomes a message and exit code 2
        from engine.errors import EngineError
        from engine.validation import DataInvalid

        if isinstance(exc, (DataInvalid, EngineError)):
            fail(exc)
        raise
    click.echo(f"imported {result.rows} rows into region {result.region}: {result.created} created, "
               f"{result.updated} updated")
    if create_cases:
        _print_cases(ledger.create_cases(actor, datetime.now(UTC), region=region, priority_group=priority_group))


def _export_target(ctx: click.Context, param: click.Parameter, path: str) -> str:
    """Checked before any list is read: click.Path checks only a file that exists, not the directory."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise click.BadParameter(f"directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise click.BadParameter(f"directory {directory} is not writable")
    return path


@ledger_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True), callback=_export_target)
@click.option("--region", help="Only this region (default: all the user's)")
@click.option("--user", "username", help="Act as this user (default: the system account)")
def export_command(path: str, region: str | None, username: str | None) -> None:
    """Write the three lists of the notice (going home, returning, unemployed) to PATH as Excel sheets (whole or
    not at all: an existing file is replaced only when the new one is complete)."""
    from engine import ledger, ledger_export
    from engine.errors import EngineError
    from engine.validation import DataInvalid

    try:
        counts = ledger_export.export_lists(_actor(username), region, path)
    except (DataInvalid, EngineError) as exc:
        fail(exc)
    click.echo(f"wrote {path}: " + ", ".join(f"{ledger.LISTS[k][0]} {n}" for k, n in counts.items()))


@ledger_cli.command("cases")
@click.option("--region", help="Only workers of this region")
@click.option("--user", "username", help="Act as this user (default: the system account)")
@click.option("--priority-group", default="returning_migrant", show_default=True,
              type=click.Choice([*PRIORITY_GROUPS, "other"]))
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 10000))
def cases_command(region: str | None, username: str | None, priority_group: str, limit: int) -> None:
    """Open temp_job cases for unemployed workers of the ledger who want work and have no case yet."""
    from engine import ledger
    from engine.errors import EngineError
    from engine.validation import DataInvalid

    try:
        result = ledger.create_cases(_actor(username), datetime.now(UTC), region=region,
                                     priority_group=priority_group, limit=limit)
    except (DataInvalid, EngineError) as exc:
        fail(exc)
    _print_cases(result)


COMMANDS: list[click.Command] = [ledger_cli]


# ---------------------------------------------------------------------------------------------------------------
# Demo data: posts across the Chuxiong counties, temp_job cases in several statuses, a small ledger.

DEMO_SEEKERS = [("杨秀英", "poverty_alleviated"), ("普文学", "returning_migrant"), ("李春花", "low_income"),
                ("起建华", "employment_difficulty"), ("罗正发", "returning_migrant"), ("张桂兰", "other"),
                ("鲁开明", "poverty_alleviated")]


def _ric(seed: int, region: str = "532301") -> str:
    from stdnum.cn import ric

    base = f"{region}1988{(seed % 12) + 1:02d}{(seed % 27) + 1:02d}{seed % 10}{(seed * 3) % 10}{seed % 2}"
    return base + ric.calc_check_digit(base + "0")


def demo_ledger_xlsx(rows: int = 12, region: str = "532301") -> bytes:
    """A small return-visit ledger as the notice asks for it (also used by the tests' examples)."""
    from openpyxl import Workbook

    from engine.ledger_sheet import COLUMNS

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("回访台账")
    sheet.append([c.title for c in COLUMNS])
    places = [("浙江省宁波市", "宁波某电子厂", "装配工", "5200"), ("广东省东莞市", "东莞某鞋业公司", "车工", "4800"),
              ("昆明市", "昆明某建筑公司", "钢筋工", "6500"), ("", "", "", "")]
    for i in range(rows):
        place, employer, job, wage = places[i % len(places)]
        employed = bool(place)
        going_home = i % 3 != 0
        sheet.append([
            ["普文学", "罗正发", "何光荣", "苏丽", "字国伟", "李玉芬"][i % 6] + ("" if i < 6 else str(i)),
            _ric(100 + i, region), f"139{region[-4:]}{i:04d}", place or None, employer or None, job or None,
            wage or None, "是" if going_home else "否", "2021-02-05" if going_home else None,
            ["火车", "自驾", "飞机"][i % 3] if going_home else None,
            ["K1234", "云E12345", "MU5701"][i % 3] if going_home else None,
            "是" if i % 4 != 1 else "否", "是" if employed else "否",
            None if employed else "企业停工待岗", "电工培训" if i % 2 else None,
        ])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def seed_temp_jobs(users: dict[str, Actor], now: datetime, echo) -> None:
    from engine import calendar, escalation, ledger, posts, services
    from engine.db import db
    from engine.services.cases import open_tasks

    clerks = {"532301": users["clerk_cx"], "532322": users["clerk_sb"]}
    prefecture = users["sup_cz"]
    day = calendar.local_date(now)
    created = now - timedelta(days=40)

    def post(actor: Actor, region: str, title: str, kind: str, employer: str, slots: int, pay: str,
             start_days: int, length_days: int) -> int:
        start = day + timedelta(days=start_days)
        return posts.create_post(actor, {
            "title": title, "kind": kind, "employer": employer, "region": region, "slots": slots,
            "monthly_pay": pay, "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=length_days)).isoformat(), "work_place": employer,
        }, created).id

    cx = clerks["532301"]
    ended = post(cx, "532301", "社区疫情防控消杀员", "disinfection", "鹿城镇南关社区", 3, "1800.00", -35, 30)
    sanitation = post(cx, "532301", "街道保洁员", "sanitation", "楚雄市环境卫生管理站", 5, "1900.00", -5, 120)
    post(clerks["532301"], "532301", "社区网格服务员", "community_service", "鹿城镇北浦社区", 2, "1700.00", 10, 90)
    post(clerks["532322"], "532322", "乡村公路养护员", "other", "双柏县妥甸镇人民政府", 4, "1600.00", 0, 150)
    post(prefecture, "532328", "防疫卡点值守员", "disinfection", "元谋县元马镇人民政府", 6, "1800.00", -3, 60)

    def complete(actor: Actor, case, name: str, data: dict, when: datetime):
        task = next(t for t in open_tasks(case) if t.name == name)
        return services.complete_task(actor, task.id, data, case.version, when)

    def on(when: datetime) -> str:
        return calendar.local_date(when).isoformat()  # each part of the 131 service dated the day it is recorded

    def guidance(when: datetime) -> dict:
        return {"guidance_date": on(when), "guidance_content": "求职技巧与职业规划指导"}

    def offers(when: datetime) -> dict:
        return {"offers": [{"employer": e, "job": j, "date": on(when)} for e, j in (
            ("楚雄鹿城物业公司", "保洁员"), ("彝人古镇酒店", "客房服务员"), ("楚雄市某超市", "理货员"))]}

    def training(when: datetime) -> dict:
        return {"training_programme": "家政服务员培训", "training_date": on(when)}

    numbers = []
    for i, (name, group) in enumerate(DEMO_SEEKERS):
        region = "532322" if i == 5 else "532301"
        clerk = clerks[region]
        t = created + timedelta(hours=i)
        case = services.open_case(clerk, "temp_job", region, {
            "seeker": {"name": name, "id_number": _ric(i, region), "phone": f"1398780{i:04d}", "priority_group": group},
            "wishes": {"kinds": ["sanitation"] if i % 2 else ["disinfection", "community_service"]},
        }, t)
        numbers.append(case.number)
        if i == 0:
            continue  # registered: the 131 service still owed in full
        case = complete(clerk, case, "career_guidance", guidance(t + timedelta(days=1)), t + timedelta(days=1))
        if i == 1:
            continue  # registered: guidance given, offers and training owed
        case = complete(clerk, case, "job_offers", offers(t + timedelta(days=2)), t + timedelta(days=2))
        case = complete(clerk, case, "training", training(t + timedelta(days=3)), t + timedelta(days=3))
        if i == 6:
            complete(clerk, case, "market_outcome", {"market_outcome": "employed", "employer": "楚雄市某超市"},
                     t + timedelta(days=4))
            continue
        case = complete(clerk, case, "market_outcome", {"market_outcome": "not_employed"}, t + timedelta(days=4))
        if i == 5:
            continue  # in_service, matching in Shuangbai
        post_id = ended if i in (3, 4) else sanitation
        case = complete(clerk, case, "match_post", {"post_id": post_id}, t + timedelta(days=4, hours=2))
        if i == 2:
            continue  # referred, confirmation due
        case = complete(clerk, case, "confirm_placement", {"placed": True}, t + timedelta(days=5))
        if i == 4:
            escalation.sweep(now - timedelta(days=3), render_notices=False)  # the post has ended
            db.session.refresh(case)
            complete(users["sup_cx"], case, "exit_review", {"outcome": "post_ended", "note": "岗位期满"},
                     now - timedelta(days=2))
    # The ledger: imported through the same path as a county's file.
    result = ledger.import_ledger(clerks["532301"], io.BytesIO(demo_ledger_xlsx()), "532301", now)
    echo(f"loaded 5 temporary posts, {len(numbers)} temp_job cases and a return-visit ledger of {result.rows} "
         "workers")


def _register_demo() -> None:
    from web.demo import DEMO_SEEDERS

    if seed_temp_jobs not in DEMO_SEEDERS:
        DEMO_SEEDERS.append(seed_temp_jobs)


_register_demo()
