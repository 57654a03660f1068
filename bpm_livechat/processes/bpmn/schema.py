"""The BPMN 2.0 schema check: SpiffWorkflow's preprocessing, then one readable sentence per problem."""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import XSD_PATH

from bpm_livechat.processes.bpmn.xml import BPMN_NS, BPMNDI_NS, CAMUNDA_NS, DC_NS, line_of

MAX_SCHEMA_ERRORS = 10
MAX_EXPECTED = 6
PREFIXES = {
    BPMN_NS: "bpmn",
    BPMNDI_NS: "bpmndi",
    DC_NS: "dc",
    "http://www.omg.org/spec/DD/20100524/DI": "di",
    CAMUNDA_NS: "camunda",
}
_QNAME = re.compile(r"\{([^}]*)\}([\w.-]+)")
_ELEMENT = re.compile(r"^Element '([^']*)'(?:, attribute '([^']*)')?: (.*)$", re.S)
_EXPECTED = re.compile(r"Expected is (?:one of )?\( (.*?) \)\.?", re.S)
_NOT_ID = re.compile(r"^'([^']*)' is not a valid value of the atomic type 'xs:ID'\.?$")

_schema_lock = threading.Lock()
_schema: etree.XMLSchema | None = None


@dataclass(frozen=True)
class SchemaProblem:
    """One schema violation: the element it is about (id when it has one), the line, a sentence."""

    element: str | None
    line: int | None
    message: str


def _bpmn_schema() -> etree.XMLSchema:
    """The BPMN 2.0 XSD that ships with SpiffWorkflow, loaded once (local trusted files)."""
    global _schema
    with _schema_lock:
        if _schema is None:
            _schema = etree.XMLSchema(etree.parse(XSD_PATH))
        return _schema


def preprocessed(root: etree._Element) -> etree._Element:
    """A copy of the document prepared as SpiffWorkflow's BpmnValidator prepares it.

    bpmn-js writes a correlation property's retrieval expression as `bpmn:formalExpression`
    where the schema wants `bpmn:messagePath`; SpiffWorkflow renames it before validating, and so
    do we (on a copy: the document itself is left as uploaded).
    """
    found = root.iter(f"{{{BPMN_NS}}}formalExpression")
    renamed = [
        node
        for node in found
        if etree.QName(node.getparent()).localname == "correlationPropertyRetrievalExpression"
    ]
    if not renamed:
        return root
    prepared = copy.deepcopy(root)
    for node in prepared.iter(f"{{{BPMN_NS}}}formalExpression"):
        parent = node.getparent()
        if etree.QName(parent).localname == "correlationPropertyRetrievalExpression":
            node.tag = f"{{{BPMN_NS}}}messagePath"
    return prepared


def schema_problems(root: etree._Element) -> list[SchemaProblem]:
    """Every BPMN 2.0 schema violation (at most MAX_SCHEMA_ERRORS), each one readable sentence."""
    schema = _bpmn_schema()
    if schema.validate(preprocessed(root)):
        return []
    lines = _ids_by_line(root)
    duplicates = duplicate_ids(root)
    problems: list[SchemaProblem] = []
    seen: set[tuple[str | None, str]] = set()
    for entry in schema.error_log:
        line = entry.line or None
        element = lines.get(line) if line else None
        message = f"not valid BPMN 2.0: {summarise(entry.message, duplicates)}"
        if (element, message) in seen:
            continue
        seen.add((element, message))
        problems.append(SchemaProblem(element, line, message))
        if len(problems) == MAX_SCHEMA_ERRORS:
            break
    return problems


def duplicate_ids(root: etree._Element) -> dict[str, list[int]]:
    """Ids used by more than one element -> the lines of those elements."""
    lines: dict[str, list[int]] = {}
    for node in root.iter():
        if isinstance(node.tag, str) and node.get("id"):
            lines.setdefault(node.get("id") or "", []).append(line_of(node) or 0)
    return {key: found for key, found in lines.items() if len(found) > 1}


def duplicate_id_sentence(element_id: str, lines: list[int]) -> str:
    """ "id 'Task_1' is used by two elements, lines 12 and 30"."""
    count = {2: "two", 3: "three"}.get(len(lines), str(len(lines)))
    shown = [str(n) for n in lines]
    where = ", ".join(shown[:-1]) + f" and {shown[-1]}"
    return f"id {element_id!r} is used by {count} elements, lines {where}; ids must be unique"


def summarise(message: str, duplicates: dict[str, list[int]]) -> str:
    """One sentence for an XSD message: prefixed names, a short list of what was expected."""
    flat = " ".join(message.split())
    match = _ELEMENT.match(flat)
    if match is None:
        return _names(flat)
    element, attribute, rest = match.group(1), match.group(2), match.group(3)
    tag = _name(element)
    not_id = _NOT_ID.match(rest)
    if attribute == "id" and not_id:
        value = not_id.group(1)
        if value in duplicates:
            return duplicate_id_sentence(value, duplicates[value])
        return f"<{tag}> id {value!r} is not a valid id (a letter or '_' first, no spaces or ':')"
    expected = _expected(rest)
    if rest.startswith("Missing child element(s)."):
        return f"<{tag}> lacks a required child element: expected {expected}"
    if rest.startswith("This element is not expected."):
        what = f"; expected {expected}" if expected else ""
        return f"<{tag}> is not allowed at this place{what}"
    if rest.startswith("Character content other than whitespace is not allowed"):
        return f"<{tag}> may not contain text"
    if attribute and rest.startswith(f"The attribute '{attribute}' is not allowed"):
        return f"<{tag}> has an attribute {attribute!r}, which BPMN 2.0 does not allow there"
    required = re.match(r"The attribute '([^']*)' is required but missing", rest)
    if required:
        return f"<{tag}> lacks its required attribute {required.group(1)!r}"
    subject = f"<{tag}> attribute {attribute!r}" if attribute else f"<{tag}>"
    return f"{subject}: {_names(rest)}"


def _expected(rest: str) -> str:
    match = _EXPECTED.search(rest)
    if match is None:
        return ""
    names = [_name(part.strip()) for part in match.group(1).split(",") if part.strip()]
    shown = [f"<{name}>" for name in names[:MAX_EXPECTED]]
    more = f" or {len(names) - MAX_EXPECTED} more" if len(names) > MAX_EXPECTED else ""
    if len(shown) == 1:
        return shown[0]
    return "one of " + ", ".join(shown) + more


def _name(qualified: str) -> str:
    """'{http://www.omg.org/spec/BPMN/20100524/MODEL}task' -> 'bpmn:task'."""
    match = _QNAME.fullmatch(qualified)
    if match is None:
        return qualified.strip("'")
    prefix = PREFIXES.get(match.group(1))
    return f"{prefix}:{match.group(2)}" if prefix else match.group(2)


def _names(text: str) -> str:
    return _QNAME.sub(lambda m: _name(m.group(0)), text)


def _ids_by_line(root: etree._Element) -> dict[int, str]:
    """Source line -> the id of the element starting there, or of its nearest ancestor with one."""
    found: dict[int, str] = {}
    for node in _elements(root):
        line = line_of(node)
        if not line or line in found:
            continue
        owner: etree._Element | None = node
        while owner is not None and not owner.get("id"):
            owner = owner.getparent()
        if owner is not None:
            found[line] = owner.get("id") or ""
    return found


def _elements(root: etree._Element) -> Iterator[etree._Element]:
    for node in root.iter():
        if isinstance(node.tag, str):
            yield node
