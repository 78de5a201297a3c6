"""Demo users and cases across the Chuxiong prefecture's counties, for `flask seed-demo` and `make run`."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from engine import accounts, calendar, escalation, rule_settings, services
from engine.actors import Actor
from engine.clear_zero import CAMPAIGN_RULES
from engine.db import db
from engine.errors import Conflict
from engine.models import Case, RuleSetting, User
from engine.placements import LedgerWorker
from engine.posts import Post
from engine.services.cases import open_tasks

DEMO_USERS = [
    # username, roles, region, display name
    ("admin", ["admin"], "530000", "系统管理员"),
    ("head_cz", ["head"], "532300", "州局负责人"),
    ("head_cx", ["head"], "532301", "楚雄市人社局局长"),
    ("head_sb", ["head"], "532322", "双柏县人社局局长"),
    ("head_ym", ["head"], "532328", "元谋县人社局局长"),
    ("sup_cz", ["supervisor"], "532300", "州监察支队督办员"),
    ("sup_cx", ["supervisor"], "532301", "楚雄市监察大队长"),
    ("insp_cx", ["inspector"], "532301", "楚雄市监察员 张明"),
    ("insp_cx2", ["inspector"], "532301", "楚雄市监察员 李华"),
    ("insp_sb", ["inspector"], "532322", "双柏县监察员 王芳"),
    ("insp_sb2", ["inspector"], "532322", "双柏县监察员 刘洋"),
    ("insp_ym", ["inspector"], "532328", "元谋县监察员 赵强"),
    ("insp_ym2", ["inspector"], "532328", "元谋县监察员 孙伟"),
    ("clerk_cx", ["clerk"], "532301", "楚雄市就业局经办员 陈静"),
    ("clerk_sb", ["clerk"], "532322", "双柏县就业局经办员 杨丽"),
]

# The second inspector each region's investigations are made with (劳动保障监察条例 art. 16: at least two).
CO_INSPECTORS = {"532301": "insp_cx2", "532322": "insp_sb2", "532328": "insp_ym2"}

# Each county bureau's own head, who decides its criminal referrals (国务院令第310号 art. 5: the handling body's
# own chief; the prefecture's head may not, engine.services.tasks.OWN_HEAD_TASKS).
HEADS = {"532301": "head_cx", "532322": "head_sb", "532328": "head_ym"}

# Other processes add their demo cases: fn(users_by_name, now, echo).
DEMO_SEEDERS: list[Callable] = []

EMPLOYERS = [
    ("楚雄鹿城建筑劳务有限公司", "鹿城镇安置房二期", "government_invested", "construction"),
    ("双柏县恐龙河水电工程有限公司", "恐龙河引水工程", "soe", "construction"),
    ("元谋县金沙江果蔬加工厂", "果蔬冷链加工车间", "private", "manufacturing"),
    ("楚雄州彝人古镇物业服务有限公司", "彝人古镇物业服务", "private", "services"),
    ("云南滇中新区PPP道路建设有限公司", "楚大高速连接线", "ppp", "construction"),
]
COMPLAINANTS = ["李建国", "普文华", "杨春梅", "罗志强", "张秀英", "起家明", "鲁小平", "何光荣", "苏丽", "字国伟"]


def _ric(seed: int) -> str:
    from stdnum.cn import ric

    base = f"5323011985{(seed % 12) + 1:02d}{(seed % 27) + 1:02d}{seed % 10}{(seed * 7) % 10}{seed % 2}"
    return base + ric.calc_check_digit(base + "0")  # the function ignores the last character


def _uscc(seed: int) -> str:
    from stdnum.cn import uscc

    base = f"91532301MA6K{seed:04d}X"[:17]
    return base + uscc.calc_check_digit(base)


def _intake(i: int, opened: datetime) -> dict:
    """A complaint of the wages of the six months before the month it is made in (a demo seeded today complains
    about this year's wages, not arrears long time-barred)."""
    employer, project, ptype, sector = EMPLOYERS[i % len(EMPLOYERS)]
    this_month = calendar.local_date(opened).replace(day=1)
    amount = 18000 + (i * 13700) % 240000
    return {
        "complainant": {"name": COMPLAINANTS[i % len(COMPLAINANTS)], "id_number": _ric(i), "phone": f"138{i:08d}"},
        "workers_count": 3 + (i * 5) % 40,
        "employer": {"name": employer, "uscc": _uscc(i), "address": "云南省楚雄彝族自治州"},
        "project": {"name": project, "type": ptype, "sector": sector},
        "amount_owed": f"{amount}.00",
        "period_from": calendar.add_months(this_month, -6).isoformat(),
        "period_to": (this_month - timedelta(days=1)).isoformat(),
        "source": ["walk_in", "hotline", "platform", "inspection"][i % 4],
    }


def _complete(actor: Actor, case, name: str, data: dict, now: datetime):
    task = next(t for t in open_tasks(case) if t.name == name)
    return services.complete_task(actor, task.id, data, case.version, now)


def _wage_case(i: int, target: str, region: str, inspector: Actor, supervisor: Actor, head: Actor,
               start: datetime) -> str:
    t = start
    case = services.open_case(inspector, "wage_arrears", region, _intake(i, t), t)
    if target == "received":
        return case.number
    t += timedelta(hours=20)
    if target == "awaiting_material":
        _complete(inspector, case, "review_complaint",
                  {"decision": "request_material", "reason": "请补充工资欠条及考勤记录"}, t)
        return case.number
    if target == "rejected":
        _complete(inspector, case, "review_complaint", {"decision": "reject", "reason": "已进入劳动仲裁程序"}, t)
        return case.number
    case = _complete(inspector, case, "review_complaint", {"decision": "accept", "reason": "符合受理条件"}, t)
    if target == "investigating":
        return case.number
    partner = CO_INSPECTORS[region]
    verified = _intake(i, start)["amount_owed"]
    workers = _intake(i, start)["workers_count"]
    t += timedelta(days=2)
    if target == "withdrawn":
        _complete(inspector, case, "investigate", {"verified_amount": "0.00", "workers_owed": 0,
                                                   "co_inspector": partner, "outcome": "no_arrears",
                                                   "findings": "经核查工资已按时足额发放"}, t)
        return case.number
    if target == "cleared":
        _complete(inspector, case, "investigate", {"verified_amount": verified, "workers_owed": workers,
                                                   "co_inspector": partner, "outcome": "paid_voluntarily",
                                                   "findings": "用人单位当场结清"}, t)
        return case.number
    case = _complete(inspector, case, "investigate", {"verified_amount": verified, "workers_owed": workers,
                                                      "co_inspector": partner, "outcome": "order",
                                                      "findings": "总包单位未按月足额支付"}, t)
    t += timedelta(hours=3)
    case = _complete(inspector, case, "issue_order", {"payment_deadline_days": 3}, t)
    if target == "order_issued":
        return case.number
    t += timedelta(days=6)
    escalation.sweep(t, render_notices=False)  # the payment deadline passes
    db.session.refresh(case)
    case = _complete(inspector, case, "check_payment", {"amount_paid": "5000.00", "note": "仅支付部分"}, t)
    if target == "enforcement":
        return case.number
    t += timedelta(hours=4)
    case = _complete(inspector, case, "choose_enforcement", {"measures": ["compensation_order", "criminal_referral"],
                                                             "compensation_rate": 50,
                                                             "reason": "拒不支付，达到移送标准"}, t)
    t += timedelta(hours=4)
    case = _complete(supervisor, case, "approve_enforcement", {"approved": True, "comment": "同意，报请移送"}, t)
    t += timedelta(hours=4)
    case = _complete(head, case, "approve_referral", {"approved": True, "comment": "同意移送公安机关"}, t)
    t += timedelta(hours=2)
    _complete(inspector, case, "transfer_case", {"transferred_on": calendar.local_date(t).isoformat(),
                                                 "receiving_unit": "楚雄市公安局"}, t)
    return case.number


PLAN = [
    # status, region
    ("received", "532301"), ("awaiting_material", "532301"), ("investigating", "532301"),
    ("order_issued", "532301"), ("enforcement", "532301"), ("cleared", "532301"), ("transferred", "532301"),
    ("withdrawn", "532301"), ("rejected", "532301"),
    ("received", "532322"), ("investigating", "532322"), ("order_issued", "532322"), ("cleared", "532322"),
    ("investigating", "532328"), ("enforcement", "532328"), ("cleared", "532328"),
]


def data_present() -> str | None:
    """What the database holds that seeding would add again (cases, posts, ledger workers), or None. Seeding
    commits case by case, so it must not start on such a database: it would stop halfway on a duplicate."""
    for model, what in ((Case, "cases"), (Post, "temporary posts"), (LedgerWorker, "ledger workers")):
        count = db.session.scalar(select(func.count()).select_from(model))
        if count:
            return f"{what}: {count}"
    return None




def campaign_of_season(today: date) -> dict[str, str]:
    """This winter's campaign dates (the rules' defaults are the 2020-21 campaign the seed notices set): it starts on
    1 November, the first target falls on 31 December and the second on the eve of the Spring Festival holiday,
    taken from chinese_calendar when it knows the year. Otherwise the day before New Year's Eve (除夕, a day off
    since 2025), from the lunar calendar: within a day of the holiday's eve in the years known, to be corrected
    with `flask rules set` once the State Council publishes the holidays."""
    import chinese_calendar
    from lunardate import LunarDate

    season = today.year if today.month >= 9 else today.year - 1
    eve = LunarDate(season + 1, 1, 1).to_solar_date() - timedelta(days=2)
    with contextlib.suppress(NotImplementedError):  # a year the package does not know yet
        # The first day off: a make-up working day before the holiday carries the holiday's name too.
        day_off = (True, chinese_calendar.Holiday.spring_festival.value)
        eve = next(day - timedelta(days=1) for day in (date(season + 1, 1, 1) + timedelta(days=i) for i in range(75))
                   if chinese_calendar.get_holiday_detail(day) == day_off)
    return dict(zip(CAMPAIGN_RULES, (f"{season}-11-01", f"{season}-12-31", eve.isoformat()), strict=True))


def _set_campaign(now: datetime, echo: Callable[[str], None]) -> None:
    """The dashboard then follows the demo cases' own winter; dates a province already set are kept."""
    kept = set(db.session.scalars(select(RuleSetting.key)))
    # The deadlines first: a campaign may not start after its deadlines (engine.rules.ORDERED_PAIRS), and this
    # winter's start is later than the deadlines of the campaign the defaults describe.
    for key, value in reversed(campaign_of_season(calendar.local_date(now)).items()):
        if key not in kept:
            rule_settings.set_rule(key, value, "demo", now)
    in_force = {r.key: r.value for r in rule_settings.rules_in_force()}
    echo("campaign dates for this winter: " + ", ".join(f"{key} {in_force[key]}" for key in CAMPAIGN_RULES))


def seed(echo: Callable[[str], None], *, if_empty: bool = False) -> None:
    """Load the demo users and data. Raises Conflict, before changing anything, when the database already holds
    cases, posts or ledger workers (with `if_empty`: does nothing when it holds users or any of these)."""
    present = data_present()
    if if_empty and (present or db.session.scalar(select(func.count(User.id)))):
        echo("demo data already loaded (users or data exist); nothing to do")
        return
    if present:
        raise Conflict(f"demo data already present ({present}); nothing changed. Seed an empty database, or use "
                       "--if-empty to skip seeding when data exists")
    now = datetime.now(UTC)
    _set_campaign(now, echo)
    lines = []
    users: dict[str, Actor] = {}
    for username, roles, region, name in DEMO_USERS:
        existing = db.session.scalar(select(User).where(User.username == username))
        if existing is None:
            password = secrets.token_urlsafe(9) + "9a"
            existing = accounts.create_user(username, password, roles, region, now, display_name=name)
            lines.append(f"  {username:<10} {password:<16} {','.join(roles):<11} {region}  {name}")
        users[username] = Actor.of(existing)
    db.session.commit()

    inspectors = {"532301": users["insp_cx"], "532322": users["insp_sb"], "532328": users["insp_ym"]}
    start = now - timedelta(days=30)
    numbers = []
    for i, (target, region) in enumerate(PLAN):
        numbers.append(_wage_case(i, target, region, inspectors[region], users["sup_cz"], users[HEADS[region]],
                                  start + timedelta(days=i)))
    for seeder in DEMO_SEEDERS:
        seeder(users, now, echo)
    escalation.sweep(now)  # bring timers and escalations up to today and render the notices
    echo(f"loaded {len(numbers)} wage-arrears cases in every status")
    if lines:
        accounts_file = Path(current_app.instance_path) / "demo-accounts.txt"
        accounts_file.write_text("username   password         role        region\n" + "\n".join(lines) + "\n",
                                 encoding="utf-8")
        accounts_file.chmod(0o600)
        echo("demo accounts (also saved in instance/demo-accounts.txt):")
        for line in lines:
            echo(line)
