"""Append-only audit events in a per-case hash chain: each event's hash covers its content and the hash of the
event before it, so an edited or deleted event breaks every hash after it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from engine.db import db
from engine.models import AuditEvent, Case

GENESIS = "0" * 64


def _digest(case_number: str, seq: int, at: datetime, actor: str, kind: str, detail: dict, prev_hash: str) -> str:
    # The time in UTC: it is stored as UTC and read back as UTC, whatever zone the caller passed in.
    payload = json.dumps(
        [case_number, seq, at.astimezone(UTC).isoformat(), actor, kind, detail, prev_hash],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def record(case: Case, actor: str, kind: str, detail: dict[str, Any], at: datetime) -> AuditEvent:
    """Append one event to the case's chain (in the caller's transaction)."""
    # The chain's tail: the event this transaction appended last for the case when it is still in the session
    # (a step records several events), else the newest stored one.
    session = db.session()
    transaction = session.get_transaction()
    tails = session.info.get("audit_tails")
    if tails is None or tails[0] is not transaction:
        tails = (transaction, {})
        session.info["audit_tails"] = tails
    cached = tails[1].get(case.id)
    if cached is not None and cached in session:
        seq, prev = cached.seq + 1, cached.hash
    else:
        last = db.session.execute(
            select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.case_id == case.id)
            .order_by(AuditEvent.seq.desc()).limit(1)
        ).first()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    # Round-trip through JSON so the hash covers exactly what is stored.
    detail = json.loads(json.dumps(detail, ensure_ascii=False, default=str))
    event = AuditEvent(
        case_id=case.id, seq=seq, at=at, actor=actor, kind=kind, detail=detail, prev_hash=prev,
        hash=_digest(case.number, seq, at, actor, kind, detail, prev),
    )
    db.session.add(event)
    tails[1][case.id] = event
    return event


@dataclass
class ChainBreak:
    case_number: str
    seq: int
    reason: str


def verify_case(case: Case) -> ChainBreak | None:
    prev = GENESIS
    expected_seq = 1
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.seq))
    for event in events:
        if event.seq != expected_seq:
            return ChainBreak(case.number, expected_seq, "event missing")
        if event.prev_hash != prev:
            return ChainBreak(case.number, event.seq, "previous hash does not match")
        if _digest(case.number, event.seq, event.at, event.actor, event.kind, event.detail, prev) != event.hash:
            return ChainBreak(case.number, event.seq, "content does not match its hash")
        prev = event.hash
        expected_seq += 1
    return None


def verify_all(progress=None) -> tuple[int, list[ChainBreak]]:
    """Check every case's chain; returns (cases checked, breaks: the first broken event of each bad chain)."""
    total = db.session.scalar(select(func.count(Case.id))) or 0
    breaks: list[ChainBreak] = []
    checked = 0
    for case in db.session.scalars(select(Case).order_by(Case.id)).yield_per(500):
        broken = verify_case(case)
        if broken:
            breaks.append(broken)
        checked += 1
        if progress:
            progress(checked, total)
    return checked, breaks
