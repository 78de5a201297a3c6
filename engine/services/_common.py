"""Transaction and loading helpers shared by the services: one service call is one transaction."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from engine.actors import Actor, region_filter
from engine.db import db
from engine.errors import CaseChanged, Conflict, DatabaseBusy, NotFound
from engine.models import Case, RuleSetting
from engine.rules import RULES, in_force

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


# PostgreSQL's serialization failure, deadlock and lock-not-available.
_RACE_SQLSTATES = ("40001", "40P01", "55P03")


def lost_race(exc: BaseException) -> bool:
    """True when a concurrent change beat this transaction, so trying again later can succeed: a moved case
    version, a key someone else took first, a PostgreSQL serialization or lock failure, SQLite's lock timeout.
    Any other database error is a real fault."""
    if isinstance(exc, (Conflict, StaleDataError, IntegrityError)):
        return True
    if isinstance(exc, OperationalError):
        return (getattr(exc.orig, "sqlstate", None) in _RACE_SQLSTATES
                or str(getattr(exc.orig, "sqlite_errorname", "")).startswith("SQLITE_BUSY"))
    return False


# A write that waited its whole lock timeout (SQLite's busy_timeout behind a long write such as a ledger import,
# PostgreSQL's lock-not-available): nothing was changed by anyone else, the database was busy.
DATABASE_BUSY = "系统正忙（另一项较大的写入尚未完成，如台账导入），本次操作未保存，请稍后重试"


def _busy(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)
    return isinstance(exc, OperationalError) and (str(getattr(orig, "sqlite_errorname", "")).startswith("SQLITE_BUSY")
                                                  or getattr(orig, "sqlstate", None) == "55P03")


def transactional(fn: Callable[P, R]) -> Callable[P, R]:
    """Commit when the service returns, roll back on any error; a lost race becomes a Conflict."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = fn(*args, **kwargs)
            db.session.commit()
            return result
        except BaseException as exc:
            db.session.rollback()
            if isinstance(exc, Conflict) or not lost_race(exc):
                raise
            if _busy(exc):
                raise DatabaseBusy(DATABASE_BUSY) from exc
            stale = isinstance(exc, StaleDataError)
            raise CaseChanged("案件已被他人修改，请刷新后重试" if stale else "并发修改冲突，请刷新后重试") from exc

    return wrapper


_CASE_BY_ID = select(Case).where(Case.id == bindparam("case_id"))


def case_by_id(case_id: int) -> Case | None:
    """The case with this id, for the engine's own jobs (no region scope). A statement built once: Session.get
    builds and keys a new statement whenever the case is not loaded yet, which costs more than running it."""
    return db.session.scalar(_CASE_BY_ID, {"case_id": case_id})


def case_in_scope(actor: Actor, number: str) -> Case:
    query = select(Case).where(Case.number == number, region_filter(Case.region, actor))
    case = db.session.scalar(query)
    if case is None:
        raise NotFound(f"案件 {number} 不存在")
    return case


_SETTINGS = select(RuleSetting.__table__.c.key, RuleSetting.__table__.c.value)


def rule_values() -> dict[str, Any]:
    """Defaults overridden by the province's settings. A stored value that is not valid for its rule (typed into
    the table by hand) is ignored with an error in the log: the statutory default applies, the engine keeps running."""
    values: dict[str, Any] = {key: rule.default for key, rule in RULES.items()}
    # A plain statement, built once: the settings are read as they stand, nothing pending needs flushing first.
    for key, stored in db.session.connection().execute(_SETTINGS):
        if key in RULES:
            values[key], ignored = in_force(key, stored)
            if ignored:
                log.error("rule setting ignored, the default %s applies: %s", RULES[key].default, ignored)
    return values
