"""The rules in force (engine/rules.py with the province's overrides): every signed-in user sees the figures their
deadlines and amounts come from; administrators change them here or with `flask rules set`. Routes on the `pages`
blueprint (web/pages.py)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from engine import rule_settings
from engine.errors import Forbidden
from engine.rules import RULES
from engine.validation import DataInvalid
from web import messages
from web.api import now
from web.engine_texts import N_
from web.pages import actor, bp


def quantity(value: object, unit: str) -> str:
    """A rule's value with its unit ("5 个工作日", in English "5 working days", "1 day")."""
    if unit in ("working_days", "days", "months") and isinstance(value, int):
        if unit == "working_days":
            return ngettext("%(num)s 个工作日", "%(num)s 个工作日", value)
        if unit == "days":
            return ngettext("%(num)s 日", "%(num)s 日", value)
        return ngettext("%(num)s 个月", "%(num)s 个月", value)
    if unit == "percent":
        return f"{value}%"
    if unit == "yuan":
        return _("%(amount)s 元", amount=value)
    return str(value)

# The rules' titles (engine/rules.py), for the catalogue: shown through message().
RULE_TITLES = (
    N_("受理审查期限"), N_("补正材料期限"), N_("调查核实期限"), N_("下达整改指令期限"),
    N_("整改支付期限（专项行动期间）"), N_("整改支付期限（专项行动以外）"), N_("履行情况核查期限"),
    N_("确定处置措施期限"), N_("处置措施审批期限"), N_("办案期限"), N_("办案期限审查期限"),
    N_("办案期限届满前提请审查的提前量"), N_("办案期限延长"), N_("逾期二级督办间隔"), N_("逾期三级督办间隔"),
    N_("移送公安金额标准（个人）"), N_("移送公安金额标准（十人以上）"), N_("移送公安拖欠期限标准（个人）"),
    N_("失业保险待遇审核期限"), N_("失业保险金标准（最低工资的百分比）"), N_("失业补助金标准（失业保险金的百分比）"),
    N_("失业补助金最长期限"), N_("失业保险金申领期限（离职后）"), N_("失业待遇须主管审批的总额上限"),
    N_("上岗确认期限"), N_("“131”服务办理期限"), N_("临时性岗位最长期限"), N_("临时性岗位匹配及期满评估期限"),
    N_("根治欠薪冬季专项行动起始日"), N_("两清零目标一期限（政府投资、国企和PPP项目欠薪清零）"),
    N_("两清零目标二期限（其他欠薪春节前动态清零）"), N_("罚款金额下限"), N_("罚款金额上限"),
    N_("加付赔偿金比例下限（应付金额的百分比）"), N_("加付赔偿金比例上限（应付金额的百分比）"),
    N_("涉嫌犯罪案件移送审批期限"), N_("涉嫌犯罪案件移送公安机关期限"), N_("经办银行支付工资保证金期限"),
    N_("移送人民法院期限（仍有欠薪结案）"), N_("陈述、申辩期限（自收到行政处罚告知书之日起）"),
    N_("要求听证期限（自收到行政处罚告知书之日起）"), N_("较大数额罚款标准（达到该金额的罚款告知听证权利）"),
    N_("陈述申辩复核及处罚决定期限（陈述申辩期限届满后）"),
)
# What engine.rules.coerce says a rule takes, and the refusal of anyone but an administrator.
RULE_MESSAGES = (N_("日期 YYYY-MM-DD"), N_("金额（元，最多两位小数）"), N_("整数百分比"), N_("整数"),
                 N_("只有系统管理员可以修改规则参数"))


def _render_rules(*, status: int = 200, errors: dict[str, str] | None = None, typed: dict[str, str] | None = None,
                  problem: str | None = None):
    """The rules page; `errors` and `typed` by rule key: the refused value stays in its box with its error."""
    who = actor()
    return render_template("rules.html", rules=rule_settings.rules_in_force(), quantity=quantity,
                           may_change=rule_settings.may_change_rules(who), errors=errors or {},
                           typed=typed or {}, problem=problem), status


@bp.get("/rules")
def rules():
    return _render_rules()


def _change(key: str, change) -> object:
    """Run `change(who)` for rule `key`; the page again with the error when it is refused, else back to the rule."""
    who = actor()
    if key not in RULES:
        abort(404)
    typed = request.form.get("value", "")
    try:
        value = change(who)
    except DataInvalid as exc:
        text = next(iter(exc.fields.values()), "") if exc.fields else exc.message
        return _render_rules(status=400, errors={key: messages.message(text)}, typed={key: typed})
    except Forbidden as exc:
        return _render_rules(status=403, problem=messages.message(exc.message))
    flash(_("已修改规则“%(title)s”：现行取值 %(value)s", title=messages.message(RULES[key].title), value=value),
          "success")
    return redirect(url_for("pages.rules", _anchor=f"rule-{key}"))


@bp.post("/rules/<key>")
def change_rule(key: str):
    return _change(key, lambda who: rule_settings.change_rule(who, key, request.form.get("value", ""), now()))


@bp.post("/rules/<key>/reset")
def reset_rule(key: str):
    return _change(key, lambda who: rule_settings.restore_default(who, key))
