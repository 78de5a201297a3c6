"""A benefit claim's payments on its case page (web/templates/_benefit_payments.html): the monthly schedule of an
approved claim with its totals and the overpaid months to recover, and the form that stops payments. Everything
comes from engine/benefit_payments.py (the schedule, `totals`, `overpaid`, `may_stop`, `stop_payments` and its
STOP_SCHEMA); the view only parses the form and renders. Routes on the `pages` blueprint (web/pages.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine import benefit_payments, benefits, calendar, services
from engine.actors import Actor
from engine.errors import Conflict, Forbidden
from engine.models import Case
from engine.services.tasks import CASE_VERSION_REQUIRED
from engine.validation import DataInvalid
from web.api import now
from web.case_pages import CASE_SECTIONS, render_case, render_refused_form
from web.engine_texts import N_
from web.forms import form_case_version, schema_fields, split_errors
from web.forms import form_data as parse_form
from web.pages import actor, bp

STOP_FORM = "stop-payments"  # the key of the stop form's errors and values among the case page's forms

# One month's status (engine.benefit_payments.BenefitPayment.status) in words.
PAYMENT_STATUS_LABELS: dict[str, object] = {
    "scheduled": _l("待发放"),
    "paid": _l("已发放"),
    "cancelled": _l("已停发"),
    "overpaid": _l("多发待追回"),
}

# The texts of engine.benefit_payments.STOP_SCHEMA (defined in Python, out of babel.cfg's reach), shown through
# schema_text() by the stop form; tests/integration/test_benefit_payments_page.py checks this list against it.
STOP_FORM_TEXTS = (
    N_("停止发放失业保险待遇"), N_("停发原因"), N_("说明"), N_("停发生效日期（默认今天）"),
    N_("重新就业"), N_("无正当理由拒不接受当地人民政府指定部门或者机构介绍的适当工作"),
    N_("无正当理由拒不接受当地人民政府指定部门或者机构提供的培训"), N_("其他依法停止领取的情形"),
)



def format_month(period: str) -> str:
    """A schedule's month (YYYY-MM): 2021年3月 (English: Mar 2021)."""
    try:
        first = date.fromisoformat(f"{period}-01")
    except (TypeError, ValueError):
        return str(period)
    return format_date(first, "yyyy年M月" if str(get_locale()).startswith("zh") else "MMM yyyy")


bp.add_app_template_filter(format_month, "month")


def payments_section(case: Case, who: Actor, form_errors: dict, form_values: dict) -> dict[str, Any]:
    """The template context of the payments section: nothing for a claim without a schedule (not approved yet, or
    refused); the stop form only for whom the engine would let stop this claim's payments now."""
    rows = benefit_payments.payments_for_case(case) if case.process == benefits.PROCESS else []
    if not rows:
        return {}
    periods, amount = benefit_payments.overpaid(rows)
    section: dict[str, Any] = {
        "rows": rows, "totals": benefit_payments.totals(rows), "overpaid_periods": periods,
        "overpaid_amount": amount, "status_labels": PAYMENT_STATUS_LABELS, "form": None,
    }
    if benefit_payments.may_stop(who, case):
        fields = schema_fields(benefit_payments.STOP_SCHEMA)
        today = calendar.local_date(now()).isoformat()
        for f in fields:
            if f.kind == "date":
                f.attrs["max"] = today  # the engine refuses a date after today; the browser says so first
        errors = form_errors.get(STOP_FORM) or {}
        section["form"] = {"fields": fields, "errors": errors, "other_errors": split_errors(fields, errors),
                           "values": form_values.get(STOP_FORM)}
    return {"payment_schedule": section}


CASE_SECTIONS[benefits.PROCESS] = payments_section


@bp.post("/cases/<number>/payments/stop")
def stop_payments(number: str):
    who = actor()
    case = services.get_case(who, number)  # NotFound (also another county's case) -> the 404 page
    if case.process != benefits.PROCESS:
        abort(404)
    data = parse_form(benefit_payments.STOP_SCHEMA, request.form)
    case_version = form_case_version(request.form.get("case_version", ""))
    if case_version is None:
        return render_case(case, form_errors={STOP_FORM: {"case_version": CASE_VERSION_REQUIRED}},
                           form_values={STOP_FORM: request.form}, status=400)
    try:
        benefit_payments.stop_payments(who, number, data, now(), case_version=case_version)
    except (DataInvalid, Conflict, Forbidden) as exc:
        return render_refused_form(who, number, STOP_FORM, exc)
    flash(_("已停发待遇：%(case)s", case=number), "success")
    return redirect(url_for("pages.case", number=number, _anchor="payments"))
