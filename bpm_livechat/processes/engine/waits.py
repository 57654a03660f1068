"""What a workflow waits for besides a person: due timers, messages, asynchronous continuations.

The product stores these after every step, so a worker wakes the instance when its earliest
timer falls due, the message ingest finds the instance a client's message resumes, and the
session page says what the process waits for ("Escalate: in 4 min").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from bpm_livechat.processes.bpmn.timer_events import (
    ClockedCycleTimer,
    ClockedDateTimer,
    ClockedDurationTimer,
)
from bpm_livechat.processes.engine.runner import held
from bpm_livechat.processes.engine.script_environment import TaskRef

_TIMERS = (ClockedDateTimer, ClockedDurationTimer, ClockedCycleTimer)


@dataclass(frozen=True)
class Wait:
    """One thing the workflow waits for: `kind` timer (with `due`), message (`name` is the
    message), or continue (an asynchronous boundary, due at once); `label` is the element's
    name as people read it."""

    kind: str
    element_id: str
    name: str
    due: datetime | None = None
    label: str = ""


def _tasks(workflow: BpmnWorkflow) -> Iterator[Any]:
    yield from workflow.tasks.values()
    for subprocess in workflow.subprocesses.values():
        yield from subprocess.tasks.values()


def _definitions(definition: Any) -> list[Any]:
    if isinstance(definition, MultipleEventDefinition):
        return list(definition.event_definitions)
    return [definition] if definition is not None else []


def waits_of(workflow: BpmnWorkflow, now: datetime) -> list[Wait]:
    """Every timer, message and continuation the workflow waits for, in a stable order."""
    found: list[Wait] = []
    for task in _tasks(workflow):
        ref = TaskRef.of(task)
        name = ref.name or ref.element_id
        if task.state == TaskState.READY and held(task):
            found.append(Wait("continue", ref.element_id, name, now, name))
            continue
        if task.state != TaskState.WAITING:
            continue
        for definition in _definitions(getattr(task.task_spec, "event_definition", None)):
            if isinstance(definition, _TIMERS):
                due = definition.due(task)
                if due is not None:
                    found.append(Wait("timer", ref.element_id, name, due, name))
            elif isinstance(definition, MessageEventDefinition):
                found.append(Wait("message", ref.element_id, definition.name, None, name))
    return sorted(found, key=lambda w: (w.kind, w.element_id, w.name))
