"""`flask holidays check [--now ...]`: after the holiday files load, correct the task deadlines counted without
them and list the stated deadlines a bureau must review (engine/deadline_review.py). The scheduler does the same at
its start; the command shows what is left and exits 1 while anything is listed."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from web.cli import now_option

holidays_cli = AppGroup("holidays", help="The official holiday files and the deadlines they change.")


@holidays_cli.command("check")
@now_option("Check as if at this time (ISO 8601, e.g. 2027-01-05T09:00+08:00)")
def check(now: datetime | None) -> None:
    """Correct task deadlines the loaded holiday files change; list the stated deadlines to review (exit 1 if any)."""
    from engine import calendar, deadline_review

    now = now or datetime.now(UTC)
    report = deadline_review.reconcile(now)
    for line in report.corrected:
        click.echo(f"corrected task deadline: {line}")
    rows = deadline_review.to_review()
    for row in rows:
        click.echo(f"REVIEW {row.case_number} {row.name}: stored {calendar.local_date(row.stored_at)}, "
                   f"under the loaded calendar {calendar.local_date(row.correct_at)}")
    click.echo(f"{len(report.corrected)} task deadlines corrected, {len(rows)} stated deadlines to review")
    if rows:
        raise SystemExit(1)


COMMANDS: list[click.Command] = [holidays_cli]
