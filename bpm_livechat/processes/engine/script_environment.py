"""SpiffWorkflow's script environment, backed by a script runner: no script ever runs in-process."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask

import script_runtime
from bpm_livechat.clock import SYSTEM_CLOCK, Clock
from bpm_livechat.errors import (
    BpmLivechatError,
    CapacityError,
    ParameterValueError,
    ProcessStepError,
)
from bpm_livechat.params.types import Money
from bpm_livechat.processes.bpmn.checks import expression_source, script_source
from bpm_livechat.processes.bpmn.decision_task import DECISIONS_KEY

ValidateChanges = Callable[[dict[str, object]], dict[str, object]]


@dataclass(frozen=True)
class TaskRef:
    """The BPMN element a task runs: its id and (plain-text) name."""

    element_id: str
    name: str | None

    @classmethod
    def of(cls, task: Any) -> TaskRef:
        spec = task.task_spec
        name = getattr(spec, "bpmn_name", None)
        inner = getattr(spec, "task_spec", None)  # a multi-instance wrapper names its child spec
        if name is None and isinstance(inner, str) and inner in spec._wf_spec.task_specs:
            name = getattr(spec._wf_spec.task_specs[inner], "bpmn_name", None)
        return cls(getattr(spec, "bpmn_id", None) or spec.name, name)


@dataclass
class StepState:
    """What one engine call (a step) carries: the session, the changes so far and who made them."""

    session: Mapping[str, Any]
    validate_changes: ValidateChanges
    changes: dict[str, object] = field(default_factory=dict)
    sources: dict[str, TaskRef] = field(default_factory=dict)
    logs: list[tuple[TaskRef, str]] = field(default_factory=list)
    links: list[tuple[TaskRef, str, int]] = field(default_factory=list)
    replies: list[tuple[TaskRef, str]] = field(default_factory=list)  # to the client, in order
    priority: tuple[TaskRef, str] | None = None  # the last priority a script set
    current: TaskRef | None = None
    budget: float | None = None  # the step's wall-clock budget in seconds
    deadline: float | None = None  # time.monotonic() at which the budget runs out

    def over_budget(self) -> str:
        """What a step that ran out of its budget says."""
        return f"the step ran longer than its budget of {self.budget:g} s"

    def seconds_left(self) -> float | None:
        """Seconds of the budget left (None without a budget); at most 0 once it ran out."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def session_view(self, source: str) -> dict[str, Any]:
        """The snapshot as `source` sees it: earlier writes of this step already in `params`,
        and the recent messages only when the source can reach them."""
        view = dict(self.session)
        view.pop(DECISIONS_KEY, None)  # the step's decision source stays in the host
        params = {key: _plain(value) for key, value in (view.get("params") or {}).items()}
        params.update({key: _plain(value) for key, value in self.changes.items()})
        view["params"] = params
        # A script reaches session.messages only by writing the name, or through str.format
        # with a field name built at run time ("{0.mess" + "ages}"): the sandbox has no other
        # way to look an attribute up by a computed name (no getattr, vars or dir). So most
        # scripts go without them: the snapshot may hold a reader, run on first use.
        messages = view.pop("messages", None)
        if messages is not None and ("messages" in source or "format" in source):
            if callable(messages):
                messages = messages()
                self.session = {**self.session, "messages": messages}
            view["messages"] = messages
        return view


SERIALIZER_RESERVED_KEY = "typename"


def reserved_key_path(data: Mapping[str, Any]) -> str | None:
    """Where task data holds a dict with a "typename" key, which the workflow serializer
    would mistake for one of its own objects (and fail to restore); None when it does not."""
    pending: list[tuple[str, object]] = [(repr(key), value) for key, value in data.items()]
    while pending:
        path, value = pending.pop()
        if isinstance(value, dict):
            if SERIALIZER_RESERVED_KEY in value:
                return path
            pending.extend((f"{path}[{k!r}]", v) for k, v in value.items())
        elif isinstance(value, list | tuple):
            pending.extend((f"{path}[{i}]", v) for i, v in enumerate(value))
    return None


def _plain(value: object) -> object:
    """A normalised parameter value as plain data the sandbox accepts (Money becomes a dict)."""
    if isinstance(value, Money):
        return {"amount": value.amount, "currency": value.currency}
    return value


class SandboxEnvironment(BasePythonScriptEngineEnvironment):  # type: ignore[misc]
    """Sends every script and expression to its runner; never calls exec or eval itself.

    `runner` is the sandbox (a `script_runtime.ScriptPool`, built where the application is
    assembled, or a test's fake). The environment given to the engine is unbound; `for_step`
    returns a bound copy carrying the session snapshot and the changeset validator of one
    step, so nothing leaks between steps or threads.
    """

    def __init__(
        self,
        runner: script_runtime.ScriptRunner,
        limits: script_runtime.Limits | None = None,
        state: StepState | None = None,
    ) -> None:
        super().__init__({})
        self.runner = runner
        self.limits = limits
        self.state = state

    def for_step(
        self,
        session: Mapping[str, Any],
        validate_changes: ValidateChanges,
        budget: float | None = None,
    ) -> SandboxEnvironment:
        """A copy bound to one step's session snapshot and changeset validator, and to its
        wall-clock budget (seconds from now), which every script's limits then fit in."""
        state = StepState(dict(session), validate_changes)
        if budget is not None:
            state.budget, state.deadline = budget, time.monotonic() + budget
        return type(self)(self.runner, self.limits, state)

    def _step(self) -> StepState:
        if self.state is None:
            raise ProcessStepError("engine", "scripts can run only inside an engine step")
        return self.state

    @contextmanager
    def acting_for(self, task: Any) -> Iterator[None]:
        """Attribute scripts, changes and errors to this task while the block runs."""
        state = self._step()
        previous, state.current = state.current, TaskRef.of(task)
        try:
            yield
        finally:
            state.current = previous

    def evaluate(
        self,
        expression: str,
        context: dict[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> object:
        state = self._step()
        source, _skipped = expression_source(expression or "")
        data = {**(external_context or {}), **context}
        limits, wait, cut = self._within_budget(state)
        try:
            return self.runner.evaluate(
                source, data=data, session=state.session_view(source), limits=limits, wait=wait
            )
        except script_runtime.ScriptError as exc:
            raise self._failure(exc, state, cut) from None
        except (TypeError, ValueError) as exc:  # data that is not plain cannot cross to the sandbox
            raise self._error("runtime", f"cannot pass data to the sandbox: {exc}") from None

    def execute(
        self,
        script: str,
        context: dict[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> bool:
        state = self._step()
        data = {**(external_context or {}), **context}
        source = script_source(script or "")
        limits, wait, cut = self._within_budget(state)
        try:
            result = self.runner.run(
                source, data=data, session=state.session_view(source), limits=limits, wait=wait
            )
        except script_runtime.ScriptError as exc:
            raise self._failure(exc, state, cut) from None
        except (TypeError, ValueError) as exc:  # data that is not plain cannot cross to the sandbox
            raise self._error("runtime", f"cannot pass data to the sandbox: {exc}") from None
        ref = state.current or TaskRef("?", None)
        if result.log:
            state.logs.append((ref, result.log))
        if result.changes:
            self._accept_changes(state, ref, dict(result.changes))
        state.links.extend((ref, app, item_id) for app, item_id in result.links)
        state.replies.extend((ref, text) for text in result.replies)
        if result.priority is not None:
            state.priority = (ref, result.priority)
        new_data = {k: v for k, v in result.data.items() if k not in (external_context or {})}
        reserved = reserved_key_path(new_data)
        if reserved is not None:
            raise self._error(
                "runtime",
                f"task data {reserved} is a dict with a 'typename' key, which is reserved",
            )
        context.clear()
        context.update(new_data)
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> object:
        raise self._error("engine", "service tasks cannot run here")

    def _accept_changes(self, state: StepState, ref: TaskRef, changes: dict[str, object]) -> None:
        try:
            normalised = state.validate_changes(changes)
        except ParameterValueError as exc:
            raise self._error("changeset", exc.message, parameter_key=exc.key) from None
        except BpmLivechatError as exc:
            key = next(iter(getattr(exc, "fields", {}) or {}), None)
            raise self._error("changeset", exc.message, parameter_key=key) from None
        for key, value in normalised.items():
            state.changes[key] = value
            state.sources[key] = ref

    def _within_budget(
        self, state: StepState
    ) -> tuple[script_runtime.Limits | None, float | None, frozenset[str]]:
        """The script's limits and worker wait, cut to what is left of the step's budget, and
        the limits the budget cut (a script stopped by one of those ran out of the step's time)."""
        left = state.seconds_left()
        if left is None:
            return self.limits, None, frozenset()
        if left <= 0:
            raise self._error("cap", state.over_budget())
        limits = self.limits or self.runner.policy.defaults
        if left >= limits.wall_seconds:
            return self.limits, left, frozenset()
        cut = {"wall_seconds"} | ({"cpu_seconds"} if limits.cpu_seconds > left else set())
        within = replace(limits, wall_seconds=left, cpu_seconds=min(limits.cpu_seconds, left))
        return within, left, frozenset(cut)

    def _failure(
        self, exc: script_runtime.ScriptError, state: StepState, cut: frozenset[str]
    ) -> BpmLivechatError:
        if isinstance(exc, script_runtime.ScriptCapacityError):
            return CapacityError(exc.message, retry_after=exc.retry_after)
        if isinstance(exc, script_runtime.ScriptLimitExceeded) and exc.limit in cut:
            return self._error("cap", state.over_budget())
        return self._error(exc.kind, _describe(exc), line=exc.line)

    def _error(self, kind: str, message: str, **extra: Any) -> ProcessStepError:
        ref = self.state.current if self.state else None
        return ProcessStepError(
            kind,
            message,
            element_id=ref.element_id if ref else None,
            element_name=ref.name if ref else None,
            **extra,
        )


def _describe(exc: script_runtime.ScriptError) -> str:
    """The error without its "line N:" prefix (the line travels separately)."""
    if isinstance(exc, script_runtime.ScriptRuntimeError):
        return f"{exc.type_name}: {exc.message}" if exc.message else exc.type_name
    return exc.message


class SandboxScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """Routes SpiffWorkflow's script calls to the environment, naming the task that makes them.

    It does not wrap errors in SpiffWorkflow exceptions: a ProcessStepError leaves the engine
    as it is. It also enforces the multi-instance cardinality cap, and tells timers the time.
    """

    def __init__(
        self,
        environment: SandboxEnvironment,
        *,
        clock: Clock = SYSTEM_CLOCK,
        max_multi_instance: int = 100,
    ) -> None:
        super().__init__(environment=environment)
        self.clock = clock
        self.max_multi_instance = max_multi_instance

    def now(self) -> datetime:
        """The engine's time: what timers compare their due times with."""
        return self.clock.now()

    @property
    def sandbox(self) -> SandboxEnvironment:
        environment: SandboxEnvironment = self.environment
        return environment

    def validate(self, expression: str) -> None:
        problems = self.sandbox.runner.check(expression_source(expression)[0], mode="eval")
        if problems:
            raise ProcessStepError("compile", str(problems[0]))

    def evaluate(
        self, task: Any, expression: str, external_context: Mapping[str, Any] | None = None
    ) -> object:
        with self.sandbox.acting_for(task):
            value = self.sandbox.evaluate(expression, task.data, external_context)
            spec = task.task_spec
            if isinstance(spec, MultiInstanceTask) and expression == spec.cardinality:
                self.check_cardinality(task, value)
            return value

    def execute(
        self, task: Any, script: str, external_context: Mapping[str, Any] | None = None
    ) -> bool:
        with self.sandbox.acting_for(task):
            return self.sandbox.execute(script, task.data, external_context)

    def check_cardinality(self, task: Any, count: object) -> None:
        """Refuse a multi-instance activity with more instances than the cap."""
        size = (
            count if isinstance(count, int) else len(count) if hasattr(count, "__len__") else None
        )
        if size is not None and size > self.max_multi_instance:
            ref = TaskRef.of(task)
            raise ProcessStepError(
                "cap",
                f"multi-instance activity would create {size} instances; the cap is {self.max_multi_instance}",
                element_id=ref.element_id,
                element_name=ref.name,
            )
