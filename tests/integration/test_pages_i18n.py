"""The English catalogue covers every text the pages show: the texts in web/ (views, labels, engine messages
listed in web/engine_texts.py, templates), the titles of the processes' JSON Schemas (task forms, intake forms) and
the names in their diagrams. When this fails, run the commands in web/translations/README.md and fill in the English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "web" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None, "N_": None}
METHODS = [
    ("web/**.py", "python"),
    ("web/templates/**.html", "jinja2.ext:babel_extract"),
    ("bpmn/**.schema.json", "web.forms:extract_schema_strings"),
    ("bpmn/**.bpmn", "web.diagram:extract_bpmn_names"),
]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _catalogue() -> dict[str, str]:
    """msgid -> English; a plural entry by its singular, with its plural English when every form has one."""
    found = {}
    with PO.open("rb") as handle:
        for m in read_po(handle):
            if not m.id:
                continue
            if isinstance(m.id, tuple):
                found[m.id[0]] = m.string[-1] if all(m.string) else ""
            else:
                found[m.id] = m.string
    return found


def _shown_texts() -> dict[str, str]:
    found: dict[str, str] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=METHODS, keywords=KEYWORDS, strip_comment_tags=True):
        text = message[0] if isinstance(message, tuple) else message
        if text and re.search(r"[\u4e00-\u9fff]", text):
            found.setdefault(text, filename)
    return found


def test_every_shown_text_has_english():
    catalogue = _catalogue()
    shown = _shown_texts()
    assert len(shown) > 300  # the extraction itself works
    missing = {text: where for text, where in shown.items() if not catalogue.get(text)}
    assert not missing, f"{len(missing)} texts without English: {missing}"


def test_english_keeps_every_placeholder():
    for msgid, msgstr in _catalogue().items():
        if msgstr:
            assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), msgid


@pytest.mark.usefixtures("ctx")
def test_catalogue_is_compiled_at_start(app):
    mo = PO.with_suffix(".mo")
    assert mo.exists() and mo.stat().st_mtime >= PO.stat().st_mtime
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale("en"):
        assert gettext("待办任务") == "Tasks"
    with app.test_request_context(), force_locale("zh_CN"):
        assert gettext("待办任务") == "待办任务"


def test_an_engine_message_with_a_text_inside_it_is_translated_whole(app):
    # The one-open-case refusal names no case of another region, only that there is one: both parts in English.
    from flask_babel import force_locale

    from engine.services.cases import OTHER_REGION_CASE
    from web.messages import message

    with app.test_request_context(), force_locale("en"):
        english = message(f"该求职人员已有在办案件 {OTHER_REGION_CASE}")
        assert "（" not in english and "another region" in english, english
        assert message("区划 532322 不在您的辖区内") == "Region 532322 is outside your area"
        # The dashboard's campaign (QA: it stayed Chinese).
        assert message("2026—2027年度根治欠薪冬季专项行动") == "2026–2027 winter campaign against wage arrears"


def test_engine_messages_with_several_figures_are_translated(app):
    from flask_babel import force_locale

    from engine.rules import RULES
    from engine.wage_arrears_law import enforcement_out_of_range
    from web.messages import message

    values = {key: rule.default for key, rule in RULES.items()}
    errors = enforcement_out_of_range("25000", 30, values)
    with app.test_request_context(), force_locale("en"):
        assert message(errors["penalty_amount"]).startswith("The fine must be between 2000.00 and 20000.00 yuan (")
        assert message(errors["compensation_rate"]).startswith(
            "The extra compensation must be between 50% and 100% of the amount owed (")


def test_a_supervision_task_is_named_in_the_users_language(app):
    # engine.escalation titles it "督办：<task>（<level>）"; the page names the task and the level in words.
    from flask_babel import force_locale

    from web.labels import task_label

    title = "督办：受理审查（三级督办（报分管领导））"
    with app.test_request_context(), force_locale("en"):
        assert task_label("supervise_overdue", title) == (
            "Handle escalation: Acceptance review (Level 3 supervision (reported to the deputy director))")
    with app.test_request_context(), force_locale("zh_CN"):
        assert task_label("supervise_overdue", title) == "督办处理：受理审查（三级督办（报分管领导））"


@pytest.mark.parametrize("data", [
    {"verified_amount": "30000.00", "workers_owed": 12, "amount_paid": "6000.00"},  # average below, no roster
    {"verified_amount": "30000.00", "workers_owed": 12, "period_from": "2020-12-01", "period_to": "2020-12-31",
     "roster": [{"name": "甲", "amount_owed": "4000.00"}]},  # a short period, the roster's most below
    {"verified_amount": "3000.00", "workers_owed": 0},  # below the single amount, workers not verified
])
def test_the_referral_threshold_refusal_reads_in_english_clause_by_clause(app, data):
    """The refusal is composed of clauses (the standard, then each shortfall), and the approver's refusal wraps it;
    every clause is translated, so no Chinese is left but none of the figures is lost."""
    import re

    from flask_babel import force_locale

    from engine.rules import RULES
    from engine.wage_arrears_law import referral_threshold
    from web.messages import message

    values = {key: rule.default for key, rule in RULES.items()}
    shortfall = referral_threshold(data, values).shortfall
    refusal = f"不能批准移送：{shortfall}。请不批准移送，退回重新确定处置措施"
    with app.test_request_context(), force_locale("en"):
        for text in (shortfall, refusal):
            english = message(text)
            assert not re.search(r"[\u4e00-\u9fff]", english), english
            assert set(re.findall(r"[\d.-]{2,}", text)) <= set(re.findall(r"[\d.-]{2,}", english)), english
    with app.test_request_context(), force_locale("zh_CN"):
        assert message(refusal) == refusal


def test_every_user_task_name_of_the_models_has_english():
    """QA: a supervision task quotes the overdue task's name as the model writes it
    ("督办：推荐3个岗位信息（二级督办）"), which stayed Chinese on English pages."""
    catalogue = _catalogue()
    names = {name for model in ROOT.glob("bpmn/*/*.bpmn")
             for name in re.findall(r'<bpmn:userTask id="[^"]+" name="([^"]+)"', model.read_text("utf-8"))}
    assert len(names) > 10 and not {name for name in names if not catalogue.get(name)}


def test_pages_name_each_task_as_its_model_does(app):
    """QA: the queue and the case page called the temp_job end-of-post review 离岗评估 and the diagram and the API
    期满评估 (five tasks differed so): one task, one name."""
    from web.labels import task_label

    with app.test_request_context():
        for model in ROOT.glob("bpmn/*/*.bpmn"):
            for task_id, name in re.findall(r'<bpmn:userTask id="([^"]+)" name="([^"]+)"', model.read_text("utf-8")):
                assert task_label(task_id) == name, model.name
