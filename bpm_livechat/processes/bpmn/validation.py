"""Deployment validation: every problem of an uploaded BPMN file at once, by element id and line."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from bpm_livechat.errors import BpmnDocumentError
from bpm_livechat.processes.bpmn import checks, event_checks, spiff_messages
from bpm_livechat.processes.bpmn.amplifiers import check_amplifiers
from bpm_livechat.processes.bpmn.budget import check_step_seconds
from bpm_livechat.processes.bpmn.forms import read_form
from bpm_livechat.processes.bpmn.parser import LivechatBpmnParser, in_file_specs
from bpm_livechat.processes.bpmn.report import DeployReport, Problem, ProcessInfo
from bpm_livechat.processes.bpmn.schema import schema_problems
from bpm_livechat.processes.bpmn.xml import BpmnDocument, line_of, parse_bpmn_xml
from script_runtime import ScriptChecker

__all__ = ["DeployReport", "Problem", "ProcessInfo", "validate_bpmn", "validate_document"]

SERVICE_LIKE = ("serviceTask", "sendTask", "businessRuleTask")
EVENTS = (
    "startEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
    "endEvent",
    "receiveTask",
    "sendTask",
)


def validate_bpmn(data: bytes, param_keys: Collection[str], scripts: ScriptChecker) -> DeployReport:
    """Validate an uploaded BPMN file before anything is stored; never raises for bad input.

    `scripts` compiles every script and expression (in the sandbox, so a compiler crash costs
    only a worker).
    """
    try:
        document = parse_bpmn_xml(data)
    except BpmnDocumentError as exc:
        report = DeployReport()
        report.error(None, exc.line, exc.reason)
        return report
    return validate_document(document, param_keys, scripts)


def validate_document(
    document: BpmnDocument, param_keys: Collection[str], scripts: ScriptChecker
) -> DeployReport:
    """Validate a safely parsed document: schema, our element checks, forms, then SpiffWorkflow."""
    report = DeployReport()
    _check_schema(report, document.root)
    processes = checks.xpath_nodes(document.root, "./bpmn:process")
    executable = [p for p in processes if p.get("isExecutable", "true") == "true"]
    if not executable:
        _no_executable(report, document.root, processes)
        return _located(report, document.root)
    process_ids = {p.get("id") or "" for p in processes}
    messages = event_checks.message_names(document.root)
    for process in executable:
        _check_process(report, scripts, process, process_ids, param_keys, messages)
        check_amplifiers(report, process)
        check_step_seconds(report, process)
    _check_with_spiff(report, document, executable)
    for process in executable:
        process_id = process.get("id") or ""
        name = process.get("name") or process_id
        report.processes.append(ProcessInfo(process_id, name, document.content_hash))
    return _located(report, document.root)


def _check_schema(report: DeployReport, root: etree._Element) -> None:
    for problem in schema_problems(root):
        report.error(problem.element, problem.line, problem.message)


def _no_executable(
    report: DeployReport, root: etree._Element, processes: list[etree._Element]
) -> None:
    """Name the processes that are not executable, or the document that has none."""
    if not processes:
        report.error(
            None,
            line_of(root),
            "the file has no bpmn:process (only a diagram or collaboration without a process)",
        )
    for process in processes:
        report.error(
            process.get("id"),
            line_of(process),
            'the process is not executable (isExecutable="false"); mark it executable to deploy it',
        )


def _located(report: DeployReport, root: etree._Element) -> DeployReport:
    """Every problem with its element's name, and the element's line where none was given."""
    nodes: dict[str, list[etree._Element]] = {}
    for node in root.iter():
        if isinstance(node.tag, str) and node.get("id"):
            nodes.setdefault(node.get("id") or "", []).append(node)

    def located(problem: Problem) -> Problem:
        found = nodes.get(problem.element or "")
        if not found:
            return problem
        # of elements sharing an id (a refused duplicate), the one at the problem's line
        node = next((n for n in found if line_of(n) == problem.line), found[0])
        name = " ".join((node.get("name") or "").split()) or None
        return dataclasses.replace(problem, name=name, line=problem.line or line_of(node))

    report.errors = [located(p) for p in report.errors]
    report.warnings = [located(p) for p in report.warnings]
    return report


def _check_process(
    report: DeployReport,
    scripts: ScriptChecker,
    process: etree._Element,
    process_ids: set[str],
    param_keys: Collection[str],
    messages: dict[str, str],
) -> None:
    gateways = checks.gateway_kinds(process)
    for node in checks.elements(process):
        kind = checks.local_name(node)
        if kind == "scriptTask":
            checks.check_script_task(report, scripts, node, param_keys)
        elif kind in SERVICE_LIKE:
            checks.check_service_like(report, node)
        elif kind == "userTask":
            checks.check_user_task(report, node)
        elif kind == "callActivity":
            checks.check_call_activity(report, node, process_ids, process.get("id") or "")
        elif kind == "sequenceFlow":
            checks.check_flow(report, scripts, node, gateways)
        if kind in EVENTS:
            top_level = node.getparent() is process
            event_checks.check_events(report, scripts, node, top_level, messages)
        if kind in ("startEvent", "userTask"):
            _check_form(report, node, param_keys)
        checks.check_loops(report, scripts, node)
        checks.check_extensions(report, node)


def _check_form(report: DeployReport, node: etree._Element, param_keys: Collection[str]) -> None:
    definition = read_form(node)
    element_id = node.get("id")
    for problem in definition.problems:
        name = f"form field {problem.field_id!r}" if problem.field_id else "form field"
        report.error(element_id, problem.line, f"{name}: {problem.message}")
    for form_field in definition.fields:
        if form_field.id not in param_keys:
            report.warn(
                element_id,
                form_field.line,
                f"form field {form_field.id!r} matches no custom parameter; "
                "its value stays in the process data",
            )


def _check_with_spiff(
    report: DeployReport, document: BpmnDocument, executable: list[etree._Element]
) -> None:
    """Build the SpiffWorkflow specs; report what it rejects, unless we already named the element."""
    parser = LivechatBpmnParser(strict_forms=False)
    try:
        parser.add_document(document)
    except Exception as exc:  # SpiffWorkflow raises many types; each becomes a report line
        _spiff_problem(report, document, exc)
        return
    for process in executable:
        try:
            in_file_specs(parser, process.get("id") or "")
        except Exception as exc:  # as above: never a traceback for a bad upload
            if not _explained(report, process, exc):
                _spiff_problem(report, document, exc, fallback=process.get("id"))


def _explained(report: DeployReport, process: etree._Element, exc: Exception) -> bool:
    """True when our own checks already reported an error that SpiffWorkflow tripped over.

    SpiffWorkflow stops at its first problem and often names only the process, so a failure
    without an element of its own, in a process we already rejected, adds nothing.
    """
    own = getattr(exc, "id", "") if isinstance(exc, ValidationException) else ""
    reported = {p.element for p in report.errors}
    if own:
        return own in reported
    inside = {node.get("id") for node in checks.elements(process)}
    return bool(reported & inside)


def _spiff_problem(
    report: DeployReport, document: BpmnDocument, exc: Exception, fallback: str | None = None
) -> None:
    element = (getattr(exc, "id", "") or None) if isinstance(exc, ValidationException) else None
    node = _by_id(document.root, element)
    found = spiff_messages.explain(exc, node, document.root)
    element = found.element or element or fallback
    node = _by_id(document.root, element) if node is None or found.element else node
    report.errors.append(Problem(element, found.line or line_of(node), found.message))


def _by_id(root: etree._Element, element_id: str | None) -> etree._Element | None:
    if not element_id:
        return None
    for node in root.iter():
        if node.get("id") == element_id:
            return node
    return None
