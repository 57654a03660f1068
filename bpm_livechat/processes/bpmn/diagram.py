"""The diagram interchange of a BPMN file (BPMNShape bounds, BPMNEdge waypoints), as plain data."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from bpm_livechat.processes.bpmn.xml import BPMN_NS, BPMNDI_NS, DC_NS, parse_bpmn_xml

DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
MAX_DIAGRAM_ITEMS = 2_000


@dataclass(frozen=True)
class Shape:
    """One drawn element: its BPMN id, kind (task, start, end, event, gateway, other), name, bounds."""

    element_id: str
    kind: str
    name: str
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Edge:
    """One drawn flow: its id, source and target element ids, and its waypoints."""

    element_id: str
    source: str
    target: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Diagram:
    """The shapes and edges of the first plane of a BPMN file."""

    shapes: tuple[Shape, ...]
    edges: tuple[Edge, ...]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min x, min y, max x, max y) over every shape and waypoint."""
        xs = [s.x for s in self.shapes] + [p[0] for e in self.edges for p in e.points]
        ys = [s.y for s in self.shapes] + [p[1] for e in self.edges for p in e.points]
        xe = [s.x + s.width for s in self.shapes] + xs
        ye = [s.y + s.height for s in self.shapes] + ys
        return (min(xs, default=0), min(ys, default=0), max(xe, default=0), max(ye, default=0))


def _kind(localname: str) -> str:
    if localname in {"startEvent", "endEvent"}:
        return localname.removesuffix("Event")
    if localname.endswith("Event"):
        return "event"
    if localname.endswith("Gateway"):
        return "gateway"
    if localname in {"task", "subProcess", "callActivity"} or localname.endswith("Task"):
        return "task"
    return "other"


def _number(node: etree._Element, name: str) -> float:
    try:
        return float(node.get(name, "0"))
    except ValueError:
        return 0.0


def read_diagram(bpmn: bytes) -> Diagram | None:
    """The diagram of a BPMN file, or None when it has no diagram interchange."""
    root = parse_bpmn_xml(bpmn).root
    elements: dict[str, etree._Element] = {}
    for node in root.iter(f"{{{BPMN_NS}}}*"):
        ident = node.get("id")
        if ident:
            elements[ident] = node
    plane = next(root.iter(f"{{{BPMNDI_NS}}}BPMNPlane"), None)
    if plane is None:
        return None
    shapes: list[Shape] = []
    edges: list[Edge] = []
    for node in plane.iter(f"{{{BPMNDI_NS}}}BPMNShape", f"{{{BPMNDI_NS}}}BPMNEdge"):
        if len(shapes) + len(edges) >= MAX_DIAGRAM_ITEMS:
            break
        ref = node.get("bpmnElement", "")
        element = elements.get(ref)
        local = etree.QName(element).localname if element is not None else ""
        if etree.QName(node).localname == "BPMNShape":
            bounds = node.find(f"{{{DC_NS}}}Bounds")
            if bounds is None:
                continue
            name = element.get("name", "") if element is not None else ""
            shapes.append(
                Shape(
                    ref,
                    _kind(local),
                    name,
                    _number(bounds, "x"),
                    _number(bounds, "y"),
                    _number(bounds, "width"),
                    _number(bounds, "height"),
                )
            )
        else:
            points = tuple(
                (_number(p, "x"), _number(p, "y")) for p in node.iter(f"{{{DI_NS}}}waypoint")
            )
            source = element.get("sourceRef", "") if element is not None else ""
            target = element.get("targetRef", "") if element is not None else ""
            if len(points) >= 2:
                edges.append(Edge(ref, source, target, points))
    return Diagram(tuple(shapes), tuple(edges))
