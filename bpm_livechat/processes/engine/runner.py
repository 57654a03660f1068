"""Running one engine step with runaway bounds, and turning every failure into ProcessStepError."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowDataException
from SpiffWorkflow.bpmn.specs.defaults import ManualTask, NoneTask, UserTask
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import ThrowingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from bpm_livechat.errors import CapacityError, ProcessStepError
from bpm_livechat.processes.bpmn.amplifiers import MAX_LIVE_TASKS
from bpm_livechat.processes.bpmn.parser import ASYNC_AFTER, ASYNC_BEFORE, REPLY_TEMPLATE
from bpm_livechat.processes.bpmn.replies import CLIENT_REPLY, render_reply
from bpm_livechat.processes.bpmn.spiff_messages import readable
from bpm_livechat.processes.engine.script_environment import (
    SandboxEnvironment,
    StepState,
    TaskRef,
    reserved_key_path,
)


@dataclass(frozen=True)
class EngineLimits:
    """Runaway bounds for one instance; hitting one fails the step like a script limit.

    `step_seconds` is the default wall-clock budget of one step (engine work and scripts
    together); a process may set its own with the `livechat:stepSeconds` property.
    """

    max_steps_per_call: int = 500
    max_live_tasks: int = MAX_LIVE_TASKS
    max_multi_instance: int = 100
    max_call_depth: int = 5
    step_seconds: float = 10.0


HOLD = "livechat_hold"  # internal data: held after a task with camunda:asyncAfter
RELEASED = "livechat_released"  # internal data: a camunda:asyncBefore task may run now


def held(task: Any) -> bool:
    """True for a task waiting at an asynchronous boundary for its continuation."""
    if task._get_internal_data(HOLD, False):
        return True
    spec = task.task_spec
    return bool(getattr(spec, ASYNC_BEFORE, False)) and not task._get_internal_data(RELEASED, False)


# Tasks holding a token; SpiffWorkflow also keeps predicted (FUTURE, LIKELY, MAYBE) tasks for
# every element ahead, which grow with the diagram, not with a runaway process.
PASS_THROUGH = (NoneTask, ManualTask)
ACTIVE_STATES = TaskState.READY | TaskState.STARTED | TaskState.WAITING | TaskState.ERROR


class StepRunner:
    """Runs engine tasks of one workflow for one call, counting steps and checking the caps."""

    def __init__(
        self, workflow: BpmnWorkflow, environment: SandboxEnvironment, limits: EngineLimits
    ) -> None:
        self.workflow = workflow
        self.limits = limits
        self.steps = 0
        assert environment.state is not None
        self.state: StepState = environment.state

    def run_engine_steps(self) -> None:
        """Run every ready engine task (scripts, gateways, events) until only user work remains,
        firing the timers that are due by the engine's clock.

        Plain tasks (bpmn:task) and manual tasks pass straight through, as in Camunda; to
        SpiffWorkflow they are human work that would wait with nothing to show for it. A task
        held at an asynchronous boundary (camunda:asyncBefore, or after a task with
        camunda:asyncAfter) is left for the continuation that a worker runs.
        """
        with self.translated():
            while True:
                self.workflow.refresh_timers()
                ran = self._engine_pass()
                passing = [
                    task
                    for task in self.workflow.get_tasks(
                        state=TaskState.READY, spec_class=PASS_THROUGH
                    )
                    if not held(task)
                ]
                for task in passing:
                    self._run_task(task)
                if not ran and not passing:
                    break
            self.workflow.get_events()  # thrown messages: client_reply was handled; others go

    def release_held(self) -> None:
        """Let the tasks held at asynchronous boundaries run (the continuation's first act)."""
        for task in self.workflow.get_tasks(state=TaskState.READY):
            if held(task):
                task.internal_data.pop(HOLD, None)
                task._set_internal_data(**{RELEASED: True})

    def _engine_pass(self) -> bool:
        """SpiffWorkflow's engine pass (subprocesses deepest first), leaving held tasks alone."""
        workflow = self.workflow
        active = workflow.get_active_subprocesses()
        for subprocess in sorted(active, key=lambda sp: sp.depth, reverse=True):
            while self._run_ready(subprocess):
                pass
            if subprocess.parent_task_id is not None:
                parent = workflow.get_task_from_id(subprocess.parent_task_id)
                parent.task_spec._update(parent)
        ran = self._run_ready(workflow)
        return ran > 0 or len(workflow.get_active_subprocesses()) > len(active)

    def _run_ready(self, workflow: BpmnWorkflow) -> int:
        count = 0
        for task in list(workflow.get_tasks(state=TaskState.READY)):
            if task.task_spec.manual or held(task) or task.state != TaskState.READY:
                continue
            self._run_task(task)
            count += 1
        return count

    def _run_task(self, task: Any) -> None:
        self._before_task(task)
        task.run()
        self._after_task(task)

    def complete_user_task(self, task_id: str, data: Mapping[str, object]) -> None:
        """Set the form data on a ready user task and complete it."""
        task = self._ready_user_task(task_id)
        reserved = reserved_key_path(data)
        if reserved is not None:
            raise ProcessStepError(
                "engine", f"form data {reserved} is a dict with a reserved 'typename' key"
            )
        with self.translated():
            self._before_task(task)
            task.set_data(**dict(data))
            task.run()
            self._after_task(task)

    def _ready_user_task(self, task_id: str) -> Any:
        try:
            task = self.workflow.get_task_from_id(uuid.UUID(str(task_id)))
        except (ValueError, SpiffWorkflowException):
            task = None
        if task is None or not isinstance(task.task_spec, UserTask):
            raise ProcessStepError("engine", f"no user task {task_id!r} in this instance")
        if task.state != TaskState.READY:
            ref = TaskRef.of(task)
            raise ProcessStepError(
                "engine",
                f"task {task_id} is {TaskState.get_name(task.state)}, not ready",
                element_id=ref.element_id,
                element_name=ref.name,
            )
        return task

    def _before_task(self, task: Any) -> None:
        self.steps += 1
        self.state.current = TaskRef.of(task)
        self._check_budget(task)
        if self.steps > self.limits.max_steps_per_call:
            raise self._cap(
                task, f"more than {self.limits.max_steps_per_call} engine steps in one call"
            )
        # A called process starts (and so nests further) before its call activity ever runs, so
        # the depth is checked on every task, not on call activities.
        if task.workflow.depth > self.limits.max_call_depth:
            caller = self.workflow.get_task_from_id(task.workflow.parent_task_id)
            raise self._cap(
                caller, f"subprocesses nested deeper than {self.limits.max_call_depth} levels"
            )

    def _check_budget(self, task: Any) -> None:
        """Fail the step at this task once it has run longer than its wall-clock budget."""
        deadline = self.state.deadline
        if deadline is not None and time.monotonic() > deadline:
            raise self._cap(task, self.state.over_budget())

    def _after_task(self, task: Any) -> None:
        self.state.current = None
        self._check_budget(task)
        spec = task.task_spec
        if getattr(spec, ASYNC_AFTER, False):
            for child in task.children:
                child._set_internal_data(**{HOLD: True})
        definition = getattr(spec, "event_definition", None)
        if (
            isinstance(spec, ThrowingEvent)
            and isinstance(definition, MessageEventDefinition)
            and definition.name == CLIENT_REPLY
        ):
            ref = TaskRef.of(task)
            where = {"element_id": ref.element_id, "element_name": ref.name}
            text = render_reply(getattr(spec, REPLY_TEMPLATE, None), task.data, where)
            self.state.replies.append((ref, text))
        total = len(self.workflow.tasks) + sum(
            len(sp.tasks) for sp in self.workflow.subprocesses.values()
        )
        if total <= self.limits.max_live_tasks:
            return  # cheap bound first: there cannot be more live tasks than tasks
        live = sum(1 for t in self._all_tasks() if t.has_state(ACTIVE_STATES))
        if live > self.limits.max_live_tasks:
            raise self._cap(
                task, f"more than {self.limits.max_live_tasks} live tasks in this instance"
            )

    def _all_tasks(self) -> Iterator[Any]:
        yield from self.workflow.tasks.values()
        for subprocess in self.workflow.subprocesses.values():
            yield from subprocess.tasks.values()

    @staticmethod
    def _cap(task: Any, message: str) -> ProcessStepError:
        ref = TaskRef.of(task)
        return ProcessStepError("cap", message, element_id=ref.element_id, element_name=ref.name)

    @contextmanager
    def translated(self) -> Iterator[None]:
        """Let ProcessStepError through; turn anything SpiffWorkflow raises into one."""
        try:
            yield
        except (ProcessStepError, CapacityError):
            raise
        except RecursionError:
            raise ProcessStepError(
                "cap", "the process is nested too deeply", **self._where()
            ) from None
        except Exception as exc:  # SpiffWorkflow and task specs raise many types
            raise ProcessStepError("engine", _describe(exc), **self._where(exc)) from exc

    def _where(self, exc: Exception | None = None) -> dict[str, Any]:
        task = getattr(exc, "task", None) or _failing_task(exc)
        ref = TaskRef.of(task) if task is not None else self.state.current
        if ref is None:
            return {}
        return {"element_id": ref.element_id, "element_name": ref.name}


def _failing_task(exc: Exception | None) -> Any:
    """The task whose spec raised `exc`, from the innermost frame that works on one.

    Running one task also prepares the next ones (a multi-instance activity reads its
    collection then), so what failed is often not the task being run.
    """
    found = None
    traceback = exc.__traceback__ if exc is not None else None
    while traceback is not None:
        candidate = traceback.tb_frame.f_locals.get("my_task")
        if isinstance(candidate, Task):
            found = candidate
        traceback = traceback.tb_next
    return found


def _describe(exc: Exception) -> str:
    text = readable(" ".join(str(exc.args[0]).split())) if exc.args else ""
    if isinstance(exc, WorkflowDataException) and text:
        return text  # written for people, as ours are
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
