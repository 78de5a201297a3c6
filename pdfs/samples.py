"""Realistic sample facts for every notice kind (used by tests, the benchmark and for previewing layouts)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

_BUREAU = "楚雄州人力资源和社会保障局"
_BASE_URL = "http://127.0.0.1:5000/verify/"


def _common(number: str, code: str, recipient: str, case_number: str) -> dict[str, Any]:
    return {
        "bureau": _BUREAU,
        "document_number": number,
        "issued_on": dt.date(2021, 2, 10),
        "recipient": recipient,
        "case_number": case_number,
        "verification_code": code,
        "verify_url": _BASE_URL + code,
        "contact": "李明",
        "contact_phone": "0878-3123456",
    }


_WAGE_FACTS = [
    "你单位承建的楚雄市鹿城镇安置房二期项目自2020年9月起未按劳动合同约定支付劳动者工资，"
    "经本局调取工资支付台账、考勤记录并询问劳动者代表，确认拖欠张建国等23名劳动者2020年9月至2021年1月工资。",
    "2021年1月28日，本局向你单位送达《劳动保障监察询问通知书》，你单位法定代表人王某某到场接受询问，对上述事实无异议。",
]

_SAMPLES: dict[str, dict[str, Any]] = {
    "acceptance_notice": {
        **_common("楚人社监受〔2021〕5号", "A1B2-C3D4-E5F6", "张建国", "CXJC-2021-0005"),
        "matter": "你反映楚雄某某建筑工程有限公司拖欠工资的投诉",
        "received_on": "2021-02-03",
        "facts": ["你反映该公司拖欠你及其他22名劳动者2020年9月至2021年1月工资共计约31万元，并提供了考勤记录复印件。"],
        "legal_basis": ["《劳动保障监察条例》第十四条", "《关于实施〈劳动保障监察条例〉若干规定》第十八条"],
        "requirements": ["补充提供劳动合同或者其他能够证明劳动关系的材料。", "如实提供其他知情劳动者的联系方式。"],
        "deadline": dt.date(2021, 2, 20),
    },
    "non_acceptance_notice": {
        **_common("楚人社监不受〔2021〕2号", "NQ7K-2M3P-8XD4", "赵丽华", "CXJC-2021-0011"),
        "matter": "你反映与楚雄某某餐饮管理有限公司经济补偿争议的投诉",
        "received_on": dt.date(2021, 2, 5),
        "facts": ["你反映该公司于2020年12月解除劳动合同后未向你支付经济补偿，要求本局责令其支付。"],
        "reason": "你反映的事项属于劳动争议，依法应当通过劳动争议仲裁程序解决，不属于劳动保障监察的受理范围",
        "legal_basis": ["《劳动保障监察条例》第二十一条", "《关于实施〈劳动保障监察条例〉若干规定》第十八条"],
        "redirect_to": "楚雄市劳动人事争议仲裁委员会",
        "review_body": "楚雄州人民政府",
        "court": "楚雄市人民法院",
    },
    "rectification_order": {
        **_common("楚人社监令〔2021〕17号", "7K3Q-9M2P-XD4H", "楚雄某某建筑工程有限公司", "CXJC-2021-0005"),
        "facts": _WAGE_FACTS,
        "amount_owed": Decimal("312500.00"),
        "worker_count": 23,
        "deadline": dt.date(2021, 2, 25),
        "legal_basis": ["《劳动保障监察条例》第十八条、第二十六条"],
        "requirements": [
            "足额支付张建国等23名劳动者2020年9月至2021年1月工资共计312,500.00元；",
            "按照规定开设农民工工资专用账户，落实按月足额支付工资制度。",
        ],
        "review_body": "楚雄州人民政府",
        "court": "楚雄市人民法院",
    },
    "penalty_decision": {
        **_common("楚人社监罚〔2021〕3号", "P3N8-4R7T-K2WQ", "楚雄某某建筑工程有限公司", "CXJC-2021-0005"),
        "facts": [
            "你单位未按照本局于2021年2月10日作出的《劳动保障监察限期整改指令书》（楚人社监令〔2021〕17号）"
            "要求，在2021年2月25日前足额支付张建国等23名劳动者工资，亦未说明正当理由。",
            "你单位承建的项目未按规定开设农民工工资专用账户。",
        ],
        "hearing_note": "本局于2021年3月2日向你单位送达《行政处罚告知书》，告知拟作出行政处罚的事实、理由、依据及"
        "你单位依法享有的陈述、申辩和要求听证的权利，你单位在法定期限内未提出陈述、申辩，亦未要求听证。",
        "legal_basis": ["《保障农民工工资支付条例》第五十五条", "《中华人民共和国行政处罚法》第五十七条"],
        "penalty": "警告并处罚款",
        "fine_amount": Decimal("50000"),
        "payment_place": "楚雄州非税收入代收银行",
        "review_body": "楚雄州人民政府",
        "court": "楚雄市人民法院",
    },
    "penalty_prior_notice": {
        **_common("楚人社监罚告〔2021〕3号", "PN4K-7Q2M-R8TX", "楚雄某某建筑工程有限公司", "CXJC-2021-0005"),
        "issued_on": dt.date(2021, 2, 26),
        "facts": [
            "你单位未按照本局于2021年2月10日作出的《劳动保障监察限期整改指令书》（楚人社监令〔2021〕17号）"
            "要求，在2021年2月25日前足额支付张建国等23名劳动者工资。",
            "2021年2月23日，本局监察员依法到你单位调取工资支付台账，你单位拒不提供，阻挠劳动保障监察。",
        ],
        "legal_basis": ["《劳动保障监察条例》第三十条"],
        "penalty": "罚款",
        "fine_amount": Decimal("15000"),
        "defence_days": 3,
        "hearing": True,
        "hearing_days": 5,
        "address": "楚雄市鹿城南路某号楚雄州人力资源和社会保障局劳动保障监察支队",
    },
    "no_penalty_decision": {
        **_common("楚人社监不罚〔2021〕1号", "NP6W-3K9R-T7HM", "楚雄某某建筑工程有限公司", "CXJC-2021-0005"),
        "issued_on": dt.date(2021, 3, 10),
        "facts": [
            "2021年2月23日，本局监察员依法到你单位调取工资支付台账，你单位未当场提供，阻挠劳动保障监察。",
        ],
        "hearing_note": "本局于2021年2月26日向你单位发出《行政处罚告知书》（楚人社监罚告〔2021〕3号），告知你单位拟作出"
        "行政处罚的事实、理由、依据及依法享有的陈述、申辩和要求听证的权利。你单位在规定期限内提出了陈述、申辩。"
        "经复核，你单位称工资支付台账由项目部保管，已于2021年2月24日主动报送本局，理由成立，予以采纳。",
        "reason": "你单位未当场提供工资支付台账系因台账由项目部保管，次日即主动报送，未影响调查的进行",
        "ground": "你单位违法行为轻微并及时改正，没有造成危害后果",
        "legal_basis": ["《中华人民共和国行政处罚法》第三十三条第一款、第五十七条第一款第二项"],
        "penalty": "罚款",
        "fine_amount": Decimal("15000"),
        "review_body": "楚雄州人民政府",
        "court": "楚雄市人民法院",
    },
    "criminal_referral": {
        **_common("楚人社监移〔2021〕1号", "CR5X-8H2L-M9V3", "楚雄市公安局", "CXJC-2021-0005"),
        "suspect": "楚雄某某建筑工程有限公司及其法定代表人王某某",
        "offence": "拒不支付劳动报酬罪",
        "facts": [
            "该公司承建的楚雄市鹿城镇安置房二期项目自2020年9月起未按劳动合同约定支付劳动者工资，"
            "拖欠张建国等23名劳动者2020年9月至2021年1月工资。",
            "本局于2021年2月10日向该公司送达《劳动保障监察限期整改指令书》（楚人社监令〔2021〕17号），"
            "责令其于2021年2月25日前足额支付。期限届满后该公司仍拒不支付，法定代表人王某某更换联系方式、逃匿。",
        ],
        "amount_owed": "312,500.00",
        "worker_count": 23,
        "legal_basis": [
            "《中华人民共和国刑法》第二百七十六条之一",
            "《行政执法机关移送涉嫌犯罪案件的规定》第三条",
            "《劳动保障监察条例》第二十六条",
        ],
        "attachments": [
            "涉嫌犯罪案件调查报告1份",
            "劳动保障监察限期整改指令书及送达回证复印件1份",
            "劳动者工资欠款清单（23人）1份",
            "询问笔录及相关证据材料共46页",
        ],
    },
    "supervision_notice": {
        **_common("楚人社督〔2021〕4号", "SV2D-6K8N-3QWP", "楚雄市人力资源和社会保障局", "CXJC-2021-0005"),
        "escalation_level": 2,
        "overdue_task": "楚雄某某建筑工程有限公司拖欠农民工工资案的调查处理",
        "due_on": dt.date(2021, 2, 1),
        "facts": ["该案涉及劳动者23人，欠薪金额较大，劳动者多次到州人民政府信访，社会关注度高。"],
        "legal_basis": ["《保障农民工工资支付条例》第四十九条", "《楚雄州根治欠薪工作督办办法》第八条"],
        "requirements": ["成立专案组，明确专人负责，逐人核实欠薪数额；", "每五个工作日报送一次案件办理进展情况。"],
        "deadline": dt.date(2021, 2, 24),
    },
    "case_closure_notice": {
        **_common("楚人社监结〔2021〕9号", "CL4M-7P2Q-9R5T", "张建国", "CXJC-2021-0005"),
        "issued_on": dt.date(2021, 3, 16),
        "facts": ["你于2021年2月3日投诉楚雄某某建筑工程有限公司拖欠工资，本局于同日受理并依法立案调查。"],
        "outcome": [
            "该公司已于2021年2月24日足额支付你及其他22名劳动者2020年9月至2021年1月工资。",
            "本局已对该公司未开设农民工工资专用账户的违法行为依法作出行政处罚。",
        ],
        "amount_recovered": Decimal("312500"),
        "worker_count": 23,
        "closed_on": dt.date(2021, 3, 15),
        "legal_basis": ["《关于实施〈劳动保障监察条例〉若干规定》第三十四条"],
    },
    "benefit_decision_approval": {
        **_common("楚人社失保核〔2021〕88号", "UB9K-3M7Q-2XH4", "陈晓梅", "CXSY-2021-0088"),
        "facts": [
            "你于2021年1月20日申领失业保险金。经核查，你于2020年12月31日因劳动合同期满且用人单位不再续订而终止劳动关系，"
            "失业前累计缴纳失业保险费4年3个月，已办理失业登记，并有求职要求。"
        ],
        "legal_basis": ["《中华人民共和国社会保险法》第四十五条、第四十六条", "《失业保险条例》第十四条、第十七条"],
        "monthly_amount": Decimal("1476.00"),
        "months": 12,
        "start_date": "2021-02-01",
        "payment_schedule": [
            {"period": dt.date(2021, 2, 1), "amount": Decimal("1476.00")},
            {"period": dt.date(2021, 3, 1), "amount": Decimal("1476.00")},
            ("2021年4月", "1476.00"),
        ],
        "review_body": "楚雄州人民政府",
        "court": "楚雄市人民法院",
    },
    "benefit_decision_refusal": {
        **_common("楚人社失保不核〔2021〕6号", "UR6T-2K9M-4PQX", "刘志强", "CXSY-2021-0093"),
        "facts": ["你于2021年1月25日申领失业保险金，并提交了本人签名的辞职申请书及用人单位出具的解除劳动关系证明。"],
        "rule": "非因本人意愿中断就业",
        "reason": "你系本人提出辞职而与用人单位解除劳动关系，属于因本人意愿中断就业",
        "legal_basis": ["《中华人民共和国社会保险法》第四十五条", "《失业保险金申领发放办法》第四条"],
        "review_body": "楚雄州人民政府",
        "court": "楚雄市人民法院",
    },
    "temp_post_referral": {
        **_common("楚人社岗荐〔2021〕31号", "TP8W-5N2K-7MQD", "楚雄市鹿城镇人民政府", "CXJY-2021-0131"),
        "candidate": "杨秀英",
        "candidate_id": "5323**********1228",
        "post_title": "社区疫情防控消杀员",
        "employer": "楚雄市鹿城镇人民政府",
        "work_place": "鹿城镇南关社区",
        "pay": Decimal("1800"),
        "start_date": dt.date(2021, 2, 15),
        "end_date": dt.date(2021, 5, 14),
        "report_by": dt.date(2021, 2, 14),
        "facts": ["杨秀英系本州脱贫人口，已进行失业登记，本人有就业意愿，经评估适合从事该临时性岗位。"],
        "legal_basis": ["《关于开展“迎新春送温暖、稳岗留工”专项行动的通知》（人社部函〔2021〕8号）第五条"],
    },
    "compensation_order": {
        **_common("楚人社监赔〔2021〕2号", "CP6M-3K9T-2WXR", "楚雄某某建筑工程有限公司", "CXJC-2021-0005"),
        "issued_on": dt.date(2021, 3, 5),
        "facts": [
            "你单位拖欠张建国等23名劳动者2020年9月至2021年1月工资共计312,500.00元。",
            "本局于2021年2月10日作出《劳动保障监察限期整改指令书》（楚人社监令〔2021〕17号），责令你单位于"
            "2021年2月25日前足额支付。期限届满后，你单位仍未支付，亦未说明正当理由。",
        ],
        "legal_basis": ["《劳动保障监察条例》第二十六条", "《中华人民共和国劳动合同法》第八十五条"],
        "amount_owed": Decimal("312500.00"),
        "compensation_rate": 50,
        "compensation_amount": Decimal("156250.00"),
        "worker_count": 23,
        "deadline": dt.date(2021, 3, 20),
        "review_body": "楚雄州人民政府",
        "court": "楚雄市人民法院",
    },
    # The wage deposit rules of 人社部发〔2021〕65号 apply from 2021-11-01: this notice is of early 2022.
    "wage_deposit_notice": {
        **_common("楚人社监保〔2022〕1号", "WD4K-8N2Q-6PXM", "中国建设银行股份有限公司楚雄分行", "CXJC-2022-0003"),
        "issued_on": dt.date(2022, 1, 18),
        "depositor": "云南某某路桥建设有限公司",
        "project": "姚安县光禄镇污水处理厂及配套管网工程",
        "facts": [
            "该公司拖欠在该工程务工的李国华等17名农民工2021年9月至12月工资共计186,400.00元。",
            "本局于2022年1月7日作出《劳动保障监察行政处理决定书》（楚人社监处〔2022〕2号），责令该公司于2022年1月14日前"
            "足额清偿。期限届满后，该公司仍未支付。",
        ],
        "legal_basis": ["《保障农民工工资支付条例》第三十二条", "《工程建设领域农民工工资保证金规定》第十五条"],
        "amount": Decimal("186400.00"),
        "worker_count": 17,
        "deadline": dt.date(2022, 1, 25),
    },
    "blacklist_decision": {
        **_common("楚人社监失〔2021〕1号", "BL7Q-4M9K-3TWN", "楚雄某某建筑工程有限公司", "CXJC-2021-0005"),
        "issued_on": dt.date(2021, 3, 22),
        "facts": [
            "你单位拖欠张建国等23名劳动者2020年9月至2021年1月工资共计312,500.00元，数额达到认定拒不支付劳动报酬罪的数额标准。",
            "本局于2021年2月10日责令你单位于2021年2月25日前足额支付（楚人社监令〔2021〕17号），你单位逾期仍未支付。"
            "本局已依法对你单位作出行政处罚决定（楚人社监罚〔2021〕3号）。",
        ],
        "legal_basis": ["《保障农民工工资支付条例》第四十八条", "《拖欠农民工工资“黑名单”管理暂行办法》第五条"],
        "listed_from": dt.date(2021, 3, 22),
        "listed_until": dt.date(2022, 3, 21),
        "years": 1,
        "review_body": "楚雄州人民政府",
        "court": "楚雄市人民法院",
    },
    "emergency_advance_request": {
        **_common("楚人社监垫〔2021〕1号", "EA3N-7K2P-9QMX", "南华县人民政府", "CXJC-2021-0019"),
        "issued_on": dt.date(2021, 1, 26),
        "employer": "南华某某建筑劳务有限公司",
        "project": "南华县龙川镇某某小区一期建设项目",
        "facts": [
            "该公司拖欠杨正富等14名农民工2020年8月至12月工资共计126,800.00元。",
            "本局于2021年1月8日责令该公司于2021年1月18日前足额支付。期限届满后，该公司仍未支付，其实际负责人更换联系方式、"
            "下落不明，本局已将该案移送公安机关。",
            "春节临近，上述农民工多次到县、州两级反映诉求，生活确有困难。",
        ],
        "legal_basis": ["《国务院办公厅关于全面治理拖欠农民工工资问题的意见》（国办发〔2016〕1号）"],
        "amount": Decimal("63400.00"),
        "worker_count": 14,
        "requirements": [
            "垫付资金按每人被拖欠工资的50%核定，直接发放至农民工本人的社会保障卡或者银行账户；",
            "垫付人员名册由本局会同龙川镇人民政府逐人核实后提供。",
        ],
        "deadline": dt.date(2021, 2, 2),
    },
}


def sample_facts(kind: str) -> dict[str, Any]:
    """A fresh copy of realistic facts for kind (callers may mutate it)."""
    facts = dict(_SAMPLES[kind])
    for key, value in facts.items():
        if isinstance(value, list):
            facts[key] = list(value)
    return facts


SAMPLE_KINDS: tuple[str, ...] = tuple(_SAMPLES)
