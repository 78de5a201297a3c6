"""Notices: queued in the case's transaction (a durable outbox), rendered after the commit, stored once by sha256.

A failed render is retried with backoff and shown to administrators; it never rolls back the case."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, event, func, insert, or_, select, text, update
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from engine import audit, calendar
from engine.actors import Actor, region_filter
from engine.db import UTCDateTime, db
from engine.errors import NotFound
from engine.models import Case, CaseRef
from engine.regions import issuing_region

log = logging.getLogger(__name__)

# Short kind codes in document numbers: 楚市人社监令〔2021〕17号.
KIND_CODES = {
    "acceptance_notice": "监受",
    "non_acceptance_notice": "监不受",
    "rectification_order": "监令",
    "penalty_decision": "监罚",
    "penalty_prior_notice": "监罚告",
    "no_penalty_decision": "监不罚",
    "criminal_referral": "监移",
    "supervision_notice": "督",
    "case_closure_notice": "监结",
    "benefit_decision_approval": "失保核",
    "benefit_decision_refusal": "失保不核",
    "temp_post_referral": "岗荐",
    "compensation_order": "监赔",
    "wage_deposit_notice": "监保",
    "blacklist_decision": "监失",
    "emergency_advance_request": "监垫",
}
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone
MAX_ATTEMPTS = 8


class Document(db.Model):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(48))
    number: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(128))
    verification_code: Mapped[str] = mapped_column(String(16), unique=True)
    facts: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | rendered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rendered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    case: Mapped[Case] = relationship()


class DocumentSequence(db.Model):
    __tablename__ = "document_sequences"

    bureau: Mapped[str] = mapped_column(String(12), primary_key=True)
    kind: Mapped[str] = mapped_column(String(48), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


@dataclass
class _Settings:
    documents_dir: Path = Path(tempfile.gettempdir()) / "hrss-documents"
    public_base_url: str = "http://127.0.0.1:5000"


settings = _Settings()


def configure(documents_dir: str, public_base_url: str) -> None:
    settings.documents_dir = Path(documents_dir)
    settings.public_base_url = public_base_url.rstrip("/")


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)  # Decimal and friends: exact text


_NEXT_NUMBER = text(
    "INSERT INTO document_sequences (bureau, kind, year, last) VALUES (:b, :k, :y, 1) "
    "ON CONFLICT (bureau, kind, year) DO UPDATE SET last = document_sequences.last + 1 RETURNING last"
)


def _next_number(bureau_code: str, kind: str, year: int) -> int:
    return db.session.connection().execute(_NEXT_NUMBER, {"b": bureau_code, "k": kind, "y": year}).scalar_one()


_INSERT_DOCUMENT = insert(Document.__table__).returning(Document.__table__.c.id)


def new_verification_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


# Called (no arguments) once a transaction that queued notices has committed: the in-process scheduler then renders
# them at once instead of at its next sweep (engine.scheduler). A hook's failure is only logged: the notices wait
# in the outbox for the sweep, as they would without it.
NOTICES_QUEUED_HOOKS: list[Callable[[], object]] = []
_QUEUED = "documents.queued"


@event.listens_for(Session, "after_commit")
def _tell_notices_queued(session: Session) -> None:
    if session.info.pop(_QUEUED, False):
        for hook in NOTICES_QUEUED_HOOKS:
            try:
                hook()
            except Exception:  # noqa: BLE001 - the commit stands; the sweep renders them
                log.exception("notices-queued hook failed")


@event.listens_for(Session, "after_soft_rollback")
def _forget_notices_queued(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_QUEUED, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_uncommitted_notices(session: Session, transaction: Any) -> None:
    # A session closed without committing: after a commit the flag is already gone (as engine.workflow_cache).
    if transaction.parent is None:
        session.info.pop(_QUEUED, None)


def issue_notice(case: CaseRef, kind: str, facts: dict[str, Any], now: datetime, actor_name: str) -> int:
    """Queue a notice in the caller's transaction (its id is returned); the bureau, number, date and verification
    code are filled in."""
    import pdfs

    notice_kind = pdfs.KINDS[kind]  # KeyError for an unknown kind is a programming error
    bureau = issuing_region(case.region)
    local_day = calendar.local_date(now)
    serial = _next_number(bureau.code, kind, local_day.year)
    number = f"{bureau.abbreviation}{KIND_CODES.get(kind, '')}〔{local_day.year}〕{serial}号"
    code = new_verification_code()
    full = {
        "bureau": bureau.bureau,
        "case_number": case.number,
        "issued_on": local_day.isoformat(),
        **facts,
        "document_number": number,
        "verification_code": code,
        "verify_url": f"{settings.public_base_url}/verify/{code}",
    }
    document_id = db.session.connection().execute(_INSERT_DOCUMENT, {
        "case_id": case.id, "kind": kind, "number": number, "title": notice_kind.title, "verification_code": code,
        "facts": _json_safe(full), "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
    }).scalar_one()
    audit.record(case, actor_name, "notice_issued", {"kind": kind, "number": number, "document_id": document_id}, now)
    db.session.info[_QUEUED] = True
    return document_id


# ---------------------------------------------------------------------------------------------------------------
# The outbox.

def _path(digest: str) -> Path:
    return settings.documents_dir / digest[:2] / f"{digest}.pdf"


def _store(pdf: bytes) -> str:
    """Store a notice once by its sha256 (returned)."""
    digest = hashlib.sha256(pdf).hexdigest()
    path = _path(digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a crash never leaves a half-written notice under its final name.
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(fd, "wb") as handle:
            handle.write(pdf)
        os.replace(tmp, path)
    return digest


class FileLost(RuntimeError):
    """A notice rendered and stored whose file is gone from DOCUMENTS_DIR (a volume not shared between the web and
    scheduler processes, a restore without the documents). It cannot be rebuilt: its hash is published."""


def path_of(document: Document) -> Path | None:
    """The notice's PDF, None while it is not rendered yet; FileLost when it was rendered and the file is gone."""
    if document.status != "rendered" or not document.sha256:
        return None
    path = _path(document.sha256)
    if not path.exists():
        log.error("notice %s (id %s) was rendered but its file %s is missing: restore DOCUMENTS_DIR from the backup",
                  document.number, document.id, path)
        raise FileLost(document.number)
    return path


def render_one(document_id: int, now: datetime) -> bool:
    """Render one pending notice in its own transaction; True when stored. Failures are recorded for retry."""
    import pdfs

    # Claim: of two workers, only the one whose conditional update hits renders.
    claimed = db.session.execute(
        update(Document).where(Document.id == document_id, Document.status == "pending",
                               Document.next_attempt_at <= now)
        .values(next_attempt_at=now + timedelta(minutes=10))
    ).rowcount
    db.session.commit()
    if not claimed:
        return False
    document = db.session.get(Document, document_id)
    try:
        pdf = pdfs.render(document.kind, dict(document.facts))
        digest = _store(pdf)
    except Exception as exc:  # noqa: BLE001 - any render failure is retried, never raised into the sweep
        db.session.rollback()
        document = db.session.get(Document, document_id)
        document.attempts += 1
        document.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if document.attempts >= MAX_ATTEMPTS:
            document.status = "failed"
        document.next_attempt_at = now + timedelta(minutes=min(2 ** document.attempts, 24 * 60))
        db.session.commit()
        log.warning("notice %s (%s) failed to render, attempt %s: %s", document.number, document.kind,
                    document.attempts, exc)
        return False
    document.sha256 = digest
    document.size = len(pdf)
    document.status = "rendered"
    document.rendered_at = now
    document.last_error = None
    db.session.commit()
    return True


def render_pending(now: datetime, limit: int = 100, progress=None) -> int:
    """Render notices waiting in the outbox whose next attempt is due; returns how many were stored."""
    ids = list(db.session.scalars(
        select(Document.id).where(Document.status == "pending", Document.next_attempt_at <= now)
        .order_by(Document.next_attempt_at, Document.id).limit(limit)
    ))
    done = 0
    for i, document_id in enumerate(ids, 1):
        done += render_one(document_id, now)
        if progress:
            progress(i, len(ids))
    return done


def retry_failed(now: datetime) -> int:
    """An administrator's retry of notices that gave up."""
    count = db.session.execute(
        update(Document).where(Document.status == "failed").values(status="pending", attempts=0, next_attempt_at=now)
    ).rowcount
    db.session.commit()
    return count


# ---------------------------------------------------------------------------------------------------------------
# Reading.

def document_json(document: Document) -> dict[str, Any]:
    return {
        "id": document.id, "kind": document.kind, "number": document.number, "title": document.title,
        "sha256": document.sha256, "verification_code": document.verification_code,
        "status": document.status,
        "created_at": document.created_at.astimezone(calendar.get_timezone()).isoformat(),
        "url": f"/api/v1/documents/{document.id}",
    }


def documents_for_case(case: Case) -> list[Document]:
    return list(db.session.scalars(select(Document).where(Document.case_id == case.id).order_by(Document.id)))


def document_in_scope(actor: Actor, document_id: int) -> Document:
    document = db.session.scalar(
        select(Document).join(Case, Case.id == Document.case_id)
        .where(Document.id == document_id, region_filter(Case.region, actor))
    )
    if document is None:
        raise NotFound("文书不存在")
    return document


# People type codes with spaces, without dashes or in lower case.
_SEPARATORS = re.compile(r"[\s\-－—_]+")
MAX_CODE_LENGTH = 32


def normalise_code(raw: str) -> str:
    """A verification code as printed (XXXX-XXXX-XXXX), however it was typed."""
    compact = _SEPARATORS.sub("", raw).upper()
    if len(compact) == 12 and compact.isalnum():
        return f"{compact[:4]}-{compact[4:8]}-{compact[8:]}"
    return raw.strip().upper()


def verify(code: str) -> dict[str, Any] | None:
    """What a member of the public may learn from a verification code, however typed: no personal data."""
    if len(code) > MAX_CODE_LENGTH:
        return None
    document = db.session.scalar(select(Document).where(Document.verification_code == normalise_code(code)))
    if document is None:
        return None
    return {
        "valid": True, "kind": document.kind, "title": document.title, "number": document.number,
        "issued_on": document.facts.get("issued_on"), "bureau": document.facts.get("bureau"),
        "sha256": document.sha256, "status": document.status,
    }


@dataclass(frozen=True)
class Outbox:
    waiting: int  # pending, never tried yet
    retrying: int  # pending after a failed attempt
    failed: int  # given up after MAX_ATTEMPTS (flask documents retry)


def outbox() -> Outbox:
    """How many notices are not rendered yet, by where they stand (an operator's view of the backlog)."""
    where = sql_case((Document.status == "failed", "failed"), (Document.attempts > 0, "retrying"), else_="waiting")
    rows = dict(db.session.execute(
        select(where, func.count()).where(Document.status != "rendered").group_by(where)).all())
    return Outbox(rows.get("waiting", 0), rows.get("retrying", 0), rows.get("failed", 0))


def failed_documents() -> list[Document]:
    return list(db.session.scalars(
        select(Document).where(or_(Document.status == "failed", Document.attempts > 0))
        .where(Document.status != "rendered").order_by(Document.id)
    ))
