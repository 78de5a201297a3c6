"""A province's overrides of the rules in engine/rules.py: listed with what is in force, set only when valid for
the rule, reset to the default. (Read in every transaction by engine.services._common.rule_values.)"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.actors import Actor
from engine.db import db
from engine.errors import Forbidden
from engine.models import RuleSetting
from engine.rules import RULES, coerce, in_force, out_of_order
from engine.services._common import rule_values, transactional
from engine.validation import DataInvalid

log = logging.getLogger(__name__)

# Everyone signed in sees the rules their deadlines and amounts come from; only administrators change them (the
# province's decision, entered by the administrator; `flask rules set --by` names who decided).
RULE_EDITORS = ("admin",)


@dataclass(frozen=True)
class RuleInForce:
    key: str
    title: str
    unit: str
    default: Any
    value: Any            # what the engine uses now
    stored: str | None    # the override as stored, if any
    stored_valid: bool    # False: the stored value is not valid for the rule and is ignored
    updated_by: str | None
    updated_at: datetime | None
    basis: str


def rules_in_force() -> list[RuleInForce]:
    """Every rule with the value the engine uses now (what rule_values gives: a stored value that is not valid for
    its rule is ignored)."""
    stored = {row.key: row for row in db.session.scalars(select(RuleSetting))}
    found = []
    for key, rule in RULES.items():
        row = stored.get(key)
        value, ignored = in_force(key, row.value if row else None)
        found.append(RuleInForce(key, rule.title, rule.unit, rule.default, value, row.value if row else None,
                                 ignored is None, row.updated_by if row else None,
                                 row.updated_at if row else None, rule.basis))
    return found


def may_change_rules(actor: Actor) -> bool:
    return any(actor.has_role(role) for role in RULE_EDITORS)


def change_rule(actor: Actor, key: str, raw: str, now: datetime) -> Any:
    """`set_rule` by a signed-in user: administrators only (Forbidden otherwise, nothing changed)."""
    if not may_change_rules(actor):
        raise Forbidden("只有系统管理员可以修改规则参数")
    return set_rule(key, raw, actor.username, now)


def restore_default(actor: Actor, key: str) -> Any:
    """`reset_rule` by a signed-in user: administrators only."""
    if not may_change_rules(actor):
        raise Forbidden("只有系统管理员可以修改规则参数")
    return reset_rule(key)


def _rule(key: str) -> None:
    if key not in RULES:
        raise DataInvalid({"key": f"没有这条规则：{key}"})


@transactional
def set_rule(key: str, raw: str, by: str, now: datetime) -> Any:
    """Store an override after checking it is valid for the rule; returns the value now in force."""
    _rule(key)
    try:
        value = coerce(key, raw)
    except ValueError as exc:
        raise DataInvalid({"value": str(exc)}) from None
    contradiction = out_of_order({**rule_values(), key: value})
    if contradiction:
        raise DataInvalid({"value": contradiction})
    row = db.session.get(RuleSetting, key)
    if row is None:
        row = RuleSetting(key=key)
        db.session.add(row)
    # The row keeps only the latest setting: the log keeps each change and what it replaced.
    log.info("rule %s set to %s by %s (was %s)", key, value, by, row.value if row.value is not None else "default")
    row.value, row.updated_by, row.updated_at = str(value), by, now
    return value


@transactional
def reset_rule(key: str) -> Any:
    """Drop the override: the default applies again (returned)."""
    _rule(key)
    contradiction = out_of_order({**rule_values(), key: RULES[key].default})
    if contradiction:
        raise DataInvalid({"value": contradiction})
    row = db.session.get(RuleSetting, key)
    if row is not None:
        log.info("rule %s reset to its default %s (was %s)", key, RULES[key].default, row.value)
        db.session.delete(row)
    return RULES[key].default
