"""Flask CLI commands: users, demo data, audit verification."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import NoReturn

import click
from flask import Flask
from flask.cli import AppGroup

from engine import accounts, audit, sign_in_lock
from engine.actors import ROLES
from engine.db import db
from engine.errors import Conflict, NotFound
from engine.validation import DataInvalid


def fail(exc: Exception) -> NoReturn:
    """A refused command: roll back, name what was wrong on stderr (each bad row of a file, or each field) and exit
    with status 2. Nothing was changed."""
    from engine.ledger import LedgerInvalid

    db.session.rollback()
    if isinstance(exc, LedgerInvalid):
        lines = [str(row_error) for row_error in exc.errors]
        if exc.total > len(exc.errors):
            lines.append(f"... and {exc.total - len(exc.errors)} more")
        lines.append(exc.message)
    elif isinstance(exc, DataInvalid) and exc.fields:
        lines = [f"{field}: {message}" for field, message in exc.fields.items()]
    else:
        lines = [getattr(exc, "message", str(exc))]
    for line in lines:
        click.echo(f"error: {line}", err=True)
    raise SystemExit(2) from None


users_cli = AppGroup("users", help="Manage user accounts.")
audit_cli = AppGroup("audit", help="Check the audit trail.")


@users_cli.command("create")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(ROLES), help="Repeat for several.")
@click.option("--region", required=True, help="GB/T 2260 division code, e.g. 532301")
@click.option("--display-name", default="", help="Name shown in the pages")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input")
@click.option("--temporary", is_flag=True, help="Force a password change at first sign-in")
def create_user(name: str, roles: tuple[str, ...], region: str, display_name: str, password_stdin: bool,
                temporary: bool) -> None:
    """Create user NAME."""
    password = _password(password_stdin)
    try:
        accounts.create_user(name, password, list(roles), region, datetime.now(UTC), display_name=display_name,
                             must_change_password=temporary)
        db.session.commit()
    except (DataInvalid, Conflict) as exc:
        fail(exc)
    click.echo(f"created user {name} ({', '.join(roles)}, region {region})")


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_cli.command("list")
def list_users() -> None:
    """Every account: name, roles, region, and whether it is inactive, locked (from how many client addresses) or
    holds a region no longer in force (GB/T 2260)."""
    from engine.regions import is_current_division, region_name

    now = datetime.now(UTC)
    users = accounts.list_users()
    locks = sign_in_lock.sign_in_locks(now)
    for user in users:
        notes = []
        if not user.active:
            notes.append("inactive")
        if lock := locks.get(sign_in_lock.name_key(user.username)):
            addresses, until = lock
            notes.append(f"locked from {addresses} address{'es' if addresses > 1 else ''} until {until:%Y-%m-%d %H:%M} "
                         "UTC")
        if user.must_change_password:
            notes.append("must change password")
        if user.region and not is_current_division(user.region):
            notes.append("region not in force: update it with `flask users update --region`")
        where = f"{user.region} {region_name(user.region)}" if user.region else "(whole country)"
        click.echo(f"{user.username:<20} {user.display_name:<12} {','.join(user.roles):<24} {where}"
                   + (f"  [{'; '.join(notes)}]" if notes else ""))
    click.echo(f"{len(users)} users")


@users_cli.command("update")
@click.argument("name")
@click.option("--role", "roles", multiple=True, type=click.Choice(ROLES),
              help="Replace the roles with these (repeat for several)")
@click.option("--region", default=None, help="New GB/T 2260 division code, e.g. 532301")
@click.option("--display-name", default=None, help="Name shown in the pages")
@click.option("--active/--inactive", default=None,
              help="--inactive: the user can no longer sign in, and their sessions and API tokens end")
def update_user(name: str, roles: tuple[str, ...], region: str | None, display_name: str | None,
                active: bool | None) -> None:
    """Change user NAME's roles, region, display name or whether the account is active."""
    if not roles and region is None and display_name is None and active is None:
        fail(DataInvalid({"options": "nothing to change: give --role, --region, --display-name, --active or "
                                     "--inactive"}))
    try:
        user = accounts.update_user(name, datetime.now(UTC), roles=list(roles) or None, region=region,
                                    display_name=display_name, active=active)
        db.session.commit()
    except (DataInvalid, NotFound) as exc:
        fail(exc)
    click.echo(f"updated user {name} ({', '.join(user.roles)}, region {user.region or '(whole country)'}"
               f"{'' if user.active else ', inactive'})")


@users_cli.command("reset-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input")
@click.option("--permanent", is_flag=True, help="Do not ask for a change at the next sign-in")
def reset_password(name: str, password_stdin: bool, permanent: bool) -> None:
    """Set a new password for user NAME (a forgotten one, a lock-out): by default the user must change it at the
    next sign-in. Their other sessions and API tokens end."""
    password = _password(password_stdin)
    try:
        accounts.reset_password(name, password, datetime.now(UTC), temporary=not permanent)
    except (DataInvalid, NotFound) as exc:
        fail(exc)
    click.echo(f"password of {name} reset" + ("" if permanent else "; it must be changed at the next sign-in"))


@audit_cli.command("verify")
def verify() -> None:
    """Check every case's hash chain; name the first broken event of each bad chain."""
    def progress(done: int, total: int) -> None:
        if total and (done % 1000 == 0 or done == total):
            click.echo(f"\r  checked {done}/{total} cases", nl=done == total, err=True)

    checked, breaks = audit.verify_all(progress)
    for b in breaks:
        click.echo(f"BROKEN {b.case_number} event #{b.seq}: {b.reason}")
    if breaks:
        click.echo(f"{len(breaks)} of {checked} case chains are broken")
        raise SystemExit(1)
    click.echo(f"all {checked} case chains intact")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when users or data already exist (for make run)")
def seed_demo(if_empty: bool) -> None:
    """Load demo users and cases across the Chuxiong prefecture's counties."""
    from web.demo import seed

    try:
        seed(click.echo, if_empty=if_empty)
    except Conflict as exc:
        fail(exc)


scheduler_cli = AppGroup("scheduler", help="Run the escalation scheduler.")
documents_cli = AppGroup("documents", help="The notice outbox.")


NOW_YEARS = range(2000, 2101)


class MomentType(click.ParamType):
    """The one type of every `--now`: an ISO 8601 moment, e.g. 2021-02-01T09:00+08:00 (without an offset: in the
    configured time zone), in the years NOW_YEARS. Dates near year 1 or 9999 overflow in time-zone and working-day
    arithmetic, and are typos anyway."""

    name = "datetime"

    def convert(self, value: str | datetime, param: click.Parameter | None,
                ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            moment = value
        else:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                self.fail("use ISO 8601, e.g. 2021-02-01T09:00+08:00", param, ctx)
        if moment.tzinfo is None:
            from engine import calendar

            moment = moment.replace(tzinfo=calendar.get_timezone())
        if moment.year not in NOW_YEARS:
            self.fail(f"{value} is out of range: the year must be {NOW_YEARS.start} to {NOW_YEARS.stop - 1}",
                      param, ctx)
        return moment


MOMENT = MomentType()


def now_option(help_text: str) -> Callable[[Callable], Callable]:
    """`--now MOMENT` (default: the real time, which the command takes with `now or datetime.now(UTC)`)."""
    return click.option("--now", type=MOMENT, default=None, help=help_text)


@click.command("sweep")
@now_option("Sweep as if at this time (ISO 8601, e.g. 2021-02-01T09:00+08:00)")
@click.option("--dry-run", is_flag=True, help="Print what would fire and escalate; change nothing")
def sweep_command(now: datetime | None, dry_run: bool) -> None:
    """Run one escalation sweep: fire due timers, escalate overdue tasks, render waiting notices."""
    from engine import escalation

    now = now or datetime.now(UTC)
    if dry_run:
        plan = escalation.forecast(now)
        for item in plan:
            click.echo(f"would {item['action']:<40} {item['case']}  (due {item['fire_at'].isoformat()})")
        click.echo(f"{len(plan)} timers due at {now.isoformat()} (dry run: nothing changed)")
        return

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty() or total >= 100:
            click.echo(f"\r  {done}/{total} timers handled", nl=False, err=True)

    report = escalation.sweep(now, progress=progress)
    click.echo("", err=True)
    for line in report.lines():
        click.echo(line)
    click.echo(f"{len(report.fired)} fired, {len(report.escalated)} escalated, {report.skipped} skipped, "
               f"{len(report.errors)} errors, {report.notices_rendered} notices rendered")
    _echo_outbox()
    if report.errors:
        raise SystemExit(1)


def _echo_outbox() -> None:
    """The notices not rendered yet: a render that fails is retried later, not counted as a sweep's error."""
    from engine import documents

    box = documents.outbox()
    click.echo(f"notices not rendered yet: {box.waiting} waiting, {box.retrying} failed and to be retried, "
               f"{box.failed} given up (flask documents failures / retry)")


@scheduler_cli.command("run")
def scheduler_run() -> None:
    """Run the scheduler in the foreground (for deployments with several web workers)."""
    from flask import current_app

    from engine.scheduler import run_blocking

    interval = current_app.config["SCHEDULER_INTERVAL_SECONDS"]
    click.echo(f"scheduler running: sweep every {interval}s (Ctrl+C stops)")
    run_blocking(current_app._get_current_object(), interval)


@documents_cli.command("retry")
def documents_retry() -> None:
    """Put notices that failed to render back into the outbox and render them now."""
    from engine import documents

    now = datetime.now(UTC)
    count = documents.retry_failed(now)
    rendered = documents.render_pending(now)
    click.echo(f"{count} failed notices requeued, {rendered} rendered")


@documents_cli.command("failures")
def documents_failures() -> None:
    """List notices that have not rendered, with their last error."""
    from engine import documents

    rows = documents.failed_documents()
    for d in rows:
        click.echo(f"{d.id}\t{d.status}\t{d.number}\tattempts={d.attempts}\t{d.last_error or ''}")
    _echo_outbox()


rules_cli = AppGroup("rules", help="The province's overrides of the rules' defaults (engine/rules.py).")


@rules_cli.command("list")
def rules_list() -> None:
    """Every rule: the value in force, its default, and who overrode it."""
    from engine.rule_settings import rules_in_force

    for rule in rules_in_force():
        override = f"  (set by {rule.updated_by}; default {rule.default})" if rule.stored is not None else ""
        ignored = "" if rule.stored_valid else f"  [stored value {rule.stored!r} is invalid: the default applies]"
        click.echo(f"{rule.key:<40} {rule.value!s:>12} {rule.unit:<13} {rule.title}{override}{ignored}")


@rules_cli.command("set")
@click.argument("key")
@click.argument("value")
@click.option("--by", required=True, help="Who decided it (kept with the setting)")
def rules_set(key: str, value: str, by: str) -> None:
    """Override rule KEY with VALUE (checked against the rule's unit)."""
    from engine.rule_settings import set_rule

    try:
        in_force = set_rule(key, value, by, datetime.now(UTC))
    except DataInvalid as exc:
        fail(exc)
    click.echo(f"{key} = {in_force}")


@rules_cli.command("reset")
@click.argument("key")
def rules_reset(key: str) -> None:
    """Drop the override of rule KEY: its default applies again."""
    from engine.rule_settings import reset_rule

    try:
        default = reset_rule(key)
    except DataInvalid as exc:
        fail(exc)
    click.echo(f"{key} = {default} (default)")


def register(app: Flask) -> None:
    from web import cli_benefits, cli_holidays, cli_ledger
    from web.dashboard_cli import dashboard_cli

    app.cli.add_command(dashboard_cli)
    for command in cli_benefits.COMMANDS + cli_holidays.COMMANDS + cli_ledger.COMMANDS:
        app.cli.add_command(command)
    app.cli.add_command(users_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(rules_cli)
    app.cli.add_command(seed_demo)
    app.cli.add_command(sweep_command)
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(documents_cli)
