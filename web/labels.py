"""Every code the pages show (statuses, task names, processes, roles, history events) and its translated label.
(The engine's messages and the models' texts are translated by web/messages.py.)

Message ids are the Chinese wording (the bureaus' language and the language of the process models' titles);
`translations/en` carries the English. Templates use the `label()` helpers, never the raw codes."""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

STATUS_LABELS: dict[str, object] = {
    # wage_arrears
    "received": _l("已登记"),
    "awaiting_material": _l("待补正材料"),
    "accepted": _l("已受理"),
    "rejected": _l("不予受理"),
    "redirected": _l("已转办"),
    "investigating": _l("调查中"),
    "order_issued": _l("已下达整改指令"),
    "enforcement": _l("强制处置中"),
    "cleared": _l("已清偿结案"),
    "transferred": _l("已移送"),
    "withdrawn": _l("已撤案"),
    # benefit_claim
    "under_review": _l("审核中"),
    "approved": _l("已核准"),
    "awaiting_approval": _l("待主管审批"),
    "paying": _l("发放中"),
    "stopped": _l("已停发"),
    "closed": _l("已办结"),
    # temp_job
    "registered": _l("已登记求职"),
    "in_service": _l("服务中"),
    "referred": _l("已推荐上岗"),
    "placed": _l("已上岗"),
    "employed": _l("已市场就业"),
    "post_ended": _l("岗位期满"),
}

# A status two processes share but name differently: a refused benefit claim is 不予核定, as its letter says.
PROCESS_STATUS_LABELS: dict[tuple[str, str], object] = {
    ("benefit_claim", "rejected"): _l("不予核定"),
    ("temp_job", "withdrawn"): _l("已退出服务"),  # the seeker left (market_outcome), not a complaint withdrawn
}

TASK_LABELS: dict[str, object] = {
    "review_complaint": _l("受理审查"),
    "receive_material": _l("补正材料登记"),
    "investigate": _l("调查核实"),
    "issue_order": _l("下达限期整改指令"),
    "check_payment": _l("履行情况核查"),
    "choose_enforcement": _l("确定处置措施"),
    "approve_enforcement": _l("处置措施审批"),
    "approve_referral": _l("移送审批"),
    "decide_penalty": _l("陈述申辩复核及处罚决定"),
    "transfer_case": _l("移送公安机关"),
    "transfer_to_court": _l("移送人民法院"),
    "review_case_deadline": _l("办案期限审查"),
    "review_claim": _l("审核失业保险待遇申请"),
    "approve_claim": _l("审批失业保险待遇"),
    "supervise_overdue": _l("督办处理"),
    "career_guidance": _l("职业指导"),
    "job_offers": _l("推荐3个岗位信息"),
    "training": _l("推荐培训项目"),
    "market_outcome": _l("市场就业情况"),
    "match_post": _l("匹配临时性岗位"),
    "confirm_placement": _l("上岗确认"),
    "exit_review": _l("期满评估"),
}

PROCESS_LABELS: dict[str, object] = {
    "wage_arrears": _l("拖欠工资投诉"),
    "benefit_claim": _l("失业保险待遇申领"),
    "temp_job": _l("临时性岗位安置"),
}

ROLE_LABELS: dict[str, object] = {
    "inspector": _l("劳动保障监察员"),
    "clerk": _l("经办人员"),
    "supervisor": _l("科室负责人"),
    "head": _l("局负责人"),
    "admin": _l("系统管理员"),
}

EVENT_LABELS: dict[str, object] = {
    "case_opened": _l("案件登记"),  # not 立案: a complaint is filed (立案) only when accepted
    "task_claimed": _l("认领任务"),
    "task_released": _l("退回任务"),
    "task_completed": _l("办结任务"),
    "timer_fired": _l("期限届满"),
    "task_escalated": _l("逾期督办"),
    "notice_issued": _l("制发文书"),
    "id_number_revealed": _l("查看完整身份证号码"),
    "case_migrated": _l("流程版本迁移"),
    "case_extended": _l("延长办案期限"),
    "deadlines_recalculated": _l("按节假日安排重算期限"),
    "payments_made": _l("发放待遇"),
    "payments_stopped": _l("停发待遇"),
}

# The processes' timer events by BPMN id (their names in the models), for the case history's "期限届满" lines.
TIMER_LABELS: dict[str, object] = {
    "payment_deadline": _l("整改期限届满"),
    "wage_deposit_due": _l("保证金支付期限届满"),
    "compensation_deadline": _l("赔偿金支付期限届满"),
    "penalty_defence_period": _l("陈述申辩期限届满"),
    "case_clock": _l("办案期限即将届满"),
    "case_clock_extended": _l("延长期限即将届满"),
    "post_end": _l("岗位期满"),
}

ESCALATION_LEVELS: dict[int, object] = {
    1: _l("一级督办（逾期提醒）"),
    2: _l("二级督办"),
    3: _l("三级督办（报分管领导）"),
}

DOCUMENT_STATUS: dict[str, object] = {
    "pending": _l("生成中"),
    "rendered": _l("已生成"),
    "failed": _l("生成失败"),
}

# Summary fields of the case row (engine/summaries.py), in display order.
SUMMARY_LABELS: dict[str, object] = {
    "complainant_name": _l("投诉人"),
    "complainant_id_number": _l("投诉人身份号码"),
    "claimant_name": _l("申请人"),
    "claimant_id_number": _l("申请人身份号码"),
    "seeker_name": _l("求职人员"),
    "seeker_id_number": _l("求职人员身份号码"),
    "employer_name": _l("用人单位"),
    "employer_uscc": _l("统一社会信用代码"),
    "last_employer": _l("原用人单位"),
    "project_name": _l("工程项目"),
    "project_type": _l("项目类型"),
    "source": _l("线索来源"),
    "workers_count": _l("涉及劳动者人数"),
    "workers_owed": _l("尚欠薪人数"),
    "amount_owed": _l("投诉拖欠金额"),
    "verified_amount": _l("核实欠薪金额"),
    "amount_paid": _l("已支付金额"),
    "amount_outstanding": _l("尚欠金额"),
    "benefit_type": _l("待遇类型"),
    "months": _l("享受月数"),
    "monthly_amount": _l("月发放标准"),
    "total_amount": _l("合计金额"),  # what claim_supervisor_ceiling weighs
    "decided_by": _l("决定方式"),
    "rule": _l("适用规则"),
    "review_reasons": _l("转人工审核原因"),
    "priority_group": _l("重点群体类别"),
    "unemployment_registration_date": _l("办理失业登记日期"),
    "received_at": _l("收到日期"),
    "filed_at": _l("立案日期"),
    "co_inspector": _l("共同调查监察员"),
    "case_due_at": _l("办案期限"),
    "case_extended": _l("已延长办案期限"),
    "payment_due_at": _l("限期支付截止"),
    "measures": _l("处置措施"),
    "refused_measures": _l("未获同意的措施"),
    "refusal_comment": _l("审批意见"),
    "penalty_amount": _l("罚款金额"),
    "penalty_stage": _l("罚款程序"),
    "penalty_answer_due_at": _l("陈述申辩期限"),
    "penalty_final_amount": _l("决定罚款金额"),
    "compensation_rate": _l("加付赔偿金比例（%）"),
    "compensation_amount": _l("应付加付赔偿金"),
    "compensation_paid": _l("已支付加付赔偿金"),
    "compensation_due_at": _l("赔偿金支付期限"),
    "suggested_type": _l("规则建议待遇类型"),
    "review_reason": _l("经办人员审核意见"),
    "approval_comment": _l("主管审批意见"),
    "stop_reason": _l("停发原因"),
    "stop_note": _l("停发说明"),
    "stop_effective_on": _l("停发生效日期"),
    "overpaid_amount": _l("须追回的多发待遇"),
    "closed_reason": _l("结案原因"),
    "receiving_unit": _l("接收移送单位"),
    "transferred_on": _l("移送日期"),
}

# Values of summary fields that are codes.
VALUE_LABELS: dict[str, object] = {
    "government_invested": _l("政府投资项目"),
    "soe": _l("国有企业项目"),
    "ppp": _l("政府和社会资本合作（PPP）项目"),
    "private": _l("社会投资项目"),
    "walk_in": _l("来访投诉"),
    "hotline": _l("12333热线"),
    "platform": _l("全国根治欠薪线索反映平台"),
    "inspection": _l("日常巡查"),
    "compensation_order": _l("责令加付赔偿金"),
    "penalty": _l("行政处罚"),
    "wage_deposit": _l("动用工资保证金"),
    "emergency_advance": _l("动用应急周转金垫付"),
    "criminal_referral": _l("涉嫌拒不支付劳动报酬罪移送公安机关"),
    "blacklist": _l("列入拖欠农民工工资失信联合惩戒对象名单"),
    "court_transfer": _l("移送人民法院（仍有欠薪结案）"),
    # the procedure before a fine (summary `penalty_stage`)
    "notified": _l("已告知，待陈述申辩"),
    "decided": _l("已作出罚款决定"),
    "not_imposed": _l("决定不予罚款"),
    "unemployment_benefit": _l("失业保险金"),
    "unemployment_subsidy": _l("失业补助金"),
    "temporary_living_allowance": _l("临时生活补助"),
    "not_eligible": _l("不符合条件"),
    # why payments stopped (engine.benefit_payments.STOP_REASONS)
    "reemployed": _l("重新就业"),
    "refused_work": _l("无正当理由拒不接受介绍的适当工作"),
    "refused_training": _l("无正当理由拒不接受提供的培训"),
    # supervision (督办) actions
    "urged": _l("已催办"),
    "reassigned": _l("已改派"),
    "reported": _l("已报告上级"),
    "rules": _l("系统按规则自动决定"),
    "clerk": _l("经办人员审核决定"),
    # why a temp_job case closed (summary `closed_reason`: the model's own words, bpmn/temp_job/temp_job.bpmn)
    "通过市场实现就业": _l("通过市场实现就业"),
    "本人退出服务": _l("本人退出服务"),
    "岗位期满后实现就业": _l("岗位期满后实现就业"),
    "临时性岗位期满": _l("临时性岗位期满"),
}

# The three parts of the 131 service (engine.placements.SERVICE_131_PARTS), as the temp_job case page names them.
SERVICE_131_LABELS: dict[str, object] = {
    "career_guidance": _l("职业指导"),
    "job_offers": _l("3个岗位信息"),
    "training": _l("培训项目"),
}

MONEY_FIELDS = frozenset({"amount_owed", "verified_amount", "amount_paid", "amount_outstanding", "monthly_amount",
                          "total_amount", "penalty_amount", "overpaid_amount", "compensation_amount",
                          "compensation_paid", "penalty_final_amount"})
# Summary fields holding the engine's own sentences (a list of them), shown through web.messages.message().
MESSAGE_FIELDS = frozenset({"review_reasons"})
DATE_FIELDS = frozenset({"received_at", "filed_at", "case_due_at", "payment_due_at", "transferred_on",
                         "stop_effective_on", "compensation_due_at", "unemployment_registration_date",
                         "penalty_answer_due_at"})


def _label(table: Mapping, code, fallback=None) -> str:
    if code is None:
        return ""
    value = table.get(code)
    if value is not None:
        return str(value)
    if fallback:
        return gettext(fallback)
    return str(code)


def status_label(code: str | None, process: str | None = None) -> str:
    special = PROCESS_STATUS_LABELS.get((process or "", code or ""))
    return str(special) if special is not None else _label(STATUS_LABELS, code)


def status_filter_options() -> list[tuple[str, str]]:
    """The status filter's choices: every status once, titled with each process's name for it (a `rejected` case is
    a complaint's 不予受理 or a claim's 不予核定), so a clerk finds refused claims under the name the case shows."""
    options = []
    for code, title in STATUS_LABELS.items():
        titles = [str(title)] + [str(t) for (_, c), t in PROCESS_STATUS_LABELS.items() if c == code]
        options.append((code, " / ".join(dict.fromkeys(titles))))
    return options


def task_label(name: str | None, title: str | None = None) -> str:
    """The task name's label; an unknown task falls back to its Chinese BPMN title (translated when known). A
    supervision task also says which overdue task it is about (its title: "督办：<task>（<level>）"), or a case with
    several would list identical 督办处理 lines."""
    if name == "supervise_overdue" and title:
        about = _SUPERVISION_TITLE.match(title.removeprefix("督办："))
        if about is None:  # a title of another shape: shown as it is
            return f"{_label(TASK_LABELS, name)}：{title.removeprefix('督办：')}"
        # The overdue task's and the level's Chinese names are catalogue entries too (TASK_LABELS, ESCALATION_LEVELS).
        return gettext("%(action)s：%(task)s（%(level)s）", action=_label(TASK_LABELS, name),
                       task=gettext(about["task"]), level=gettext(about["level"]))
    return _label(TASK_LABELS, name, title)


# engine.escalation's supervision titles after "督办：": "<task title>（<level name>）", the level name itself
# possibly holding parentheses ("三级督办（报分管领导）").
_SUPERVISION_TITLE = re.compile(r"^(?P<task>[^（]+)（(?P<level>.+)）$")


def timer_label(name: str | None) -> str:
    return _label(TIMER_LABELS, name)


def process_label(code: str | None) -> str:
    return _label(PROCESS_LABELS, code)


def role_label(code: str | None) -> str:
    return _label(ROLE_LABELS, code)


def event_label(code: str | None) -> str:
    return _label(EVENT_LABELS, code)


def value_label(code) -> str:
    if isinstance(code, bool):
        return gettext("是") if code else gettext("否")
    if isinstance(code, list):
        return gettext("；").join(value_label(c) for c in code)
    if isinstance(code, dict) and "text" in code:  # an explained decision (benefit_claim `rule`)
        from web.messages import message  # web.messages imports this module

        return message(code["text"])
    return _label(VALUE_LABELS, code) if isinstance(code, str) else str(code)


TEMPLATE_HELPERS = {
    "status_label": status_label,
    "status_filter_options": status_filter_options,
    "task_label": task_label,
    "timer_label": timer_label,
    "process_label": process_label,
    "role_label": role_label,
    "event_label": event_label,
    "value_label": value_label,
    "ESCALATION_LEVELS": ESCALATION_LEVELS,
    "DOCUMENT_STATUS": DOCUMENT_STATUS,
    "STATUS_LABELS": STATUS_LABELS,
    "PROCESS_LABELS": PROCESS_LABELS,
    "SUMMARY_LABELS": SUMMARY_LABELS,
    "SERVICE_131_LABELS": SERVICE_131_LABELS,
    "MONEY_FIELDS": MONEY_FIELDS,
    "MESSAGE_FIELDS": MESSAGE_FIELDS,
    "DATE_FIELDS": DATE_FIELDS,
}
