"""The public verification page a notice's QR code points at: `GET /verify/<code>`.

No login. It shows only what the JSON `GET /api/v1/verify/{code}` shows (engine.documents.verify): the kind of
document, its number, the issuing bureau, the date and whether it is valid; never the recipient or the facts."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, redirect, render_template, request, url_for

from engine import documents
from pdfs.formatting import cn_date

bp = Blueprint("verify", __name__)

# Public answers about official documents: not kept by shared caches, not indexed by search engines.
_HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


def _cn_date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return value
    return cn_date(day)


@bp.get("/verify")
def form():
    """The page for typing a code in by hand (the QR code goes straight to /verify/<code>)."""
    code = (request.args.get("code") or "").strip()
    if code and len(code) <= documents.MAX_CODE_LENGTH:
        return redirect(url_for("verify.check", code=documents.normalise_code(code)))
    page = render_template("verify.html", found=None, code=code[:documents.MAX_CODE_LENGTH], asked=bool(code))
    return page, (404 if code else 200), _HEADERS  # a code too long to be one is not found


@bp.get("/verify/<code>")
def check(code: str):
    found = documents.verify(code)
    if found is None:
        page = render_template("verify.html", found=None, code=code[:documents.MAX_CODE_LENGTH], asked=True)
        return page, 404, _HEADERS
    shown = {
        "title": found["title"],
        "number": found["number"],
        "bureau": found["bureau"],
        "issued_on": _cn_date(found["issued_on"]),
        "valid": bool(found["valid"]),
        "sha256": found["sha256"],
        "rendered": found["status"] == "rendered",
    }
    return render_template("verify.html", found=shown, code=documents.normalise_code(code), asked=True), 200, _HEADERS
