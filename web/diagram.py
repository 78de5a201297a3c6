"""The process diagram a case page draws (bpmn-js), in the reader's language: the models name their steps,
gateways and flows in Chinese, and their lanes by role code (a lane's name is the role the engine gives its tasks).
The names go through the catalogue like every other text shown, so `pybabel extract` collects them (babel.cfg)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask_babel import gettext
from lxml import etree

BPMN_MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMN_DI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
_LANE = f"{{{BPMN_MODEL}}}lane"
# A label outside its shape (an event's, a gateway's, a flow's) is laid out in its drawn bounds, sized for two or
# three Chinese characters: a translation gets room for its words instead of breaking inside them ("Acce/pt").
_LABEL_BOUNDS = f"{{{BPMN_DI}}}BPMNLabel/{{{DC}}}Bounds"
_CHAR_WIDTH, _MAX_LABEL_WIDTH = 6.5, 100
# The models are the bureau's own files, stored with the process version; still, no entities and no network.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)


def _named(root: Any) -> Iterator[Any]:
    """The model's elements a diagram labels: every BPMN element with a name, lanes aside."""
    for element in root.iter(f"{{{BPMN_MODEL}}}*"):
        if element.get("name") and element.tag != _LANE:
            yield element


def localized_diagram(xml: str) -> str:
    """The BPMN file with its labels in the current language: names translated where the catalogue has them,
    lanes named by their role's label instead of the role code."""
    from web.labels import role_label  # the page's labels; imported here so the extractor needs no app

    root = etree.fromstring(xml.encode("utf-8"), _PARSER)
    translated = {}
    for element in _named(root):
        name = gettext(element.get("name"))
        if name != element.get("name"):
            element.set("name", name)
            translated[element.get("id")] = name
    for drawn in root.iter(f"{{{BPMN_DI}}}BPMNShape", f"{{{BPMN_DI}}}BPMNEdge"):
        bounds = drawn.find(_LABEL_BOUNDS)
        if bounds is not None and drawn.get("bpmnElement") in translated:
            _widen(bounds, translated[drawn.get("bpmnElement")])
    for lane in root.iter(_LANE):
        if lane.get("name"):
            lane.set("name", role_label(lane.get("name")))
    return etree.tostring(root, encoding="unicode")


def _widen(bounds: Any, text: str) -> None:
    """Room for the longest word of `text` and for about two lines of it, around the same centre."""
    longest = max(len(word) for word in text.split() or [text])
    wanted = min(max(longest * _CHAR_WIDTH, len(text) * _CHAR_WIDTH / 2), _MAX_LABEL_WIDTH)
    width = float(bounds.get("width", 0))
    if wanted > width:
        bounds.set("x", f"{float(bounds.get('x', 0)) - (wanted - width) / 2:g}")
        bounds.set("width", f"{wanted:g}")


def extract_bpmn_names(fileobj, keywords, comment_tags, options):
    """The labels of a .bpmn file, as (line, funcname, message, comments) tuples for `pybabel extract`."""
    root = etree.parse(fileobj, _PARSER).getroot()
    seen: set[str] = set()
    for element in _named(root):
        name = element.get("name")
        if name not in seen and not name.isascii():  # a signal's code name is no text to translate
            seen.add(name)
            yield element.sourceline or 0, "gettext", name, []
