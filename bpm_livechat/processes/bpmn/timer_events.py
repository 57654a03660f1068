"""Timer event definitions that read the engine's clock and take plain ISO 8601 text or an expression.

SpiffWorkflow's timers read the system clock and evaluate their text as an expression; these
ask the script engine for the time (so a test or a worker moves it) and take `PT15M` as it is
written in Camunda Modeler. Each timer remembers when it falls due (`due`), which the product
stores so a worker wakes the instance then.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.util import PendingBpmnEvent

from bpm_livechat.errors import ProcessStepError
from bpm_livechat.processes.bpmn.timers import (
    EXAMPLES,
    TimerKind,
    TimerTextError,
    check_text,
    due_after,
    is_iso_text,
    parse_cycle,
)


class _ClockedTimer:
    """What every timer here shares: the time, and its text from ISO or an expression."""

    kind: TimerKind
    expression: str
    name: str

    @staticmethod
    def now(my_task: Any) -> datetime:
        """The engine's time (its clock, injected where the engine is built)."""
        now: datetime = my_task.workflow.top_workflow.script_engine.now()
        return now

    def text(self, my_task: Any) -> str:
        """The timer's ISO 8601 text: written as such, or given by its expression."""
        source = (self.expression or "").strip()
        if is_iso_text(self.kind, source):
            text = source
        else:
            value = my_task.workflow.script_engine.evaluate(my_task, source)
            if not isinstance(value, str):
                example = EXAMPLES[self.kind]
                raise _error(my_task, f"timer gave {value!r}, not ISO 8601 text such as {example}")
            text = value
        try:
            check_text(self.kind, text)
        except TimerTextError as exc:
            raise _error(my_task, str(exc)) from None
        return text


def _error(my_task: Any, message: str) -> ProcessStepError:
    spec = my_task.task_spec
    element_id = getattr(spec, "bpmn_id", None) or spec.name
    return ProcessStepError(
        "engine", message, element_id=element_id, element_name=getattr(spec, "bpmn_name", None)
    )


class _OnceTimer(_ClockedTimer):
    """A timer that fires once: at a date, or a duration after it started waiting."""

    def due(self, my_task: Any) -> datetime:
        """When it falls due (decided the first time it waits, then kept)."""
        value = my_task._get_internal_data("event_value")
        if value is None:
            value = due_after(self.kind, self.text(my_task), self.now(my_task)).isoformat()
            my_task._set_internal_data(event_value=value)
        return datetime.fromisoformat(value)

    def has_fired(self, my_task: Any) -> bool:
        """True once the engine's time reached the due time."""
        if self.due(my_task) <= self.now(my_task):
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))

    def details(self, my_task: Any) -> PendingBpmnEvent:
        return PendingBpmnEvent(self.name, type(self).__name__, self.due(my_task).isoformat())


class ClockedDateTimer(_OnceTimer, TimeDateEventDefinition):  # type: ignore[misc]
    """`timeDate`: fires at a date-time."""

    kind: TimerKind = "timeDate"


class ClockedDurationTimer(_OnceTimer, DurationTimerEventDefinition):  # type: ignore[misc]
    """`timeDuration`: fires a duration after it started waiting."""

    kind: TimerKind = "timeDuration"


class ClockedCycleTimer(_ClockedTimer, CycleTimerEventDefinition):  # type: ignore[misc]
    """`timeCycle` (`R3/PT1H`): fires repeatedly, on non-interrupting boundary events."""

    kind: TimerKind = "timeCycle"

    def _state(self, my_task: Any) -> dict[str, Any]:
        state = my_task._get_internal_data("event_value")
        if state is None:
            cycle = parse_cycle(self.text(my_task))
            start = cycle.start or self.now(my_task) + cycle.interval
            left = -1 if cycle.repetitions is None else cycle.repetitions
            state = {
                "left": left,
                "next": start.isoformat(),
                "seconds": cycle.interval.total_seconds(),
            }
        return dict(state)

    def cycle_complete(self, my_task: Any) -> bool:
        """True when a repetition is due now (the engine then starts its path once more)."""
        state = self._state(my_task)
        ready = False
        if state["left"] != 0:
            due = datetime.fromisoformat(state["next"])
            if due <= self.now(my_task):
                state["next"] = (due + timedelta(seconds=state["seconds"])).isoformat()
                state["left"] -= 1 if state["left"] > 0 else 0
                ready = True
            my_task._set_internal_data(event_value=state)
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        return ready

    def due(self, my_task: Any) -> datetime | None:
        """When the next repetition falls due; None when every repetition has fired."""
        state = self._state(my_task)
        return None if state["left"] == 0 else datetime.fromisoformat(state["next"])

    def details(self, my_task: Any) -> PendingBpmnEvent:
        due = self.due(my_task)
        return PendingBpmnEvent(self.name, type(self).__name__, due.isoformat() if due else None)


CLOCKED = {
    TimeDateEventDefinition: ClockedDateTimer,
    DurationTimerEventDefinition: ClockedDurationTimer,
    CycleTimerEventDefinition: ClockedCycleTimer,
}


def clocked(definition: TimerEventDefinition) -> TimerEventDefinition:
    """The clocked timer for a SpiffWorkflow timer definition (same name, text, description)."""
    kind = CLOCKED[type(definition)]
    timer: TimerEventDefinition = kind(
        definition.name, definition.expression, description=definition.description
    )
    return timer
