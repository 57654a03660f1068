"""A process diagram as inline SVG markup, built on the server from the BPMN diagram interchange.

Every name from the BPMN file is escaped; the drawing uses classes only (styled by app.css), so
the Content-Security-Policy needs no inline styles.
"""

from __future__ import annotations

import textwrap

from markupsafe import Markup, escape

from bpm_livechat.processes.bpmn.diagram import Diagram, Edge, Shape
from bpm_livechat.processes.progress import Progress

MARGIN = 24
LABEL_OVERHANG = 44  # labels under events and gateways are wider than their shapes
_STATE_WORDS = {"done": "completed", "current": "current step", "failed": "failed here"}


def _state(element_id: str, progress: Progress) -> str:
    if element_id in progress.failed:
        return "failed"
    if element_id in progress.current:
        return "current"
    return "done" if element_id in progress.completed else ""


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _label(lines: list[str], cx: float, top: float) -> str:
    spans = "".join(
        f'<tspan x="{_num(cx)}" dy="{"0" if i == 0 else "1.2em"}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return f'<text class="bpmn-label" x="{_num(cx)}" y="{_num(top)}">{spans}</text>'


def _shape(shape: Shape, progress: Progress) -> str:
    state = _state(shape.element_id, progress)
    cls = f"bpmn-shape bpmn-{shape.kind}" + (f" is-{state}" if state else "")
    x, y, w, h = shape.x, shape.y, shape.width, shape.height
    cx, cy = x + w / 2, y + h / 2
    if shape.kind in {"start", "end", "event"}:
        body = f'<circle cx="{_num(cx)}" cy="{_num(cy)}" r="{_num(min(w, h) / 2)}"/>'
        label = _label(textwrap.wrap(shape.name, 18)[:3], cx, y + h + 14)
    elif shape.kind == "gateway":
        points = f"{_num(cx)},{_num(y)} {_num(x + w)},{_num(cy)} {_num(cx)},{_num(y + h)} {_num(x)},{_num(cy)}"
        body = f'<polygon points="{points}"/>'
        label = _label(textwrap.wrap(shape.name, 18)[:3], cx, y + h + 14)
    else:
        body = f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{_num(h)}" rx="10"/>'
        lines = textwrap.wrap(shape.name, max(8, int(w / 7)))[:4]
        label = _label(lines, cx, cy - (len(lines) - 1) * 7 + 4)
    title = shape.name or shape.element_id
    if state:
        title = f"{title} ({_STATE_WORDS[state]})"
    return f'<g class="{cls}"><title>{escape(title)}</title>{body}{label}</g>'


def _edge(edge: Edge, progress: Progress, marker: str) -> str:
    taken = edge.source in progress.completed and (
        edge.target in progress.completed
        or edge.target in progress.current
        or edge.target in progress.failed
    )
    cls = "bpmn-edge is-done" if taken else "bpmn-edge"
    points = " ".join(f"{_num(x)},{_num(y)}" for x, y in edge.points)
    return f'<polyline class="{cls}" points="{points}" marker-end="url(#{marker})"/>'


def diagram_svg(diagram: Diagram, progress: Progress, title: str, ident: str) -> Markup:
    """The SVG of a diagram with completed, current and failed elements marked; `ident` keeps
    its ids unique on a page with several diagrams."""
    marker = f"arrow-{escape(ident)}"
    x0, y0, x1, y1 = diagram.bounds
    x0, y0 = x0 - MARGIN - LABEL_OVERHANG, y0 - MARGIN
    width, height = x1 - x0 + MARGIN + LABEL_OVERHANG, y1 - y0 + MARGIN + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bpmn" role="img" '
        f'viewBox="{_num(x0)} {_num(y0)} {_num(width)} {_num(height)}" '
        f'width="{_num(width)}" height="{_num(height)}">',
        f"<title>{escape(title)}</title>",
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'class="bpmn-arrow"/></marker></defs>',
        *(_edge(edge, progress, marker) for edge in diagram.edges),
        *(_shape(shape, progress) for shape in diagram.shapes),
        "</svg>",
    ]
    return Markup("".join(parts))  # every text part above went through escape()
