"""Append-only audit events in a per-case hash chain: each event's hash covers its content and the hash of the
event before it, so an edited or deleted event breaks every hash after it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import defer

from engine.db import db
from engine.models import AuditEvent, Case, CaseRef

GENESIS = "0" * 64


def _digest(case_number: str, seq: int, at: datetime, actor: str, kind: str, detail: dict, prev_hash: str) -> str:
    # The time in UTC: it is stored as UTC and read back as UTC, whatever zone the caller passed in.
    payload = json.dumps(
        [case_number, seq, at.astimezone(UTC).isoformat(), actor, kind, detail, prev_hash],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


_EVENTS = AuditEvent.__table__
_TAIL = (select(_EVENTS.c.seq, _EVENTS.c.hash).where(_EVENTS.c.case_id == bindparam("case_id"))
         .order_by(_EVENTS.c.seq.desc()).limit(1))
_INSERT = insert(_EVENTS)


def _tails() -> dict[int, tuple[int, str]]:
    """case id -> (seq, hash) of the last event this transaction appended to the case's chain."""
    session = db.session()
    transaction = session.get_transaction()
    tails = session.info.get("audit_tails")
    if tails is None or tails[0] is not transaction:
        tails = (transaction, {})
        session.info["audit_tails"] = tails
    return tails[1]


def record(case: CaseRef, actor: str, kind: str, detail: dict[str, Any], at: datetime) -> None:
    """Append one event to the case's chain (in the caller's transaction).

    Written at once with a plain INSERT: events are only ever appended here, so no pending change has to be flushed
    first, and the chain's tail is the one this transaction appended last, else the newest stored event."""
    connection = db.session.connection()  # first: the tails belong to the transaction this begins or continues
    tails = _tails()
    tail = tails.get(case.id)
    if tail is not None:
        seq, prev = tail[0] + 1, tail[1]
    else:
        last = connection.execute(_TAIL, {"case_id": case.id}).first()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    # Round-trip through JSON so the hash covers exactly what is stored.
    detail = json.loads(json.dumps(detail, ensure_ascii=False, default=str))
    digest = _digest(case.number, seq, at, actor, kind, detail, prev)
    row = {"case_id": case.id, "seq": seq, "at": at, "actor": actor, "kind": kind, "detail": detail,
           "prev_hash": prev, "hash": digest}
    connection.execute(_INSERT, row)
    tails[case.id] = (seq, digest)


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
    # Without the workflow state: the chain needs a case's id and number only.
    for case in db.session.scalars(select(Case).options(defer(Case.workflow_state)).order_by(Case.id)).yield_per(500):
        broken = verify_case(case)
        if broken:
            breaks.append(broken)
        checked += 1
        if progress:
            progress(checked, total)
    return checked, breaks
