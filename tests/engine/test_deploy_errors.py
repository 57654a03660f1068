"""Deploy errors a designer can act on: each names the element (id, name) and line, in a whole
sentence with no object address, in the wording of what the element is (throw or catch)."""

from __future__ import annotations

import pytest
from lxml import etree

from bpm_livechat.errors import ProcessStepError
from bpm_livechat.processes.bpmn import spiff_messages
from bpm_livechat.processes.bpmn.parser import LivechatBpmnParser
from bpm_livechat.processes.bpmn.validation import DeployReport, validate_bpmn
from bpm_livechat.processes.bpmn.xml import parse_bpmn_xml
from bpm_livechat.processes.engine.engine import ProcessEngine
from tests.engine.support import bpmn_bytes

from .test_engine import snapshot, validate_changes

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"\n'
    '    xmlns:camunda="http://camunda.org/schema/1.0/bpmn"\n'
    '    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"\n'
    '    id="defs" targetNamespace="http://bpm-livechat.example/tests">\n'
)


def document(body: str, before: str = "") -> bytes:
    """A one-process file: start -> (body's elements) -> end, flows written by the caller."""
    return (
        f'{HEAD}{before}<bpmn:process id="p" name="Process" isExecutable="true">\n'
        f"{body}\n</bpmn:process>\n</bpmn:definitions>\n"
    ).encode()


def line_of(data: bytes, text: str) -> int:
    return data.decode().split(text)[0].count("\n") + 1


def validate(engine: ProcessEngine, data: bytes) -> DeployReport:
    return validate_bpmn(data, (), engine.scripts)


def simple(middle: str, *, before: str = "") -> bytes:
    return document(
        '<bpmn:startEvent id="start" name="Begin" />\n'
        f"{middle}\n"
        '<bpmn:endEvent id="end" name="Done" />\n'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="mid" />\n'
        '<bpmn:sequenceFlow id="f2" sourceRef="mid" targetRef="end" />',
        before,
    )


def test_every_problem_names_its_element_and_line(engine: ProcessEngine) -> None:
    data = simple('<bpmn:serviceTask id="mid" name="Call the CRM" camunda:class="org.Crm" />')
    report = validate(engine, data)
    assert [p.to_dict() for p in report.errors] == [
        {
            "element": "mid",
            "name": "Call the CRM",
            "line": line_of(data, 'id="mid"'),
            "message": "serviceTask calls a Java class 'org.Crm' (camunda:class), which cannot "
            "run here; use a Python script task",
        }
    ]
    line = line_of(data, 'id="mid"')
    assert report.errors[0].where() == f"mid 'Call the CRM' (line {line})"


@pytest.mark.parametrize("kind", ["intermediateThrowEvent", "endEvent"])
def test_message_throw_events_send_and_are_worded_as_throws(
    engine: ProcessEngine, kind: str
) -> None:
    """Intermediate and end message throw events are treated alike: sending a message; one that
    names no message, or not client_reply, only warns that it goes nowhere."""
    unnamed = simple(
        f'<bpmn:{kind} id="mid" name="Tell"><bpmn:messageEventDefinition /></bpmn:{kind}>'
    )
    if kind == "endEvent":
        unnamed = unnamed.replace(
            b'<bpmn:sequenceFlow id="f2" sourceRef="mid" targetRef="end" />', b""
        )
    report = validate(engine, unnamed)
    assert report.errors == [] and report.processes
    assert [(w.element, w.name, w.message) for w in report.warnings] == [
        (
            "mid",
            "Tell",
            "sends a message without naming it (no messageRef), which goes nowhere; only a "
            "message named 'client_reply' reaches the client",
        )
    ]
    for text in ("wait", "trigger", "catch"):
        assert text not in report.warnings[0].message
    named = unnamed.replace(
        b"<bpmn:messageEventDefinition />", b'<bpmn:messageEventDefinition messageRef="m" />'
    ).replace(
        b'<bpmn:process id="p"',
        b'<bpmn:message id="m" name="invoice_sent" />\n<bpmn:process id="p"',
    )
    report = validate(engine, named)
    assert report.errors == []
    assert [w.message for w in report.warnings] == [
        "sends message 'invoice_sent', which goes nowhere; only 'client_reply' reaches the client"
    ]
    dangling = unnamed.replace(
        b"<bpmn:messageEventDefinition />", b'<bpmn:messageEventDefinition messageRef="nope" />'
    )
    assert [(p.element, p.message) for p in validate(engine, dangling).errors][:1] == [
        (
            "mid",
            "sends message 'nope', but no bpmn:message has that id",
        )
    ]


def test_message_catch_event_is_worded_as_a_wait(engine: ProcessEngine) -> None:
    data = simple(
        '<bpmn:intermediateCatchEvent id="mid" name="Hear"><bpmn:messageEventDefinition />'
        "</bpmn:intermediateCatchEvent>"
    )
    assert [(p.element, p.name, p.message) for p in validate(engine, data).errors] == [
        (
            "mid",
            "Hear",
            "waits for a message but does not say which (no messageRef to a bpmn:message); a "
            "process can wait for: client_message, operator_message, session_closed, "
            "parameter_changed",
        )
    ]


def gateway_with(condition: str, language: str = "") -> bytes:
    attribute = f' language="{language}"' if language else ""
    return document(
        '<bpmn:startEvent id="start" />\n'
        '<bpmn:exclusiveGateway id="gw" name="Risky?" default="f_no" />\n'
        '<bpmn:endEvent id="yes" /><bpmn:endEvent id="no" />\n'
        '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="gw" />\n'
        '<bpmn:sequenceFlow id="f_yes" name="High risk" sourceRef="gw" targetRef="yes">\n'
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression"{attribute}>{condition}'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>\n"
        '<bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="no" />'
    )


@pytest.mark.parametrize(
    ("condition", "language", "message"),
    [
        (
            '= risk in ["high", "very high"]',
            "",
            """condition '= risk in ["high", "very high"]' is a FEEL expression; write it in Python""",
        ),
        (
            'risk = "high"',
            "https://www.omg.org/spec/DMN/20191111/FEEL/",
            """condition 'risk = "high"' is a FEEL expression; write it in Python""",
        ),
        (
            "${risk == 'high'}",
            "",
            """condition "${risk == 'high'}" is a JUEL expression; write it in Python""",
        ),
        (
            'risk = "high"',
            "",
            """condition 'risk = "high"' is not a Python expression (SyntaxError: invalid """
            "syntax); write it in Python",
        ),
    ],
    ids=["feel", "feel-language", "juel", "not-python"],
)
def test_foreign_conditions_say_write_it_in_python_with_the_expression(
    engine: ProcessEngine, condition: str, language: str, message: str
) -> None:
    data = gateway_with(condition, language)
    report = validate(engine, data)
    assert [(p.element, p.name, p.line, p.message) for p in report.errors] == [
        ("f_yes", "High risk", line_of(data, "<bpmn:conditionExpression"), message)
    ]


def test_multiple_outgoing_flows_of_a_task_is_a_whole_sentence(engine: ProcessEngine) -> None:
    data = document(
        '<bpmn:startEvent id="start" />\n'
        '<bpmn:task id="split" name="Split here" />\n'
        '<bpmn:endEvent id="a" /><bpmn:endEvent id="b" />\n'
        '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="split" />\n'
        '<bpmn:sequenceFlow id="to_a" sourceRef="split" targetRef="a" />\n'
        '<bpmn:sequenceFlow id="to_b" sourceRef="split" targetRef="b" />'
    )
    problems = [(p.element, p.name, p.line, p.message) for p in validate(engine, data).errors]
    assert problems == [
        (
            "split",
            "Split here",
            line_of(data, 'id="split"'),
            "a task may have only one outgoing sequence flow; this one has 2 (to_a, to_b): let "
            "them leave from a gateway after it (parallel to follow all, exclusive or inclusive "
            "to choose by condition)",
        )
    ]


def test_unresolved_data_association_names_the_reference_not_an_address(
    engine: ProcessEngine,
) -> None:
    data = simple(
        '<bpmn:task id="mid" name="Write it"><bpmn:dataOutputAssociation id="out">'
        "<bpmn:targetRef>Nowhere_1</bpmn:targetRef></bpmn:dataOutputAssociation></bpmn:task>"
    )
    problems = [(p.element, p.name, p.message) for p in validate(engine, data).errors]
    assert problems == [
        (
            "mid",
            "Write it",
            "the data output association writes to 'Nowhere_1', which is no data object or data "
            "store reference of this process; point its targetRef at a bpmn:dataObjectReference",
        )
    ]


def test_spiffworkflow_timer_without_specification_says_what_is_missing() -> None:
    data = simple(
        '<bpmn:intermediateCatchEvent id="mid" name="Pause">'
        "<bpmn:timerEventDefinition /></bpmn:intermediateCatchEvent>"
    )
    root = parse_bpmn_xml(data).root
    parser = LivechatBpmnParser(strict_forms=False)
    parser.add_bpmn_xml(root)
    with pytest.raises(Exception) as caught:
        parser.get_subprocess_specs("p")
    node = next(n for n in root.iter() if n.get("id") == "mid")
    assert spiff_messages.explain(caught.value, node, root).message == (
        "the timer does not say when it fires: give it a timeDate, timeDuration or timeCycle "
        "with ISO 8601 text"
    )


def test_schema_problems_are_one_sentence_each_with_the_element(engine: ProcessEngine) -> None:
    data = simple('<bpmn:task id="mid" name="Do"><bpmn:wrong /></bpmn:task>')
    problems = [(p.element, p.name, p.line, p.message) for p in validate(engine, data).errors]
    assert problems[0] == (
        "mid",
        "Do",
        line_of(data, "<bpmn:wrong"),
        "not valid BPMN 2.0: <bpmn:wrong> is not allowed at this place; expected one of "
        "<bpmn:documentation>, <bpmn:extensionElements>, <bpmn:auditing>, <bpmn:monitoring>, "
        "<bpmn:categoryValueRef>, <bpmn:incoming> or 4 more",
    )


def test_duplicate_ids_are_named_as_duplicates(engine: ProcessEngine) -> None:
    data = document(
        '<bpmn:startEvent id="start" />\n'
        '<bpmn:task id="Task_1" name="First" />\n'
        '<bpmn:task id="Task_1" name="Second" />\n'
        '<bpmn:endEvent id="end" />\n'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="Task_1" />\n'
        '<bpmn:sequenceFlow id="f2" sourceRef="Task_1" targetRef="end" />'
    )
    first, second = line_of(data, 'name="First"'), line_of(data, 'name="Second"')
    problems = [(p.element, p.name, p.line, p.message) for p in validate(engine, data).errors]
    assert problems[0] == (
        "Task_1",
        "Second",
        second,
        f"not valid BPMN 2.0: id 'Task_1' is used by two elements, lines {first} and {second}; "
        "ids must be unique",
    )


def test_bpmn_js_correlation_expression_is_preprocessed_as_spiffworkflow_does(
    engine: ProcessEngine,
) -> None:
    """bpmn-js writes formalExpression inside correlationPropertyRetrievalExpression."""
    correlation = (
        '<bpmn:message id="order_msg" name="client_message" />\n'
        '<bpmn:correlationProperty id="order_id" name="Order id">\n'
        '  <bpmn:correlationPropertyRetrievalExpression messageRef="order_msg">\n'
        "    <bpmn:formalExpression>order_id</bpmn:formalExpression>\n"
        "  </bpmn:correlationPropertyRetrievalExpression>\n"
        "</bpmn:correlationProperty>\n"
    )
    data = simple('<bpmn:task id="mid" name="Do" />', before=correlation)
    report = validate(engine, data)
    assert report.errors == []
    # the document itself is left as uploaded
    root = parse_bpmn_xml(data).root
    assert root.find(".//{*}formalExpression") is not None


def test_camunda_collection_multi_instance_deploys_and_runs(engine: ProcessEngine) -> None:
    data = bpmn_bytes("camunda_collection.bpmn")
    report = validate(engine, data)
    assert (report.errors, report.warnings) == ([], [])
    parsed = engine.parse(data)
    result = engine.start(
        parsed,
        "greet_each",
        {"contacts": ["Ann", "Bo"]},
        session=snapshot(),
        validate_changes=validate_changes,
    )
    assert [t.element_id for t in result.tasks] == ["review"]
    workflow = engine.create_workflow(parsed, "greet_each", {"contacts": ["Ann", "Bo", "Cy"]})
    engine.run(workflow, session=snapshot(), validate_changes=validate_changes)
    greetings = sorted(
        t.data["greeting"] for t in workflow.get_tasks() if t.task_spec.name == "greet [child]"
    )
    assert greetings == ["Hello Ann", "Hello Bo", "Hello Cy"]
    review = next(t for t in workflow.get_tasks() if t.task_spec.name == "review")
    assert "contact" not in review.data  # each instance's item stays its own


@pytest.mark.parametrize("sequential", [True, False], ids=["sequential", "parallel"])
def test_missing_collection_fails_at_the_multi_instance_task(
    engine: ProcessEngine, sequential: bool
) -> None:
    data = bpmn_bytes("camunda_collection.bpmn")
    if not sequential:
        data = data.replace(b'isSequential="true"', b"")
    with pytest.raises(ProcessStepError) as caught:
        engine.start(
            engine.parse(data),
            "greet_each",
            {},
            session=snapshot(),
            validate_changes=validate_changes,
        )
    assert (caught.value.element_id, caught.value.element_name, caught.value.reason) == (
        "greet",
        "Greet contact",
        "the collection to repeat over, 'contacts', is not in the task data; set it (in a form "
        "or a script task) before this task",
    )


def test_engine_failure_while_preparing_the_next_task_names_that_task(
    engine: ProcessEngine,
) -> None:
    """A collection that cannot be iterated fails inside SpiffWorkflow while the start event
    runs; the failure is the multi-instance task's, not the start event's."""
    data = bpmn_bytes("camunda_collection.bpmn").replace(b'isSequential="true"', b"")
    with pytest.raises(ProcessStepError) as caught:
        engine.start(
            engine.parse(data),
            "greet_each",
            {"contacts": 5},
            session=snapshot(),
            validate_changes=validate_changes,
        )
    assert caught.value.element_id == "greet"


@pytest.mark.parametrize(
    ("collection", "message"),
    [
        (
            "${contacts.subList(0, 2)}",
            "camunda:collection '${contacts.subList(0, 2)}' must name a task data variable (such "
            "as 'orders' or '${orders}'); compute the list in a script task before this one",
        ),
    ],
)
def test_collection_that_is_not_a_variable_is_refused(
    engine: ProcessEngine, collection: str, message: str
) -> None:
    data = bpmn_bytes("camunda_collection.bpmn").replace(b"${contacts}", collection.encode())
    assert [(p.element, p.message) for p in validate(engine, data).errors][:1] == [
        ("greet", message)
    ]


def test_no_message_shows_an_address_or_an_lxml_element() -> None:
    root = etree.fromstring(b"<a><targetRef/></a>")
    exc = ValueError(f"Cannot parse {root[0]!r} with {object()!r}")
    message = spiff_messages.explain(exc, None, root).message
    assert "0x" not in message and "<Element" not in message


def test_spiffworkflow_refusals_are_our_sentences(engine: ProcessEngine) -> None:
    no_start = document('<bpmn:task id="alone" name="Alone" />')
    assert [(p.element, p.message) for p in validate(engine, no_start).errors] == [
        ("p", "the process has no start event; add a plain start event")
    ]
    bare_flow = document(
        '<bpmn:startEvent id="start" />\n'
        '<bpmn:exclusiveGateway id="gw" name="Which?" />\n'
        '<bpmn:endEvent id="a" /><bpmn:endEvent id="b" />\n'
        '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="gw" />\n'
        '<bpmn:sequenceFlow id="to_a" name="Always" sourceRef="gw" targetRef="a" />\n'
        '<bpmn:sequenceFlow id="to_b" sourceRef="gw" targetRef="b" />'
    )
    problems = [(p.element, p.name, p.message) for p in validate(engine, bare_flow).errors]
    assert problems == [
        (
            "to_a",
            "Always",
            "this flow leaves exclusive gateway 'gw' without a condition and is not its default "
            "flow: give it a condition, or make it the gateway's default",
        )
    ]
