"""The engine's messages and the process models' texts in the user's language. The engine never imports
Flask-Babel: it raises Chinese messages, which web/engine_texts.py lists for the catalogue; `message()` translates
one when it is shown, numbers and names inside it included (the patterns below).

Message ids are the Chinese wording; `translations/en` carries the English."""

from __future__ import annotations

import re

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from web.labels import role_label, status_label


def schema_text(text: str | None) -> str:
    """A title or description from a process model's JSON Schema (Chinese), translated when the catalogue has it."""
    return gettext(text) if text else ""


# A decision row's annotation inside a rule text: anything up to the clause's closing parenthesis (never "）；",
# which ends the clause, so that a whole rule text is not taken for its first clause).
_ANNOTATION = r"(?:(?!）；).)+"

# Messages the engine builds with numbers in them: pattern -> translated template.
_DYNAMIC = [
    (re.compile(r"^不得小于 (?P<n>\S+)$"), _l("不得小于 %(n)s")),
    (re.compile(r"^不得大于 (?P<n>\S+)$"), _l("不得大于 %(n)s")),
    (re.compile(r"^至少 (?P<n>\d+) 个字符$"), _l("至少 %(n)s 个字符")),
    (re.compile(r"^最多 (?P<n>\d+) 个字符$"), _l("最多 %(n)s 个字符")),
    (re.compile(r"^至少选择 (?P<n>\d+) 项$"), _l("至少选择 %(n)s 项")),
    (re.compile(r"^至少填写 (?P<n>\d+) 项$"), _l("至少填写 %(n)s 项")),
    (re.compile(r"^取值应为 (?P<n>.+)$"), _l("取值应为 %(n)s")),
    (re.compile(r"^密码至少 (?P<n>\d+) 位$"), _l("密码至少 %(n)s 位")),
    (re.compile(r"^本机登录失败次数过多，该用户名在本机已锁定 (?P<n>\d+) 分钟，请稍后再试；"
                r"忘记密码的，请联系系统管理员重置密码（flask users reset-password 用户名）$"),
     _l("本机登录失败次数过多，该用户名在本机已锁定 %(n)s 分钟，请稍后再试；"
        "忘记密码的，请联系系统管理员重置密码（flask users reset-password 用户名）")),
    (re.compile(r"^案件 (?P<n>\S+) 不存在$"), _l("案件 %(n)s 不存在")),
    (re.compile(r"^任务 (?P<n>\S+) 不存在$"), _l("任务 %(n)s 不存在")),
    (re.compile(r"^该任务已由 (?P<n>\S+) 认领$"), _l("该任务已由 %(n)s 认领")),
    (re.compile(r"^此任务须由「(?P<n>\S+)」角色办理$"), _l("此任务须由「%(n)s」角色办理")),
    # engine.services.tasks.own_head_refusal: the task's title, then the case's region.
    (re.compile(r"^(?P<title>\S+?)须由办案机关（(?P<n>[^）]+)）负责人办理$"),
     _l("%(title)s须由办案机关（%(n)s）负责人办理")),
    (re.compile(r"^案件已被他人修改.*$"), _l("案件已被他人修改，请刷新后重试")),
    (re.compile(r"^岗位 (?P<n>\S+) 不存在$"), _l("岗位 %(n)s 不存在")),
    (re.compile(r"^岗位数不能少于已占用名额（(?P<n>\d+)）$"), _l("岗位数不能少于已占用名额（%(n)s）")),
    (re.compile(r"^临时性岗位期限最长 (?P<n>\d+) 个月.*$"), _l("临时性岗位期限最长 %(n)s 个月")),
    (re.compile(r"^该求职人员已有在办案件 (?P<n>\S+)$"), _l("该求职人员已有在办案件 %(n)s")),
    (re.compile(r"^该申领人已有未办结的失业保险待遇申请 (?P<n>\S+)，不能重复申领$"),
     _l("该申领人已有未办结的失业保险待遇申请 %(n)s，不能重复申领")),
    (re.compile(r"^类型应为 (?P<n>.+)$"), _l("类型应为 %(n)s")),
    (re.compile(r"^拖欠截止日期不能晚于投诉登记日期（(?P<n>[^）]+)）$"),
     _l("拖欠截止日期不能晚于投诉登记日期（%(n)s）")),
    (re.compile(r"^日期不能晚于今天（(?P<n>[^）]+)）$"), _l("日期不能晚于今天（%(n)s）")),
    (re.compile(r"^日期不能早于求职登记日期（(?P<n>[^）]+)）$"), _l("日期不能早于求职登记日期（%(n)s）")),
    (re.compile(r"^与第 (?P<n>\d+) 个岗位相同：须推荐3个不同的岗位$"),
     _l("与第 %(n)s 个岗位相同：须推荐3个不同的岗位")),
    (re.compile(r"^累计已支付金额不得低于此前已记录的累计支付金额 (?P<n>\S+) 元（应填写截至本次核查的支付总额）$"),
     _l("累计已支付金额不得低于此前已记录的累计支付金额 %(n)s 元（应填写截至本次核查的支付总额）")),
    (re.compile(r"^办案期限只能延长一次：本案办案期限已延长至 (?P<n>\S+)，不能再次延长，请选择“不延期，督促按期办结”$"),
     _l("办案期限只能延长一次：本案办案期限已延长至 %(n)s，不能再次延长，请选择“不延期，督促按期办结”")),
    (re.compile(r"^失业保险金须累计缴费满12个月（《失业保险条例》第十四条），申领人累计缴费 (?P<n>\d+) 个月$"),
     _l("失业保险金须累计缴费满12个月（《失业保险条例》第十四条），申领人累计缴费 %(n)s 个月")),
    (re.compile(r"^临时生活补助限农村户籍、参保不满12个月的申领人（人社部发〔2020〕40号），"
                r"申领人累计缴费 (?P<n>\d+) 个月$"),
     _l("临时生活补助限农村户籍、参保不满12个月的申领人（人社部发〔2020〕40号），申领人累计缴费 %(n)s 个月")),
    (re.compile(r"^申领人符合领取失业保险金的条件（累计缴费满12个月、非因本人意愿中断就业、已办理失业登记并有求职要求，"
                r"尚可领取 (?P<n>\d+) 个月）：应核定失业保险金，不享受失业补助金和临时生活补助$"),
     _l("申领人符合领取失业保险金的条件（累计缴费满12个月、非因本人意愿中断就业、已办理失业登记并有求职要求，"
        "尚可领取 %(n)s 个月）：应核定失业保险金，不享受失业补助金和临时生活补助")),
    (re.compile(r"^案件状态为 (?P<n>\S+)，没有可停发的待遇$"), _l("案件状态为“%(n)s”，没有可停发的待遇")),
    (re.compile(r"^(?P<n>\S+) 不是本案辖区在职的劳动保障监察员$"), _l("%(n)s 不是本案辖区在职的劳动保障监察员")),
    # engine.wage_arrears_checks._check_material: the material deadline still running.
    (re.compile(r"^补正期限（至 (?P<n>\S+)）尚未届满，投诉人仍可补正，不能按逾期未补正不予受理；"
                r"材料已补正的请选择“是”$"),
     _l("补正期限（至 %(n)s）尚未届满，投诉人仍可补正，不能按逾期未补正不予受理；材料已补正的请选择“是”")),
    (re.compile(r"^区划 (?P<n>\S+) 不在您的辖区内$"), _l("区划 %(n)s 不在您的辖区内")),
    (re.compile(r"^停发生效日期不能早于申领日期（(?P<n>[^）]+)）$"), _l("停发生效日期不能早于申领日期（%(n)s）")),
    (re.compile(r"^申领人此前已领取(?P<title>\S+?) (?P<n>\d+) 个月，已达累计可领取的月数（(?P<basis>[^）]+)）$"),
     _l("申领人此前已领取%(title)s %(n)s 个月，已达累计可领取的月数（%(basis)s）")),
    (re.compile(r"^办理失业登记日期不能早于离职日期（(?P<n>[^）]+)）$"),
     _l("办理失业登记日期不能早于离职日期（%(n)s）")),
    (re.compile(r"^台账超过 (?P<n>\d+) 行，未导入任何数据：请分成多个文件导入（例如按乡镇）$"),
     _l("台账超过 %(n)s 行，未导入任何数据：请分成多个文件导入（例如按乡镇）")),
    # Several values: each group by its name (legal citations stay as they are written).
    (re.compile(r"^罚款金额应在 (?P<low>\S+) 元至 (?P<high>\S+) 元之间（(?P<basis>[^）]+)）$"),
     _l("罚款金额应在 %(low)s 元至 %(high)s 元之间（%(basis)s）")),
    (re.compile(r"^加付赔偿金比例应在应付金额的 (?P<low>\d+)% 至 (?P<high>\d+)% 之间（(?P<basis>[^）]+)）$"),
     _l("加付赔偿金比例应在应付金额的 %(low)s%% 至 %(high)s%% 之间（%(basis)s）")),
    (re.compile(r"^累计已支付金额不得超过核实欠薪金额 (?P<verified>\S+) 元（此前已记录支付 (?P<paid>\S+) 元，"
                r"尚欠 (?P<owed>\S+) 元）$"),
     _l("累计已支付金额不得超过核实欠薪金额 %(verified)s 元（此前已记录支付 %(paid)s 元，尚欠 %(owed)s 元）")),
    (re.compile(r"^该用人单位已列入失信联合惩戒对象名单，列入期限至 (?P<n>\S+)，不能重复列入$"),
     _l("该用人单位已列入失信联合惩戒对象名单，列入期限至 %(n)s，不能重复列入")),
    (re.compile(r"^本案已作出罚款决定（(?P<n>[^）]+)），对同一违法行为不得给予两次以上罚款的行政处罚"
                r"（《中华人民共和国行政处罚法》第二十九条）$"),
     _l("本案已作出罚款决定（%(n)s），对同一违法行为不得给予两次以上罚款的行政处罚（《中华人民共和国行政处罚法》第二十九条）")),
    (re.compile(r"^拟罚款 (?P<amount>\S+) 元未达到较大数额罚款标准 (?P<threshold>\S+) 元，告知书未告知听证权利："
                r"当事人提出听证要求的，在复核意见中说明$"),
     _l("拟罚款 %(amount)s 元未达到较大数额罚款标准 %(threshold)s 元，告知书未告知听证权利："
        "当事人提出听证要求的，在复核意见中说明")),
    (re.compile(r"^听证日期不能晚于今天（(?P<n>[^）]+)）：须举行听证后方可作出决定$"),
     _l("听证日期不能晚于今天（%(n)s）：须举行听证后方可作出决定")),
    (re.compile(r"^听证日期不能早于行政处罚告知书的日期（(?P<n>[^）]+)）$"),
     _l("听证日期不能早于行政处罚告知书的日期（%(n)s）")),
    (re.compile(r"^减少后的罚款金额应低于告知的拟罚款金额 (?P<n>\S+) 元（不得因当事人陈述、申辩而给予更重的处罚："
                r"《中华人民共和国行政处罚法》第四十五条）$"),
     _l("减少后的罚款金额应低于告知的拟罚款金额 %(n)s 元（不得因当事人陈述、申辩而给予更重的处罚："
        "《中华人民共和国行政处罚法》第四十五条）")),
    (re.compile(r"^告知的拟罚款金额 (?P<amount>\S+) 元已不在现行幅度内："
                r"罚款金额应在 (?P<low>\S+) 元至 (?P<high>\S+) 元之间（(?P<basis>[^）]+)）$"),
     _l("告知的拟罚款金额 %(amount)s 元已不在现行幅度内：罚款金额应在 %(low)s 元至 %(high)s 元之间（%(basis)s）")),
    (re.compile(r"^本案已责令加付赔偿金（(?P<n>[^）]+)），不能重复责令$"),
     _l("本案已责令加付赔偿金（%(n)s），不能重复责令")),
    (re.compile(r"^本案已责令加付赔偿金 (?P<n>\S+) 元：须填写累计已支付的加付赔偿金（未支付的填 0）$"),
     _l("本案已责令加付赔偿金 %(n)s 元：须填写累计已支付的加付赔偿金（未支付的填 0）")),
    (re.compile(r"^累计已支付加付赔偿金不得超过责令加付的 (?P<n>\S+) 元$"),
     _l("累计已支付加付赔偿金不得超过责令加付的 %(n)s 元")),
    (re.compile(r"^累计已支付加付赔偿金不得低于此前已记录的 (?P<n>\S+) 元$"),
     _l("累计已支付加付赔偿金不得低于此前已记录的 %(n)s 元")),
    # The clauses of the criminal-referral threshold's refusal (engine.wage_arrears_law.referral_threshold).
    (re.compile(r"^不能认定达到移送公安机关的标准（拒不支付一名劳动者(?P<months>\d+)个月以上的劳动报酬"
                r"且数额在 (?P<single>\S+) 元以上，或拒不支付(?P<workers>\d+)名以上劳动者的劳动报酬"
                r"且数额累计在 (?P<group>\S+) 元以上）$"),
     _l("不能认定达到移送公安机关的标准（拒不支付一名劳动者%(months)s个月以上的劳动报酬且数额在 %(single)s 元以上，"
        "或拒不支付%(workers)s名以上劳动者的劳动报酬且数额累计在 %(group)s 元以上）")),
    (re.compile(r"^尚欠 (?P<workers>\d+) 名劳动者工资共 (?P<owed>\S+) 元$"),
     _l("尚欠 %(workers)s 名劳动者工资共 %(owed)s 元")),
    (re.compile(r"^拖欠期间 (?P<start>\S+) 至 (?P<end>\S+) 不足(?P<months>\d+)个月$"),
     _l("拖欠期间 %(start)s 至 %(end)s 不足%(months)s个月")),
    (re.compile(r"^尚欠总额不足 (?P<single>\S+) 元$"), _l("尚欠总额不足 %(single)s 元")),
    (re.compile(r"^人均尚欠 (?P<average>\S+) 元，名册中被拖欠最多的劳动者为 (?P<most>\S+) 元，"
                r"均不足 (?P<single>\S+) 元$"),
     _l("人均尚欠 %(average)s 元，名册中被拖欠最多的劳动者为 %(most)s 元，均不足 %(single)s 元")),
    (re.compile(r"^未核实被欠薪人数，名册中被拖欠最多的劳动者为 (?P<most>\S+) 元，均不足 (?P<single>\S+) 元$"),
     _l("未核实被欠薪人数，名册中被拖欠最多的劳动者为 %(most)s 元，均不足 %(single)s 元")),
    (re.compile(r"^人均尚欠 (?P<average>\S+) 元，不足 (?P<single>\S+) 元，"
                r"且案件未登记载明每名劳动者被欠金额的劳动者名册，无法认定有一名劳动者被拖欠 \S+ 元以上$"),
     _l("人均尚欠 %(average)s 元，不足 %(single)s 元，且案件未登记载明每名劳动者被欠金额的劳动者名册，"
        "无法认定有一名劳动者被拖欠 %(single)s 元以上")),
    (re.compile(r"^未核实被欠薪人数，不足 (?P<single>\S+) 元，且案件未登记载明每名劳动者被欠金额的劳动者名册，"
                r"无法认定有一名劳动者被拖欠 \S+ 元以上$"),
     _l("未核实被欠薪人数，不足 %(single)s 元，且案件未登记载明每名劳动者被欠金额的劳动者名册，"
        "无法认定有一名劳动者被拖欠 %(single)s 元以上")),
    (re.compile(r"^移送日期不能晚于今天（(?P<n>[^）]+)）$"), _l("移送日期不能晚于今天（%(n)s）")),
    (re.compile(r"^移送日期不能早于批准移送的日期（(?P<n>[^）]+)）$"), _l("移送日期不能早于批准移送的日期（%(n)s）")),
    (re.compile(r"^报到日期不能早于推荐上岗日期（(?P<n>[^）]+)）$"), _l("报到日期不能早于推荐上岗日期（%(n)s）")),
    (re.compile(r"^报到日期不能早于岗位开始日期（(?P<n>[^）]+)）$"), _l("报到日期不能早于岗位开始日期（%(n)s）")),
    (re.compile(r"^报到日期不能晚于岗位结束日期（(?P<n>[^）]+)）$"), _l("报到日期不能晚于岗位结束日期（%(n)s）")),
    # Why a benefit claim went to a clerk (bpmn/benefit_claim.bpmn, check_claim and record_approval).
    (re.compile(r"^认定规则命中多行（(?P<n>[^）]+)），结果不唯一$"), _l("认定规则命中多行（%(n)s），结果不唯一")),
    (re.compile(r"^地区 (?P<region>\S+) 在离职日期 (?P<date>\S+) 没有生效的失业保险待遇标准$"),
     _l("地区 %(region)s 在离职日期 %(date)s 没有生效的失业保险待遇标准")),
    (re.compile(r"^已领取失业保险金 (?P<drawn>\d+) 个月，超过按缴费年限可领的最长期限 (?P<most>\d+) 个月，数据矛盾$"),
     _l("已领取失业保险金 %(drawn)s 个月，超过按缴费年限可领的最长期限 %(most)s 个月，数据矛盾")),
    (re.compile(r"^离职日期与缴费月数矛盾：年满16周岁至离职仅 (?P<months>\d+) 个月，少于累计缴费 (?P<paid>\d+) 个月$"),
     _l("离职日期与缴费月数矛盾：年满16周岁至离职仅 %(months)s 个月，少于累计缴费 %(paid)s 个月")),
    (re.compile(r"^离职 (?P<days>\d+) 日后申领，超过 (?P<limit>\d+) 日申领期限，须核实逾期原因$"),
     _l("离职 %(days)s 日后申领，超过 %(limit)s 日申领期限，须核实逾期原因")),
    (re.compile(r"^主管未批准：(?P<n>.+)$"), _l("主管未批准：%(n)s")),  # the supervisor's comment, or 未说明理由
    (re.compile(r"^Excel 文件解压后异常庞大（(?P<part>[^）]+)），不是正常的回访台账$"),
     _l("Excel 文件解压后异常庞大（%(part)s），不是正常的回访台账")),
    # The campaign's name (engine.clear_zero.Campaign.name).
    (re.compile(r"^(?P<start>\d{4})—(?P<end>\d{4})年度根治欠薪冬季专项行动$"),
     _l("%(start)s—%(end)s年度根治欠薪冬季专项行动")),
    # The clauses of a benefit claim's rule text (engine.benefits.rule_text): the rows that applied, with their
    # annotations (BENEFIT_RULE_TEXTS), the facts the rules saw, the months granted before and the rates used.
    (re.compile(rf"^资格认定规则 (?P<n>[A-Z]\d+)（(?P<title>{_ANNOTATION})）$"), _l("资格认定规则 %(n)s（%(title)s）")),
    (re.compile(rf"^期限规则 (?P<n>[A-Z]\d+)（(?P<title>{_ANNOTATION})）$"), _l("期限规则 %(n)s（%(title)s）")),
    (re.compile(rf"^标准规则 (?P<n>[A-Z]\d+)（(?P<title>{_ANNOTATION})）$"), _l("标准规则 %(n)s（%(title)s）")),
    (re.compile(r"^累计缴费(?P<contributions>\d+)个月，已领取(?P<drawn>\d+)个月，(?P<reason>(?:非因|因)本人意愿离职)，"
                r"(?P<household>农村户籍|城镇户籍)，(?P<registered>[已未]办理失业登记)，(?P<seeking>[有无]求职要求)$"),
     _l("累计缴费%(contributions)s个月，已领取%(drawn)s个月，%(reason)s，%(household)s，%(registered)s，%(seeking)s")),
    (re.compile(r"^此前已领取失业补助金(?P<subsidy>\d+)个月、临时生活补助(?P<allowance>\d+)个月$"),
     _l("此前已领取失业补助金%(subsidy)s个月、临时生活补助%(allowance)s个月")),
    (re.compile(r"^离职日期 (?P<date>\S+) 适用 (?P<region>\S+) 自 (?P<since>\S+) 起执行的标准"
                r"（(?P<rate_basis>.+)；低保标准 (?P<subsistence>\S+) 元/月）$"),
     _l("离职日期 %(date)s 适用 %(region)s 自 %(since)s 起执行的标准"
        "（%(rate_basis)s；低保标准 %(subsistence)s 元/月）")),
    (re.compile(r"^地区公布的失业保险金标准 (?P<n>\S+) 元/月$"), _l("地区公布的失业保险金标准 %(n)s 元/月")),
    (re.compile(r"^最低工资 (?P<wage>\S+) 元/月 × (?P<percent>\S+)%$"), _l("最低工资 %(wage)s 元/月 × %(percent)s%%")),
    # A refused rule setting (engine.rules.coerce, engine.rules.out_of_order): the rules' titles are translated.
    (re.compile(r"^规则 (?P<key>[a-z0-9_]+)（(?P<title>.+?)）的取值应为(?P<expected>.+?)，不能是 (?P<raw>.*)$"),
     _l("规则 %(key)s（%(title)s）的取值应为%(expected)s，不能是 %(raw)s")),
    (re.compile(r"^规则 (?P<key>[a-z0-9_]+)（(?P<title>.+?)）的取值应在 (?P<low>\S+) 至 (?P<high>\S+) 之间，"
                r"不能是 (?P<raw>.*)$"),
     _l("规则 %(key)s（%(title)s）的取值应在 %(low)s 至 %(high)s 之间，不能是 %(raw)s")),
    (re.compile(r"^规则 (?P<key>[a-z0-9_]+)（(?P<title>.+?)）不能大于 (?P<key2>[a-z0-9_]+)（(?P<title2>.+?)）："
                r"(?P<low>\S+) > (?P<high>\S+)；如需同时调整，请先修改另一条规则$"),
     _l("规则 %(key)s（%(title)s）不能大于 %(key2)s（%(title2)s）：%(low)s > %(high)s；"
        "如需同时调整，请先修改另一条规则")),
]

# Groups of a pattern that are texts of their own (a rule's title), translated inside the message.
_TEXT_GROUPS = ("title", "title2", "expected")
# Texts of their own inside a sentence, whose translations are also labels ("Seeking work"): begun in lower case.
_INLINE_GROUPS = ("reason", "household", "registered", "seeking")
# Groups that are messages of their own, with figures (a benefit rate's basis): translated by the patterns too.
_MESSAGE_GROUPS = ("rate_basis",)


# A refusal composed of clauses (the referral threshold's: the standard, then each way the case falls short) is
# translated clause by clause when it has no translation whole. A separator inside （） belongs to its clause (a
# rule's annotation, a rate's basis).
_SEPARATORS = "：；。"


def _split_clauses(text: str) -> list[str]:
    """`text` as clauses and the separators between them (at the top level, not inside full-width parentheses)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "（":
            depth += 1
        elif char == "）":
            depth = max(depth - 1, 0)
        elif char in _SEPARATORS and depth == 0:
            parts += [text[start:i], char]
            start = i + 1
    parts.append(text[start:])
    return parts


def message(text: str | None) -> str:
    """An engine message (Chinese) in the user's language."""
    if not text:
        return ""
    whole = _translated(text)
    if whole is not None:
        return whole
    parts = _split_clauses(text)
    if len(parts) == 1:
        return text
    clauses = [_translated(part) if i % 2 == 0 else gettext(part) for i, part in enumerate(parts) if part]
    # Only when every clause has a translation: half a message in each language is worse than one in Chinese.
    if None in clauses:
        return text
    # A clause after a colon or a semicolon goes on the sentence ("Cannot approve: the case ..."), not a new one.
    for i in range(1, len(clauses)):
        before, clause = clauses[i - 1], clauses[i]
        if before.strip() in (":", ";") and clause[:1].isupper() and clause[1:2].islower():
            clauses[i] = clause[0].lower() + clause[1:]
    return "".join(clauses).strip()


def _translated(text: str) -> str | None:
    """`text` in the user's language when the catalogue or a pattern knows it, else None."""
    translated = gettext(text)
    if translated != text:
        return translated
    for pattern, template in _DYNAMIC:
        hit = pattern.match(text)
        if hit:
            values = hit.groupdict()
            value = values.get("n")
            if value is None:
                pass
            elif "角色" in text:
                values["n"] = role_label(value)
            elif text.startswith("案件状态为"):
                values["n"] = status_label(value, "benefit_claim")
            else:
                values["n"] = gettext(value)  # a text of its own inside the message (OTHER_REGION_CASE)
            for name in _TEXT_GROUPS:
                if name in values:
                    values[name] = gettext(values[name])
            for name in _INLINE_GROUPS:
                if name in values:
                    word = gettext(values[name])
                    values[name] = word[0].lower() + word[1:] if word[1:2].islower() else word
            for name in _MESSAGE_GROUPS:
                if name in values:
                    values[name] = _translated(values[name]) or values[name]
            return str(template) % values
    return None
