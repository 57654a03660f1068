"""Deployment checks of events, as a table: each small BPMN snippet gives exactly these errors
and warnings, by element id and line; the valid ones deploy."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from bpm_livechat.processes.bpmn.validation import Problem, validate_bpmn
from bpm_livechat.processes.deployments import DeploymentRejected, deploy
from bpm_livechat.processes.engine.engine import ProcessEngine
from tests.support import Desk, flows, process_bpmn

MESSAGES = ("client_reply", "client_message", "order_paid", "notify_crm")
WAITABLE = "client_message, operator_message, session_closed, parameter_changed"


def timer_catch(kind: str, text: str) -> str:
    return f"""
    <bpmn:startEvent id="start" />
    <bpmn:intermediateCatchEvent id="wait" name="Wait">
      <bpmn:timerEventDefinition>
        <bpmn:{kind}>{text}</bpmn:{kind}>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end" />{flows("start", "wait", "end")}"""


def timer_boundary(kind: str, text: str, cancel: bool) -> str:
    flag = "" if cancel else ' cancelActivity="false"'
    return f"""
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="answer" name="Answer" />
    <bpmn:boundaryEvent id="remind" attachedToRef="answer"{flag}>
      <bpmn:timerEventDefinition>
        <bpmn:{kind}>{text}</bpmn:{kind}>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="end" />
    <bpmn:endEvent id="reminded" />{flows("start", "answer", "end")}{flows("remind", "reminded")}"""


def between(element: str) -> str:
    """`element` (id "it") between a start and an end event."""
    return f"""
    <bpmn:startEvent id="start" />
    {element}
    <bpmn:endEvent id="end" />{flows("start", "it", "end")}"""


def text_input(text: str | None) -> str:
    if text is None:
        return ""
    return (
        "\n      <bpmn:extensionElements><camunda:inputOutput>"
        f'<camunda:inputParameter name="text">{text}</camunda:inputParameter>'
        "</camunda:inputOutput></bpmn:extensionElements>"
    )


def send_task(message: str, text: str | None = None) -> str:
    return between(
        f'<bpmn:sendTask id="it" name="Tell" messageRef="{message}">{text_input(text)}\n'
        "    </bpmn:sendTask>"
    )


def throw_event(message: str, text: str | None = None) -> str:
    return between(
        f'<bpmn:intermediateThrowEvent id="it" name="Tell">{text_input(text)}\n'
        f'      <bpmn:messageEventDefinition messageRef="{message}" />\n'
        "    </bpmn:intermediateThrowEvent>"
    )


def catch_message(message: str) -> str:
    return between(
        '<bpmn:intermediateCatchEvent id="it" name="Hear">\n'
        f'      <bpmn:messageEventDefinition messageRef="{message}" />\n'
        "    </bpmn:intermediateCatchEvent>"
    )


def start_with(definition: str) -> str:
    return f"""
    <bpmn:startEvent id="start">
      {definition}
    </bpmn:startEvent>
    <bpmn:endEvent id="end" />{flows("start", "end")}"""


ISO_DURATION = "is not an ISO 8601 duration (e.g. PT15M, P1D)"

# (body, element, marker on the reported line, message); element None: no problem at all.
ERRORS = [
    pytest.param(
        timer_catch("timeDuration", "PT15X"), "wait", "PT15X",
        f"timeDuration: 'PT15X' {ISO_DURATION}", id="bad-duration",
    ),
    pytest.param(
        timer_catch("timeDuration", "PT"), "wait", ">PT<",
        f"timeDuration: 'PT' {ISO_DURATION}", id="duration-without-parts",
    ),
    pytest.param(
        timer_catch("timeDate", "2026-13-45T18:00:00Z"), "wait", "2026-13-45",
        "timeDate: '2026-13-45T18:00:00Z' is not an ISO 8601 date-time (e.g. 2026-12-24T18:00:00Z)",
        id="bad-date",
    ),
    pytest.param(
        timer_catch("timeDuration", "0 9 * * 1-5"), "wait", "0 9 * * 1-5",
        "cron text '0 9 * * 1-5' is not supported; write ISO 8601 such as PT15M or P1D",
        id="cron-duration",
    ),
    pytest.param(
        timer_boundary("timeCycle", "0 9 * * 1-5", cancel=False), "remind", "0 9 * * 1-5",
        "cron text '0 9 * * 1-5' is not supported; write ISO 8601 such as R3/PT1H",
        id="cron-cycle",
    ),
    pytest.param(
        between('<bpmn:intermediateCatchEvent id="it"><bpmn:timerEventDefinition />'
                "</bpmn:intermediateCatchEvent>"),
        "it", "timerEventDefinition", "the timer does not say when it fires: give it a timeDate, timeDuration or timeCycle with "
        "ISO 8601 text",
        id="empty-timer",
    ),
    pytest.param(
        timer_catch("timeDuration", ""), "wait", "<bpmn:timeDuration>",
        "timer timeDuration is empty", id="empty-duration",
    ),
    pytest.param(
        timer_catch("timeDuration", "${duration}"), "wait", "${duration}",
        "timer timeDuration '${duration}' is a JUEL expression; write it in Python", id="juel",
    ),
    pytest.param(
        timer_catch("timeDuration", 'f"PT{minutes"'), "wait", "PT{minutes",
        "timer timeDuration 'f\"PT{minutes\"' is not a Python expression (SyntaxError: f-string: "
        "expecting '}'); write it in Python", id="broken-expression",
    ),
    pytest.param(
        timer_boundary("timeCycle", "R3/PT1H", cancel=True), "remind", "R3/PT1H",
        "a repeating timer (timeCycle) fits only a non-interrupting boundary event; use "
        "timeDuration or timeDate here",
        id="cycle-on-interrupting-boundary",
    ),
    pytest.param(
        timer_catch("timeCycle", "R3/PT1H"), "wait", "R3/PT1H",
        "a repeating timer (timeCycle) fits only a non-interrupting boundary event; use "
        "timeDuration or timeDate here",
        id="cycle-on-catch",
    ),
    pytest.param(
        timer_boundary("timeCycle", "R3/PT0M", cancel=False), "remind", "R3/PT0M",
        "timeCycle: 'R3/PT0M': the interval must be longer than zero", id="zero-interval",
    ),
    pytest.param(
        catch_message("order_paid"), "it", '<bpmn:intermediateCatchEvent id="it"',
        f"waits for message 'order_paid', which nothing here sends; a process can wait for: "
        f"{WAITABLE}",
        id="catch-unknown-message",
    ),
    pytest.param(
        between('<bpmn:receiveTask id="it" name="Hear" />'), "it", '<bpmn:receiveTask id="it"',
        "waits for a message but does not say which (no messageRef to a bpmn:message); a process "
        "can wait for: client_message, operator_message, session_closed, parameter_changed", id="receive-without-message",
    ),
    pytest.param(
        between('<bpmn:receiveTask id="it" name="Hear" messageRef="nope" />'), "it",
        '<bpmn:receiveTask id="it"', "waits for message 'nope', but no bpmn:message with a name has that id; a process can "
        "wait for: client_message, operator_message, session_closed, parameter_changed",
        id="receive-undeclared-message",
    ),
    pytest.param(
        send_task("client_reply", "Hello {client.name}"), "it", '<bpmn:sendTask id="it"',
        "placeholder {client.name} must be a plain variable name", id="reply-attribute",
    ),
    pytest.param(
        throw_event("client_reply", "Hello {name!r}"), "it", '<bpmn:intermediateThrowEvent id="it"',
        "placeholder {name!r} must be a plain variable name", id="reply-conversion",
    ),
    pytest.param(
        send_task("client_reply", "Hello {name"), "it", '<bpmn:sendTask id="it"',
        "the reply text is not a valid template: expected '}' before end of string",
        id="reply-unclosed",
    ),
    pytest.param(
        start_with('<bpmn:messageEventDefinition messageRef="client_message" />'), "start",
        '<bpmn:startEvent id="start">',
        "message start events are not supported; bind the process to a session event instead "
        "(process bind-event)",
        id="message-start",
    ),
    pytest.param(
        start_with("<bpmn:timerEventDefinition><bpmn:timeDuration>PT1M</bpmn:timeDuration>"
                   "</bpmn:timerEventDefinition>"),
        "start", '<bpmn:startEvent id="start">',
        "timer start events are not supported; processes start from a session, or wait with an "
        "intermediate timer",
        id="timer-start",
    ),
]  # fmt: skip

WARNINGS = [
    pytest.param(
        throw_event("notify_crm"), '<bpmn:intermediateThrowEvent id="it"',
        "sends message 'notify_crm', which goes nowhere; only 'client_reply' reaches the client",
        id="throw-other-message",
    ),
    pytest.param(
        send_task("order_paid"), '<bpmn:sendTask id="it"',
        "sends message 'order_paid', which goes nowhere; only 'client_reply' reaches the client",
        id="send-other-message",
    ),
    pytest.param(
        send_task("client_reply"), '<bpmn:sendTask id="it"',
        "client_reply without a 'text' input parameter sends task data 'reply_text'",
        id="reply-without-text",
    ),
]  # fmt: skip

VALID = [
    pytest.param(timer_catch("timeDuration", "PT15M"), id="duration"),
    pytest.param(timer_catch("timeDuration", "P1DT2H30M"), id="long-duration"),
    pytest.param(timer_catch("timeDate", "2026-12-24T18:00:00Z"), id="date"),
    pytest.param(timer_catch("timeDuration", 'f"PT{minutes}M"'), id="expression"),
    pytest.param(timer_boundary("timeCycle", "R3/PT1H", cancel=False), id="cycle"),
    pytest.param(timer_boundary("timeCycle", "R/PT10M", cancel=False), id="endless-cycle"),
    pytest.param(timer_boundary("timeDuration", "PT10M", cancel=True), id="boundary"),
    pytest.param(catch_message("client_message"), id="catch-client-message"),
    pytest.param(
        between('<bpmn:receiveTask id="it" name="Hear" messageRef="client_message" />'),
        id="receive-client-message",
    ),
    pytest.param(send_task("client_reply", "Hello {who}, see {link}"), id="reply"),
    pytest.param(throw_event("client_reply", "Bye"), id="thrown-reply"),
]


def _line(xml: bytes, marker: str) -> int:
    lines = [n for n, line in enumerate(xml.decode().splitlines(), 1) if marker in line]
    assert len(lines) == 1, f"{marker!r} on lines {lines}"
    return lines[0]


@pytest.mark.parametrize(("body", "element", "marker", "message"), ERRORS)
def test_refused_events(
    process_engine: ProcessEngine, body: str, element: str, marker: str, message: str
) -> None:
    xml = process_bpmn(body, messages=MESSAGES)
    report = validate_bpmn(xml, set(), process_engine.scripts)
    assert (report.errors, report.warnings) == ([Problem(element, _line(xml, marker), message)], [])


@pytest.mark.parametrize(("body", "marker", "message"), WARNINGS)
def test_events_deployed_with_a_warning(
    process_engine: ProcessEngine, body: str, marker: str, message: str
) -> None:
    xml = process_bpmn(body, messages=MESSAGES)
    report = validate_bpmn(xml, set(), process_engine.scripts)
    assert (report.errors, report.warnings) == ([], [Problem("it", _line(xml, marker), message)])


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
@pytest.mark.parametrize("body", VALID)
def test_valid_events_deploy(
    db_session: Session, desk: Desk, process_engine: ProcessEngine, body: str
) -> None:
    xml = process_bpmn(body, messages=MESSAGES)
    result = deploy(db_session, process_engine.scripts, xml, desk.admin, [desk.support])
    assert ([(p.id, p.version, p.created) for p in result.processes], result.warnings) == (
        [("timed", 1, True)],
        [],
    )


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_deploy_refuses_every_event_problem_at_once(
    db_session: Session, desk: Desk, process_engine: ProcessEngine
) -> None:
    body = f"""
    <bpmn:startEvent id="start" />
    <bpmn:intermediateCatchEvent id="paid">
      <bpmn:messageEventDefinition messageRef="order_paid" />
    </bpmn:intermediateCatchEvent>
    <bpmn:sendTask id="greet" messageRef="client_reply">{text_input("Hi {client.name}")}
    </bpmn:sendTask>
    <bpmn:endEvent id="end" />{flows("start", "paid", "greet", "end")}"""
    xml = process_bpmn(body, messages=MESSAGES)
    with pytest.raises(DeploymentRejected) as caught:
        deploy(db_session, process_engine.scripts, xml, desk.admin, [desk.support])
    assert [(p.element, p.line) for p in caught.value.problems] == [
        ("paid", _line(xml, 'id="paid"')),
        ("greet", _line(xml, 'id="greet"')),
    ]
    assert caught.value.message.startswith("BPMN rejected: waits for message 'order_paid'")
    paid_line = _line(xml, 'id="paid"')
    assert caught.value.message.endswith(f"(paid, line {paid_line}) and 1 more problem(s)")
