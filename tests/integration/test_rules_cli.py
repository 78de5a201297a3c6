"""`flask rules list | set | reset`: a province's overrides are checked against the rule before they are stored,
and what is stored is what the engine then uses (a case's deadline follows it)."""

from __future__ import annotations

from sqlalchemy import select

from engine import services
from engine.db import db
from engine.models import RuleSetting, Task
from tests.conftest import at
from tests.factories import wage_arrears_intake


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=["rules", *args])


def test_bad_values_are_refused_and_change_nothing(app, ctx):
    for key, value in [("acceptance_review_days", "五"), ("acceptance_review_days", "-1"),
                       ("benefit_rate_percent", "120"), ("claim_supervisor_ceiling", "NaN"),
                       ("campaign_start", "next week"),
                       # Out of bounds: a deadline centuries away used to stall every case opening (500).
                       ("acceptance_review_days", "99999999999999999999"), ("temp_post_max_months", "0"),
                       ("claim_supervisor_ceiling", "1e5"), ("campaign_start", "0001-01-01"),
                       ("payment_deadline_days", "251"),
                       # A statutory limit may be shortened, never lengthened.
                       ("referral_approval_days", "4"), ("referral_transfer_days", "2")]:
        result = run(app, "set", "--by", "admin_all", "--", key, value)
        assert result.exit_code == 2, (key, value, result.output)
        assert key in result.output and "error: value" in result.output
    unknown = run(app, "set", "no_such_rule", "3", "--by", "admin_all")
    assert unknown.exit_code == 2 and "no_such_rule" in unknown.output
    db.session.expire_all()
    assert db.session.scalars(select(RuleSetting)).all() == []


def test_rules_that_would_contradict_each_other_are_refused(app, ctx):
    # A lower limit above the upper one would refuse every fine; a campaign starting after its deadlines counts
    # nothing.
    for key, value, other in [("penalty_min_amount", "20000.01", "penalty_max_amount"),
                              ("penalty_max_amount", "1999", "penalty_min_amount"),
                              ("compensation_min_percent", "100", None),  # equal to the maximum is allowed
                              ("campaign_start", "2021-01-01", "clear_zero_year_end_deadline")]:
        result = run(app, "set", "--by", "admin_all", "--", key, value)
        if other is None:
            assert result.exit_code == 0, result.output
            continue
        assert result.exit_code == 2 and other in result.output and "请先修改另一条规则" in result.output, result.output
    db.session.expire_all()
    assert [r.key for r in db.session.scalars(select(RuleSetting))] == ["compensation_min_percent"]
    run(app, "reset", "compensation_min_percent")
    # Nor does a reset bring back a default that contradicts what is set: 1000-1500 set, the 2000 minimum back.
    assert run(app, "set", "--by", "admin_all", "penalty_min_amount", "1000").exit_code == 0
    assert run(app, "set", "--by", "admin_all", "penalty_max_amount", "1500").exit_code == 0
    result = run(app, "reset", "penalty_min_amount")
    assert result.exit_code == 2 and "penalty_max_amount" in result.output, result.output
    # Moving the campaign to next winter: the deadlines first, then the start.
    for key, value in [("clear_zero_spring_festival_deadline", "2022-01-31"),
                       ("clear_zero_year_end_deadline", "2021-12-31"), ("campaign_start", "2021-11-01")]:
        assert run(app, "set", "--by", "admin_all", "--", key, value).exit_code == 0


def test_a_setting_takes_effect_and_reset_restores_the_default(app, ctx, inspector):
    result = run(app, "set", "acceptance_review_days", "3", "--by", "head_cz")
    assert result.exit_code == 0 and "acceptance_review_days = 3" in result.output
    listing = run(app, "list")
    line = next(x for x in listing.output.splitlines() if x.startswith("acceptance_review_days"))
    assert " 3 " in line and "head_cz" in line and "default 5" in line

    # Opened on Monday 1 March 2021: 3 working days to review, due at the end of Thursday 4 March (not 8 March).
    case = services.open_case(inspector, "wage_arrears", "532301", wage_arrears_intake(), at("2021-03-01 09:00"))
    due = db.session.scalar(select(Task.due_at).where(Task.case_id == case.id, Task.name == "review_complaint"))
    assert due.astimezone(at("2021-03-01 09:00").tzinfo).date().isoformat() == "2021-03-04"

    assert run(app, "reset", "acceptance_review_days").output.strip() == "acceptance_review_days = 5 (default)"
    db.session.expire_all()
    assert db.session.get(RuleSetting, "acceptance_review_days") is None


def test_list_names_a_stored_value_the_engine_ignores(app, ctx):
    db.session.add(RuleSetting(key="investigation_days", value="fifteen", updated_by="dba",
                               updated_at=at("2021-03-01 09:00")))
    db.session.commit()
    line = next(x for x in run(app, "list").output.splitlines() if x.startswith("investigation_days"))
    assert " 15 " in line and "'fifteen' is invalid" in line


def test_every_default_is_within_its_rule_and_the_bounds_are_inclusive(app, ctx):
    from engine.rules import RULES, coerce

    for key, rule in RULES.items():
        assert coerce(key, str(rule.default)) == rule.default, key
        low, high = rule.bounds
        if low is not None:
            assert coerce(key, str(low)) == low and coerce(key, str(high)) == high, key
    assert run(app, "set", "--by", "admin_all", "case_extension_days", "0").exit_code == 0  # no extension at all
