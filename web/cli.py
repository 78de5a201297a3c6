"""Flask CLI commands: users, demo data, audit verification."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click
from flask import Flask
from flask.cli import AppGroup

from engine import accounts, audit
from engine.db import db
from engine.errors import Conflict
from engine.validation import DataInvalid

users_cli = AppGroup("users", help="Manage user accounts.")
audit_cli = AppGroup("audit", help="Check the audit trail.")


@users_cli.command("create")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["inspector", "clerk", "supervisor", "head", "admin"]), help="Repeat for several.")
@click.option("--region", required=True, help="GB/T 2260 division code, e.g. 532301")
@click.option("--display-name", default="", help="Name shown in the pages")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input")
@click.option("--temporary", is_flag=True, help="Force a password change at first sign-in")
def create_user(name: str, roles: tuple[str, ...], region: str, display_name: str, password_stdin: bool,
                temporary: bool) -> None:
    """Create user NAME."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        accounts.create_user(name, password, list(roles), region, datetime.now(UTC), display_name=display_name,
                             must_change_password=temporary)
        db.session.commit()
    except DataInvalid as exc:
        db.session.rollback()
        for field, message in exc.fields.items():
            click.echo(f"error: {field}: {message}", err=True)
        raise SystemExit(2) from None
    except Conflict as exc:
        db.session.rollback()
        click.echo(f"error: {exc.message}", err=True)
        raise SystemExit(2) from None
    click.echo(f"created user {name} ({', '.join(roles)}, region {region})")


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
@click.option("--if-empty", is_flag=True, help="Do nothing when users already exist (for make run)")
def seed_demo(if_empty: bool) -> None:
    """Load demo users and cases across the Chuxiong prefecture's counties."""
    from web.demo import seed

    seed(click.echo, if_empty=if_empty)


def register(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(seed_demo)
