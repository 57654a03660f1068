"""Element-level deployment checks: scripts, expressions, and the Camunda features we cannot run."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Collection, Iterator

from lxml import etree

from bpm_livechat.processes.bpmn.assignment import (
    AssignmentSyntaxError,
    group_role,
    parse_groups,
    parse_people,
)
from bpm_livechat.processes.bpmn.decision_checks import check_business_rule_task
from bpm_livechat.processes.bpmn.report import CallRef, DeployReport
from bpm_livechat.processes.bpmn.xml import BPMN_NS, CAMUNDA_NS, NSMAP, line_of
from script_runtime import ScriptChecker

PYTHON_FORMATS = frozenset({"", "python", "python3", "text/x-python", "py"})
FOREIGN_LANGUAGES = {
    "feel": "FEEL",
    "/dmn/": "FEEL (DMN)",
    "xpath": "XPath",
    "juel": "JUEL",
    "javascript": "JavaScript",
    "js": "JavaScript",
    "groovy": "Groovy",
}
JAVA_IMPLEMENTATIONS = {
    "class": "a Java class",
    "expression": "a Java (JUEL) expression",
    "delegateExpression": "a Java delegate expression",
}
UNSUPPORTED_EXTENSIONS = {
    "executionListener": "execution listeners (camunda:executionListener) are not supported",
    "taskListener": "task listeners (camunda:taskListener) are not supported",
    "inputOutput": "input/output mappings (camunda:inputOutput) are not supported (except a "
    "client_reply's 'text' parameter)",
    "connector": "connectors (camunda:connector) are not supported",
}
_SESSION_PARAM_RE = re.compile(
    r"""session\s*\.\s*params\s*(?:\[\s*|\.\s*(?:get|set|pop|setdefault)\s*\(\s*)(['"])([^'"\\]+)\1"""
)


def bpmn(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def camunda(name: str) -> str:
    return f"{{{CAMUNDA_NS}}}{name}"


def local_name(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def script_source(text: str) -> str:
    """The Python source of a script body: dedented, so indented XML still runs; lines are kept."""
    return textwrap.dedent(text)


def expression_source(text: str) -> tuple[str, int]:
    """An expression without surrounding blank lines and indentation, and the lines removed."""
    stripped = text.lstrip()
    skipped = text[: len(text) - len(stripped)].count("\n")
    return stripped.strip(), skipped


def check_script(
    report: DeployReport, scripts: ScriptChecker, element_id: str, body: etree._Element
) -> None:
    """Report every compile or policy problem of a script, at its BPMN line."""
    base = line_of(body) or 0
    for problem in scripts.check(script_source(body.text or ""), mode="exec"):
        line = base + problem.line - 1 if problem.line and base else None
        where = f"script line {problem.line}: " if problem.line else ""
        report.error(element_id, line, f"{where}{problem.message}")


def check_expression(
    report: DeployReport,
    scripts: ScriptChecker,
    element_id: str | None,
    node: etree._Element,
    what: str,
) -> None:
    """Report problems of a Python expression (a condition, timer, cardinality...)."""
    expression, skipped = expression_source(node.text or "")
    line = (line_of(node) or 0) + skipped or None
    if not expression:
        report.error(element_id, line, f"{what} is empty")
        return
    foreign = foreign_language(expression, node.get("language"))
    if foreign:
        report.error(element_id, line, f"{what} {expression!r} is {foreign}; write it in Python")
        return
    for problem in scripts.check(expression, mode="eval"):
        at = line + problem.line - 1 if line and problem.line else line
        if problem.message.startswith("SyntaxError"):
            report.error(
                element_id,
                at,
                f"{what} {expression!r} is not a Python expression ({problem.message}); "
                "write it in Python",
            )
        else:
            report.error(element_id, at, f"{what} {expression!r}: {problem.message}")


def foreign_language(expression: str, language: str | None) -> str | None:
    """What an expression is written in when that is not Python ("a FEEL expression"), or None."""
    named = (language or "").strip().lower()
    for key, label in FOREIGN_LANGUAGES.items():
        if named == key or (len(key) > 2 and key in named):  # also a language URI with it
            return f"a {label} expression"
    if expression.startswith(("${", "#{")):
        return "a JUEL expression"
    if expression.startswith("=") and not expression.startswith("=="):
        return "a FEEL expression"
    if named and named not in PYTHON_FORMATS:
        return f"in the language {language!r}"
    return None


def session_param_keys(source: str) -> Iterator[tuple[int, str]]:
    """(script line, key) of each literal session.params key a script reads or writes."""
    for match in _SESSION_PARAM_RE.finditer(source):
        yield source.count("\n", 0, match.start()) + 1, match.group(2)


def check_script_task(
    report: DeployReport,
    scripts: ScriptChecker,
    node: etree._Element,
    param_keys: Collection[str],
) -> None:
    element_id = node.get("id")
    script_format = (node.get("scriptFormat") or "").strip().lower()
    line = line_of(node)
    if script_format not in PYTHON_FORMATS:
        report.error(
            element_id,
            line,
            f"script format {node.get('scriptFormat')!r} is not supported; scripts must be Python",
        )
        return
    if node.get(camunda("resource")):
        report.error(
            element_id, line, "external script resources (camunda:resource) are not supported"
        )
        return
    if node.get(camunda("resultVariable")):
        report.error(
            element_id, line, "camunda:resultVariable is not supported; assign in the script"
        )
    body = node.find(bpmn("script"))
    if body is None or not (body.text or "").strip():
        report.error(element_id, line, "script task has no script")
        return
    check_script(report, scripts, element_id or "", body)
    base = line_of(body) or 0
    for script_line, key in session_param_keys(script_source(body.text or "")):
        if key not in param_keys:
            report.warn(
                element_id,
                base + script_line - 1 if base else None,
                f"session.params[{key!r}] matches no custom parameter",
            )


def check_service_like(report: DeployReport, node: etree._Element) -> None:
    """Service, send and business rule tasks: name the implementation we cannot run."""
    element_id, line, kind = node.get("id"), line_of(node), local_name(node)
    if kind == "businessRuleTask":
        check_business_rule_task(report, node)
        return
    for attribute, label in JAVA_IMPLEMENTATIONS.items():
        value = node.get(camunda(attribute))
        if value:
            report.error(
                element_id,
                line,
                f"{kind} calls {label} {value!r} (camunda:{attribute}), which cannot run here; "
                "use a Python script task",
            )
            return
    if node.get(camunda("type")) == "external":
        topic = node.get(camunda("topic")) or ""
        report.error(
            element_id,
            line,
            f"{kind} is an external task (topic {topic!r}); external workers are not supported",
        )
        return
    if kind == "sendTask":
        return  # its message is checked with the events (event_checks)
    report.error(
        element_id, line, f"{kind} has no implementation that can run here; use a script task"
    )


def check_extensions(report: DeployReport, node: etree._Element) -> None:
    """Camunda extension elements that would be silently ignored are errors."""
    extensions = node.find(bpmn("extensionElements"))
    if extensions is None:
        return
    for child in extensions:
        name = local_name(child)
        if name == "inputOutput" and _only_reply_text(child):
            continue  # a client_reply's text (see event_checks)
        if etree.QName(child).namespace == CAMUNDA_NS and name in UNSUPPORTED_EXTENSIONS:
            report.error(node.get("id"), line_of(child), UNSUPPORTED_EXTENSIONS[name])


def _only_reply_text(input_output: etree._Element) -> bool:
    """True for camunda:inputOutput holding just a `text` input parameter."""
    parts = [(local_name(p), p.get("name")) for p in input_output]
    return parts == [("inputParameter", "text")]


def check_loops(report: DeployReport, scripts: ScriptChecker, node: etree._Element) -> None:
    element_id = node.get("id")
    loop = node.find(bpmn("multiInstanceLoopCharacteristics"))
    if loop is not None:
        collection = loop.get(camunda("collection"))
        if collection is not None:
            check_collection(report, element_id, loop, collection)
        for tag, what in (
            ("loopCardinality", "loop cardinality"),
            ("completionCondition", "completion condition"),
        ):
            found = loop.find(bpmn(tag))
            if found is not None:
                check_expression(report, scripts, element_id, found, what)
    standard = node.find(bpmn("standardLoopCharacteristics"))
    condition = standard.find(bpmn("loopCondition")) if standard is not None else None
    if condition is not None:
        check_expression(report, scripts, element_id, condition, "loop condition")


def collection_variable(text: str) -> str | None:
    """The task data variable a camunda:collection names ('orders' or '${orders}'), or None."""
    name = text.strip()
    if name.startswith("${") and name.endswith("}"):
        name = name[2:-1].strip()
    return name if name.isidentifier() else None


def check_collection(
    report: DeployReport, element_id: str | None, loop: etree._Element, collection: str
) -> None:
    """camunda:collection must name one task data variable; nothing else may say how many."""
    line = line_of(loop)
    if collection_variable(collection) is None:
        report.error(
            element_id,
            line,
            f"camunda:collection {collection!r} must name a task data variable (such as "
            "'orders' or '${orders}'); compute the list in a script task before this one",
        )
    others = [t for t in ("loopCardinality", "loopDataInputRef") if loop.find(bpmn(t)) is not None]
    if others:
        report.error(
            element_id,
            line,
            f"camunda:collection and {others[0]} both say what to repeat over; keep one",
        )
    element = loop.get(camunda("elementVariable"))
    if element is not None and not element.strip().isidentifier():
        report.error(
            element_id, line, f"camunda:elementVariable {element!r} is not a variable name"
        )


def check_user_task(report: DeployReport, node: etree._Element) -> None:
    element_id, line = node.get("id"), line_of(node)
    form_key = node.get(camunda("formKey"))
    has_fields = node.find(f"{bpmn('extensionElements')}/{camunda('formData')}") is not None
    if form_key and not has_fields:
        report.warn(
            element_id, line, f"form key {form_key!r} names a form this product cannot show"
        )
    check_assignment(report, node, element_id, line)


def check_assignment(
    report: DeployReport, node: etree._Element, element_id: str | None, line: int | None
) -> None:
    """Refuse assignee, candidateUsers and candidateGroups values nobody could resolve."""
    for attribute in ("assignee", "candidateUsers"):
        try:
            people = parse_people(node.get(camunda(attribute)))
        except AssignmentSyntaxError as exc:
            report.error(element_id, line, f"camunda:{attribute}: {exc}")
            continue
        if attribute == "assignee" and len(people) > 1:
            report.error(element_id, line, "camunda:assignee names more than one person")
    try:
        groups = parse_groups(node.get(camunda("candidateGroups")))
    except AssignmentSyntaxError as exc:
        report.error(element_id, line, f"camunda:candidateGroups: {exc}")
        return
    for group in groups:
        if group_role(group) is None:
            report.warn(
                element_id,
                line,
                f"candidate group {group!r} names no role (operators, supervisors, admins): "
                "only supervisors of the live chat will work the task",
            )


def check_flow(
    report: DeployReport, scripts: ScriptChecker, flow: etree._Element, gateways: dict[str, str]
) -> None:
    condition = flow.find(bpmn("conditionExpression"))
    if condition is None:
        return
    source = flow.get("sourceRef") or ""
    if gateways.get(source) not in ("exclusiveGateway", "inclusiveGateway"):
        report.error(
            flow.get("id"),
            line_of(condition),
            "conditions are only supported on flows leaving an exclusive or inclusive gateway",
        )
        return
    check_expression(report, scripts, flow.get("id"), condition, "condition")


CALL_BINDINGS = ("latest", "version", "deployment")


def check_call_activity(
    report: DeployReport, node: etree._Element, process_ids: set[str], caller: str
) -> None:
    """A call activity's binding; a call of a process in another file is kept in `report.calls`
    for the deployment to resolve (deployed already, or deployed together)."""
    called = node.get("calledElement")
    element_id, line = node.get("id"), line_of(node)
    binding = node.get(f"{{{CAMUNDA_NS}}}calledElementBinding") or "latest"
    raw_version = node.get(f"{{{CAMUNDA_NS}}}calledElementVersion")
    version: int | None = None
    if binding not in CALL_BINDINGS:
        report.error(
            element_id,
            line,
            f"camunda:calledElementBinding {binding!r} is not supported; "
            "use latest, version or deployment",
        )
    elif binding == "version":
        version = int(raw_version) if raw_version and raw_version.strip().isdigit() else None
        if version is None or version < 1:
            report.error(
                element_id,
                line,
                "camunda:calledElementBinding is version, but camunda:calledElementVersion "
                f"{raw_version!r} is not a version number (1, 2, ...)",
            )
    if called and called not in process_ids:
        name = node.get("name")
        report.calls.append(CallRef(caller, element_id or "", name, line, called, binding, version))
    extensions = node.find(bpmn("extensionElements"))
    if extensions is not None and any(
        local_name(c) in ("in", "out") and etree.QName(c).namespace == CAMUNDA_NS
        for c in extensions
    ):
        report.warn(
            element_id,
            line,
            "camunda:in/out mappings are ignored; the called process sees all task data",
        )


def elements(process: etree._Element) -> Iterator[etree._Element]:
    """Every BPMN element inside a process, subprocesses included."""
    for node in process.iter():
        if isinstance(node.tag, str) and etree.QName(node).namespace == BPMN_NS:
            yield node


def gateway_kinds(process: etree._Element) -> dict[str, str]:
    """Element id -> local tag name, for telling gateway sources of sequence flows apart."""
    return {node.get("id") or "": local_name(node) for node in elements(process) if node.get("id")}


def xpath_nodes(node: etree._Element, path: str) -> list[etree._Element]:
    found = node.xpath(path, namespaces=NSMAP)
    return [n for n in found if isinstance(n, etree._Element)] if isinstance(found, list) else []
