"""Per-process projections of workflow data onto the case row: the summary fields clients rely on (API.md), the
dashboard columns and the search text. Each process registers one function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.sandbox import money, money_str


def mask_id_number(value: str | None) -> str | None:
    """Personal ID numbers are shown with all but the last four characters hidden."""
    if not value:
        return value
    return "*" * (len(value) - 4) + value[-4:]


# Fields shown with all but their last four characters hidden wherever they are listed: ID numbers, and the bank
# account a benefit is paid into (the decision letter names only its last four digits too; nobody's work needs it
# read back in full).
_MASKED_FIELDS = ("id_number", "bank_account")


def mask_personal_numbers(value: Any) -> Any:
    """A copy of `value` (e.g. an audit event's detail) with every `*id_number` and `*bank_account` field masked,
    at any depth."""
    if isinstance(value, dict):
        return {k: mask_id_number(v) if k.endswith(_MASKED_FIELDS) and isinstance(v, str)
                else mask_personal_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_personal_numbers(v) for v in value]
    return value


def money_text(value: Decimal | None) -> str | None:
    return None if value is None else money_str(value)


@dataclass
class Projection:
    summary: dict[str, Any]
    search_text: str
    subject_id_number: str | None = None
    due_at: str | None = None  # ISO; the case clock where the process has one
    columns: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # One spelling per person: an ID number's check character X may be typed lower-case.
        self.subject_id_number = (self.subject_id_number or "").upper() or None


Summarizer = Callable[[dict[str, Any]], Projection]
SUMMARIZERS: dict[str, Summarizer] = {}


def summarizer(process: str) -> Callable[[Summarizer], Summarizer]:
    def register(fn: Summarizer) -> Summarizer:
        SUMMARIZERS[process] = fn
        return fn

    return register


def project(process: str, data: dict[str, Any]) -> Projection:
    return SUMMARIZERS[process](data)


def _final_fine(data: dict[str, Any]) -> str | None:
    """The fine decided: as notified, or the lower amount the decision set."""
    amount = data.get("final_penalty_amount") if data.get("penalty_outcome") == "reduce" else data.get(
        "penalty_amount")
    return money_str(amount) if amount else None


@summarizer("wage_arrears")
def _wage_arrears(data: dict[str, Any]) -> Projection:
    owed = money(data["amount_owed"]) if data.get("amount_owed") is not None else None
    verified = money(data["verified_amount"]) if data.get("verified_amount") is not None else None
    paid = money(data.get("amount_paid") or "0")
    basis = verified if verified is not None else owed
    status = data.get("status")
    # A complaint never taken on counts nothing: its amount was claimed, never verified. A withdrawn case counts
    # what the investigation verified (nothing, as engine.wage_arrears_checks requires): forcing zero would hide
    # arrears.
    closed_without_arrears = status in ("rejected", "redirected")
    # Measures an approver refused (bpmn: set_measures_refused, set_referral_refused), shown with the approver's
    # comment until new ones are chosen (choose_enforcement's postScript clears them): the returned task says why.
    refused = data.get("refused_measures")
    compensation = money(data.get("compensation_amount") or "0")
    outstanding = Decimal("0") if closed_without_arrears or basis is None else max(basis - paid, Decimal("0"))
    complainant = data.get("complainant") or {}
    employer = data.get("employer") or {}
    project_info = data.get("project") or {}
    workers_owed = data.get("workers_owed", data.get("workers_count"))
    if status == "cleared" or closed_without_arrears:
        workers_owed = 0
    stage = data.get("penalty_stage") if "penalty" in (data.get("measures") or []) else None
    summary = {
        "complainant_name": complainant.get("name"),
        "complainant_id_number": mask_id_number(complainant.get("id_number")),
        "employer_name": employer.get("name"),
        "employer_uscc": employer.get("uscc"),
        "project_name": project_info.get("name"),
        "project_type": project_info.get("type"),
        "source": data.get("source"),
        "workers_count": data.get("workers_count"),
        "workers_owed": workers_owed,
        "amount_owed": money_text(owed),
        "verified_amount": money_text(verified),
        "amount_paid": money_text(paid),
        "amount_outstanding": money_text(outstanding),
        "received_at": data.get("received_at"),
        "filed_at": data.get("filed_at"),
        "co_inspector": data.get("co_inspector"),
        "case_due_at": data.get("case_due_at"),
        "case_extended": data.get("case_extended", False),
        "payment_due_at": data.get("payment_due_at") if status == "order_issued" else None,
        "measures": data.get("measures", []),
        "refused_measures": refused or None,
        "refusal_comment": (data.get("comment") or None) if refused else None,
        # What an approver of the measures decides on (shown beside the measures).
        "penalty_amount": data.get("penalty_amount") if "penalty" in (data.get("measures") or []) else None,
        # The procedure before the fine (行政处罚法 arts. 44, 45): told and waiting for the employer's answer until
        # the date shown, then decided (as notified or lower) or not imposed (bpmn: set_measures_in_force,
        # decide_penalty). None on cases of an earlier model version, which decided the fine on approval.
        "penalty_stage": stage,
        "penalty_answer_due_at": data.get("penalty_answer_due_at") if stage == "notified" else None,
        "penalty_final_amount": _final_fine(data) if stage == "decided" else None,
        "compensation_rate": (data.get("compensation_rate")
                              if "compensation_order" in (data.get("measures") or []) else None),
        # Compensation ordered (条例 art. 26) and paid so far: owed to the workers besides the wages, and checked
        # with them before the case can clear (None when none was ordered).
        "compensation_amount": money_text(compensation) if compensation else None,
        "compensation_paid": data.get("compensation_paid") if compensation else None,
        "compensation_due_at": data.get("compensation_due_at") if compensation else None,
        "closed_reason": data.get("closed_reason"),
        # Where a transferred case went (the police or a court) and when.
        "receiving_unit": data.get("receiving_unit") if status == "transferred" else None,
        "transferred_on": data.get("transferred_on") if status == "transferred" else None,
    }
    text = " ".join(
        str(x) for x in (complainant.get("name"), employer.get("name"), project_info.get("name")) if x
    ).lower()
    return Projection(
        summary=summary,
        search_text=text,
        subject_id_number=complainant.get("id_number"),
        due_at=data.get("case_due_at"),
        columns={
            "project_type": project_info.get("type"),
            "workers_owed": workers_owed,
            "arrears_outstanding": outstanding,
            "arrears_recovered": paid,
        },
    )
