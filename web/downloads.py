"""Sending a notice's PDF: one response for the pages and the API."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from flask import Response, send_file

from engine.documents import Document


def notice_pdf(path: Path, document: Document) -> Response:
    """The PDF, named by its document number (`楚人社监令〔2021〕17号.pdf`) for every current browser, and by its
    verification code for clients that only read the ASCII name: Werkzeug's own ASCII fallback drops every Chinese
    character and gives different notices the same name (`202117.pdf`)."""
    response = send_file(path, mimetype="application/pdf", max_age=0)
    response.headers.set("Content-Disposition", "inline", filename=f"notice-{document.verification_code}.pdf",
                         **{"filename*": "UTF-8''" + quote(f"{document.number}.pdf")})
    return response
