"""Safe parsing of uploaded BPMN bytes: no DTDs, no entities, no network, bounded size and depth."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from lxml import etree

from bpm_livechat.errors import BpmnDocumentError

MAX_BPMN_BYTES = 2 * 1024 * 1024
MAX_ELEMENT_DEPTH = 64

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
XINCLUDE_NAMESPACES = ("http://www.w3.org/2001/XInclude", "http://www.w3.org/2003/XInclude")
NSMAP = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "dc": DC_NS, "camunda": CAMUNDA_NS}

# A DOCTYPE is refused before libxml2 sees the bytes, in each encoding an XML file may use; the
# post-parse docinfo check below catches anything this byte scan could miss.
_CODECS = ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")


@dataclass(frozen=True)
class BpmnDocument:
    """A parsed BPMN file: the lxml root and a hash of its canonical form."""

    root: etree._Element
    content_hash: str


def _safe_parser() -> etree.XMLParser:
    # Every protection set explicitly instead of trusting lxml's defaults.
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        no_network=True,
        huge_tree=False,
        remove_pis=True,
        remove_comments=True,
        collect_ids=False,
        strip_cdata=True,
    )


def parse_bpmn_xml(data: bytes) -> BpmnDocument:
    """Parse uploaded bytes safely or raise BpmnDocumentError naming the reason and line."""
    root = parse_untrusted_xml(data)
    if etree.QName(root).localname != "definitions" or etree.QName(root).namespace != BPMN_NS:
        raise BpmnDocumentError(
            f"the root element must be BPMN 2.0 <definitions> (namespace {BPMN_NS})",
            root.sourceline,
        )
    canonical = etree.tostring(root, method="c14n2", strip_text=True)
    return BpmnDocument(root=root, content_hash=hashlib.sha256(canonical).hexdigest())


def parse_untrusted_xml(data: bytes) -> etree._Element:
    """Parse uploaded XML (BPMN or DMN) safely: size cap, no DOCTYPE, entities or XInclude."""
    if len(data) > MAX_BPMN_BYTES:
        raise BpmnDocumentError(
            f"file is {len(data)} bytes; the limit is {MAX_BPMN_BYTES} bytes (2 MiB)"
        )
    if not data.strip():
        raise BpmnDocumentError("file is empty")
    for codec in _CODECS:
        index = data.find("<!DOCTYPE".encode(codec))
        if index >= 0:
            line = data[:index].decode(codec, errors="ignore").count("\n") + 1
            raise BpmnDocumentError(
                "a DOCTYPE declaration is not allowed (DTDs and entities are refused)", line
            )
    try:
        root = etree.fromstring(data, parser=_safe_parser())
    except etree.XMLSyntaxError as exc:
        raise BpmnDocumentError(f"not well-formed XML: {exc.msg}", exc.lineno or None) from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise BpmnDocumentError("a DOCTYPE declaration is not allowed", 1)
    _check_elements(root)
    return root


def _check_elements(root: etree._Element) -> None:
    """Refuse entity references, XInclude elements and documents nested deeper than the cap."""
    depth = 0
    for event, node in etree.iterwalk(root, events=("start", "end")):
        if event == "end":
            depth -= 1
            continue
        depth += 1
        if depth > MAX_ELEMENT_DEPTH:
            raise BpmnDocumentError(
                f"elements are nested deeper than {MAX_ELEMENT_DEPTH} levels", node.sourceline
            )
        if isinstance(node.tag, str) and etree.QName(node).namespace in XINCLUDE_NAMESPACES:
            raise BpmnDocumentError("XInclude is not allowed", node.sourceline)
        for child in node:
            if isinstance(child, etree._Entity):
                raise BpmnDocumentError(
                    f"entity reference {child.text} is not allowed", child.sourceline
                )


def line_of(node: etree._Element | None) -> int | None:
    """The 1-based source line of an element, or None."""
    if node is None:
        return None
    line = node.sourceline
    return int(line) if line else None
