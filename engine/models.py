"""Database rows. The SpiffWorkflow state in `Case.workflow_state` is the truth; tasks, timers and the case's
status and summary fields are projections written in the same transaction. Models never commit."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Protocol

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db import UTCDateTime, db


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    # Comma-separated role codes: inspector, clerk, supervisor, head, admin.
    roles_csv: Mapped[str] = mapped_column("roles", String(128))
    # GB/T 2260 division code; the user sees cases whose region starts with it.
    region: Mapped[str] = mapped_column(String(12))
    language: Mapped[str] = mapped_column(String(8), default="zh_CN")
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # Failed sign-ins and lock-outs are counted per client address in sign_in_failures (SignInFailure), not here.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Part of every page session's id (get_id): raising it on a password change signs out the other sessions.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def roles(self) -> list[str]:
        return [r for r in self.roles_csv.split(",") if r]

    def has_role(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles

    # Flask-Login protocol, kept here so the web layer needs no wrapper class.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # "id:epoch", so a session signed before the user's last password change no longer loads (web/auth.py).
        return f"{self.id}:{self.session_epoch or 0}"


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Only the sha256 of the bearer token is stored: a leaked table grants nothing.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship()


class SignInFailure(db.Model):
    """Failed sign-ins under one name from one client address (engine/sign_in_lock.py): that many failures, each within
    the window of the one before, lock the name for that address only, so a stranger's wrong passwords do not keep
    the account's owner out from their own PC. Every name is counted here, an account or not, by the same statements,
    so the lock-out does not tell which names are accounts. A row holds no name and no address, only keys made of
    them, and rows whose count is stale and whose lock has run out are deleted as sign-ins go on
    (engine/sign_in_lock.py prune_statement)."""

    __tablename__ = "sign_in_failures"

    # HMAC-SHA256 (hex) of the name exactly as it was looked up, keyed by the app's secret: never the name itself,
    # which is now and then a password typed into the wrong box, and always 64 characters whatever was typed.
    name_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    # HMAC-SHA256 (hex) of the client address (an IPv6 one by its /64 network), keyed likewise: the table holds no
    # address, which is personal data.
    address_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failed_logins: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Indexed: rows whose count is stale and whose lock has run out are deleted by this column (engine/sign_in_lock.py).
    last_failed_login_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ProcessVersion(db.Model):
    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("process", "content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    # file name -> text of every .bpmn/.dmn/.json of the process folder, so old versions stay runnable.
    files: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Case(db.Model):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_process_status_region", "process", "status", "region"),
        # The case list: a region's newest cases first, without sorting the region's rows.
        Index("ix_cases_region_opened", "region", "opened_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    process: Mapped[str] = mapped_column(String(64))
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    status: Mapped[str] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(12), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    # Lower-cased names, employer and number for `q` searches without opening workflow state.
    search_text: Mapped[str] = mapped_column(Text, default="")
    # The person's ID number (for one-open-claim-per-person checks); never listed unmasked.
    subject_id_number: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    # Figures the clear-zero dashboard sums in SQL (wage arrears); null for other processes.
    project_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    workers_owed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    arrears_outstanding: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
    arrears_recovered: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), nullable=True)
    workflow_state: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))

    process_version: Mapped[ProcessVersion] = relationship()
    assignee: Mapped[User | None] = relationship()

    # UPDATE ... WHERE id=? AND version=?: a stale write raises StaleDataError instead of overwriting.
    __mapper_args__ = {"version_id_col": version}


class CaseRef(Protocol):
    """What the audit chain and the notices need of a case: a loaded Case, or a lighter reference to one."""

    @property
    def id(self) -> int: ...
    @property
    def number(self) -> str: ...
    @property
    def region(self) -> str: ...


class CaseSequence(db.Model):
    """Per (prefix, region, year) counter behind case numbers such as WA-532301-2021-000017."""

    __tablename__ = "case_sequences"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    region: Mapped[str] = mapped_column(String(12), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Task(db.Model):
    """A user task of a case: open ones are the queues; completed ones feed on-time reporting."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_queue", "state", "region", "role", "assignee_id", "due_at"),
        Index("ix_tasks_case_state", "case_id", "state"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the SpiffWorkflow task id
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    process: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | completed | cancelled
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    due_rule: Mapped[str | None] = mapped_column(String(64), nullable=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)

    case: Mapped[Case] = relationship()
    assignee: Mapped[User | None] = relationship()


class Timer(db.Model):
    """Something due at `fire_at`: a waiting BPMN timer (kind `bpmn`) or a task deadline (kind `task_due`).
    The sweeper selects pending rows by fire time and claims them."""

    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_due", "status", "fire_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    spiff_task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    name: Mapped[str] = mapped_column(String(64), default="")
    level: Mapped[int] = mapped_column(Integer, default=0)
    fire_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | claimed | fired | cancelled
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AuditEvent(db.Model):
    """Append-only, hash-chained per case: each event stores the hash of the one before."""

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(48))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class RuleSetting(db.Model):
    """A province's override of a default figure in engine/rules.py, visible to supervisors."""

    __tablename__ = "rule_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(64))
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
