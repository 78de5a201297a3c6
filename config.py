"""Settings classes. Every value comes from the environment; no secret has a default."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_DIR", BASE_DIR / "instance"))


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "on", "yes"}


def _int(name: str, default: int, minimum: int = 1) -> int:
    """A whole-number setting of at least `minimum`. A value that is none stops the process with a message naming
    the setting (at import, before anything starts), not a traceback."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"configuration: {name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise SystemExit(f"configuration: {name} must be at least {minimum}, not {raw!r}")
    return value


def _timezone(name: str, default: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    value = os.environ.get(name, default)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SystemExit(f"configuration: {name} must be an IANA time zone such as Asia/Shanghai, not {value!r}") \
            from None
    return value


def _database_url(url: str) -> str:
    if not url.startswith(("sqlite:", "postgres://", "postgresql")):
        raise SystemExit("configuration: DATABASE_URL must be a sqlite:/// or postgresql:// URL (SQLite or "
                         f"PostgreSQL), not {url.split(':', 1)[0]!r}")
    return _normalise_db_url(url)


def _normalise_db_url(url: str) -> str:
    # psycopg 3 is the driver; accept the common postgres:// spellings.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


# Fine for a demo on one machine; a deployment must say where the public verifies notices (web/__init__.py warns).
DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:5000"


class Config:
    SQLALCHEMY_DATABASE_URI = _database_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'hrss.sqlite3'}"))
    # Engine options; a PostgreSQL server can restart under the pool, so web/__init__.py turns on pool_pre_ping
    # for it (a SQLite file cannot go away, and the ping would be one more statement per transaction).
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # How long a write waits for a row or table another transaction holds (a ledger import, a migration) before it
    # gives up with "系统正忙" (DatabaseBusy, 409): SQLite's busy_timeout, PostgreSQL's lock_timeout. PostgreSQL
    # would otherwise wait for as long as the other holds it, and a request would hang.
    LOCK_TIMEOUT_SECONDS = _int("LOCK_TIMEOUT_SECONDS", 10)
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SCHEDULER = os.environ.get("SCHEDULER", "off")
    SCHEDULER_INTERVAL_SECONDS = _int("SCHEDULER_INTERVAL_SECONDS", 60)
    DOCUMENTS_DIR = os.environ.get("DOCUMENTS_DIR", str(INSTANCE_DIR / "documents"))
    HOLIDAYS_DIR = os.environ.get("HOLIDAYS_DIR", str(INSTANCE_DIR / "holidays"))
    TIMEZONE = _timezone("TIMEZONE", "Asia/Shanghai")
    # Public base URL printed in notices' QR codes.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", DEFAULT_PUBLIC_BASE_URL)
    API_TOKEN_HOURS = _int("API_TOKEN_HOURS", 12)
    # Live workflows kept in memory per process between steps (engine.workflow_cache); 0 turns it off.
    WORKFLOW_CACHE_SIZE = _int("WORKFLOW_CACHE_SIZE", 256, minimum=0)
    WORKFLOW_CACHE_CHECK = False  # serialize each kept workflow again at commit (tests: catches a late change)
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 2 * 1024 * 1024)
    LOGIN_MAX_FAILURES = _int("LOGIN_MAX_FAILURES", 5)
    LOGIN_LOCK_MINUTES = _int("LOGIN_LOCK_MINUTES", 15)
    # Failures count towards the lock while each comes within this many minutes of the one before.
    LOGIN_FAILURE_WINDOW_MINUTES = _int("LOGIN_FAILURE_WINDOW_MINUTES", 60)
    # Reverse proxies in front of the app, each adding the address it was called from to X-Forwarded-For: the
    # client's address, which the lock-out counts by, is then taken from that header (web/__init__.py). 0: none,
    # the header is ignored, so a client cannot name an address of its choosing.
    TRUSTED_PROXIES = _int("TRUSTED_PROXIES", 0, minimum=0)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # A page session is refused this many hours after it was signed in (a working day), however it was kept.
    PERMANENT_SESSION_LIFETIME = timedelta(hours=_int("SESSION_HOURS", 12))
    # Secure (HTTPS-only) cookies unless debugging or testing; SESSION_COOKIE_SECURE=0 for a plain-HTTP intranet.
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    WTF_CSRF_TIME_LIMIT = None
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = TIMEZONE
    TESTING = False


class DevelopmentConfig(Config):
    SCHEDULER = os.environ.get("SCHEDULER", "on")
    SESSION_COOKIE_SECURE = REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)


class TestConfig(Config):
    TESTING = True
    SCHEDULER = "off"
    SECRET_KEY = "test-only-secret"  # noqa: S105 - tests only, never deployed
    WORKFLOW_CACHE_CHECK = True
    WTF_CSRF_ENABLED = True
    SESSION_COOKIE_SECURE = REMEMBER_COOKIE_SECURE = False  # the test client and e2e server speak plain HTTP


def config_for(name: str | None) -> type[Config]:
    """The configuration APP_ENV names. TestConfig is not among them: its secret key is in the repository, so only
    the test suite, which passes the class itself, may run with it."""
    return {"development": DevelopmentConfig}.get(name or "", Config)
