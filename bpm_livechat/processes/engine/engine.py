"""The process engine: a small class around SpiffWorkflow with its parts injected.

It parses BPMN (cached by content hash), creates and runs workflows until they wait on a user
task or end, completes user tasks, and saves and restores workflows as JSON. It knows nothing
of databases: the caller stores the JSON and owns the transaction, and on a ProcessStepError
throws the workflow object away (it may be half-run) and rolls back.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.defaults import StartEvent, UserTask
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from bpm_livechat.clock import SYSTEM_CLOCK, Clock
from bpm_livechat.errors import BpmnDocumentError, ProcessStepError
from bpm_livechat.processes.bpmn.budget import step_seconds_of
from bpm_livechat.processes.bpmn.parser import (
    CALL_BINDING,
    LivechatBpmnParser,
    assignment_of,
    candidate_users_of,
    form_of,
    in_file_specs,
)
from bpm_livechat.processes.bpmn.xml import parse_bpmn_xml
from bpm_livechat.processes.engine.runner import EngineLimits, StepRunner
from bpm_livechat.processes.engine.script_environment import (
    SandboxEnvironment,
    SandboxScriptEngine,
    TaskRef,
    ValidateChanges,
    reserved_key_path,
)
from bpm_livechat.processes.engine.serializer import (
    READABLE_VERSIONS,
    SERIALIZER_VERSION,
    SerializedWorkflow,
    create_serializer,
)
from bpm_livechat.processes.engine.waits import Wait, waits_of
from bpm_livechat.processes.forms import FormField
from script_runtime import ScriptRunner

__all__ = [
    "EngineLimits",
    "ExternalCall",
    "ParsedBpmn",
    "ProcessEngine",
    "SerializedWorkflow",
    "StepResult",
    "UserTaskInfo",
    "Wait",
]


@dataclass(frozen=True)
class ExternalCall:
    """A call activity whose called process is not in its own file (a process library)."""

    element_id: str
    called: str
    binding: str  # "latest", "version" or "deployment" (camunda:calledElementBinding)
    version: str | None  # camunda:calledElementVersion


# Specs of processes deployed in other files, by process id, that a workflow's calls run.
CalledSpecs = Mapping[str, Any]


@dataclass(frozen=True)
class ParsedBpmn:
    """The executable processes of one BPMN file, parsed once and shared (treat as read-only)."""

    content_hash: str
    process_ids: tuple[str, ...]
    parser: LivechatBpmnParser = field(repr=False)
    # Start forms by process id, read from the specs on first use (the specs never change).
    start_forms: dict[str, tuple[FormField, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )
    # The specs of the subprocesses each process calls in this file, found on first use.
    subprocesses: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False, compare=False)
    # Calls of processes in other files by process id, read from the specs on first use.
    calls: dict[str, tuple[ExternalCall, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def specs(self, process_id: str) -> tuple[Any, dict[str, Any]]:
        """The process spec and the specs of the subprocesses it calls that are in this file."""
        if process_id not in self.process_ids:
            raise ProcessStepError("definition", f"process {process_id!r} is not in this BPMN file")
        subprocesses = self.subprocesses.get(process_id)
        if subprocesses is None:  # shared: callers copy it before handing it to a workflow
            subprocesses = self.subprocesses[process_id] = in_file_specs(self.parser, process_id)
        return self.parser.get_spec(process_id), subprocesses

    def external_calls(self, process_id: str) -> tuple[ExternalCall, ...]:
        """The call activities of the process (and of what it calls in this file) whose called
        process lives in another file, in a stable order."""
        calls = self.calls.get(process_id)
        if calls is None:
            calls = self.calls[process_id] = self._external_calls(process_id)
        return calls

    def _external_calls(self, process_id: str) -> tuple[ExternalCall, ...]:
        spec, subprocesses = self.specs(process_id)
        found: list[ExternalCall] = []
        for process_spec in (spec, *subprocesses.values()):
            for task_spec in process_spec.task_specs.values():
                called = getattr(task_spec, "spec", None)
                binding = getattr(task_spec, CALL_BINDING, None)
                if binding is None or not called or called in subprocesses:
                    continue
                element_id = getattr(task_spec, "bpmn_id", None) or task_spec.name
                found.append(ExternalCall(element_id, called, binding[0], binding[1]))
        return tuple(sorted(found, key=lambda c: (c.called, c.element_id)))


@dataclass(frozen=True)
class UserTaskInfo:
    """A ready user task: what a task list and a task form need."""

    id: str
    name: str
    element_id: str
    form: tuple[FormField, ...]
    assignee: str | None
    candidate_groups: tuple[str, ...]
    candidate_users: tuple[str, ...] = ()


@dataclass
class StepResult:
    """The outcome of one engine call: status, ready user tasks, and the parameter changes."""

    status: Literal["waiting", "completed"]
    tasks: list[UserTaskInfo]
    changes: dict[str, object]
    sources: dict[str, TaskRef]
    log: list[tuple[TaskRef, str]]
    workflow: BpmnWorkflow = field(repr=False)
    links: list[tuple[TaskRef, str, int]] = field(default_factory=list)  # session.link_item
    replies: list[tuple[TaskRef, str]] = field(default_factory=list)  # to the client, in order
    priority: tuple[TaskRef, str] | None = None  # session.set_priority, the last one
    waits: list[Wait] = field(default_factory=list)  # timers, messages, continuations


STEP_BUDGET = "livechat_step_seconds"  # on a parsed process spec: its declared step budget


def _keep_step_budget(parser: LivechatBpmnParser, process_id: str) -> None:
    """Put the process's declared step budget on its (cached, shared) spec."""
    process_parser = parser.get_process_parser(process_id)
    if process_parser is None:
        return
    budget = step_seconds_of(process_parser.node)
    if budget is not None:
        setattr(process_parser.get_spec(), STEP_BUDGET, budget)


class ProcessEngine:
    """Parse, run, complete, save and restore workflows; scripts run in the environment's runner.

    Built once where the application is assembled (the web app factory, the CLI, the worker,
    a test fixture) and passed to every core function that runs a process.
    """

    def __init__(
        self,
        environment: SandboxEnvironment,
        *,
        clock: Clock = SYSTEM_CLOCK,
        parser_factory: Callable[[], LivechatBpmnParser] = LivechatBpmnParser,
        serializer: BpmnWorkflowSerializer | None = None,
        limits: EngineLimits | None = None,
        cache_size: int = 64,
    ) -> None:
        self.environment = environment
        self.clock = clock
        self.parser_factory = parser_factory
        self.serializer = serializer or create_serializer()
        self.limits = limits or EngineLimits()
        self._cache: OrderedDict[str, ParsedBpmn] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @property
    def scripts(self) -> ScriptRunner:
        """The sandbox the engine's scripts run in (deployment checks compile with it too)."""
        return self.environment.runner

    def parse_stored(self, content_hash: str, bpmn: Callable[[], bytes]) -> ParsedBpmn:
        """The parsed BPMN of a stored file known by its content hash; `bpmn()` reads the file
        only when it is not parsed yet (a deployed version's content never changes)."""
        hit = self._lookup(content_hash)
        return hit if hit is not None else self.parse(bpmn())

    def parse(self, bpmn: bytes) -> ParsedBpmn:
        """Parse a (deployed, validated) BPMN file, reusing the result for identical content."""
        raw_key = "raw:" + hashlib.sha256(bpmn).hexdigest()  # a hit costs no XML parsing
        hit = self._lookup(raw_key)
        if hit is not None:
            return hit
        try:
            document = parse_bpmn_xml(bpmn)
        except BpmnDocumentError as exc:
            raise ProcessStepError("definition", exc.message, line=exc.line) from exc
        cached = self._lookup(document.content_hash)
        if cached is not None:
            with self._lock:
                self._cache[raw_key] = cached
            return cached
        parser = self.parser_factory()
        try:
            parser.add_document(document)
            process_ids = tuple(parser.get_process_ids())
            for process_id in process_ids:  # build every spec now, not lazily in a step
                in_file_specs(parser, process_id)
                _keep_step_budget(parser, process_id)
        except Exception as exc:  # SpiffWorkflow raises many types for a bad definition
            raise ProcessStepError("definition", f"{type(exc).__name__}: {exc}") from exc
        parsed = ParsedBpmn(document.content_hash, process_ids, parser)
        with self._lock:
            self._cache[document.content_hash] = parsed
            self._cache[raw_key] = parsed
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return parsed

    def _lookup(self, key: str) -> ParsedBpmn | None:
        """A cached parse by raw-content or content-hash key, marked as recently used."""
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
            return hit

    def start_form(self, parsed: ParsedBpmn, process_id: str) -> tuple[FormField, ...]:
        """The form of the process's none start event; () when it has none."""
        fields = parsed.start_forms.get(process_id)
        if fields is None:
            fields = parsed.start_forms[process_id] = self._start_form(parsed, process_id)
        return fields

    @staticmethod
    def _start_form(parsed: ParsedBpmn, process_id: str) -> tuple[FormField, ...]:
        spec, _subprocesses = parsed.specs(process_id)
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, StartEvent) and isinstance(
                task_spec.event_definition, NoneEventDefinition
            ):
                fields = form_of(task_spec)
                if fields:
                    return fields
        return ()

    def create_workflow(
        self,
        parsed: ParsedBpmn,
        process_id: str,
        start_data: Mapping[str, object],
        called: CalledSpecs | None = None,
    ) -> BpmnWorkflow:
        """A new, not yet run workflow whose data starts as `start_data` (the start form values);
        `called` holds the specs of processes from other files that its calls run."""
        reserved = reserved_key_path(start_data)
        if reserved is not None:
            raise ProcessStepError(
                "engine", f"start data {reserved} is a dict with a reserved 'typename' key"
            )
        spec, subprocess_specs = parsed.specs(process_id)
        workflow = BpmnWorkflow(
            spec,
            {**(called or {}), **subprocess_specs},
            script_engine=self._script_engine(self.environment),
        )
        workflow.task_tree.data.update(dict(start_data))
        return workflow

    def start(
        self,
        parsed: ParsedBpmn,
        process_id: str,
        start_data: Mapping[str, object],
        *,
        session: Mapping[str, Any],
        validate_changes: ValidateChanges,
        called: CalledSpecs | None = None,
    ) -> StepResult:
        """Create a workflow and run it until it waits on a user task or ends."""
        workflow = self.create_workflow(parsed, process_id, start_data, called)
        return self.run(workflow, session=session, validate_changes=validate_changes)

    def run(
        self,
        workflow: BpmnWorkflow,
        *,
        session: Mapping[str, Any],
        validate_changes: ValidateChanges,
        release_held: bool = False,
    ) -> StepResult:
        """Run engine tasks (firing due timers) until the workflow waits or ends; with
        `release_held`, first let tasks held at asynchronous boundaries go (a continuation)."""
        runner = self._runner(workflow, session, validate_changes)
        if release_held:
            runner.release_held()
        runner.run_engine_steps()
        return self._result(workflow, runner)

    def deliver(
        self,
        workflow: BpmnWorkflow,
        message: str,
        payload: Mapping[str, object],
        *,
        session: Mapping[str, Any],
        validate_changes: ValidateChanges,
    ) -> StepResult | None:
        """Deliver message `message` (its payload becomes task data) and run on; None when the
        workflow does not wait for that message."""
        if not any(
            w.kind == "message" and w.name == message for w in waits_of(workflow, self.clock.now())
        ):
            return None
        reserved = reserved_key_path(payload)
        if reserved is not None:
            raise ProcessStepError(
                "engine", f"message data {reserved} has a reserved 'typename' key"
            )
        runner = self._runner(workflow, session, validate_changes)
        with runner.translated():
            workflow.catch(BpmnEvent(MessageEventDefinition(message), payload=dict(payload)))
        runner.run_engine_steps()
        return self._result(workflow, runner)

    def complete_user_task(
        self,
        workflow: BpmnWorkflow,
        task_id: str,
        data: Mapping[str, object],
        *,
        session: Mapping[str, Any],
        validate_changes: ValidateChanges,
    ) -> StepResult:
        """Complete a ready user task with validated form data, then run until it waits or ends."""
        runner = self._runner(workflow, session, validate_changes)
        runner.complete_user_task(task_id, data)
        runner.run_engine_steps()
        return self._result(workflow, runner)

    def ready_user_tasks(self, workflow: BpmnWorkflow) -> list[UserTaskInfo]:
        """The user tasks waiting for someone, in a stable order."""
        tasks = workflow.get_tasks(state=TaskState.READY, spec_class=UserTask)
        return [self._task_info(task) for task in tasks]

    def serialize(self, workflow: BpmnWorkflow) -> SerializedWorkflow:
        """The workflow as JSON, with the serializer version to store next to it."""
        try:
            return SerializedWorkflow(self.serializer.serialize_json(workflow), SERIALIZER_VERSION)
        except Exception as exc:  # a value the serializer cannot store fails the step
            raise ProcessStepError(
                "engine", f"cannot save the workflow: {type(exc).__name__}: {exc}"
            ) from exc

    def deserialize(
        self,
        saved: SerializedWorkflow,
        parsed: ParsedBpmn,
        process_id: str,
        called: CalledSpecs | None = None,
    ) -> BpmnWorkflow:
        """Restore a saved workflow of `process_id` in `parsed` (the instance's version: the
        specs are not stored with it; `called`, the specs its calls run from other files) and
        attach a fresh script engine (it is never stored)."""
        if saved.version not in READABLE_VERSIONS:
            readable = " or ".join(repr(v) for v in READABLE_VERSIONS)
            raise ProcessStepError(
                "engine", f"saved with serializer {saved.version!r}; this engine reads {readable}"
            )
        # A format-1 workflow carries its specs; a current one is restored on the version's.
        specs = None
        if saved.version == SERIALIZER_VERSION:
            spec, subprocess_specs = parsed.specs(process_id)
            specs = (spec, {**(called or {}), **subprocess_specs})
        try:
            dct = json.loads(saved.json, cls=self.serializer.json_decoder_cls)
            self.serializer.migrate(dct)
            workflow: BpmnWorkflow = self.serializer.from_dict(dct, specs=specs)
        except Exception as exc:  # corrupt or foreign JSON
            raise ProcessStepError(
                "engine", f"cannot read the saved workflow: {type(exc).__name__}: {exc}"
            ) from exc
        workflow.script_engine = self._script_engine(self.environment)
        return workflow

    def _script_engine(self, environment: SandboxEnvironment) -> SandboxScriptEngine:
        return SandboxScriptEngine(
            environment, clock=self.clock, max_multi_instance=self.limits.max_multi_instance
        )

    def step_budget(self, workflow: BpmnWorkflow) -> float:
        """The wall-clock seconds one step of this workflow may take: its process's
        `livechat:stepSeconds`, or the engine's default."""
        declared = getattr(workflow.spec, STEP_BUDGET, None)
        return float(declared) if declared is not None else self.limits.step_seconds

    def _runner(
        self, workflow: BpmnWorkflow, session: Mapping[str, Any], validate_changes: ValidateChanges
    ) -> StepRunner:
        budget = self.step_budget(workflow)
        environment = self.environment.for_step(session, validate_changes, budget)
        workflow.script_engine = self._script_engine(environment)
        return StepRunner(workflow, environment, self.limits)

    def _result(self, workflow: BpmnWorkflow, runner: StepRunner) -> StepResult:
        # The step is over: detach its session and validator from the workflow.
        workflow.script_engine = self._script_engine(self.environment)
        state = runner.state
        return StepResult(
            status="completed" if workflow.is_completed() else "waiting",
            tasks=self.ready_user_tasks(workflow),
            changes=dict(state.changes),
            sources=dict(state.sources),
            log=list(state.logs),
            workflow=workflow,
            links=list(state.links),
            replies=list(state.replies),
            priority=state.priority,
            waits=waits_of(workflow, self.clock.now()),
        )

    @staticmethod
    def _task_info(task: Any) -> UserTaskInfo:
        spec = task.task_spec
        assignee, groups = assignment_of(spec)
        element_id = getattr(spec, "bpmn_id", None) or spec.name
        return UserTaskInfo(
            id=str(task.id),
            name=getattr(spec, "bpmn_name", None) or element_id,
            element_id=element_id,
            form=form_of(spec),
            assignee=assignee,
            candidate_groups=groups,
            candidate_users=candidate_users_of(spec),
        )
