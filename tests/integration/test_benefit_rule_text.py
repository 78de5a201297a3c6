"""A benefit claim's rule text ("Rule applied": the rows of the decision tables that applied, the facts they saw, the
months granted before and the rates used) reads in the user's language: on English pages it is English, every
figure kept; in Chinese it is the engine's text as it is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask_babel import force_locale
from lxml import etree

from tests.integration.test_benefit_claim import FAST, REFUSED, claim_data, open_claim
from tests.integration.test_benefit_payments_page import browser
from tests.integration.test_benefit_payments_page import clock as clock  # a fixture
from tests.integration.test_pages import post, text_of

DMN = Path(__file__).resolve().parents[2] / "bpmn" / "benefit_claim"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _annotations() -> set[str]:
    found = set()
    for path in DMN.glob("*.dmn"):
        for rule in etree.parse(str(path)).getroot().iter("{https://www.omg.org/spec/DMN/20191111/MODEL/}rule"):
            for entry in rule.iter("{https://www.omg.org/spec/DMN/20191111/MODEL/}outputEntry"):
                if entry.get("id", "").endswith("_note"):
                    found.add(entry.findtext("{https://www.omg.org/spec/DMN/20191111/MODEL/}text").strip('"'))
    return found


def test_every_row_annotation_is_listed_for_the_catalogue():
    from web.engine_texts import BENEFIT_RULE_TEXTS

    annotations = _annotations()
    assert len(annotations) >= 20
    assert annotations <= set(BENEFIT_RULE_TEXTS), annotations - set(BENEFIT_RULE_TEXTS)


CASES = [(f[0], f[1]) for f in FAST] + [(f"refused-{r[0]}", r[1]) for r in REFUSED] + [
    ("voluntary-12", {"contribution_months": 12, "separation_reason": "voluntary"}),
    ("set-benefit-rate", {"separation_date": "2022-10-01"}),
]


@pytest.mark.parametrize("label,overrides", CASES, ids=[c[0] for c in CASES])
def test_the_rule_text_reads_in_english_with_every_figure(app, rates, clerk, label, overrides):
    from web.messages import message

    now = None
    if label == "set-benefit-rate":
        from tests.conftest import at

        now = at("2022-10-20 10:00")
    case = open_claim(clerk, claim_data(**overrides), now=now) if now else open_claim(clerk, claim_data(**overrides))
    text = case.summary["rule"]["text"]
    with app.test_request_context(), force_locale("en"):
        english = message(text)
    assert not CHINESE.search(english), english
    assert english.startswith("Eligibility rule " + case.summary["rule"]["id"])
    # Every figure and code of the Chinese text is in the English one.
    figures = re.compile(r"[A-Z]\d+|\d[\d.-]*")
    assert set(figures.findall(text)) <= set(figures.findall(english)), (text, english)
    with app.test_request_context(), force_locale("zh_CN"):
        assert message(text) == text


def test_an_example_in_full(app, rates, clerk):
    from web.messages import message

    case = open_claim(clerk, claim_data(contribution_months=70))
    with app.test_request_context(), force_locale("en"):
        assert message(case.summary["rule"]["text"]) == (
            "Eligibility rule E04 (At least 1 year of contributions, involuntary separation, registered and seeking "
            "work: unemployment insurance benefit); period rule M5 (5 to under 10 years of contributions: "
            "unemployment insurance benefit for at most 18 months); amount rule A1 (Unemployment insurance benefit: "
            "paid monthly at the region's benefit rate, for the maximum months less the months already drawn); "
            "inputs: 70 months of contributions, 0 months already drawn, involuntary separation, urban household, "
            "registered as unemployed, seeking work; separation on 2021-01-15: the rates of 532301 in force from "
            "2020-07-01 (minimum wage 1500.00 yuan/month × 90%; subsistence rate 680.00 yuan/month)")


@pytest.mark.usefixtures("clock")
def test_the_case_page_in_english_shows_the_rule_in_english(app, rates, clerk):
    case = open_claim(clerk, claim_data(contribution_months=70))
    web = browser(app, clerk.username)
    assert post(web, "/language", {"language": "en", "next": f"/cases/{case.number}"}).status_code == 302
    page = text_of(web.get(f"/cases/{case.number}"))
    assert "Rule applied" in page and "Eligibility rule E04 (At least 1 year of contributions" in page
    assert "资格认定规则" not in page
