"""Deployment checks of events: timers (ISO 8601 text or expressions), messages of the session's
conversation (what a process can wait for), and `client_reply` (how a process talks to the
client). Every problem names the element and its line."""

from __future__ import annotations

from typing import cast

from lxml import etree

from bpm_livechat.processes.bpmn.checks import (
    bpmn,
    camunda,
    check_expression,
    expression_source,
    local_name,
)
from bpm_livechat.processes.bpmn.replies import CLIENT_REPLY, REPLY_VARIABLE, template_problem
from bpm_livechat.processes.bpmn.report import DeployReport
from bpm_livechat.processes.bpmn.timers import (
    EXAMPLES,
    TimerKind,
    TimerTextError,
    check_text,
    is_iso_text,
    looks_like_cron,
)
from bpm_livechat.processes.bpmn.xml import line_of
from bpm_livechat.sessions.events import CONVERSATION_MESSAGES
from script_runtime import ScriptChecker

TIMER_WITHOUT_TIME = (
    "the timer does not say when it fires: give it a timeDate, timeDuration or timeCycle with "
    "ISO 8601 text"
)
CATCHING = ("intermediateCatchEvent", "boundaryEvent", "receiveTask")
THROWING = ("intermediateThrowEvent", "endEvent", "sendTask")
TIMER_KINDS = ("timeDate", "timeDuration", "timeCycle")
START_EVENTS_REFUSED = {
    "messageEventDefinition": "message start events are not supported; bind the process to a "
    "session event instead (process bind-event)",
    "conditionalEventDefinition": "conditional start events are not supported",
    "timerEventDefinition": "timer start events are not supported; processes start from a "
    "session, or wait with an intermediate timer",
}
_WAITABLE = ", ".join(CONVERSATION_MESSAGES)


def message_names(root: etree._Element) -> dict[str, str]:
    """bpmn:message ids -> their names."""
    return {m.get("id") or "": m.get("name") or "" for m in root.iter(bpmn("message"))}


def check_events(
    report: DeployReport,
    scripts: ScriptChecker,
    node: etree._Element,
    top_level: bool,
    messages: dict[str, str],
) -> None:
    """Start events we cannot trigger, timers, and the messages an event waits for or sends."""
    kind = local_name(node)
    definitions = {local_name(d): d for d in node if local_name(d).endswith("EventDefinition")}
    element_id, line = node.get("id"), line_of(node)
    if kind == "startEvent" and top_level:
        refused = [d for d in definitions if d in START_EVENTS_REFUSED]
        for definition in refused:
            report.error(element_id, line, START_EVENTS_REFUSED[definition])
        if refused:
            return
    as_task = kind in ("receiveTask", "sendTask")
    if kind in CATCHING + THROWING and (as_task or "messageEventDefinition" in definitions):
        source = node if as_task else definitions["messageEventDefinition"]
        if kind in CATCHING:
            _check_catch(report, node, source.get("messageRef"), messages)
        else:
            _check_throw(report, node, source.get("messageRef"), messages)
    for timer in node.iterfind(bpmn("timerEventDefinition")):
        check_timer(report, scripts, node, timer)
    for condition in node.iterfind(f"{bpmn('conditionalEventDefinition')}/{bpmn('condition')}"):
        check_expression(report, scripts, element_id, condition, "event condition")


def _check_catch(
    report: DeployReport, node: etree._Element, ref: str | None, messages: dict[str, str]
) -> None:
    """A message catch event or receive task: it must wait for a message of the conversation."""
    element_id, line = node.get("id"), line_of(node)
    if not ref:
        report.error(
            element_id,
            line,
            "waits for a message but does not say which (no messageRef to a bpmn:message); a "
            f"process can wait for: {_WAITABLE}",
        )
        return
    name = messages.get(ref)
    if not name:
        report.error(
            element_id,
            line,
            f"waits for message {ref!r}, but no bpmn:message with a name has that id; a process "
            f"can wait for: {_WAITABLE}",
        )
        return
    if name not in CONVERSATION_MESSAGES:
        report.error(
            element_id,
            line,
            f"waits for message {name!r}, which nothing here sends; a process can wait for: "
            f"{_WAITABLE}",
        )


def _check_throw(
    report: DeployReport, node: etree._Element, ref: str | None, messages: dict[str, str]
) -> None:
    """A message throw event (intermediate or end) or send task sends a message: 'client_reply'
    reaches the client; any other message is sent to nobody, which is allowed with a warning."""
    element_id, line = node.get("id"), line_of(node)
    if not ref:
        report.warn(
            element_id,
            line,
            "sends a message without naming it (no messageRef), which goes nowhere; only a "
            f"message named {CLIENT_REPLY!r} reaches the client",
        )
        return
    if ref not in messages:
        report.error(element_id, line, f"sends message {ref!r}, but no bpmn:message has that id")
        return
    name = messages[ref] or ref
    if name != CLIENT_REPLY:
        report.warn(
            element_id,
            line,
            f"sends message {name!r}, which goes nowhere; only {CLIENT_REPLY!r} reaches the client",
        )
        return
    template = reply_text(node)
    if template is None:
        report.warn(
            element_id,
            line,
            f"{CLIENT_REPLY} without a 'text' input parameter sends task data {REPLY_VARIABLE!r}",
        )
        return
    problem = template_problem(template)
    if problem is not None:
        report.error(element_id, line, problem)


def reply_text(node: etree._Element) -> str | None:
    """The element's `text` input parameter (camunda:inputOutput), if any."""
    path = f"{bpmn('extensionElements')}/{camunda('inputOutput')}/{camunda('inputParameter')}"
    for parameter in node.iterfind(path):
        if parameter.get("name") == "text":
            return parameter.text or ""
    return None


def check_timer(
    report: DeployReport, scripts: ScriptChecker, node: etree._Element, timer: etree._Element
) -> None:
    """A timer's text: ISO 8601 of its kind, or a Python expression that gives such text."""
    element_id = node.get("id")
    specs = [child for child in timer if local_name(child) in TIMER_KINDS]
    if not specs:
        report.error(element_id, line_of(timer), TIMER_WITHOUT_TIME)
        return
    spec = specs[0]
    kind = local_name(spec)
    timer_kind = cast(TimerKind, kind)
    line = line_of(spec)
    text, _skipped = expression_source(spec.text or "")
    if kind == "timeCycle" and not _repeats_here(node):
        report.error(
            element_id,
            line,
            "a repeating timer (timeCycle) fits only a non-interrupting boundary event; use "
            "timeDuration or timeDate here",
        )
        return
    if looks_like_cron(text):
        example = EXAMPLES[timer_kind]
        report.error(
            element_id,
            line,
            f"cron text {text!r} is not supported; write ISO 8601 such as {example}",
        )
        return
    if is_iso_text(timer_kind, text):
        try:
            check_text(timer_kind, text)
        except TimerTextError as exc:
            report.error(element_id, line, f"{kind}: {exc}")
        return
    check_expression(report, scripts, element_id, spec, f"timer {kind}")


def _repeats_here(node: etree._Element) -> bool:
    """Only a non-interrupting boundary event can fire again and again."""
    return local_name(node) == "boundaryEvent" and node.get("cancelActivity") == "false"
