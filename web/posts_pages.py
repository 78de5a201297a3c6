"""The temporary-posts catalogue (engine/posts.py): list for everyone in the region, create and edit for
clerks and supervisors (the engine refuses anyone else). Routes on the `pages` blueprint (web/pages.py)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import calendar
from engine import posts as catalogue
from engine.errors import Conflict, Forbidden
from engine.validation import DataInvalid
from web import messages, pages
from web.api import now
from web.forms import form_data as parse_form
from web.forms import form_values, schema_fields, split_errors
from web.intake_pages import intake_regions
from web.pages import actor, bp, int_arg, region_arg, region_choices


@bp.get("/posts")
def posts():
    who = actor()
    page = int_arg("page", 1)
    status = request.args.get("status") if request.args.get("status") in catalogue.POST_STATES else None
    kind = request.args.get("kind") if request.args.get("kind") in catalogue.POST_KINDS else None
    filters = {"region": region_arg(), "status": status, "kind": kind}
    today = calendar.local_date(now())
    rows, total = catalogue.list_posts(who, today, page=page, per_page=pages.PER_PAGE, **filters)
    return render_template("posts.html", posts=rows, total=total, page=page,
                           states={p.id: catalogue.post_state(p, today) for p in rows},
                           editable={p.id for p in rows if catalogue.may_edit_post(who, p)},
                           per_page=pages.PER_PAGE, filters=filters,
                           kinds=catalogue.POST_KIND_TITLES, region_choices=region_choices(who))


def _post_form(template_schema: dict, *, post=None, status: int = 200, errors: dict | None = None,
               values=None, problem: str | None = None):
    who = actor()
    fields = schema_fields(template_schema, skip=("region",))
    errors = errors or {}
    return render_template(
        "post_form.html", post=post, fields=fields, errors=errors,
        other_errors={k: v for k, v in split_errors(fields, errors).items() if k != "region"},
        values=values, problem=problem, region_choices=intake_regions(who),
    ), status


@bp.route("/posts/new", methods=["GET", "POST"])
def new_post():
    who = actor()
    if not catalogue.may_post(who):
        abort(403)
    schema = catalogue.CREATE_POST_SCHEMA
    if request.method == "GET":
        return _post_form(schema)
    body = parse_form(schema, request.form, skip=("region",))
    body["region"] = request.form.get("region", "")
    try:
        created = catalogue.create_post(who, body, now())
    except DataInvalid as exc:
        return _post_form(schema, status=400, errors=exc.fields, values=request.form)
    except Forbidden as exc:
        return _post_form(schema, status=403, values=request.form, problem=messages.message(exc.message))
    flash(_("已发布岗位：%(title)s", title=created.title), "success")
    return redirect(url_for("pages.posts"))


@bp.route("/posts/<row_id:post_id>/edit", methods=["GET", "POST"])
def edit_post(post_id: int):
    who = actor()
    if not catalogue.may_post(who):
        abort(403)
    found = catalogue.post_in_scope(who, post_id, to_edit=True)  # NotFound -> 404 page
    schema = catalogue.UPDATE_POST_SCHEMA
    if request.method == "GET":
        current = {k: v for k, v in catalogue.post_json(found, calendar.local_date(now())).items()
                   if k in schema["properties"]}
        current["status"] = found.status  # the stored setting the form changes (open | closed), not `expired`
        return _post_form(schema, post=found, values=form_values(current))
    body = parse_form(schema, request.form)
    try:
        updated = catalogue.update_post(who, post_id, body, now())
    except DataInvalid as exc:
        return _post_form(schema, post=found, status=400, errors=exc.fields, values=request.form)
    except (Conflict, Forbidden) as exc:
        return _post_form(schema, post=catalogue.post_in_scope(who, post_id, to_edit=True), status=409,
                          values=request.form, problem=messages.message(exc.message))
    flash(_("已保存岗位：%(title)s", title=updated.title), "success")
    return redirect(url_for("pages.posts"))
