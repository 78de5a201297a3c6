"""The supervisors' clear-zero dashboard page (/dashboard) and its Excel exports. Thin: parse, call the
engine.dashboard reads (which check the role and the region), render. The burn-down chart is inline SVG drawn on
the server, so the page needs no JavaScript."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from engine import calendar, clear_zero, dashboard
from engine.actors import Actor
from web.api import now
from web.auth import require_login
from web.labels import ESCALATION_LEVELS, process_label

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

ESCALATIONS_SHOWN = 50  # the page lists this many; the Excel export has them all
LISTS = ("targets", "regions", "on_time", "escalations", "burndown")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TARGET_LABELS = {
    clear_zero.YEAR_END: _l("政府投资、国有企业和PPP项目欠薪年底前清零"),
    clear_zero.SPRING_FESTIVAL: _l("其他欠薪春节前动态清零"),
}


bp.before_request(require_login)


def _actor() -> Actor:
    """The signed-in user; inspectors and clerks get the site's 403 page."""
    actor = Actor.of(current_user)
    if not dashboard.may_view(actor):
        abort(403)
    return actor


def _region_arg() -> str | None:
    return request.args.get("region") or None


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


# ---------------------------------------------------------------------------------------------------------------
# Burn-down chart geometry (SVG user units).

WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 90, 20, 20, 40


def _nice_max(value: Decimal) -> Decimal:
    """The smallest 1, 2, 2.5 or 5 × 10^n at or above `value`: the chart's top."""
    if value <= 0:
        return Decimal("1")
    step = Decimal(10) ** (len(str(int(value))) - 1)
    for factor in ("1", "2", "2.5", "5", "10"):
        if step * Decimal(factor) >= value:
            return step * Decimal(factor)
    return step * 10


def burndown_chart(by_day: list[dict], campaign: dict, today: str) -> dict[str, Any]:
    """Coordinates for the template: outstanding arrears (total and target 1's share), the straight lines needed
    to reach zero by each deadline, axis ticks and deadline markers."""
    if not by_day:
        return {"empty": True}
    series = ("arrears_outstanding", "year_end_outstanding", "ideal", "ideal_year_end")
    values = [Decimal(p[k]) for p in by_day for k in series if p.get(k) is not None]
    if not any(p.get("arrears_outstanding") is not None for p in by_day):
        return {"empty": True}
    top = _nice_max(max(values, default=Decimal("0")))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    days = [p["date"] for p in by_day]
    first = date.fromisoformat(days[0])
    span = max((date.fromisoformat(days[-1]) - first).days, 1)

    def x(day: str) -> float:
        return round(LEFT + plot_w * (date.fromisoformat(day) - first).days / span, 1)

    def y(amount: str | Decimal) -> float:
        return round(TOP + plot_h * (1 - float(Decimal(amount) / top)), 1)

    def line(key: str) -> str:
        return " ".join(f"{x(p['date'])},{y(p[key])}" for p in by_day if p.get(key) is not None)

    step = max(span // 6, 1)
    markers = []
    for key, label in (("year_end_deadline", _("目标一期限")), ("spring_festival_deadline", _("目标二期限"))):
        day = campaign[key]
        if days[0] <= day <= days[-1]:
            markers.append({"x": x(day), "label": f"{label} {day[5:]}"})
    return {
        "empty": False, "width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT, "top": TOP,
        "bottom": HEIGHT - BOTTOM,
        "actual": line("arrears_outstanding"), "actual_year_end": line("year_end_outstanding"),
        "ideal": line("ideal"), "ideal_year_end": line("ideal_year_end"),
        "dots": [{"x": x(p["date"]), "y": y(p["arrears_outstanding"]), "date": p["date"],
                  "amount": p["arrears_outstanding"]} for p in by_day if p.get("arrears_outstanding") is not None],
        "y_ticks": [{"y": y(top * i / 4), "label": f"{top * i / 4:,.0f}"} for i in range(5)],
        "x_ticks": [{"x": x(d), "label": d[5:]} for i, d in enumerate(days) if i % step == 0],
        "markers": markers,
        "today_x": x(today) if days[0] <= today <= days[-1] else None,
    }


# ---------------------------------------------------------------------------------------------------------------
# Views.

@bp.get("", strict_slashes=False)
def index():
    actor = _actor()
    region = _region_arg()
    at = now()
    figures = dashboard.clear_zero(actor, at, region)
    escalations, escalation_total = dashboard.open_escalations(actor, region, limit=ESCALATIONS_SHOWN)
    processes = sorted({p for row in figures["by_region"] for p in row["on_time"]})
    today = calendar.local_date(at).isoformat()
    return render_template(
        "dashboard/index.html", d=figures, escalations=escalations, escalation_total=escalation_total,
        processes=processes, chart=burndown_chart(figures["by_day"], figures["campaign"], today), today=today,
        percent=percent, target_labels=TARGET_LABELS,
    )


def _money(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def sheets(figures: dict, escalations: list[dict]) -> dict[str, tuple[str, list[str], list[list[Any]], dict]]:
    """Every list of the page as a sheet: key → (title, Chinese headers, rows, {column index: number format})."""
    money, rate = "#,##0.00", "0.0%"
    result: dict[str, tuple[str, list[str], list[list[Any]], dict]] = {}

    result["targets"] = (
        _("两清零目标"),
        [_("目标"), _("期限"), _("剩余工作日"), _("状态"), _("在办案件"), _("欠薪人数"), _("欠薪金额（元）"),
         _("已追回金额（元）"), _("每个工作日须清偿（元）")],
        [[str(TARGET_LABELS[t["key"]]), t["deadline"], t["days_left"],
          _("已清零") if t["met"] else (_("已逾期未清零") if t["overdue"] else _("未清零")),
          t["open_cases"], t["workers_owed"], _money(t["arrears_outstanding"]), _money(t["arrears_recovered"]),
          _money(t["needed_per_working_day"])] for t in figures["targets"]]
        + [[_("合计"), figures["deadline"], None, None, figures["open_cases"], figures["workers_owed"],
            _money(figures["arrears_outstanding"]), _money(figures["arrears_recovered"]), None]],
        {6: money, 7: money, 8: money},
    )

    processes = sorted({p for row in figures["by_region"] for p in row["on_time"]})
    result["regions"] = (
        _("分地区两清零情况"),
        [_("行政区划代码"), _("地区"), _("在办案件"), _("欠薪人数"), _("欠薪金额（元）"), _("已追回金额（元）"),
         _("其中目标一（元）"), _("其中目标二（元）")]
        + [_("%(process)s按时办结率", process=process_label(p)) for p in processes],
        [[r["region"], r["region_name"], r["open_cases"], r["workers_owed"], _money(r["arrears_outstanding"]),
          _money(r["arrears_recovered"]), _money(r["targets"][clear_zero.YEAR_END]["arrears_outstanding"]),
          _money(r["targets"][clear_zero.SPRING_FESTIVAL]["arrears_outstanding"])]
         + [r["on_time"].get(p, {}).get("rate") for p in processes]
         for r in figures["by_region"]]
        + [["", _("合计"), figures["open_cases"], figures["workers_owed"], _money(figures["arrears_outstanding"]),
            _money(figures["arrears_recovered"])]
           + [_money(t["arrears_outstanding"]) for t in figures["targets"]] + [None] * len(processes)],
        {4: money, 5: money, 6: money, 7: money, **{8 + i: rate for i in range(len(processes))}},
    )

    rates = figures["on_time"]
    result["on_time"] = (
        _("按时办结率"),
        [_("行政区划代码"), _("地区"), _("业务"), _("已办结限时任务"), _("按时办结"), _("按时办结率")],
        [[r["region"], r["region_name"], process_label(r["process"]), r["completed"], r["on_time"], r["rate"]]
         for r in rates["by_region"]]
        + [["", _("合计"), process_label(r["process"]), r["completed"], r["on_time"], r["rate"]]
           for r in rates["by_process"]],
        {5: rate},
    )

    result["escalations"] = (
        _("未办结督办事项"),
        [_("案件编号"), _("地区"), _("逾期任务"), _("督办级别"), _("办理期限"), _("督办时间")],
        [[e["case_number"], e["region_name"], e["task_title"], str(ESCALATION_LEVELS.get(e["level"], e["level"])),
          (e["due_at"] or "")[:16].replace("T", " "), e["opened_at"][:16].replace("T", " ")] for e in escalations],
        {},
    )

    result["burndown"] = (
        _("欠薪余额燃尽表"),
        [_("日期"), _("在办案件"), _("欠薪人数"), _("欠薪金额（元）"), _("其中目标一（元）"), _("已追回金额（元）"),
         _("按期清零应余金额（元）"), _("目标一按期清零应余金额（元）")],
        [[p["date"], p["open_cases"], p["workers_owed"], _money(p["arrears_outstanding"]),
          _money(p["year_end_outstanding"]), _money(p["arrears_recovered"]), _money(p["ideal"]),
          _money(p["ideal_year_end"])] for p in figures["by_day"]],
        {3: money, 4: money, 5: money, 6: money, 7: money},
    )
    return result


def workbook_bytes(chosen: list[tuple[str, list[str], list[list[Any]], dict]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from engine.xlsx import append_row, save

    book = Workbook()
    book.remove(book.active)
    for title, headers, rows, formats in chosen:
        sheet = book.create_sheet(title[:31])  # Excel's limit on sheet names
        append_row(sheet, headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            append_row(sheet, row)  # text stays text: never a live formula
        for column, number_format in formats.items():
            for (cell,) in sheet.iter_rows(min_row=2, min_col=column + 1, max_col=column + 1):
                cell.number_format = number_format
        for index, header in enumerate(headers, start=1):
            sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = max(12, len(header) * 2 + 2)
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    save(book, buffer)
    return buffer.getvalue()


@bp.get("/export.xlsx")
def export():
    """One list (`list=`) or, without `list`, every list of the page, one sheet each."""
    actor = _actor()
    list_name = request.args.get("list") or "all"
    if list_name != "all" and list_name not in LISTS:
        abort(400, description="list: all | " + " | ".join(LISTS))
    region = _region_arg()
    at = now()
    figures = dashboard.clear_zero(actor, at, region)
    escalations = dashboard.open_escalations(actor, region, limit=None)[0] if list_name in ("all", "escalations") \
        else []
    available = sheets(figures, escalations)
    chosen = list(available.values()) if list_name == "all" else [available[list_name]]
    name = f"clear-zero-{list_name}-{figures['region'] or 'all'}-{calendar.local_date(at).isoformat()}.xlsx"
    return send_file(io.BytesIO(workbook_bytes(chosen)), mimetype=XLSX, as_attachment=True, download_name=name)


def export_url(list_name: str, region: str | None) -> str:
    return url_for("dashboard.export", list=list_name, region=region or None)


bp.add_app_template_global(export_url, "dashboard_export_url")
