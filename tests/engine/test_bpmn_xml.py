"""Uploaded BPMN is parsed safely: no DTDs, entities, XInclude or network; size and depth capped."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpm_livechat.errors import BpmnDocumentError
from bpm_livechat.processes.bpmn.validation import validate_bpmn
from bpm_livechat.processes.bpmn.xml import MAX_BPMN_BYTES, MAX_ELEMENT_DEPTH, parse_bpmn_xml
from bpm_livechat.processes.engine.engine import ProcessEngine
from tests.engine.support import bpmn_bytes

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
DEFS = '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">{}</definitions>'


def _rejected(data: bytes) -> BpmnDocumentError:
    with pytest.raises(BpmnDocumentError) as caught:
        parse_bpmn_xml(data)
    return caught.value


def test_external_file_entity_is_refused_and_the_file_never_read(
    tmp_path: Path, process_engine: ProcessEngine
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    data = (
        HEAD
        + f'<!DOCTYPE definitions [<!ENTITY leak SYSTEM "file://{secret}">]>\n'
        + DEFS.format('<process id="p" name="&leak;"/>')
    ).encode()
    error = _rejected(data)
    assert error.reason == "a DOCTYPE declaration is not allowed (DTDs and entities are refused)"
    assert error.line == 2
    assert "TOP-SECRET" not in str(error)
    report = validate_bpmn(data, (), process_engine.scripts)
    assert [(p.element, p.line) for p in report.errors] == [(None, 2)]
    assert "TOP-SECRET" not in repr(report)


BILLION_LAUGHS = """<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
"""


def test_billion_laughs_is_refused() -> None:
    data = (HEAD + BILLION_LAUGHS + DEFS.format('<process id="p" name="&lol3;"/>')).encode()
    error = _rejected(data)
    assert (error.reason, error.line) == (
        "a DOCTYPE declaration is not allowed (DTDs and entities are refused)",
        2,
    )


def test_external_dtd_is_refused() -> None:
    data = (
        HEAD + '<!DOCTYPE definitions SYSTEM "http://example.invalid/evil.dtd">' + DEFS.format("")
    ).encode()
    assert _rejected(data).reason.startswith("a DOCTYPE declaration is not allowed")


def test_doctype_in_utf16_is_refused() -> None:
    text = '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE x [<!ENTITY a "b">]>' + DEFS.format(
        ""
    )
    error = _rejected(text.encode("utf-16"))
    assert (error.reason, error.line) == (
        "a DOCTYPE declaration is not allowed (DTDs and entities are refused)",
        2,
    )


def test_xinclude_is_refused_and_nothing_included(tmp_path: Path) -> None:
    secret = tmp_path / "included.txt"
    secret.write_text("INCLUDED-CONTENT")
    body = (
        '\n<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
        f'href="file://{secret}" parse="text"/>'
    )
    error = _rejected((HEAD + DEFS.format(body)).encode())
    assert (error.reason, error.line) == ("XInclude is not allowed", 3)


def test_undeclared_entity_is_not_well_formed() -> None:
    error = _rejected((HEAD + DEFS.format('\n<process id="p" name="&undeclared;"/>')).encode())
    assert error.reason.startswith("not well-formed XML: Entity 'undeclared' not defined")
    assert error.line == 3


def test_size_cap_is_checked_before_parsing() -> None:
    data = b"<" * (MAX_BPMN_BYTES + 1)  # not even XML: the size is refused first
    error = _rejected(data)
    assert (
        error.reason
        == f"file is {MAX_BPMN_BYTES + 1} bytes; the limit is {MAX_BPMN_BYTES} bytes (2 MiB)"
    )


def test_depth_cap() -> None:
    deep = "<a>" * MAX_ELEMENT_DEPTH + "</a>" * MAX_ELEMENT_DEPTH
    assert _rejected(DEFS.format(deep).encode()).reason == (
        f"elements are nested deeper than {MAX_ELEMENT_DEPTH} levels"
    )


def test_broken_xml_reports_its_line() -> None:
    error = _rejected(
        b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">\n<process>\n</definitions>'
    )
    assert error.line == 3
    assert error.reason.startswith("not well-formed XML: Opening and ending tag mismatch")


def test_root_must_be_bpmn_definitions() -> None:
    assert _rejected(b"<html><body/></html>").reason.startswith("the root element must be BPMN 2.0")


def test_empty_upload() -> None:
    assert _rejected(b"  \n").reason == "file is empty"


def test_hash_ignores_formatting_but_not_content() -> None:
    source = bpmn_bytes("contact_details.bpmn")
    original = parse_bpmn_xml(source)
    reordered = source.replace(
        b'<bpmn:startEvent id="start" name="Contact details">',
        b'<bpmn:startEvent   name="Contact details" id="start" >',
    )
    renamed = source.replace(b'name="Contact details"', b'name="Contact data"')
    assert reordered != source and renamed != source
    assert parse_bpmn_xml(reordered).content_hash == original.content_hash
    assert parse_bpmn_xml(renamed).content_hash != original.content_hash
    assert len(original.content_hash) == 64
