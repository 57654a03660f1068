"""What SpiffWorkflow's parser refuses, said as a designer can act on it: whole sentences, the
element named, no object addresses."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from bpm_livechat.processes.bpmn.checks import bpmn, local_name
from bpm_livechat.processes.bpmn.event_checks import TIMER_WITHOUT_TIME
from bpm_livechat.processes.bpmn.schema import PREFIXES
from bpm_livechat.processes.bpmn.xml import line_of

_ADDRESS = re.compile(r"<Element (?:\{([^}]*)\})?([\w.:-]+) at 0x[0-9a-fA-F]+>")
_ANY_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_OBJECT = re.compile(r"<([\w.]+) object at 0x[0-9a-fA-F]+>")
_SUBPROCESS_STARTS = re.compile(
    r"^Exactly one start event is required in a SubWorkflow Task; found (\d+)"
)
SENTENCES = {
    "No start event found": "the process has no start event; add a plain start event",
    'No "calledElement" attribute': "the call activity does not say which process it calls "
    "(calledElement)",
    "Cancel Events may only be used with transactions": "a cancel event fits only inside (or on "
    "the boundary of) a transaction subprocess",
    "A loopMaximum or loopCondition must be specified": "a standard loop needs a loopCondition "
    "or a loopMaximum, or it would never end",
    "A multiinstance task must specify exactly one of": "a multi-instance activity says what to "
    "repeat over once: loopCardinality or loopDataInputRef, not both",
}
_DATA_STORE = re.compile(r"^Data Store with name (.*) has no implementation$")


@dataclass(frozen=True)
class Explained:
    """A SpiffWorkflow refusal in our words; `element` and `line` when it names a better place."""

    message: str
    element: str | None = None
    line: int | None = None


def explain(exc: Exception, node: etree._Element | None, root: etree._Element) -> Explained:
    """Our sentence for an exception of SpiffWorkflow's parser about `node` (None if unknown)."""
    text = " ".join(str(exc.args[0]).split()) if exc.args else ""
    if text.startswith("Multiple outgoing flows are not supported") and node is not None:
        return Explained(_multiple_outgoing(node, root))
    for direction in ("Output", "Input"):
        if text.startswith(f"Cannot resolve data{direction}Association") and node is not None:
            return Explained(_unresolved(node, root, direction))
    if "Unknown Time Specification" in text:
        return Explained(TIMER_WITHOUT_TIME)
    if text.startswith("Time Specification Error. "):
        return Explained(f"timer: {text.removeprefix('Time Specification Error. ')}")
    if text.startswith("Non-default exclusive outgoing sequence flow") and node is not None:
        return Explained(_unconditional(node, root))
    for start, sentence in SENTENCES.items():
        if text.startswith(start):
            return Explained(sentence)
    subprocess = _SUBPROCESS_STARTS.match(text)
    if subprocess:
        return Explained(
            "a subprocess needs exactly one plain start event to begin with; this one has "
            f"{subprocess.group(1)}"
        )
    store = _DATA_STORE.match(text)
    if store:
        return _data_store(store.group(1), root)
    message = readable(text) or type(exc).__name__
    if not isinstance(exc, ValidationException):
        message = f"{type(exc).__name__}: {message}" if text else message
    return Explained(message)


def readable(text: str) -> str:
    """No object addresses: an lxml element becomes its tag, another object its class."""

    def tag(match: re.Match[str]) -> str:
        prefix = PREFIXES.get(match.group(1) or "")
        return f"<{prefix}:{match.group(2)}>" if prefix else f"<{match.group(2)}>"

    text = _OBJECT.sub(lambda m: m.group(1).rsplit(".", 1)[-1], _ADDRESS.sub(tag, text))
    return _ANY_ADDRESS.sub("", text)


def _multiple_outgoing(node: etree._Element, root: etree._Element) -> str:
    element_id = node.get("id") or ""
    flows = [
        flow.get("id") or "?"
        for flow in root.iter(bpmn("sequenceFlow"))
        if flow.get("sourceRef") == element_id
    ]
    return (
        f"a {local_name(node)} may have only one outgoing sequence flow; this one has "
        f"{len(flows)} ({', '.join(flows)}): let them leave from a gateway after it (parallel to "
        "follow all, exclusive or inclusive to choose by condition)"
    )


def _unresolved(node: etree._Element, root: etree._Element, direction: str) -> str:
    """Name the references of a data association that point at nothing usable."""
    known = {n.get("id") for n in root.iter() if isinstance(n.tag, str)}
    association, end, verb = (
        ("dataOutputAssociation", "targetRef", "writes to")
        if direction == "Output"
        else ("dataInputAssociation", "sourceRef", "reads from")
    )
    refs = [(ref.text or "").strip() for ref in node.iterfind(f"{bpmn(association)}/{bpmn(end)}")]
    missing = [r for r in refs if r not in known] or refs
    names = ", ".join(repr(r) for r in missing)
    return (
        f"the data {direction.lower()} association {verb} {names}, which is no data object "
        f"or data store reference of this process; point its {end} at a "
        "bpmn:dataObjectReference"
    )


def _unconditional(flow: etree._Element, root: etree._Element) -> str:
    """A flow of an exclusive gateway without a condition that is not the gateway's default."""
    source = flow.get("sourceRef") or ""
    return (
        f"this flow leaves exclusive gateway {source!r} without a condition and is not its "
        "default flow: give it a condition, or make it the gateway's default"
    )


def _data_store(name: str, root: etree._Element) -> Explained:
    stores = [node for tag in ("dataStore", "dataStoreReference") for node in root.iter(bpmn(tag))]
    named = [s for s in stores if s.get("name") == name] or stores
    store = named[0] if named else None
    return Explained(
        f"data store {name!r} cannot be used: data stores are not supported here; keep the "
        "data in task data or in session parameters",
        element=store.get("id") if store is not None else None,
        line=line_of(store),
    )
