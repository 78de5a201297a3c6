"""Registry of notice kinds: code, Chinese title and the fact keys each kind requires.

Every kind takes the COMMON facts below; its docstring lists the extra keys it requires and the optional ones it
understands. Fact values are strings unless said otherwise:

* dates: ``datetime.date`` or ``"YYYY-MM-DD"``; printed as ``2021年2月10日``;
* money: ``Decimal``, ``int`` or a numeric string, in yuan; printed as ``12,500.00元`` (orders and decisions
  also print the Chinese upper-case amount, e.g. ``人民币壹万贰仟伍佰元整``);
* paragraph lists (``facts``, ``legal_basis``, ``requirements``, ...): list of strings (a single string is taken
  as a one-item list).

A required key counts as missing when it is absent, ``None``, a blank string or an empty list.

Common required facts (all kinds):
    bureau, document_number, issued_on (date), recipient, case_number, verification_code, verify_url,
    facts (paragraphs), legal_basis (list of citations, e.g. "《劳动保障监察条例》第二十六条").
Common optional facts:
    requirements (paragraphs: what the recipient must do), deadline (date by which),
    rights (bool; print the rights of administrative review within 60 days and litigation within 6 months;
    the default depends on the kind), review_body (where to apply for review; default the people's government
    of the bureau's level, taken from the bureau's name: 楚雄州人力资源和社会保障局 -> 楚雄州人民政府),
    court (default "有管辖权的人民法院"), contact (contact person), contact_phone, address (bureau address).

A kind may exempt some common keys (``exempt``): they become optional for it.
Keys a kind does not know are ignored, so callers may pass more than a template prints.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

COMMON_REQUIRED: tuple[str, ...] = (
    "bureau",
    "document_number",
    "issued_on",
    "recipient",
    "case_number",
    "verification_code",
    "verify_url",
    "facts",
    "legal_basis",
)

COMMON_OPTIONAL: tuple[str, ...] = (
    "requirements",
    "deadline",
    "rights",
    "review_body",
    "court",
    "contact",
    "contact_phone",
    "address",
)


@dataclass(frozen=True, slots=True)
class NoticeKind:
    """One kind of notice. ``required`` includes the common keys; ``template`` is a file in pdfs/templates/."""

    code: str
    title: str
    doc: str
    extra_required: tuple[str, ...]
    extra_optional: tuple[str, ...] = ()
    # Whether the rights-of-review paragraph is printed when the caller does not say.
    rights_default: bool = False
    # How the document refers to itself in set phrases ("自收到本决定书之日起").
    self_ref: str = "本通知书"
    # Common required keys this kind does without (they become optional).
    exempt: tuple[str, ...] = ()
    required: tuple[str, ...] = field(init=False)
    optional: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "doc", textwrap.dedent(self.doc).strip())
        common = tuple(key for key in COMMON_REQUIRED if key not in self.exempt)
        object.__setattr__(self, "required", common + self.extra_required)
        object.__setattr__(self, "optional", COMMON_OPTIONAL + self.exempt + self.extra_optional)

    @property
    def template(self) -> str:
        return f"{self.code}.html"


_KIND_LIST: tuple[NoticeKind, ...] = (
    NoticeKind(
        "acceptance_notice",
        "受理通知书",
        """
        Tells a complainant that the complaint/report (or claim) has been accepted.
        Required: matter (what was accepted, e.g. "你反映楚雄某某建筑有限公司拖欠工资的投诉"),
                  received_on (date the bureau received it).
        Optional: time_limit (e.g. "30个工作日"; default "六十个工作日"), conclude_by (date by which the case is
                  to be concluded, printed after the time limit), requirements, contact, contact_phone,
                  facts (the opening sentence already states what was received and when).
        """,
        ("matter", "received_on"),
        extra_optional=("time_limit", "conclude_by"),
        exempt=("facts",),
    ),
    NoticeKind(
        "non_acceptance_notice",
        "不予受理通知书",
        """
        Tells a complainant that the complaint/report (or claim) is not accepted, and why.
        Required: matter, received_on (date), reason (why it is not accepted).
        Optional: redirect_to (the competent body the recipient may turn to,
                  e.g. "楚雄市劳动人事争议仲裁委员会"), facts. Rights printed by default.
        """,
        ("matter", "received_on", "reason"),
        extra_optional=("redirect_to",),
        exempt=("facts",),
        rights_default=True,
    ),
    NoticeKind(
        "rectification_order",
        "劳动保障监察限期整改指令书",
        """
        Orders an employer to pay wage arrears / correct violations by a deadline.
        Required: amount_owed (money), worker_count (int), deadline (date).
        Optional: requirements (default: pay the arrears in full), report_to (where to report compliance,
                  default the issuing bureau). Rights printed by default.
        """,
        ("amount_owed", "worker_count", "deadline"),
        extra_optional=("report_to",),
        rights_default=True,
        self_ref="本指令书",
    ),
    NoticeKind(
        "penalty_decision",
        "行政处罚决定书",
        """
        Administrative penalty on an employer.
        Required: penalty (the penalty imposed, e.g. "罚款" or "警告并处罚款"), fine_amount (money; 0 for a
                  penalty without a fine, then no payment paragraph is printed). The fine is due within fifteen
                  days of the decision's receipt (行政处罚法 art. 67), a date the bureau cannot print in advance.
        Optional: payment_place (where to pay, default "指定银行"), hearing_note (a paragraph on the
                  prior notice / hearing, e.g. "本局已于……告知你单位……你单位未提出陈述申辩"). Rights printed by default.
        """,
        ("penalty", "fine_amount"),
        extra_optional=("payment_place", "hearing_note"),
        rights_default=True,
        self_ref="本决定书",
    ),
    NoticeKind(
        "penalty_prior_notice",
        "行政处罚告知书",
        """
        Tells an employer, before any decision, of the administrative penalty the bureau intends to impose, with
        its facts, reasons and basis, and of its right to state a defence (陈述、申辩; 行政处罚法 arts. 44, 45) and,
        for a large fine, to ask for a hearing (听证; arts. 63, 64). No decision yet, so no rights of review.
        Required: penalty (the penalty intended, e.g. "罚款"), fine_amount (money), defence_days (int, working
                  days from receipt to state a defence).
        Optional: hearing (bool, default false: print the right to a hearing), hearing_days (int, working days
                  from receipt to ask for it; default 5, 行政处罚法 art. 64), address (where to answer).
        """,
        ("penalty", "fine_amount", "defence_days"),
        extra_optional=("hearing", "hearing_days"),
        self_ref="本告知书",
    ),
    NoticeKind(
        "no_penalty_decision",
        "不予行政处罚决定书",
        """
        Tells an employer that the bureau, having heard it after the prior notice, decides not to impose the
        penalty notified (行政处罚法 art. 57(1)(二)/(三); art. 33 for a minor violation corrected in time). States
        the facts as notified, the procedure and the employer's answer, the reason and the basis.
        Required: reason (why no penalty is imposed: the bureau's finding after its review).
        Optional: penalty (the penalty that was intended, e.g. "罚款"), fine_amount (money; the amount that was
                  notified), hearing_note (a paragraph on the prior notice, the employer's statement, defence or
                  hearing and the bureau's review), ground (the statutory ground, e.g. "你单位违法行为轻微并及时
                  改正，没有造成危害后果"; printed as 鉴于……), education (a paragraph after the decision: the
                  education art. 33(3) requires for a violation found but not penalised). Rights printed by
                  default, as official formats of this decision print them (the complainant may contest it too).
        """,
        ("reason",),
        extra_optional=("penalty", "fine_amount", "hearing_note", "ground", "education"),
        rights_default=True,
        self_ref="本决定书",
    ),
    NoticeKind(
        "criminal_referral",
        "涉嫌犯罪案件移送书",
        """
        Refers a case of suspected crime (e.g. 拒不支付劳动报酬罪) to the public security organ.
        Required: suspect (the employer / person suspected), offence (e.g. "拒不支付劳动报酬罪"),
                  amount_owed (money), worker_count (int), attachments (list of materials handed over).
        Optional: deadline (date by which the receiving organ is asked to reply).
        """,
        ("suspect", "offence", "amount_owed", "worker_count", "attachments"),
        self_ref="本移送书",
    ),
    NoticeKind(
        "supervision_notice",
        "督办通知书",
        """
        Supervision (escalation) of an overdue task, sent to the responsible unit.
        Required: escalation_level (e.g. "一级督办" or an int 1..3), overdue_task (what is overdue),
                  due_on (the original due date), deadline (new date by which to finish and report).
        Optional: requirements, facts (the opening sentence already states the task, its due date and the days
                  overdue).
        """,
        ("escalation_level", "overdue_task", "due_on", "deadline"),
        exempt=("facts",),
    ),
    NoticeKind(
        "case_closure_notice",
        "结案通知书",
        """
        Tells a party that the case is closed.
        Required: outcome (the result, one or more paragraphs), closed_on (date).
        Optional: amount_recovered (money; printed when above zero), worker_count (int; printed when above zero),
                  compensation_recovered (money: the additional compensation paid to the workers on the bureau's
                  order, printed when above zero).
        """,
        ("outcome", "closed_on"),
        extra_optional=("amount_recovered", "worker_count", "compensation_recovered"),
    ),
    NoticeKind(
        "benefit_decision_approval",
        "失业保险待遇核定通知书",
        """
        Approves unemployment-insurance benefit.
        Required: monthly_amount (money), months (int), start_date (date).
        Optional: end_date (date; default start_date + months - 1 day), payment_schedule (list of
                  {"period": str or date, "amount": money} or (period, amount) pairs), payment_method
                  (e.g. "按月发放至本人社会保障卡金融账户"), benefit_title (e.g. "失业补助金"; default
                  失业保险金), rule (the rule that applied, printed in the table), registration_date (date of
                  the unemployment registration the period runs from; its month is paid in full). Rights printed
                  by default.
        """,
        ("monthly_amount", "months", "start_date"),
        extra_optional=("end_date", "payment_schedule", "payment_method", "benefit_title", "rule",
                        "registration_date"),
        rights_default=True,
        self_ref="本通知书",
    ),
    NoticeKind(
        "benefit_decision_refusal",
        "不予核定失业保险待遇通知书",
        """
        Refuses unemployment-insurance benefit.
        Required: rule (the condition not met, e.g. "非因本人意愿中断就业"), reason (why it is not met).
        Optional: rule_text (the decision rule row that applied, with its inputs). Rights printed by default.
        """,
        ("rule", "reason"),
        extra_optional=("rule_text",),
        rights_default=True,
    ),
    NoticeKind(
        "temp_post_referral",
        "临时性岗位推荐介绍信",
        """
        Letter referring a job seeker to a temporary post (addressed to the employer).
        Required: candidate (name of the person referred), post_title, employer, pay (money per month,
                  or a string such as "每日120元"), start_date (date), end_date (date).
        Optional: work_place, report_by (date by which the candidate should report), candidate_id (masked
                  ID number, e.g. "5323**********1234"). recipient (default: the employer), facts and
                  legal_basis are optional for this letter.
        """,
        ("candidate", "post_title", "employer", "pay", "start_date", "end_date"),
        extra_optional=("work_place", "report_by", "candidate_id"),
        self_ref="本介绍信",
        exempt=("recipient", "facts", "legal_basis"),
    ),
    NoticeKind(
        "compensation_order",
        "加付赔偿金决定书",
        """
        Orders an employer that did not pay by the deadline of an earlier order to pay the workers extra
        compensation of 50-100 % of the amount owed (劳动保障监察条例 art. 26). The decision states
        amount_owed × compensation_rate % = compensation_amount.
        Required: amount_owed (money still unpaid, the base of the calculation), compensation_rate (int, percent,
                  50..100), compensation_amount (money; must equal amount_owed × compensation_rate / 100 to the fen,
                  one fen of rounding allowed), worker_count (int), deadline (date by which it must be paid).
        Optional: requirements (printed after the decision). Rights printed by default.
        """,
        ("amount_owed", "compensation_rate", "compensation_amount", "worker_count", "deadline"),
        rights_default=True,
        self_ref="本决定书",
    ),
    NoticeKind(
        "wage_deposit_notice",
        "工资保证金支付通知书",
        """
        Tells the bank holding a contractor's wage deposit to pay the workers' arrears out of it (工程建设领域
        农民工工资保证金规定, 人社部发〔2021〕65号, art. 15: within 5 working days of receiving the notice).
        recipient is the bank (e.g. "中国建设银行股份有限公司楚雄分行"; addressed as 你行, or 你社 for a
        credit cooperative).
        Required: depositor (the unit whose deposit is drawn, normally the main contractor), amount (money to pay
                  out), worker_count (int), deadline (date by which the bank pays).
        Optional: project (project name, printed as given, e.g. "楚雄市鹿城镇安置房二期项目"), requirements.
        The bank is told to pay amount from the deposit to the workers on the roster the bureau provides and to
        report back; the roster is listed as the attachment.
        """,
        ("depositor", "amount", "worker_count", "deadline"),
        extra_optional=("project",),
    ),
    NoticeKind(
        "blacklist_decision",
        "列入拖欠农民工工资失信联合惩戒对象名单决定书",
        """
        Lists an employer on the list of units subject to joint credit sanctions for wage arrears
        (保障农民工工资支付条例 art. 48).
        Required: listed_from (date), listed_until (date; listed_from plus years, the day before or the same
                  day), years (int, 1 or 2).
        Optional: repeat (bool, default false; when true the text says the period is two years because the unit
                  is listed again, and years must be 2), early_removal (bool, default true: a paragraph that the
                  unit may apply for early removal after correcting the violation and paying all arrears),
                  requirements. Rights printed by default.
        """,
        ("listed_from", "listed_until", "years"),
        extra_optional=("repeat", "early_removal"),
        rights_default=True,
        self_ref="本决定书",
    ),
    NoticeKind(
        "emergency_advance_request",
        "应急周转金垫付申请函",
        """
        Asks a county people's government to advance the workers' wages from the emergency revolving fund for
        wage arrears (欠薪应急周转金, 国办发〔2016〕1号) because the employer does not pay; the advance is to be
        recovered from the employer. recipient is the government (e.g. "南华县人民政府"), named in full in the
        text (the bureau's own government or another one alike).
        Required: employer (name of the unit that owes the wages), amount (money to advance), worker_count (int).
        Optional: project (project name, printed as given), requirements, deadline (date by which a reply is
                  asked).
        """,
        ("employer", "amount", "worker_count"),
        extra_optional=("project",),
        self_ref="本函",
    ),
)

KINDS: dict[str, NoticeKind] = {kind.code: kind for kind in _KIND_LIST}
