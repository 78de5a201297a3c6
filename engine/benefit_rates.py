"""Regional benefit rates (`benefit_rates`) with effective dates: loaded from CSV, looked up by the
benefit-claim model through the `benefit_rates(region, separation_date)` helper, so a decision uses the rates in
force on the separation date."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    Date,
    Numeric,
    String,
    UniqueConstraint,
    bindparam,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.clock import rule_value
from engine.db import UTCDateTime, db
from engine.regions import lineage
from engine.sandbox import BPMN_HELPERS, money_str
from engine.services._common import rule_values
from engine.textfiles import decode_text
from engine.validation import REGION_MESSAGE, DataInvalid, is_region

CENT = Decimal("0.01")


class BenefitRate(db.Model):
    """A region's figures from a date on: minimum wage, benefit rate (blank = the rule's percentage of the
    minimum wage) and subsistence (低保) rate."""

    __tablename__ = "benefit_rates"
    __table_args__ = (UniqueConstraint("region", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = mapped_column(String(12))
    effective_from: Mapped[date] = mapped_column(Date)
    minimum_wage: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    benefit_rate: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), nullable=True)
    subsistence_rate: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    note: Mapped[str] = mapped_column(String(200), default="")
    imported_by: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)



# ---------------------------------------------------------------------------------------------------------------
# Rates.

# Built once: building a statement costs more than running it.
_RATES = (select(BenefitRate).where(BenefitRate.region.in_(bindparam("regions", expanding=True)),
                                    BenefitRate.effective_from <= bindparam("on"))
          .order_by(BenefitRate.effective_from.desc()))


def rate_in_force(region: str, on: date) -> BenefitRate | None:
    """The latest rates effective on `on` of the most specific region that has any (county, prefecture,
    province)."""
    rows = db.session.scalars(_RATES, {"regions": lineage(region), "on": on}).all()
    for code in lineage(region):
        for row in rows:
            if row.region == code:
                return row
    return None


def rate_facts(row: BenefitRate, percent: int | Decimal) -> dict[str, str]:
    """What a decision records of the rates it used (strings: money never becomes a float). `percent` is the
    province's benefit_rate_percent, used where the region publishes no benefit rate of its own."""
    if row.benefit_rate is not None:
        benefit, basis = row.benefit_rate, f"地区公布的失业保险金标准 {money_str(row.benefit_rate)} 元/月"
    else:
        pct = Decimal(str(percent))
        benefit = row.minimum_wage * pct / 100
        basis = f"最低工资 {money_str(row.minimum_wage)} 元/月 × {pct}%"
    return {
        "region": row.region,
        "effective_from": row.effective_from.isoformat(),
        "minimum_wage": money_str(row.minimum_wage),
        "benefit_rate": money_str(benefit),
        "benefit_rate_basis": basis,
        "subsistence_rate": money_str(row.subsistence_rate),
    }


def rates_on(region: str, separation_date: str, percent: int) -> dict[str, str] | None:
    """The facts of the rates in force in `region` on the separation date (an ISO date or datetime), None when none
    is; the benefit rate at `percent` of the minimum wage where the row sets none."""
    row = rate_in_force(str(region), date.fromisoformat(str(separation_date)[:10]))
    return rate_facts(row, percent) if row is not None else None


def _helper_benefit_rates(region: str, separation_date: str) -> dict[str, str] | None:
    return rates_on(region, separation_date, rule_value("benefit_rate_percent"))


# For the benefit_claim model's DMN inputs (the sandbox reads its helpers live).
BPMN_HELPERS["benefit_rates"] = _helper_benefit_rates


RATE_COLUMNS = ("region", "effective_from", "minimum_wage", "benefit_rate", "subsistence_rate", "note")


def _parse_money(text: str, where: str, errors: dict[str, str], *, optional: bool = False) -> Decimal | None:
    text = (text or "").strip()
    if not text:
        if not optional:
            errors[where] = "必填"
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        errors[where] = "金额须为数字，如 1500.00"
        return None
    if not value.is_finite() or value <= 0 or value != value.quantize(CENT):
        errors[where] = "金额须为正数，最多两位小数"
        return None
    return value


@dataclass
class ImportResult:
    created: int
    updated: int


def import_rates(source: str | bytes, actor_name: str, now: datetime) -> ImportResult:
    """Load rates from CSV (header: region,effective_from,minimum_wage,benefit_rate,subsistence_rate[,note]): text,
    or the file's bytes in UTF-8 or GBK (engine.textfiles).

    All or nothing: any bad cell raises DataInvalid naming `line N.column`; a (region, effective_from) already
    loaded is updated. Does not commit."""
    text = decode_text(source, "CSV") if isinstance(source, bytes) else source
    try:
        return _import_rows(csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline="")), actor_name, now)
    except csv.Error as exc:  # e.g. a field over the csv module's size limit: not a rates file
        raise DataInvalid({"file": f"CSV 格式错误：{exc}"}, "CSV 数据有误，未导入任何一行") from exc


def _import_rows(reader: csv.DictReader, actor_name: str, now: datetime) -> ImportResult:
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in RATE_COLUMNS[:5] if c not in header]
    if missing:
        raise DataInvalid({"header": "缺少列：" + ", ".join(missing)}, "CSV 表头不正确")
    errors: dict[str, str] = {}
    parsed: dict[tuple[str, date], dict[str, Any]] = {}
    for line_no, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        where = f"line {line_no}"
        region = row.get("region", "")
        if not is_region(region):
            errors[f"{where}.region"] = REGION_MESSAGE
        try:
            effective = date.fromisoformat(row.get("effective_from", ""))
        except ValueError:
            errors[f"{where}.effective_from"] = "日期格式须为 YYYY-MM-DD"
            effective = None
        minimum = _parse_money(row.get("minimum_wage", ""), f"{where}.minimum_wage", errors)
        benefit = _parse_money(row.get("benefit_rate", ""), f"{where}.benefit_rate", errors, optional=True)
        subsistence = _parse_money(row.get("subsistence_rate", ""), f"{where}.subsistence_rate", errors)
        if minimum is not None and benefit is not None and benefit > minimum:
            errors[f"{where}.benefit_rate"] = "失业保险金标准不得高于最低工资标准（《失业保险条例》第十八条）"
        if effective is not None and (region, effective) in parsed:
            errors[f"{where}.effective_from"] = "同一地区同一生效日期重复"
        if effective is not None and is_region(region):
            parsed[(region, effective)] = {"minimum_wage": minimum, "benefit_rate": benefit,
                                           "subsistence_rate": subsistence, "note": row.get("note", "")[:200]}
    if errors:
        raise DataInvalid(errors, "CSV 数据有误，未导入任何一行")
    if not parsed:
        raise DataInvalid({"file": "没有数据行"})
    created = updated = 0
    for (region, effective), values in parsed.items():
        row = db.session.scalar(
            select(BenefitRate).where(BenefitRate.region == region, BenefitRate.effective_from == effective)
        )
        if row is None:
            row = BenefitRate(region=region, effective_from=effective)
            db.session.add(row)
            created += 1
        else:
            updated += 1
        row.minimum_wage = values["minimum_wage"]
        row.benefit_rate = values["benefit_rate"]
        row.subsistence_rate = values["subsistence_rate"]
        row.note = values["note"]
        row.imported_by = actor_name
        row.imported_at = now
    db.session.flush()
    return ImportResult(created, updated)


def list_rates(region: str | None = None) -> list[BenefitRate]:
    """Every loaded rate, or those `region` uses (its own, its prefecture's, its province's)."""
    query = select(BenefitRate).order_by(BenefitRate.region, BenefitRate.effective_from)
    if region:
        query = query.where(BenefitRate.region.in_(lineage(region)))
    return list(db.session.scalars(query))


def rates_json(region: str | None = None) -> list[dict[str, Any]]:
    """list_rates as the API and the CLI show them, the benefit in effect at the province's percentage."""
    percent = rule_values()["benefit_rate_percent"]
    return [rate_json(row, percent) for row in list_rates(region)]


def rate_json(row: BenefitRate, percent: int | Decimal) -> dict[str, Any]:
    facts = rate_facts(row, percent)
    return {
        "id": row.id, "region": row.region, "effective_from": facts["effective_from"],
        "minimum_wage": facts["minimum_wage"],
        "benefit_rate": money_str(row.benefit_rate) if row.benefit_rate is not None else None,
        "benefit_rate_in_effect": facts["benefit_rate"], "benefit_rate_basis": facts["benefit_rate_basis"],
        "subsistence_rate": facts["subsistence_rate"], "note": row.note,
    }



def rate_in_force_json(region: str, on: str) -> dict[str, str] | None:
    """The rates a claim separated on `on` would use (API and CLI)."""
    try:
        day = date.fromisoformat(on)
    except ValueError:
        raise DataInvalid({"on": "日期格式须为 YYYY-MM-DD"}) from None
    row = rate_in_force(region, day)
    return rate_facts(row, rule_values()["benefit_rate_percent"]) if row is not None else None
