"""Texts the engine and the process models show that `pybabel extract` cannot find where they are written (the
engine never imports Flask-Babel; DMN annotations and forms built in Python are out of babel.cfg's reach): listed
here with `N_`, so the catalogue carries them. web/messages.py translates them when they are shown.

Message ids are the Chinese wording; `translations/en` carries the English."""

from __future__ import annotations


def N_(text: str) -> str:
    """Marks a text for `pybabel extract` (translated when shown, through `web.messages.message()`)."""
    return text


# Titles of the notices (pdfs/kinds.py), shown in a case's documents list.
DOCUMENT_TITLES = (
    N_("受理通知书"), N_("不予受理通知书"), N_("劳动保障监察限期整改指令书"), N_("行政处罚决定书"),
    N_("涉嫌犯罪案件移送书"), N_("督办通知书"), N_("结案通知书"), N_("失业保险待遇核定通知书"),
    N_("不予核定失业保险待遇通知书"), N_("临时性岗位推荐介绍信"), N_("加付赔偿金决定书"), N_("工资保证金支付通知书"),
    N_("列入拖欠农民工工资失信联合惩戒对象名单决定书"), N_("应急周转金垫付申请函"), N_("行政处罚告知书"),
    N_("不予行政处罚决定书"),
)

# Titles the temp_job summary carries (engine.placements.PRIORITY_GROUP_TITLES, `priority_group_title`), shown
# through message().
PRIORITY_GROUP_TEXTS = (N_("脱贫人口"), N_("低收入人口"), N_("就业困难人员"), N_("返乡农民工"), N_("求职人员"))

# Messages the engine raises (engine/ never imports Flask-Babel): listed here so the catalogue carries them.
ENGINE_MESSAGES = (
    N_("不能含控制字符或不可见的格式字符（如零宽空格、文字方向控制符）"),
    N_("不能含换行、控制字符或不可见的格式字符（如零宽空格、文字方向控制符）"),
    N_("用户名须为2-64位字母、数字或 _ . -"),
    N_("不能停用或撤销最后一个在用的系统管理员：请先设置另一名系统管理员"),
    N_("本案未责令加付赔偿金，无需填写"),
    N_("必填"), N_("不能为空"), N_("不能重复"), N_("不允许的字段"), N_("格式无效"), N_("数据校验未通过"),
    N_("类型应为字符串"), N_("类型应为整数"), N_("类型应为数字"), N_("类型应为是/否"), N_("类型应为对象"),
    N_("类型应为列表"),
    N_("金额以元为单位，不能为负数，最多两位小数，不加千位分隔符，如 12500.00"),
    N_("身份证号码无效（18位，校验位不符）"), N_("统一社会信用代码无效（18位，校验位不符）"),
    N_("日期格式须为 YYYY-MM-DD"), N_("电话号码无效"),
    N_("行政区划代码无效：须为现行省、市、县级行政区划的6位代码（GB/T 2260）"), N_("行政区划代码须为数字"),
    N_("用户名须为2-64位字母、数字或 _ . -"), N_("密码须同时包含字母和数字或符号"),
    N_("密码不能包含用户名"),
    N_("岗位最后的名额刚被他人占用，请重新选择岗位"), N_("并发修改冲突，请刷新后重试"),
    N_("案件已被他人修改，请刷新后重试"), N_("该任务已办结"),
    N_("系统正忙（另一项较大的写入尚未完成，如台账导入），本次操作未保存，请稍后重试"),
    N_("必填，须为整数（案件当前版本号）"),
    N_("结束日期不能早于开始日期"), N_("结束日期不能早于今天"), N_("停发生效日期不能晚于今天"),
    N_("台账人员的身份证号与求职人员不符"), N_("回访台账中没有此人员（或不在本案区划）"),
    N_("岗位不存在或不面向本案所在地区"), N_("岗位名额已满"), N_("岗位已关闭"), N_("岗位已期满"),
    N_("离职日期不能晚于今天"), N_("离职日期早于申领人年满16周岁（按身份证号码中的出生日期）"),
    N_("求职人员未满16周岁（按身份证号码中的出生日期），不得介绍就业（《劳动法》第十五条）"),
    N_("未办理失业登记的，不填写办理失业登记日期"), N_("办理失业登记日期不能晚于今天"),
    N_("不能在您的辖区以外发布岗位"), N_("不能在您的辖区以外登记案件"),
    N_("只有失业保险经办人员或主管可以停发待遇"), N_("只有经办人员或科室负责人可以管理岗位"),
    N_("只能退回自己认领的任务"), N_("您的角色不能登记此类案件"), N_("文书不存在"), N_("案件不存在"),
    N_("至少修改一个字段"),
    N_("须含有文字，且不能含换行、控制字符或不可见的格式字符（如零宽空格、文字方向控制符）"),
    N_("须含有文字，且不能含控制字符或不可见的格式字符（如零宽空格、文字方向控制符）"), N_("须含有文字"),
    N_("身份证号码须为半角数字（0-9），最后一位可为 X，不能含全角字符或空格"), N_("身份证号码中的出生日期晚于今天"),
    N_("银行账号须为12-30位数字（可按卡面分组加空格，如 6222 0202 0011 2233 445）"),
    N_("金额以元为单位，须大于 0，最多两位小数，不加千位分隔符，如 12500.00"),
    N_("拖欠截止日期不能早于拖欠起始日期"), N_("月发放标准须大于0"), N_("规则认定不符合条件：批准时须选择待遇类型"),
    N_("无法按规则计算月发放标准（无生效的待遇标准）：批准时须填写月发放标准"),
    N_("调查结论为“未发现拖欠工资”时，核实欠薪金额应为 0；"
       "核实有欠薪的，请选择“责令限期支付”或“用人单位已自行支付”"),
    N_("调查结论为“未发现拖欠工资”时，被欠薪人数应为 0；"
       "核实有欠薪的，请选择“责令限期支付”或“用人单位已自行支付”"),
    N_("申领人未办理失业登记：享受失业保险待遇须已办理失业登记（《失业保险条例》第十四条）"),
    N_("申领人无求职要求：享受失业保险待遇须有求职要求（《失业保险条例》第十四条）"),
    N_("申领人未缴纳失业保险费：享受失业补助金或临时生活补助须失业前参加失业保险并缴费（人社部发〔2020〕40号）"),
    N_("农村户籍、参保不满12个月的申领人享受临时生活补助，不享受失业补助金（人社部发〔2020〕40号）"),
    N_("临时生活补助限农村户籍、参保不满12个月的申领人（人社部发〔2020〕40号），申领人为城镇户籍"),
    N_("不能含有 NUL（\\x00）字符"), N_("请求参数无效"), N_("表单内容无效"),
    N_("移送公安机关与移送人民法院不能同时选择：涉嫌犯罪的，先移送公安机关"),
    N_("共同调查的监察员须为另一人：调查、检查不得少于两名监察员"),
    N_("动用工资保证金须待银行支付期满并核查履行情况后再决定移送：请先单独选择动用工资保证金"),
    N_("上级部门发布的岗位只能查看和推荐，不能修改"),
    N_("罚款须先送达行政处罚告知书、听取陈述申辩后方能决定（《中华人民共和国行政处罚法》第四十四条、"
       "第四十五条），移送则结束本案：行政处罚不能与移送公安机关或移送人民法院同时选择，请分别决定"),
    N_("当事人未要求听证的，无需填写听证日期"),
    N_("仅在减少罚款金额时填写：按告知的金额罚款或不予罚款的，无需填写"),
    N_("仅在不予罚款时填写：按告知的金额罚款或减少罚款金额的，无需填写"),
    N_("（其他地区的案件）"),  # engine.services.cases.OTHER_REGION_CASE, inside a message
    # Why a benefit claim went to a clerk (bpmn/benefit_claim: `review_reasons`); those with figures are patterns.
    N_("没有匹配的认定规则（benefit_entitlement），须人工认定"), N_("核定领取月数为0：批准时须填写领取月数"),
    N_("未说明理由"),
    # Clauses of the composed refusals (engine.wage_arrears_law.referral_threshold and its callers).
    N_("不能批准"), N_("不能批准移送"), N_("请不予同意，退回重新确定处置措施"),
    N_("请不批准移送，退回重新确定处置措施"),
    N_("案件未登记拖欠期间"),
    # The separators of those clauses.
    N_("："), N_("；"), N_("。"),
)

# Titles of the forms the engine defines in Python, not in bpmn/**.schema.json (which babel.cfg extracts): the
# posts form (engine/posts.py) and the supervision form (engine/escalation.py SUPERVISION_FORM). Shown through
# schema_text(); tests/integration/test_account_security.py checks this list against those schemas.
ENGINE_FORM_TEXTS = (
    N_("新增临时性岗位"), N_("修改临时性岗位"), N_("岗位名称"), N_("岗位类别"), N_("消杀防疫"), N_("保洁环卫"),
    N_("社区服务"), N_("其他"), N_("用工单位或社区"),
    N_("行政区划代码"), N_("岗位数"), N_("月工资（元）"), N_("开始日期"), N_("结束日期"), N_("工作地点"),
    N_("岗位说明"), N_("状态"), N_("招用中"), N_("已关闭"),
    N_("督办处理"), N_("督办措施"), N_("已催办"), N_("已改派"), N_("已报告上级"), N_("督办意见"),
)

# The benefit_claim decision tables' row annotations (bpmn/benefit_claim/*.dmn, out of babel.cfg's reach), cited in a
# claim's rule text (engine.benefits.rule_text) through the patterns below; tests/integration/test_benefit_rule_text.py
# checks this list against the tables. Texts of earlier table versions stay: their claims still cite them.
BENEFIT_RULE_TEXTS = (
    N_("未办理失业登记，不享受失业保险待遇"), N_("无求职要求，不享受失业保险待遇"),
    N_("未缴纳失业保险费，不享受失业保险待遇"),
    N_("缴费满1年、非因本人意愿中断就业、已登记并有求职要求：享受失业保险金"),
    N_("本人意愿离职但缴费满1年：须人工核实是否属于被迫解除劳动合同（劳动合同法第三十八条），规则建议失业补助金"),
    N_("失业保险金已领满（剩余月数为0）：享受失业补助金"), N_("城镇户籍、参保不满1年：享受失业补助金"),
    N_("农村户籍、参保不满1年：享受临时生活补助（不享受失业补助金）"),
    N_("失业保险金已领满，失业补助金已累计领满最长期限：不再享受失业补助金"),
    N_("城镇户籍、参保不满1年，失业补助金已累计领满最长期限：不再享受失业补助金"),
    N_("农村户籍、参保不满1年，临时生活补助已累计领满按缴费月数确定的月数：不再享受临时生活补助"),
    N_("缴费不满3个月：无失业保险金；临时生活补助1个月"), N_("缴费3至5个月：无失业保险金；临时生活补助2个月"),
    N_("缴费6至11个月：无失业保险金；临时生活补助3个月"), N_("缴费满1年不足5年：失业保险金最长12个月"),
    N_("缴费满5年不足10年：失业保险金最长18个月"), N_("缴费10年以上：失业保险金最长24个月"),
    N_("失业保险金：按地区失业保险金标准按月发放，期限为最长领取月数减去已领取月数"),
    N_("失业补助金：按地区失业保险金标准的80%发放，最长6个月"),
    N_("失业补助金：按地区失业保险金标准的80%发放，累计最长6个月，减去此前已领取的月数"),
    N_("临时生活补助：按地区低保标准发放，月数按缴费月数确定"),
    N_("临时生活补助：按地区低保标准发放，月数按缴费月数确定，减去此前已领取的月数"),
    N_("不符合条件：不发放"),
    # The facts of the rule text's inputs clause.
    N_("输入"), N_("非因本人意愿离职"), N_("因本人意愿离职"), N_("农村户籍"), N_("城镇户籍"), N_("已办理失业登记"),
    N_("未办理失业登记"), N_("有求职要求"), N_("无求职要求"),
)
