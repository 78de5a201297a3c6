"""Every figure the processes use, with its default and the rule it comes from (DOMAIN.md).

Provinces override values in the `rule_settings` table; each computed deadline records the rule key, so a notice
can cite `basis`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from engine.validation import ascii_digits

# The values a province may set, by unit, unless a rule says otherwise: wide enough for any real policy, narrow
# enough that a typo (an extra zero, a year in the wrong century) is refused instead of stalling the engine or
# putting a deadline decades away.
_BOUNDS: dict[str, tuple] = {
    "working_days": (1, 250),  # about a year of working days
    "days": (1, 366),
    "months": (1, 24),
    "percent": (1, 100),
    "yuan": (Decimal("0"), Decimal("100000000")),
    "date": ("2000-01-01", "2100-12-31"),
}


@dataclass(frozen=True)
class Rule:
    key: str
    default: int | Decimal | str
    unit: str  # working_days | days | yuan | percent | months | date (YYYY-MM-DD) | text
    title: str
    basis: str
    minimum: int | Decimal | str | None = None  # None: the unit's bound (_BOUNDS)
    maximum: int | Decimal | str | None = None

    @property
    def bounds(self) -> tuple:
        low, high = _BOUNDS.get(self.unit, (None, None))
        return (low if self.minimum is None else self.minimum, high if self.maximum is None else self.maximum)


_RULES = [
    Rule("acceptance_review_days", 5, "working_days", "受理审查期限",
         "《关于实施〈劳动保障监察条例〉若干规定》第十八条"),
    Rule("material_wait_days", 10, "working_days", "补正材料期限",
         "《关于实施〈劳动保障监察条例〉若干规定》第十八条（告知投诉人补正投诉材料）"),
    Rule("investigation_days", 15, "working_days", "调查核实期限", "《劳动保障监察条例》第十七条"),
    Rule("issue_order_days", 2, "working_days", "下达整改指令期限", "《劳动保障监察条例》第十八条；本局办案规范"),
    Rule("payment_deadline_days", 3, "working_days", "整改支付期限（专项行动期间）",
         "年度根治欠薪冬季专项行动部署；《劳动保障监察条例》第二十六条"),
    Rule("payment_deadline_days_outside_campaign", 7, "working_days", "整改支付期限（专项行动以外）",
         "《劳动保障监察条例》第二十六条；本局办案规范"),
    Rule("check_payment_days", 1, "working_days", "履行情况核查期限", "《劳动保障监察条例》第十八条"),
    Rule("choose_enforcement_days", 3, "working_days", "确定处置措施期限",
         "《保障农民工工资支付条例》第五十四至五十七条"),
    Rule("approve_enforcement_days", 3, "working_days", "处置措施审批期限", "《行政处罚法》；移送案件规定"),
    Rule("review_case_deadline_days", 2, "working_days", "办案期限审查期限", "《劳动保障监察条例》第十七条"),
    # The review comes before the deadline: an extension is approved within the 60 working days, not after them.
    Rule("case_deadline_review_lead_days", 5, "working_days", "办案期限届满前提请审查的提前量",
         "《劳动保障监察条例》第十七条：情况复杂的，经劳动保障行政部门负责人批准，可以延长30个工作日", maximum=30),
    Rule("case_conclusion_days", 60, "working_days", "办案期限", "《劳动保障监察条例》第十七条：60个工作日内完成"),
    Rule("case_extension_days", 30, "working_days", "办案期限延长", "《劳动保障监察条例》第十七条：可延长30个工作日",
         minimum=0),
    Rule("escalation_level2_days", 2, "working_days", "逾期二级督办间隔", "本局督办制度"),
    Rule("escalation_level3_days", 2, "working_days", "逾期三级督办间隔", "本局督办制度"),
    Rule("criminal_threshold_single_amount", Decimal("10000"), "yuan", "移送公安金额标准（个人）",
         "最高法《关于审理拒不支付劳动报酬刑事案件适用法律若干问题的解释》第三条"),
    Rule("criminal_threshold_group_amount", Decimal("60000"), "yuan", "移送公安金额标准（十人以上）",
         "最高法《关于审理拒不支付劳动报酬刑事案件适用法律若干问题的解释》第三条"),
    Rule("criminal_threshold_months", 3, "months", "移送公安拖欠期限标准（个人）",
         "最高法《关于审理拒不支付劳动报酬刑事案件适用法律若干问题的解释》第三条"),
    Rule("claim_review_days", 10, "days", "失业保险待遇审核期限", "《失业保险金申领发放办法》"),
    Rule("benefit_rate_percent", 90, "percent", "失业保险金标准（最低工资的百分比）", "《失业保险条例》第十八条"),
    Rule("subsidy_rate_percent", 80, "percent", "失业补助金标准（失业保险金的百分比）", "人社部发〔2020〕40号"),
    Rule("subsidy_max_months", 6, "months", "失业补助金最长期限", "人社部发〔2020〕40号"),
    Rule("claim_filing_days", 60, "days", "失业保险金申领期限（离职后）", "《失业保险金申领发放办法》第六条"),
    Rule("claim_supervisor_ceiling", Decimal("30000"), "yuan", "失业待遇须主管审批的总额上限",
         "本局失业保险待遇审批制度"),
    Rule("confirm_placement_days", 5, "working_days", "上岗确认期限", "临时性岗位管理办法"),
    Rule("service_131_days", 10, "working_days", "“131”服务办理期限", "人社部函〔2021〕8号"),
    Rule("temp_post_max_months", 6, "months", "临时性岗位最长期限", "人社部函〔2021〕8号"),
    Rule("temp_post_match_days", 5, "working_days", "临时性岗位匹配及期满评估期限", "临时性岗位管理办法"),
    Rule("campaign_start", "2020-11-01", "date", "根治欠薪冬季专项行动起始日", "年度根治欠薪冬季专项行动部署"),
    Rule("clear_zero_year_end_deadline", "2020-12-31", "date", "两清零目标一期限（政府投资、国企和PPP项目欠薪清零）",
         "年度根治欠薪冬季专项行动部署"),
    Rule("clear_zero_spring_festival_deadline", "2021-02-10", "date", "两清零目标二期限（其他欠薪春节前动态清零）",
         "年度根治欠薪冬季专项行动部署"),
    Rule("penalty_min_amount", Decimal("2000"), "yuan", "罚款金额下限", "《劳动保障监察条例》第三十条"),
    Rule("penalty_max_amount", Decimal("20000"), "yuan", "罚款金额上限", "《劳动保障监察条例》第三十条"),
    # Before a fine is decided the employer is told of it and may answer (行政处罚法 arts. 44, 45; art. 62: a
    # decision made without this does not stand); a large fine carries the right to a hearing (arts. 63, 64).
    Rule("penalty_defence_days", 3, "working_days", "陈述、申辩期限（自收到行政处罚告知书之日起）",
         "《中华人民共和国行政处罚法》第四十四条、第四十五条：作出行政处罚决定前告知拟作出的行政处罚内容及事实、"
         "理由、依据和陈述、申辩的权利，充分听取当事人的意见；该法未规定陈述、申辩的期限，执法实践中一般为3个工作日"
         "（第八十五条：“三日”指工作日）", maximum=30),
    Rule("penalty_hearing_request_days", 5, "working_days", "要求听证期限（自收到行政处罚告知书之日起）",
         "《中华人民共和国行政处罚法》第六十四条第一项：当事人要求听证的，应当在行政机关告知后五日内提出；"
         "第八十五条：“五日”指工作日", minimum=5, maximum=30),  # the statute's five days: a bureau may give more
    Rule("penalty_hearing_threshold", Decimal("10000"), "yuan", "较大数额罚款标准（达到该金额的罚款告知听证权利）",
         "《中华人民共和国行政处罚法》第六十三条第一款第一项：拟作出较大数额罚款的，应当告知当事人有要求听证的权利；"
         "较大数额的标准由省级人民政府或者国务院部门规定"),
    Rule("decide_penalty_days", 10, "working_days", "陈述申辩复核及处罚决定期限（陈述申辩期限届满后）",
         "《中华人民共和国行政处罚法》第四十五条（复核）、第六十四条第二项（举行听证的七日前通知当事人）；本局办案规范"),
    # A province may narrow the statutory 50-100% (its discretion standard), never widen it: the form's schema
    # holds the statute.
    Rule("compensation_min_percent", 50, "percent", "加付赔偿金比例下限（应付金额的百分比）",
         "《劳动保障监察条例》第二十六条", minimum=50, maximum=100),
    Rule("compensation_max_percent", 100, "percent", "加付赔偿金比例上限（应付金额的百分比）",
         "《劳动保障监察条例》第二十六条", minimum=50, maximum=100),
    # The referral of a suspected crime: the head decides, then the case goes to the police. Calendar days.
    Rule("referral_approval_days", 3, "days", "涉嫌犯罪案件移送审批期限",
         "《行政执法机关移送涉嫌犯罪案件的规定》第五条：正职负责人或者主持工作的负责人应当自接到报告之日起3日内"
         "作出批准移送或者不批准移送的决定", maximum=3),  # statutory limits: a province may shorten them only
    Rule("referral_transfer_days", 1, "days", "涉嫌犯罪案件移送公安机关期限",
         "《行政执法机关移送涉嫌犯罪案件的规定》第八条：决定批准的，应当在24小时内向同级公安机关移送", maximum=1),
    # Drawing on the wage deposit: the payment check waits for the bank's statutory time to pay.
    Rule("wage_deposit_bank_days", 5, "working_days", "经办银行支付工资保证金期限",
         "《工程建设领域农民工工资保证金规定》第十五条：经办银行应当在收到支付通知书5个工作日内从工资保证金账户中"
         "将相应数额的款项以银行转账方式支付给属地人力资源社会保障行政部门指定的被拖欠工资农民工本人"),
    Rule("court_transfer_days", 5, "working_days", "移送人民法院期限（仍有欠薪结案）", "本局办案规范"),
]

RULES: dict[str, Rule] = {r.key: r for r in _RULES}


# Pairs of rules where the first may not exceed the second, as a province sets them one at a time: a lower limit
# above its upper limit would refuse every fine, and a campaign that ends before it starts would count nothing.
ORDERED_PAIRS: tuple[tuple[str, str], ...] = (
    ("penalty_min_amount", "penalty_max_amount"),
    ("compensation_min_percent", "compensation_max_percent"),
    ("campaign_start", "clear_zero_year_end_deadline"),
    ("campaign_start", "clear_zero_spring_festival_deadline"),
)


def out_of_order(values: dict[str, Any]) -> str | None:
    """Why these rule values contradict each other (the first pair of ORDERED_PAIRS out of order), else None."""
    for low, high in ORDERED_PAIRS:
        if values[low] > values[high]:
            return (f"规则 {low}（{RULES[low].title}）不能大于 {high}（{RULES[high].title}）："
                    f"{values[low]} > {values[high]}；如需同时调整，请先修改另一条规则")
    return None


class UnknownRule(KeyError):
    pass


def default_value(key: str) -> int | Decimal | str:
    try:
        return RULES[key].default
    except KeyError:
        raise UnknownRule(key) from None


_WHOLE_UNITS = ("working_days", "days", "percent", "months")
_AMOUNT_RE = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_EXPECTED = {"date": "日期 YYYY-MM-DD", "yuan": "金额（元，最多两位小数）", "percent": "整数百分比"}


def coerce(key: str, raw: str) -> int | Decimal | str:
    """Turn a stored override back into the rule's type; ValueError (naming the rule and what it accepts) when it
    is not one or lies outside the rule's bounds."""
    rule = RULES.get(key)
    if rule is None:
        raise UnknownRule(key)
    text = str(raw).strip()
    value: int | Decimal | str = text
    try:
        if rule.unit in _WHOLE_UNITS or isinstance(rule.default, int):
            # A signed whole number is a number out of range (-3 days), not "no whole number" (QA).
            if not (ascii_digits(text) or (text[:1] in "+-" and ascii_digits(text[1:]))):
                raise ValueError
            value = int(text)
        elif isinstance(rule.default, Decimal):
            if not _AMOUNT_RE.fullmatch(text):
                raise ValueError
            value = Decimal(text)
        elif rule.unit == "date":
            if not _DATE_RE.fullmatch(text):
                raise ValueError
            value = date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError(f"规则 {key}（{rule.title}）的取值应为{_EXPECTED.get(rule.unit, '整数')}，"
                         f"不能是 {raw!r}") from None
    low, high = rule.bounds
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"规则 {key}（{rule.title}）的取值应在 {low} 至 {high} 之间，不能是 {raw!r}")
    return value


def in_force(key: str, stored: str | None) -> tuple[int | Decimal | str, str | None]:
    """The value the engine uses for a rule with this stored override (None: no override), and why the override is
    ignored when it is not valid for the rule (typed into the table by hand): the statutory default applies then."""
    if stored is None:
        return RULES[key].default, None
    try:
        return coerce(key, stored), None
    except ValueError as exc:
        return RULES[key].default, str(exc)
