"""The Flask application: pages for inspectors, clerks and supervisors, and the JSON API."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

import config as settings
from engine import calendar
from engine.validation import MAX_ROW_ID


def load_holidays(folder: str, logger: logging.Logger) -> None:
    """The administrator's holiday files. A typo in one must not take the service down: nothing of the folder is
    loaded (load_holiday_dir checks every file first), the error is logged, and the years stay missing, which the
    pages and the health check keep saying."""
    try:
        calendar.load_holiday_dir(folder)
    except (calendar.HolidayFileError, OSError) as exc:
        logger.error("holiday files in %s not loaded: %s", folder, exc)


def create_app(config: type[settings.Config] | dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(settings.INSTANCE_DIR))
    if isinstance(config, dict):
        app.config.from_object(settings.config_for(os.environ.get("APP_ENV")))
        app.config.update(config)
    else:
        app.config.from_object(config or settings.config_for(os.environ.get("APP_ENV")))
    # First, so that what start-up says (holiday files loaded, a missing public address) reaches the log.
    logging.basicConfig(level=logging.INFO)
    # Libraries that log every step at INFO (each task state change, each PDF layout pass) would drown ours.
    for noisy in ("spiff", "SpiffWorkflow", "weasyprint", "weasyprint.progress", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _require_secret(app)
    _warn_about_public_address(app)
    trust_proxies(app)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    calendar.set_timezone(app.config["TIMEZONE"])
    load_holidays(app.config["HOLIDAYS_DIR"], app.logger)
    from engine import documents, processes, sign_in_lock

    sign_in_lock.configure(app.config["SECRET_KEY"])
    documents.configure(app.config["DOCUMENTS_DIR"], app.config["PUBLIC_BASE_URL"])
    processes.configure_workflow_cache(app.config["WORKFLOW_CACHE_SIZE"], check=app.config["WORKFLOW_CACHE_CHECK"])
    register_extensions(app)
    register_blueprints(app)
    register_commands(app)
    register_error_handlers(app)
    start_scheduler(app)
    return app


def start_scheduler(app: Flask) -> None:
    """The sweep inside the server process when SCHEDULER=on; `flask scheduler run` for separate processes.
    Never in tests (TestConfig) and never in the reloader's child: the watching parent runs it once. Only in a
    server: a WSGI server (no command line) or `flask run`; any other `flask` command (db upgrade, users, scheduler
    run) with SCHEDULER=on in its environment would otherwise sweep beside what it does."""
    if app.config["SCHEDULER"] != "on" or app.config.get("TESTING"):
        return
    if os.environ.get("WERKZEUG_RUN_MAIN") == "true":
        return
    command = click.get_current_context(silent=True)
    if command is not None and command.info_name != "run":
        return
    from engine.scheduler import start_background

    app.extensions["case_scheduler"] = start_background(app, app.config["SCHEDULER_INTERVAL_SECONDS"])


def _warn_about_public_address(app: Flask) -> None:
    """Notices print PUBLIC_BASE_URL in their QR codes when issued, by whichever process issues them: a deployment
    that forgot it in one process (a scheduler) prints an address no one can reach on legal documents."""
    if (app.config["PUBLIC_BASE_URL"] == settings.DEFAULT_PUBLIC_BASE_URL and not app.testing
            and os.environ.get("APP_ENV") != "development"):
        logging.getLogger(__name__).warning(
            "PUBLIC_BASE_URL is not set: notices issued by this process print %s in their QR codes; set it to the "
            "address the public verifies notices at, the same in every process (README, Production)",
            app.config["PUBLIC_BASE_URL"])


def trust_proxies(app: Flask) -> None:
    """TRUSTED_PROXIES reverse proxies in front of the app: the client's address (request.remote_addr, which the
    sign-in lock-out counts by) is then the one the nearest of them appended to X-Forwarded-For, not the proxy's own,
    which every client would share. Only that header is read, and only as many of its entries as there are proxies:
    what a client writes into it itself lies beyond them. With none (the default) the header is ignored."""
    proxies = app.config.get("TRUSTED_PROXIES", 0)
    if not isinstance(proxies, int) or proxies < 0:
        raise RuntimeError(f"TRUSTED_PROXIES must be how many reverse proxies are in front of the app, not {proxies!r}")
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=0, x_host=0, x_port=0, x_prefix=0)


def _require_secret(app: Flask) -> None:
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError(
            "SECRET_KEY is not set. Set it in the environment (make run creates one under instance/)."
        )


def register_extensions(app: Flask) -> None:
    import engine.models_all  # noqa: F401 - every table, for Alembic and create_all
    from web.extensions import csrf, db, migrate

    lock_timeout_ms = int(app.config["LOCK_TIMEOUT_SECONDS"]) * 1000
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Test each connection before use: after a server restart the pool's connections are dead.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True, **app.config["SQLALCHEMY_ENGINE_OPTIONS"]}
    db.init_app(app)
    # render_as_batch: SQLite alters tables by copying them.
    migrations = Path(__file__).resolve().parent.parent / "migrations"
    migrate.init_app(app, db, directory=str(migrations), render_as_batch=True)
    csrf.init_app(app)
    # Pages: Flask-Login sessions and Flask-Babel (web/auth.py).
    from web.auth import init_app as init_pages_auth

    init_pages_auth(app)
    from sqlalchemy import event

    with app.app_context():
        # On each new connection of this app's engine (set here, not in the engine options, which a second app on
        # another database may copy).
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            @event.listens_for(db.engine, "connect")
            def _sqlite_pragmas(dbapi_connection, _record):
                # WAL lets readers run beside the one writer; busy_timeout queues writers instead of failing.
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute(f"PRAGMA busy_timeout={lock_timeout_ms}")
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.close()
        else:
            @event.listens_for(db.engine, "connect")
            def _lock_timeout(dbapi_connection, _record):
                # Without it PostgreSQL waits for a held lock as long as its holder runs (a request would hang).
                cursor = dbapi_connection.cursor()
                cursor.execute(f"SET lock_timeout = {lock_timeout_ms}")
                cursor.close()
                dbapi_connection.commit()  # the SET began a transaction (psycopg); the setting stays for the session


class RowIdConverter(IntegerConverter):
    """`<row_id:name>`: a row id, 1 to MAX_ROW_ID. A larger number matches no route (404) rather than overflowing the
    database's integer (a 500)."""

    def __init__(self, url_map) -> None:
        super().__init__(url_map, min=1, max=MAX_ROW_ID)


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["row_id"] = RowIdConverter
    from web import dashboard, verify
    from web.api import bp as api_bp
    from web.auth import bp as auth_bp
    from web.extensions import csrf
    from web.pages import bp as pages_bp

    csrf.exempt(api_bp)  # the API takes bearer tokens only, never cookies
    app.register_blueprint(api_bp)
    app.register_blueprint(auth_bp)  # sign-in, sign-out, password, language
    app.register_blueprint(pages_bp)  # queues, cases, intake, posts
    app.register_blueprint(dashboard.bp)  # the clear-zero dashboard
    app.register_blueprint(verify.bp)  # public /verify/<code>, no login


def register_error_handlers(app: Flask) -> None:
    from web.errors import register_error_handlers as register

    register(app)


def register_commands(app: Flask) -> None:
    from web.cli import register

    register(app)
