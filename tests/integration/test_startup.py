"""What a process says at start-up about its configuration."""

from __future__ import annotations

import logging

import pytest

import config as settings
from web import create_app


def _config(**overrides) -> type[settings.Config]:
    return type("Deployed", (settings.Config,), {"SECRET_KEY": "x" * 32, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                                                 "SCHEDULER": "off", **overrides})


@pytest.mark.parametrize("public_url, warned", [(settings.DEFAULT_PUBLIC_BASE_URL, True),
                                               ("https://rsj.example.gov.cn", False)])
def test_a_deployment_without_a_public_address_is_warned(monkeypatch, caplog, public_url, warned):
    """QA: a scheduler started without PUBLIC_BASE_URL issued 406 notices whose QR codes and verification line
    read http://127.0.0.1:5000, with nothing said at start-up."""
    monkeypatch.delenv("APP_ENV", raising=False)
    with caplog.at_level(logging.WARNING, logger="web"):
        create_app(_config(PUBLIC_BASE_URL=public_url))
    said = [r.getMessage() for r in caplog.records if "PUBLIC_BASE_URL" in r.getMessage()]
    assert bool(said) is warned, said


@pytest.mark.parametrize("setting, value, says", [
    ("SCHEDULER_INTERVAL_SECONDS", "abc", "SCHEDULER_INTERVAL_SECONDS must be a whole number, not 'abc'"),
    ("SCHEDULER_INTERVAL_SECONDS", "0", "SCHEDULER_INTERVAL_SECONDS must be at least 1"),
    ("TIMEZONE", "Mars/Base", "TIMEZONE must be an IANA time zone"),
    ("TRUSTED_PROXIES", "-1", "TRUSTED_PROXIES must be at least 0"),
    ("TRUSTED_PROXIES", "nginx", "TRUSTED_PROXIES must be a whole number, not 'nginx'"),
    ("DATABASE_URL", "mysql://u@h/db", "DATABASE_URL must be a sqlite:/// or postgresql:// URL"),
])
def test_a_bad_setting_stops_the_process_with_a_message_naming_it(setting, value, says):
    """QA: TIMEZONE=Mars/Base and SCHEDULER_INTERVAL_SECONDS=abc ended in tracebacks, and a MySQL DATABASE_URL in
    "Error: No such command 'db'"."""
    import os
    import subprocess
    import sys

    env = {**os.environ, setting: value, "SECRET_KEY": "x" * 32}
    done = subprocess.run([sys.executable, "-c", "import config"], env=env, capture_output=True, text=True,
                          cwd=os.path.dirname(settings.__file__), timeout=60)
    assert done.returncode == 1 and says in done.stderr and "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize("command, sweeps", [("run", True), ("flask", False), (None, True)])
def test_the_scheduler_starts_inside_a_server_only(monkeypatch, command, sweeps):
    """QA: with SCHEDULER=on in the environment every `flask` command started the in-process scheduler too: `flask
    db upgrade` swept beside a migration, `flask scheduler run` ran two schedulers. `flask run` (its command is
    "run"), or a WSGI server (no command line), starts it; an app command (loaded under the group, "flask") does
    not."""
    import contextlib

    import click

    from engine import scheduler

    started = []
    monkeypatch.setattr(scheduler, "start_background", lambda app, interval: started.append(interval) or "started")
    monkeypatch.setenv("APP_ENV", "development")  # no warning about the public address
    context = click.Context(click.Command(command), info_name=command) if command else contextlib.nullcontext()
    with context:
        app = create_app(_config(SCHEDULER="on"))
    assert (app.extensions.get("case_scheduler") == "started") is sweeps
    assert len(started) == (1 if sweeps else 0)
