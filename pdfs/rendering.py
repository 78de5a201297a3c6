"""Render official notices (A4, Chinese) to PDF with WeasyPrint.

One FontConfiguration, one parsed stylesheet and one Jinja2 environment per process, built lazily: building a
FontConfiguration makes fontconfig scan all fonts, and the stylesheet never changes. Renders are serialised by a
lock because the shared Pango font map is not thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from .facts import InvalidFact, MissingFacts, UnknownKind, prepare
from .formatting import clause, cn_date, cn_number, join_basis, numbered, yuan, yuan_upper

__all__ = [
    "InvalidFact",
    "MissingFacts",
    "UnknownKind",
    "render",
    "render_html",
    "stylesheet_text",
    "weasy_objects",
]


# ---------------------------------------------------------------------------------------------------------------
# Process-wide objects


_lock = threading.RLock()
_state: dict[str, Any] = {}


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("pdfs", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(
        cn_date=cn_date,
        yuan=yuan,
        yuan_upper=yuan_upper,
        clause=clause,
        basis=join_basis,
        numbered=numbered,
        cn_number=cn_number,
    )
    return env


@cache
def stylesheet_text() -> str:
    """The single stylesheet, as text (for the inline-CSS variant used by the benchmark)."""
    return resources.files("pdfs").joinpath("templates", "notice.css").read_text(encoding="utf-8")


def weasy_objects() -> tuple[Any, Any, Any]:
    """(FontConfiguration, parsed notice.css, URL fetcher), built once per process.

    WeasyPrint is imported lazily: it pulls in Pango and fontconfig, which the web process only needs when it
    actually renders a notice.
    """
    with _lock:
        if not _state:
            from weasyprint import CSS
            from weasyprint.text.fonts import FontConfiguration
            from weasyprint.urls import URLFetcher

            font_config = FontConfiguration()
            # Notices load nothing external; only data: URLs may ever be fetched (defence in depth).
            fetcher = URLFetcher(allowed_protocols=("data",))
            css = CSS(string=stylesheet_text(), font_config=font_config, url_fetcher=fetcher)
            _state.update(font_config=font_config, css=css, fetcher=fetcher)
        return _state["font_config"], _state["css"], _state["fetcher"]


# ---------------------------------------------------------------------------------------------------------------
# Public API


def render_html(kind: str, facts: Mapping[str, Any], *, inline_css: bool = False) -> str:
    """The notice as an HTML string. With inline_css the stylesheet is embedded, so the HTML renders alone."""
    notice, context = prepare(kind, facts)
    css = Markup(stylesheet_text()) if inline_css else None  # noqa: S704 - our own file, not user input
    return _environment().get_template(notice.template).render(context, inline_css=css)


def render(kind: str, facts: Mapping[str, Any]) -> bytes:
    """Render one notice to PDF bytes.

    Raises UnknownKind, MissingFacts (naming the missing keys) or InvalidFact, all ValueError subclasses.
    """
    html = render_html(kind, facts)
    font_config, css, fetcher = weasy_objects()
    from weasyprint import HTML

    with _lock:
        document = HTML(string=html, url_fetcher=fetcher)
        return document.write_pdf(stylesheets=[css], font_config=font_config)
