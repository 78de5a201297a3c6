"""APScheduler runs the sweep every minute. Its job store stays in memory (shared APScheduler stores run jobs
twice); which timer fires where is decided by the database claim, so any number of schedulers may run."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import UTCDateTime, db

log = logging.getLogger(__name__)

# Daily and periodic jobs other modules add: name -> callable(now).
PERIODIC_JOBS: dict[str, Callable[[datetime], object]] = {}


class SchedulerHeartbeat(db.Model):
    """Each scheduler process writes here after every sweep, so /health can tell a live one from none."""

    __tablename__ = "scheduler_heartbeats"

    worker: Mapped[str] = mapped_column(String(128), primary_key=True)
    last_sweep_at: Mapped[datetime] = mapped_column(UTCDateTime)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_sweep(app) -> None:
    """One scheduled sweep inside an app context; errors are logged, never kill the scheduler."""
    from engine.escalation import sweep

    with app.app_context():
        now = datetime.now(UTC)
        try:
            report = sweep(now, worker=worker_name())
            for error in report.errors:
                log.error("sweep: %s", error)
            for name, job in PERIODIC_JOBS.items():
                try:
                    result = job(now)
                except Exception:  # noqa: BLE001
                    db.session.rollback()
                    log.exception("periodic job %s failed", name)
                    continue
                # A job that carries on past a failing item (a claim's payment) reports it: an operator must hear
                # of a payment not made, not only the CLI that runs the same job by hand.
                for error in getattr(result, "errors", None) or ():
                    log.error("%s: %s", name, error)
            if report.fired or report.escalated or report.errors:
                log.info("sweep: %d fired, %d escalated, %d errors", len(report.fired), len(report.escalated),
                         len(report.errors))
            heartbeat = db.session.get(SchedulerHeartbeat, worker_name()) or SchedulerHeartbeat(worker=worker_name())
            heartbeat.last_sweep_at = now
            db.session.add(heartbeat)
            db.session.commit()
        except Exception:  # noqa: BLE001
            db.session.rollback()
            log.exception("sweep failed")
        finally:
            db.session.remove()


def render_notices(app) -> None:
    """Render the notices waiting in the outbox now (a step just queued some), in the scheduler's own thread."""
    from engine import documents

    with app.app_context():
        try:
            documents.render_pending(datetime.now(UTC))
        except Exception:  # noqa: BLE001 - the next sweep tries again
            db.session.rollback()
            log.exception("rendering notices failed")
        finally:
            db.session.remove()


def render_soon(scheduler, app) -> Callable[[], object]:
    """A documents.NOTICES_QUEUED_HOOKS hook: one render job, run as soon as the scheduler's thread is free (a
    second request before it runs replaces it: one render picks up every waiting notice)."""
    return lambda: scheduler.add_job(render_notices, args=[app], id="render_notices", replace_existing=True,
                                     misfire_grace_time=None)


def _configure(scheduler, app, interval: int) -> None:
    scheduler.add_job(run_sweep, "interval", seconds=interval, args=[app], id="sweep", max_instances=1,
                      coalesce=True, next_run_time=datetime.now(UTC), misfire_grace_time=interval)


def start_background(app, interval: int) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(jobstores={"default": MemoryJobStore()},
                                    executors={"default": ThreadPoolExecutor(1)}, timezone="UTC")
    _configure(scheduler, app, interval)
    scheduler.start()
    scheduler.started_at = datetime.now(UTC)  # /health: "ok" before its first sweep has had time to finish
    from engine import documents

    # A notice a user just caused is ready in a second or two, not at the next minute's sweep. (A separate
    # `flask scheduler run` process is not told: there the sweep renders them.)
    documents.NOTICES_QUEUED_HOOKS.append(render_soon(scheduler, app))
    return scheduler


def run_blocking(app, interval: int) -> None:
    scheduler = BlockingScheduler(jobstores={"default": MemoryJobStore()},
                                  executors={"default": ThreadPoolExecutor(1)}, timezone="UTC")
    _configure(scheduler, app, interval)
    scheduler.start()


def is_alive(now: datetime, interval: int) -> bool:
    """Whether some scheduler finished a sweep lately (its heartbeat is written only when a sweep succeeds)."""
    from sqlalchemy import func, select

    last = db.session.scalar(select(func.max(SchedulerHeartbeat.last_sweep_at)))
    return last is not None and (now - last).total_seconds() <= 3 * interval + 30


def sweeping(app, now: datetime) -> bool:
    """Whether deadlines are being swept: a scheduler finished a sweep lately, or this process's own started less
    than the grace ago and has not had time to. A scheduler whose every sweep fails (a locked database) is not."""
    interval = app.config["SCHEDULER_INTERVAL_SECONDS"]
    local = app.extensions.get("case_scheduler")
    started = getattr(local, "started_at", None) if local is not None and local.running else None
    if started is not None and (datetime.now(UTC) - started).total_seconds() <= 3 * interval + 30:
        return True
    return is_alive(now, interval)
