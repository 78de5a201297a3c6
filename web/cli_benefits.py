"""Flask CLI commands for benefits (registered by web/cli.py from COMMANDS), and the benefit demo data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click
from flask.cli import AppGroup

from engine.db import db
from engine.validation import DataInvalid
from web.cli import fail, now_option

SAMPLE_RATES = Path(__file__).resolve().parent.parent / "bpmn" / "benefit_claim" / "sample_rates_532300.csv"

benefits_cli = AppGroup("benefits", help="Unemployment benefit claims: regional rates and payments.")
rates_cli = AppGroup("rates", help="Regional benefit rates (minimum wage, benefit rate, subsistence rate).")
benefits_cli.add_command(rates_cli)


@rates_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--by", "imported_by", default="cli", help="Name recorded as the importer")
def rates_import(file: str, imported_by: str) -> None:
    """Load rates from FILE.csv (region,effective_from,minimum_wage,benefit_rate,subsistence_rate[,note]) in UTF-8
    or GBK (as Chinese Excel saves it).

    All rows or none: a bad cell is reported as `line N.column` and nothing is loaded. benefit_rate may be blank
    (then the rule benefit_rate_percent of the minimum wage applies)."""
    from engine import benefit_rates
    from engine.textfiles import read_text

    try:
        result = benefit_rates.import_rates(read_text(file), imported_by, datetime.now(UTC))
        db.session.commit()
    except DataInvalid as exc:
        fail(exc)
    click.echo(f"{result.created} rates added, {result.updated} updated from {file}")


@rates_cli.command("list")
@click.option("--region", default=None, help="Only this region (and the prefecture/province rates it inherits)")
def rates_list(region: str | None) -> None:
    """List the loaded rates, oldest first per region."""
    from engine import benefit_rates
    from engine.validation import REGION_MESSAGE, REGION_RE

    if region is not None and not REGION_RE.match(region):  # else a typo lists "0 rates", as if none were loaded
        raise click.BadParameter(REGION_MESSAGE, param_hint="--region")
    rows = benefit_rates.rates_json(region)
    click.echo("region  effective   minimum  benefit(in effect)         subsistence  note")
    for j in rows:
        click.echo(f"{j['region']}  {j['effective_from']}  {j['minimum_wage']:>8}  {j['benefit_rate_in_effect']:>8} "
                   f"({'set' if j['benefit_rate'] else 'from %'})  {j['subsistence_rate']:>11}  {j['note']}")
    click.echo(f"{len(rows)} rates")


@benefits_cli.command("pay")
@now_option("Run as if at this time (ISO 8601, e.g. 2021-03-01T09:00+08:00)")
def pay(now: datetime | None) -> None:
    """Pay every scheduled month due by today; claims whose schedule ended are closed."""
    from engine import benefit_payments

    result = benefit_payments.run_payments(now or datetime.now(UTC))
    for line in result.errors:
        click.echo(f"error: {line}", err=True)
    click.echo(f"{result.paid} monthly payments made for {result.cases} claims, {len(result.errors)} errors")
    if result.errors:
        raise SystemExit(1)


COMMANDS: list[click.Command] = [benefits_cli]


# ---------------------------------------------------------------------------------------------------------------
# Demo data: the Chuxiong sample rates and a few claims in several statuses.

def _demo_ric(seed: int) -> str:
    from stdnum.cn import ric

    base = f"53230119{84 + seed % 14}{(seed % 12) + 1:02d}{(seed % 27) + 1:02d}{seed % 10}{(seed * 3) % 10}{seed % 2}"
    return base + ric.calc_check_digit(base + "0")


DEMO_EMPLOYERS = ["楚雄鹿城建筑劳务有限公司", "元谋县金沙江果蔬加工厂", "楚雄州彝人古镇物业服务有限公司"]


def _claim(seed: int, name: str, household: str, reason: str, months: int, drawn: int, separated: str) -> dict:
    # Registered as unemployed a week after leaving (the benefit period runs from the registration).
    registered = (date.fromisoformat(separated) + timedelta(days=7)).isoformat()
    return {
        "claimant": {"name": name, "id_number": _demo_ric(seed), "phone": f"139{seed:08d}", "household": household},
        "last_employer": DEMO_EMPLOYERS[seed % len(DEMO_EMPLOYERS)],
        "separation_date": separated, "separation_reason": reason, "contribution_months": months,
        "months_already_drawn": drawn, "registered_unemployed": True, "unemployment_registration_date": registered,
        "seeking_work": True, "bank_account": f"62220202001{seed:08d}",
    }


def seed_benefits(users: dict, now: datetime, echo: Callable[[str], None]) -> None:
    from sqlalchemy import select

    from engine import benefit_payments, benefit_rates, calendar, services
    from engine.models import Case
    from engine.services.cases import open_tasks
    from engine.textfiles import read_text

    result = benefit_rates.import_rates(read_text(SAMPLE_RATES), "demo", now)
    db.session.commit()
    echo(f"loaded {result.created + result.updated} benefit rates for Chuxiong (sample)")
    if db.session.scalar(select(Case.id).where(Case.process == "benefit_claim").limit(1)) is not None:
        echo("benefit claims already loaded; none added (one open claim per person)")
        return
    clerk, clerk_sb, sup = users["clerk_cx"], users["clerk_sb"], users["sup_cz"]
    start = now - timedelta(days=75)
    day = calendar.local_date(start - timedelta(days=20)).isoformat()
    recent = calendar.local_date(now - timedelta(days=20)).isoformat()

    def complete(actor, case, name, data, at):
        task = next(t for t in open_tasks(case) if t.name == name)
        return services.complete_task(actor, task.id, data, case.version, at)

    opened = []
    # Fast track: approved by the rules; months paid by the payment job below (paying).
    opened.append(services.open_case(clerk, "benefit_claim", "532301",
                                     _claim(1, "李秀兰", "urban", "involuntary", 70, 0, day), start))
    # Fast track, one month: closed when its only month is paid.
    opened.append(services.open_case(clerk_sb, "benefit_claim", "532322",
                                     _claim(2, "普阿支", "rural", "voluntary", 2, 0, day), start))
    # Refused by the rules (not registered as unemployed).
    refused = _claim(3, "杨光明", "urban", "involuntary", 30, 0, day)
    refused["registered_unemployed"] = False
    del refused["unemployment_registration_date"]
    opened.append(services.open_case(clerk, "benefit_claim", "532301", refused, start))
    # Voluntary separation with 12+ months: in the clerk's queue.
    opened.append(services.open_case(clerk, "benefit_claim", "532301",
                                     _claim(4, "罗建华", "urban", "voluntary", 40, 0, recent),
                                     now - timedelta(days=2)))
    # 24 months above the ceiling: awaiting the supervisor.
    opened.append(services.open_case(clerk, "benefit_claim", "532301",
                                     _claim(5, "起文秀", "urban", "involuntary", 150, 0, recent),
                                     now - timedelta(days=1)))
    # Clerk approves a reviewed claim, then payments stop on re-employment.
    case = services.open_case(clerk_sb, "benefit_claim", "532322",
                              _claim(6, "鲁正刚", "urban", "voluntary", 26, 0, day), start)
    case = complete(clerk_sb, case, "review_claim",
                    {"decision": "approve", "reason": "用人单位未足额支付劳动报酬，属被迫解除劳动合同",
                     "approved_type": "unemployment_benefit"}, start + timedelta(hours=3))
    case = complete(sup, case, "approve_claim", {"approved": True, "comment": "同意"}, start + timedelta(hours=6))
    opened.append(case)
    benefit_payments.run_payments(now)
    benefit_payments.stop_payments(clerk_sb, case.number,
                                   {"reason": "reemployed", "note": "已在楚雄市某物流公司就业"}, now)
    numbers = [c.number for c in opened]
    statuses = sorted(set(db.session.scalars(select(Case.status).where(Case.number.in_(numbers)))))
    echo(f"loaded {len(opened)} benefit claims ({', '.join(statuses)})")


def _register_demo() -> None:
    from web.demo import DEMO_SEEDERS

    if seed_benefits not in DEMO_SEEDERS:
        DEMO_SEEDERS.append(seed_benefits)


_register_demo()
