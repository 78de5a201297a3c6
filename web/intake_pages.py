"""Intake pages: the menu of processes the user may open and one form generator for every process's
intake.schema.json. Routes on the `pages` blueprint (web/pages.py)."""

from __future__ import annotations

import json

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import processes, regions, services
from engine.actors import Actor
from engine.errors import Forbidden
from engine.services.cases import OPENING_ROLES
from engine.validation import DataInvalid
from web import messages
from web.api import now
from web.forms import form_data as parse_form
from web.forms import schema_fields, split_errors
from web.pages import actor, bp, region_choices

_schema_cache: dict[str, tuple[str, dict]] = {}


def intake_schema(process: str) -> dict:
    try:
        files = processes.read_files(process)
    except processes.UnknownProcess:
        abort(404)
    text = files.get("intake.schema.json")
    if text is None:
        abort(404)
    hit = _schema_cache.get(process)
    if hit is None or hit[0] != text:
        hit = (text, json.loads(text))
        _schema_cache[process] = hit
    return hit[1]


def _openable(who: Actor) -> list[str]:
    names = []
    for process in processes.process_names():
        if process in OPENING_ROLES and any(who.has_role(r) for r in OPENING_ROLES[process]):
            try:
                if "intake.schema.json" in processes.read_files(process):
                    names.append(process)
            except processes.UnknownProcess:
                continue
    return names


def intake_regions(who: Actor) -> list[regions.Region]:
    if who.region in regions.REGIONS and not who.region.endswith("00"):
        return [regions.REGIONS[who.region]]
    found = [r for r in region_choices(who) if not r.code.endswith("00")]
    if not found and len(who.region) == 6:
        return [regions.issuing_region(who.region)]
    return found


@bp.get("/cases/new")
def new_case_menu():
    return render_template("intake_menu.html", processes=_openable(actor()))


@bp.route("/cases/new/<process>", methods=["GET", "POST"])
def new_case(process: str):
    who = actor()
    if process not in _openable(who):
        if process in processes.process_names():
            abort(403)
        abort(404)
    schema = intake_schema(process)
    fields = schema_fields(schema)
    errors: dict[str, str] = {}
    problem = None
    status = 200
    if request.method == "POST":
        data = parse_form(schema, request.form)
        region = request.form.get("region", "")
        try:
            opened = services.open_case(who, process, region, data, now())
        except DataInvalid as exc:
            errors, status = exc.fields, 400
        except Forbidden as exc:
            problem, status = messages.message(exc.message), 403
        else:
            flash(_("已登记案件 %(number)s", number=opened.number), "success")
            return redirect(url_for("pages.case", number=opened.number))
    return render_template(
        "intake.html", process=process, schema=schema, fields=fields, errors=errors,
        other_errors={k: v for k, v in split_errors(fields, errors).items() if k != "region"},
        values=request.form if request.method == "POST" else None, problem=problem,
        region_choices=intake_regions(who),
    ), status

