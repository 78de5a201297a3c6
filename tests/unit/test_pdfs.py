"""pdfs: every notice kind renders to an A4 PDF with its title, number and verification code, fonts embedded;
bad facts fail with errors that name the key; money is printed the way Chinese official documents print it."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pypdf
import pytest

import pdfs
from pdfs import facts as facts_module
from pdfs import rendering as render_module
from pdfs.facts import review_body_of
from pdfs.formatting import cn_date, cn_number, join_basis, prose, yuan, yuan_upper
from pdfs.kinds import COMMON_REQUIRED
from pdfs.samples import SAMPLE_KINDS, sample_facts

A4_POINTS = (595.28, 841.89)  # 210 x 297 mm

# The kinds issue 3 asks for; the benefit and placement letters come with their own issues (kept working here).
ISSUE_KINDS = ("acceptance_notice", "non_acceptance_notice", "rectification_order", "penalty_decision",
               "criminal_referral", "supervision_notice", "case_closure_notice")
# The enforcement measures of a wage-arrears case after the deadline of the order has passed.
MEASURE_KINDS = ("compensation_order", "wage_deposit_notice", "blacklist_decision", "emergency_advance_request")


def _text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "".join(page.extract_text() for page in reader.pages)


def _flat(text: str) -> str:
    # Extracted text breaks lines where the layout does; a phrase may straddle a line end.
    return re.sub(r"\s+", "", text)


def _font_descriptors(pdf: bytes) -> list[tuple[str, dict]]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    found = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            targets = [font]
            if "/DescendantFonts" in font:  # Type0 (CID) fonts keep the descriptor on the descendant
                targets = [d.get_object() for d in font["/DescendantFonts"]]
            for target in targets:
                found.append((str(font["/BaseFont"]), target["/FontDescriptor"].get_object()))
    return found


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    return {kind: pdfs.render(kind, sample_facts(kind)) for kind in SAMPLE_KINDS}


def test_every_kind_has_a_sample_and_a_template():
    assert set(ISSUE_KINDS) <= set(pdfs.KINDS)
    assert set(MEASURE_KINDS) <= set(pdfs.KINDS)
    assert set(SAMPLE_KINDS) == set(pdfs.KINDS)
    for kind in pdfs.KINDS.values():
        assert set(COMMON_REQUIRED) - set(kind.exempt) <= set(kind.required)


@pytest.mark.parametrize("kind", sorted(pdfs.KINDS))
def test_kind_renders_with_title_number_and_code(rendered, kind):
    facts = sample_facts(kind)
    pdf = rendered[kind]
    assert pdf.startswith(b"%PDF-")
    text = _flat(_text(pdf))
    assert pdfs.KINDS[kind].title in text
    assert facts["document_number"] in text
    assert facts["verification_code"] in text
    assert facts["bureau"] in text
    # The recipient, the date in Chinese and the case number are on it too.
    assert facts["recipient"] in text
    assert cn_date(facts_module._as_date(kind, "issued_on", facts["issued_on"])) in text


@pytest.mark.parametrize("kind", sorted(pdfs.KINDS))
def test_kind_is_a4_with_embedded_cjk_fonts(rendered, kind):
    reader = pypdf.PdfReader(io.BytesIO(rendered[kind]))
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width, 2), round(height, 2)) == A4_POINTS
    descriptors = _font_descriptors(rendered[kind])
    assert descriptors
    for name, descriptor in descriptors:
        assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")), f"{name} not embedded"
    names = {name for name, _ in descriptors}
    # Song (serif) body and bold headings from Noto CJK, subset ("ABCDEF+" prefix).
    assert any("Noto-Serif-CJK-SC" in n and "Bold" not in n for n in names), names
    assert any("CJK" in n and "Bold" in n for n in names), names
    assert all(re.match(r"^/[A-Z]{6}\+", n) for n in names), names


def test_rendering_is_pure_and_deterministic():
    facts = sample_facts("rectification_order")
    before = dict(facts)
    first = pdfs.render("rectification_order", facts)
    assert facts == before  # facts are not modified
    assert pdfs.render("rectification_order", facts) == first  # same facts, same bytes (stored once by sha256)


def test_decisions_print_review_and_litigation_rights_and_others_do_not(rendered):
    for kind in ("non_acceptance_notice", "rectification_order", "penalty_decision", "benefit_decision_refusal",
                 "compensation_order", "blacklist_decision"):
        text = _flat(_text(rendered[kind]))
        assert "六十日内" in text and "申请行政复议" in text, kind
        assert "六个月内" in text and "提起行政诉讼" in text, kind
    for kind in ("acceptance_notice", "criminal_referral", "supervision_notice", "wage_deposit_notice",
                 "emergency_advance_request"):
        assert "行政复议" not in _flat(_text(rendered[kind])), kind
    # A caller may switch them on or off explicitly (JSON-stored facts give text).
    facts = sample_facts("acceptance_notice") | {"rights": "true"}
    assert "申请行政复议" in _flat(_text(pdfs.render("acceptance_notice", facts)))


def test_rectification_order_states_amount_deadline_and_basis(rendered):
    text = _flat(_text(rendered["rectification_order"]))
    assert "312,500.00元" in text and "人民币叁拾壹万贰仟伍佰元整" in text
    assert "2021年2月25日前" in text
    assert "《劳动保障监察条例》第十八条、第二十六条" in text
    assert "（印章）" in text  # the blank for the seal


def test_a_fine_is_due_fifteen_days_from_receipt_not_from_a_printed_date():
    """行政处罚法 art. 67: fifteen days from the decision's receipt, which the bureau cannot know when it prints."""
    text = _flat(_text(pdfs.render("penalty_decision", sample_facts("penalty_decision"))))
    assert "应当自收到本决定书之日起十五日内" in text and "第六十七条" in text


def test_qr_code_points_at_the_verify_url():
    facts = sample_facts("penalty_decision")
    html = pdfs.render_html("penalty_decision", facts)
    assert "<svg" in html
    assert facts["verify_url"] in html  # printed next to the QR code
    # The QR code encodes exactly the verify URL (not the bare code, not another URL).
    assert str(facts_module.qr_svg(facts["verify_url"])) in html
    assert str(facts_module.qr_svg(facts["verification_code"])) not in html


# ---------------------------------------------------------------------------------------------------------------
# Bad facts.

def test_missing_fact_names_the_key():
    facts = sample_facts("rectification_order")
    del facts["deadline"]
    facts["amount_owed"] = "  "  # blank counts as missing
    with pytest.raises(pdfs.MissingFacts) as caught:
        pdfs.render("rectification_order", facts)
    assert caught.value.missing == ("amount_owed", "deadline")
    assert "deadline" in str(caught.value) and "amount_owed" in str(caught.value)


@pytest.mark.parametrize("kind", ISSUE_KINDS + MEASURE_KINDS)
@pytest.mark.parametrize("key", ["document_number", "verification_code", "legal_basis"])
def test_each_kind_requires_the_common_facts(kind, key):
    facts = sample_facts(kind)
    facts[key] = [] if key == "legal_basis" else None
    with pytest.raises(pdfs.MissingFacts, match=key):
        pdfs.render(kind, facts)


def test_unknown_kind():
    with pytest.raises(pdfs.UnknownKind, match="no_such_notice"):
        pdfs.render("no_such_notice", sample_facts("acceptance_notice"))
    with pytest.raises(pdfs.UnknownKind):
        pdfs.render(None, {})  # type: ignore[arg-type]


@pytest.mark.parametrize(("key", "value"), [
    ("deadline", "2021-02-30"),
    ("deadline", "next week"),
    ("amount_owed", "三十万"),
    ("amount_owed", "-5"),
    ("amount_owed", True),
    ("worker_count", "23人"),
    ("worker_count", -1),
    ("verify_url", "javascript:alert(1)"),
    ("recipient", {"name": "x"}),
    ("rights", "perhaps"),
    ("legal_basis", 42),
])
def test_invalid_fact_names_the_key(key, value):
    facts = sample_facts("rectification_order") | {key: value}
    with pytest.raises(pdfs.InvalidFact) as caught:
        pdfs.render("rectification_order", facts)
    assert caught.value.key == key
    assert repr(key) in str(caught.value)


def test_errors_are_value_errors_and_facts_must_be_a_mapping():
    assert issubclass(pdfs.MissingFacts, ValueError) and issubclass(pdfs.InvalidFact, ValueError)
    assert issubclass(pdfs.UnknownKind, ValueError)
    with pytest.raises(TypeError):
        pdfs.render("acceptance_notice", [("bureau", "x")])  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ("rectification_order", *MEASURE_KINDS))
def test_facts_as_stored_json_render_like_python_values(kind):
    """engine.documents keeps facts as JSON (dates and amounts as text): the same notice comes out."""
    facts = sample_facts(kind)
    stored = {k: (v.isoformat() if isinstance(v, dt.date) else str(v) if isinstance(v, Decimal) else v)
              for k, v in facts.items()}
    stored["unknown_extra"] = {"ignored": True}  # facts a template does not print are ignored
    assert pdfs.render_html(kind, stored) == pdfs.render_html(kind, facts)


def test_html_is_escaped():
    facts = sample_facts("acceptance_notice") | {"recipient": "<b>张三</b>&"}
    html = pdfs.render_html("acceptance_notice", facts)
    assert "&lt;b&gt;张三&lt;/b&gt;&amp;" in html and "<b>张三" not in html


def test_optional_facts_change_the_text():
    facts = sample_facts("case_closure_notice") | {"amount_recovered": "0.00", "worker_count": 0}
    assert "追回劳动报酬" not in pdfs.render_html("case_closure_notice", facts)
    warning_only = sample_facts("penalty_decision") | {"penalty": "警告", "fine_amount": "0"}
    html = pdfs.render_html("penalty_decision", warning_only)
    assert "警告。" in html and "缴纳罚款" not in html
    accepted = sample_facts("acceptance_notice") | {"conclude_by": "2021-04-30"}
    assert "（即2021年4月30日前）" in pdfs.render_html("acceptance_notice", accepted)


def test_referral_letter_needs_no_recipient_facts_or_basis():
    """engine/placements.py passes the post's facts only: the letter is addressed to the employer."""
    facts = {k: v for k, v in sample_facts("temp_post_referral").items()
             if k not in ("recipient", "facts", "legal_basis")}
    facts["pay"] = "1800.00"
    text = _flat(_text(pdfs.render("temp_post_referral", facts)))
    assert "楚雄市鹿城镇人民政府：" in text
    assert "每月1,800.00元" in text


def test_review_body_defaults_to_the_government_at_the_bureau_level():
    assert review_body_of("楚雄州人力资源和社会保障局") == "楚雄州人民政府"
    assert review_body_of("云南省人力资源和社会保障厅") == "云南省人民政府"
    assert review_body_of("某某局") == "有管辖权的行政复议机关"
    facts = sample_facts("penalty_decision")
    del facts["review_body"], facts["court"]
    html = pdfs.render_html("penalty_decision", facts)
    assert "向楚雄州人民政府申请行政复议" in html and "向有管辖权的人民法院提起行政诉讼" in html


# ---------------------------------------------------------------------------------------------------------------
# Formatting.

@pytest.mark.parametrize(("amount", "upper"), [
    ("0.05", "人民币伍分"),
    ("0.50", "人民币伍角"),
    ("0", "人民币零元整"),
    ("10.00", "人民币壹拾元整"),
    ("12500", "人民币壹万贰仟伍佰元整"),
    ("10005", "人民币壹万零伍元整"),
    ("1000100", "人民币壹佰万零壹佰元整"),
    ("100000.01", "人民币壹拾万元零壹分"),
    ("100000000", "人民币壹亿元整"),
    ("312500.00", "人民币叁拾壹万贰仟伍佰元整"),
    ("1409.60", "人民币壹仟肆佰零玖元陆角"),
    ("2.345", "人民币贰元叁角伍分"),  # rounded half up to the fen
])
def test_yuan_upper(amount, upper):
    assert yuan_upper(Decimal(amount)) == upper


def test_yuan_and_dates_and_numbers():
    assert yuan(Decimal("0.05")) == "0.05元"
    assert yuan(Decimal("10")) == "10.00元"
    assert yuan(Decimal("100000.01")) == "100,000.01元"
    assert cn_date(dt.date(2021, 2, 10)) == "2021年2月10日"
    assert [cn_number(n) for n in (1, 10, 12, 20, 60, 99)] == ["一", "十", "十二", "二十", "六十", "九十九"]
    with pytest.raises(ValueError, match="negative"):
        yuan_upper(Decimal("-1"))


def test_prose_prints_dates_and_amounts_the_official_way():
    assert prose("拖欠2020-09-01至2020-12-31期间工资共计100000.00元") == \
        "拖欠2020年9月1日至2020年12月31日期间工资共计100,000.00元"
    assert prose("于2021年03月08日届满，每日120元") == "于2021年3月8日届满，每日120元"
    # Identifiers and impossible dates are left alone.
    assert prose("案件WA-532301-2021-000001，编号2021-13-45") == "案件WA-532301-2021-000001，编号2021-13-45"
    facts = sample_facts("rectification_order") | {"facts": ["截至2021-02-05共计60000.00元。"]}
    html = pdfs.render_html("rectification_order", facts)
    assert "截至2021年2月5日共计60,000.00元。" in html
    assert "CXJC-2021-0005" in html and "7K3Q-9M2P-XD4H" in html  # verbatim keys untouched


def test_basis_cites_each_provision_once_without_glosses():
    cited = join_basis(["《劳动保障监察条例》第十七条；实施办法第十六条",
                        "《劳动保障监察条例》第十七条：60个工作日内完成"])
    assert cited == "《劳动保障监察条例》第十七条、实施办法第十六条"
    assert join_basis(["《条例》第十八条。", "《办法》第七条"]) == "《条例》第十八条、《办法》第七条"


def test_one_font_configuration_and_one_parsed_stylesheet_for_every_render(monkeypatch):
    """Building a FontConfiguration per render makes fontconfig rescan and memory climb past 1 GB in 50 renders."""
    import weasyprint

    seen = []
    real = weasyprint.HTML.write_pdf

    def spy(self, *args, **kwargs):
        seen.append((kwargs.get("font_config"), tuple(kwargs.get("stylesheets") or ())))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", spy)
    for kind in ("acceptance_notice", "penalty_decision"):
        pdfs.render(kind, sample_facts(kind))
    (font_config, sheets), (font_config2, sheets2) = seen
    assert isinstance(font_config, weasyprint.text.fonts.FontConfiguration)
    assert font_config is font_config2
    assert len(sheets) == 1 and sheets[0] is sheets2[0]
    assert render_module.weasy_objects()[0] is font_config


# ---------------------------------------------------------------------------------------------------------------
# Enforcement measures: extra compensation, the wage deposit, the joint-sanctions list, the emergency fund.

@pytest.mark.parametrize("kind", MEASURE_KINDS)
def test_measure_kinds_name_each_missing_extra_fact(kind):
    extra = pdfs.KINDS[kind].extra_required
    assert extra
    for key in extra:
        facts = sample_facts(kind)
        del facts[key]
        with pytest.raises(pdfs.MissingFacts) as caught:
            pdfs.render(kind, facts)
        assert caught.value.missing == (key,)
    facts = sample_facts(kind) | dict.fromkeys(extra, " ")
    with pytest.raises(pdfs.MissingFacts) as caught:
        pdfs.render_html(kind, facts)
    assert caught.value.missing == extra


def test_every_kind_has_its_own_document_number_code():
    from engine.documents import KIND_CODES

    assert set(KIND_CODES) == set(pdfs.KINDS)
    assert len(set(KIND_CODES.values())) == len(KIND_CODES)
    assert (KIND_CODES["compensation_order"], KIND_CODES["wage_deposit_notice"], KIND_CODES["blacklist_decision"],
            KIND_CODES["emergency_advance_request"]) == ("监赔", "监保", "监失", "监垫")


def test_compensation_order_states_base_rate_and_amount(rendered):
    text = _flat(_text(rendered["compensation_order"]))
    assert "按照应付金额的50%向23名劳动者加付赔偿金" in text
    assert "312,500.00元×50%＝156,250.00元（人民币壹拾伍万陆仟贰佰伍拾元整）" in text
    assert "2021年3月20日前" in text
    assert "你单位如不服本决定，可以在收到本决定书之日起六十日内" in text
    assert "本决定不停止执行" in text


@pytest.mark.parametrize(("changes", "key"), [
    ({"compensation_rate": 40, "compensation_amount": "125000"}, "compensation_rate"),
    ({"compensation_rate": 120, "compensation_amount": "375000"}, "compensation_rate"),
    ({"compensation_rate": "50%"}, "compensation_rate"),
    ({"compensation_amount": "150000"}, "compensation_amount"),  # not 312,500.00 × 50 %
])
def test_compensation_order_refuses_a_rate_or_product_that_does_not_hold(changes, key):
    with pytest.raises(pdfs.InvalidFact) as caught:
        pdfs.render_html("compensation_order", sample_facts("compensation_order") | changes)
    assert caught.value.key == key


def test_compensation_order_allows_a_fen_of_rounding():
    base = sample_facts("compensation_order") | {"amount_owed": "12345.67", "compensation_rate": "75"}
    for amount in ("9259.25", "9259.26"):  # 12,345.67 × 75 % = 9,259.2525
        html = pdfs.render_html("compensation_order", base | {"compensation_amount": amount})
        assert f"12,345.67元×75%＝9,259.2{amount[-1]}元" in html
    with pytest.raises(pdfs.InvalidFact, match="compensation_amount"):
        pdfs.render_html("compensation_order", base | {"compensation_amount": "9259.30"})


def test_wage_deposit_notice_tells_the_bank_what_to_pay_by_when(rendered):
    text = _flat(_text(rendered["wage_deposit_notice"]))
    assert "中国建设银行股份有限公司楚雄分行：" in text
    assert ("云南某某路桥建设有限公司作为姚安县光禄镇污水处理厂及配套管网工程的施工总承包单位，"
            "在你行存储有农民工工资保证金") in text
    assert ("请你行于2022年1月25日前，从该工资保证金账户中将186,400.00元（人民币壹拾捌万陆仟肆佰元整）"
            "以银行转账方式支付给本局提供的被拖欠工资农民工名册所列17名农民工本人") in text
    assert "书面反馈本局" in text
    assert "附件：被拖欠工资农民工名册（17人）" in text


def test_wage_deposit_notice_without_project_and_to_a_credit_cooperative():
    facts = sample_facts("wage_deposit_notice") | {"recipient": "楚雄市农村信用合作联社"}
    del facts["project"]
    html = pdfs.render_html("wage_deposit_notice", facts)
    assert "云南某某路桥建设有限公司在你社存储有农民工工资保证金" in html
    assert "施工总承包单位" not in html and "你行" not in html
    assert "项目项目" not in html and "工程工程" not in html


def test_blacklist_decision_states_the_listing_period_and_the_sanctions(rendered):
    text = _flat(_text(rendered["blacklist_decision"]))
    assert "本局决定将你单位列入拖欠农民工工资失信联合惩戒对象名单" in text
    assert "列入期限为一年，自2021年3月22日起至2022年3月21日止。" in text
    assert "再次被列入" not in text
    assert "依法依规实施联合惩戒" in text
    assert "可以向本局申请提前移出名单" in text  # early removal is printed by default
    assert "你单位如不服本决定，可以在收到本决定书之日起六十日内" in text


def test_blacklist_decision_for_a_unit_listed_again_without_early_removal():
    facts = sample_facts("blacklist_decision") | {
        "repeat": True, "years": 2, "listed_until": "2023-03-22", "early_removal": "false",
    }
    html = pdfs.render_html("blacklist_decision", facts)
    assert "因你单位系再次被列入名单，列入期限为二年，自2021年3月22日起至2023年3月22日止。" in html
    assert "提前移出" not in html


@pytest.mark.parametrize(("changes", "key"), [
    ({"years": 3, "listed_until": "2024-03-21"}, "years"),
    ({"years": 0}, "years"),
    ({"repeat": True}, "years"),  # listed again: two years, not one
    ({"listed_until": "2022-06-30"}, "listed_until"),
    ({"listed_until": "2021-03-21"}, "listed_until"),
    ({"listed_from": "2021-02-30"}, "listed_from"),
    ({"repeat": "sometimes"}, "repeat"),
    ({"early_removal": "maybe"}, "early_removal"),
])
def test_blacklist_decision_refuses_an_inconsistent_period(changes, key):
    with pytest.raises(pdfs.InvalidFact) as caught:
        pdfs.render_html("blacklist_decision", sample_facts("blacklist_decision") | changes)
    assert caught.value.key == key


def test_emergency_advance_request_asks_the_county_for_the_advance(rendered):
    text = _flat(_text(rendered["emergency_advance_request"]))
    assert "南华县人民政府：" in text
    assert "项目名称：南华县龙川镇某某小区一期建设项目" in text
    assert ("本局商请南华县人民政府动用欠薪应急周转金，先行垫付14名农民工工资共计63,400.00元"
            "（人民币陆万叁仟肆佰元整）") in text
    assert "垫付资金应当依法依规向南华某某建筑劳务有限公司追偿" in text
    assert "有关事项建议如下：" in text
    assert "请予研究支持，并于2021年2月2日前将办理意见函复本局。" in text
    assert "特此函请。" in text


def test_emergency_advance_request_names_the_government_and_needs_no_project():
    facts = sample_facts("emergency_advance_request") | {"recipient": "楚雄市人民政府"}
    del facts["project"], facts["deadline"], facts["requirements"]
    html = pdfs.render_html("emergency_advance_request", facts)
    assert "本局商请楚雄市人民政府动用欠薪应急周转金" in html
    assert "项目名称" not in html and "南华县" not in html and "有关事项" not in html
    assert "请予研究支持，并将办理意见函复本局。" in html


def test_no_penalty_decision_states_the_facts_the_answer_the_reason_and_the_basis(rendered):
    text = _flat(_text(rendered["no_penalty_decision"]))
    assert "不予行政处罚决定书" in text and "楚人社监不罚〔2021〕1号" in text
    # What was intended and on which facts, the prior notice and the employer's defence, the reason, the basis.
    assert "本局拟对你单位作出罚款15,000.00元（人民币壹万伍仟元整）的行政处罚，所依据的事实如下：" in text
    assert "你单位未当场提供，阻挠劳动保障监察" in text
    assert "《行政处罚告知书》（楚人社监罚告〔2021〕3号）" in text and "你单位在规定期限内提出了陈述、申辩" in text
    assert "本局认为，你单位未当场提供工资支付台账系因台账由项目部保管" in text
    assert ("鉴于你单位违法行为轻微并及时改正，没有造成危害后果，依据《中华人民共和国行政处罚法》第三十三条第一款、"
            "第五十七条第一款第二项的规定，本局决定：对你单位不予行政处罚。") in text
    # A violation found, though not penalised, may be contested; there is nothing to pay and nothing to enforce.
    assert "你单位如不服本决定，可以在收到本决定书之日起六十日内" in text and "提起行政诉讼" in text
    assert "缴纳罚款" not in text and "不停止执行" not in text and "特此通知" not in text


def test_no_penalty_decision_without_a_violation_found_prints_no_rights():
    """违法事实不能成立: the decision finds nothing against the employer, which has nothing to contest."""
    facts = sample_facts("no_penalty_decision") | {
        "reason": "现有证据不能证明你单位拒不提供工资台账", "ground": "你单位的违法事实不能成立",
        "legal_basis": ["《中华人民共和国行政处罚法》第五十七条第一款第三项"], "rights": False}
    html = pdfs.render_html("no_penalty_decision", facts)
    assert "鉴于你单位的违法事实不能成立，依据《中华人民共和国行政处罚法》第五十七条第一款第三项的规定" in html
    assert "行政复议" not in html and "行政诉讼" not in html
    # Without the ground, the penalty intended or the procedure, the decision still reads.
    del facts["ground"], facts["penalty"], facts["fine_amount"], facts["hearing_note"]
    html = pdfs.render_html("no_penalty_decision", facts)
    assert "本局拟对你单位作出行政处罚，所依据的事实如下：" in html and "鉴于" not in html
    with pytest.raises(pdfs.MissingFacts) as caught:
        pdfs.render_html("no_penalty_decision", facts | {"reason": " "})
    assert caught.value.missing == ("reason",)
