"""Official notices as PDF (A4, Chinese, with verification code and QR code).

Pure rendering: no database, no Flask. The engine calls::

    from pdfs import render, KINDS
    pdf_bytes = render("rectification_order", facts)

See pdfs.kinds for the facts each kind requires.
"""

from .kinds import KINDS, NoticeKind
from .render import InvalidFact, MissingFacts, UnknownKind, render, render_html

__all__ = ["KINDS", "InvalidFact", "MissingFacts", "NoticeKind", "UnknownKind", "render", "render_html"]
