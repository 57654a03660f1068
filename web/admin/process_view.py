"""Helpers for the processes admin pages: the diagram preview and the event mapping text."""

from __future__ import annotations

from markupsafe import Markup

from bpm_livechat.errors import BpmLivechatError, ValidationError
from bpm_livechat.processes.bpmn.diagram import read_diagram
from bpm_livechat.processes.progress import Progress
from web.diagram import diagram_svg


def preview_svg(bpmn: bytes, title: str, ident: str) -> Markup | None:
    """The diagram of a BPMN file as SVG, or None when it has none or cannot be read."""
    try:
        diagram = read_diagram(bpmn)
    except (BpmLivechatError, ValueError):
        return None
    if diagram is None or not diagram.shapes:
        return None
    return diagram_svg(diagram, Progress(), title, ident)


def parse_mapping(text: str) -> dict[str, str]:
    """`variable = source` lines (blank lines ignored) as a mapping; a bad line is a field error."""
    mapping: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        variable, sep, source = line.partition("=")
        if not sep or not variable.strip() or not source.strip():
            message = f"line {number}: write VARIABLE = SOURCE, e.g. topic = session.subject"
            raise ValidationError(message, {"mapping": message})
        mapping[variable.strip()] = source.strip()
    return mapping


def mapping_text(mapping: dict[str, str]) -> str:
    """A mapping as the `variable = source` lines the form takes."""
    return "\n".join(f"{variable} = {source}" for variable, source in mapping.items())
