"""Deployment validation lists every problem at once, by element id and BPMN line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpm_livechat.processes.bpmn.validation import Problem, ProcessInfo, validate_bpmn
from bpm_livechat.processes.bpmn.xml import parse_bpmn_xml
from bpm_livechat.processes.engine.engine import ProcessEngine
from tests.engine.support import REALWORLD_DIR, bpmn_bytes, line_containing

PARAM_KEYS = {"email", "phone", "segment", "contact_summary", "order_number", "request_status"}


def _line(text: str) -> int:
    return line_containing("faulty.bpmn", text)


def test_faulty_file_reports_all_errors_with_elements_and_lines(
    process_engine: ProcessEngine,
) -> None:
    report = validate_bpmn(bpmn_bytes("faulty.bpmn"), PARAM_KEYS, process_engine.scripts)
    assert not report.ok
    assert report.errors == [
        Problem(
            "start",
            _line('id="level"'),
            "form field 'level': enum field without camunda:value options",
        ),
        Problem("start", _line('id="age"'), "form field 'age': min 10 is greater than max 5"),
        Problem(
            "start",
            _line('id="code"'),
            "form field 'code': invalid pattern '[A-Z': unterminated character set at position 0",
        ),
        Problem(
            "start",
            _line('id="colour"'),
            "form field 'colour': unknown field type 'color'; use one of: string, long, boolean, date, enum",
        ),
        Problem("start", _line('label="Email again"'), "form field 'email': duplicate field id"),
        Problem(
            "broken_script",
            _line("total = (total +"),
            "script line 2: SyntaxError: '(' was never closed",
        ),
        Problem(
            "groovy_script",
            _line('id="groovy_script"'),
            "script format 'groovy' is not supported; scripts must be Python",
        ),
        Problem(
            "java_service",
            _line('id="java_service"'),
            "serviceTask calls a Java class 'org.example.CrmDelegate' (camunda:class), which cannot "
            "run here; use a Python script task",
        ),
        Problem(
            "f_big",
            _line("total &gt;</bpmn:conditionExpression>"),
            "condition 'total >' is not a Python expression (SyntaxError: invalid syntax); "
            "write it in Python",
        ),
        Problem(
            "f_small",
            _line("${total &lt;= 5}"),
            "condition '${total <= 5}' is a JUEL expression; write it in Python",
        ),
        Problem(
            "sneaky_script",
            _line("import os"),
            'script line 1: "os": importing this module is not allowed (allowed: math, datetime, '
            "decimal, json, re).",
        ),
    ]
    assert report.warnings == [
        Problem(
            "start",
            _line('id="nickname"'),
            "form field 'nickname' matches no custom parameter; its value stays in the process data",
        ),
        Problem(
            "params_script",
            _line('"no_such_key"'),
            "session.params['no_such_key'] matches no custom parameter",
        ),
        Problem(
            "params_script",
            _line("another_missing"),
            "session.params['another_missing'] matches no custom parameter",
        ),
    ]


def test_valid_file_reports_processes_and_warnings_only(process_engine: ProcessEngine) -> None:
    data = bpmn_bytes("request_triage.bpmn")
    report = validate_bpmn(data, PARAM_KEYS, process_engine.scripts)
    assert report.errors == []
    assert report.processes == [
        ProcessInfo(
            "register_request", "Register a request <b>now</b>", parse_bpmn_xml(data).content_hash
        )
    ]
    assert [(w.element, w.message) for w in report.warnings] == [
        (
            "received",
            "form field 'request_type' matches no custom parameter; its value stays in the process data",
        ),
        (
            "received",
            "form field 'amount' matches no custom parameter; its value stays in the process data",
        ),
        (
            "review",
            "candidate group 'finance' names no role (operators, supervisors, admins): "
            "only supervisors of the live chat will work the task",
        ),
        (
            "review",
            "form field 'approved' matches no custom parameter; its value stays in the process data",
        ),
        (
            "review",
            "form field 'comment' matches no custom parameter; its value stays in the process data",
        ),
        (
            "review",
            "form field 'follow_up' matches no custom parameter; its value stays in the process data",
        ),
        ("record", "session.params['request_number'] matches no custom parameter"),
        ("record", "session.params['follow_up'] matches no custom parameter"),
    ]
    assert report.warnings[-1].line == line_containing(
        "request_triage.bpmn", 'session.params["follow_up"]'
    )


def test_indented_script_line_maps_to_the_bpmn_line(process_engine: ProcessEngine) -> None:
    data = bpmn_bytes("request_triage.bpmn").replace(
        b'session.params["order_number"] = order_number',
        b'session.params["order_number"] = order_number +',
    )
    report = validate_bpmn(data, PARAM_KEYS, process_engine.scripts)
    line = line_containing("request_triage.bpmn", 'session.params["order_number"] = order_number')
    assert [(p.element, p.line, p.message) for p in report.errors] == [
        ("classify", line, "script line 4: SyntaxError: invalid syntax")
    ]


def test_no_executable_process(process_engine: ProcessEngine) -> None:
    data = bpmn_bytes("contact_details.bpmn").replace(
        b'isExecutable="true"', b'isExecutable="false"'
    )
    report = validate_bpmn(data, PARAM_KEYS, process_engine.scripts)
    assert [p.to_dict() for p in report.errors] == [
        {
            "element": "collect_contact_details",
            "name": "Collect contact details",
            "line": line_containing("contact_details.bpmn", "<bpmn:process "),
            "message": 'the process is not executable (isExecutable="false"); mark it executable '
            "to deploy it",
        }
    ]
    assert report.processes == []


def test_schema_violation_is_reported_with_its_line(process_engine: ProcessEngine) -> None:
    data = bpmn_bytes("contact_details.bpmn").replace(
        b'<bpmn:endEvent id="end" name="Details stored">',
        b'<bpmn:endEvent id="end" name="Details stored" colour="red">',
    )
    report = validate_bpmn(data, PARAM_KEYS, process_engine.scripts)
    assert [(p.element, p.name, p.line) for p in report.errors] == [
        (
            "end",
            "Details stored",
            line_containing("contact_details.bpmn", '<bpmn:endEvent id="end"'),
        )
    ]
    assert report.errors[0].message == (
        "not valid BPMN 2.0: <bpmn:endEvent> has an attribute 'colour', which BPMN 2.0 does not "
        "allow there"
    )


def test_unsafe_upload_is_a_report_not_an_exception(process_engine: ProcessEngine) -> None:
    report = validate_bpmn(
        b'<!DOCTYPE x SYSTEM "http://example.invalid/x.dtd"><x/>', (), process_engine.scripts
    )
    assert report.errors == [
        Problem(None, 1, "a DOCTYPE declaration is not allowed (DTDs and entities are refused)")
    ]


def test_process_hash_is_stable_and_tracks_content(process_engine: ProcessEngine) -> None:
    data = bpmn_bytes("contact_details.bpmn")
    first = validate_bpmn(data, PARAM_KEYS, process_engine.scripts).processes[0].content_hash
    assert (
        validate_bpmn(data, PARAM_KEYS, process_engine.scripts).processes[0].content_hash == first
    )
    changed = data.replace(b"Details stored", b"Details saved")
    assert (
        validate_bpmn(changed, PARAM_KEYS, process_engine.scripts).processes[0].content_hash
        != first
    )


def _realworld_files() -> list[Path]:
    folder = REALWORLD_DIR / "camunda-bpm-examples"
    return sorted(folder.glob("*.bpmn")) if folder.is_dir() else []


@pytest.mark.skipif(not _realworld_files(), reason=f"real-world BPMN not found at {REALWORLD_DIR}")
@pytest.mark.parametrize("path", _realworld_files(), ids=lambda p: p.name[:60])
def test_realworld_file_deploys_or_is_rejected_by_element(
    path: Path, process_engine: ProcessEngine
) -> None:
    report = validate_bpmn(path.read_bytes(), (), process_engine.scripts)
    if report.ok:
        assert report.processes, "a deployable file names its processes"
        return
    known_ids = {
        el.get("id") for el in parse_bpmn_xml(path.read_bytes()).root.iter() if el.get("id")
    }
    for problem in report.errors:
        assert problem.element in known_ids, problem
        assert problem.line is not None and problem.line > 0, problem
        assert "Traceback" not in problem.message and len(problem.message) <= 300


def test_realworld_outcomes_are_the_expected_ones(process_engine: ProcessEngine) -> None:
    files = _realworld_files()
    if not files:
        pytest.skip(f"real-world BPMN not found at {REALWORLD_DIR}")
    reports = {p.name: validate_bpmn(p.read_bytes(), (), process_engine.scripts) for p in files}
    assert len(reports) == 54
    # A call to a process in another file is resolved against deployed processes at deploy.
    calling = sorted(name for name, report in reports.items() if report.ok and report.calls)
    assert [(ref.element, ref.called) for ref in reports[calling[0]].calls] == [
        ("CallActivity_0ahffuc", "subProcess")
    ]
    deployable = sorted(name for name, r in reports.items() if r.ok and not r.calls)
    assert len(deployable) == 13
    groovy = reports["bpmn-model-api_parse-bpmn_src_test_resources_process.bpmn"]
    assert ("scriptTask", "script format 'groovy' is not supported; scripts must be Python") in [
        (p.element, p.message) for p in groovy.errors
    ]
    message_start = reports[
        "startevent_message-start_src_main_resources_message_start_process.bpmn"
    ]
    assert [(p.element, p.message) for p in message_start.errors] == [
        (
            "StartEvent_1",
            "message start events are not supported; bind the process to a session event "
            "instead (process bind-event)",
        )
    ]
