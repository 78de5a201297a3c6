"""Official notices as PDF (A4, Chinese, with verification code and QR code).

Pure rendering: no database, no Flask. The engine calls::

    from pdfs import render, KINDS
    pdf_bytes = render("rectification_order", facts)

See pdfs.kinds for the facts each kind requires, pdfs.facts for how they are checked and typed, pdfs.rendering for
the process-wide WeasyPrint objects (one FontConfiguration, one parsed stylesheet) and pdfs.samples for realistic
facts of every kind (tests, benchmark).
Errors: UnknownKind, MissingFacts (names the keys), InvalidFact (names the key); all are ValueError.
"""

from .facts import InvalidFact, MissingFacts, UnknownKind
from .kinds import KINDS, NoticeKind
from .rendering import render, render_html

__all__ = ["KINDS", "InvalidFact", "MissingFacts", "NoticeKind", "UnknownKind", "render", "render_html"]
