"""`flask dashboard snapshot [--now ...]`: record the day's clear-zero figures per region (idempotent per day).
The scheduler does this by itself (engine.clear_zero_snapshots.snapshot_job); the command is for back-filling and for
deployments without a scheduler (a nightly cron)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from web.cli import now_option

dashboard_cli = AppGroup("dashboard", help="The clear-zero dashboard.")


@dashboard_cli.command("snapshot")
@now_option("Snapshot as if at this time (ISO 8601, e.g. 2021-02-01T20:00+08:00)")
def snapshot(now: datetime | None) -> None:
    """Record today's clear-zero figures per region; running it again the same day replaces them."""
    from engine import calendar, clear_zero_snapshots

    now = now or datetime.now(UTC)
    written = clear_zero_snapshots.take_snapshot(now)
    click.echo(f"clear-zero snapshot for {calendar.local_date(now).isoformat()}: {written} regions")
