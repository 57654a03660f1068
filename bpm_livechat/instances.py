"""Running processes from sessions: start one, complete its tasks, in the caller's transaction.

A step (start or completion) validates the form, runs the engine until it waits or ends, applies
the scripts' parameter changes with history, saves the workflow and syncs the task rows, all in
the caller's one transaction. A failed step raises ProcessFailed: the caller rolls back, then
records the failure in a new transaction (see instance_failures: `run_step` does both).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import select
from sqlalchemy.orm import Session

from .access import require_session_access
from .actors import Actor
from .app_links import link_requested
from .deployments import get_process, is_bound, latest_version
from .engine import ParsedBpmn, ProcessEngine, SerializedWorkflow, StepResult
from .errors import (
    AccessDeniedError,
    ConflictError,
    NotFoundError,
    ProcessStepError,
    ValidationError,
)
from .forms import FormField, ParamSpecs, prefill, validate_form
from .instance_failures import ProcessFailed, pending_input, step_failed
from .instance_tasks import find_task, may_work_task, sync_tasks
from .models import SupportSession, User, utcnow
from .param_types import ParamType
from .parameters import definitions
from .process_models import InstanceStatus, ProcessInstance, ProcessVersion, TaskState, UserTask
from .script_environment import ValidateChanges
from .sessions import snapshot
from .values import ParamChange, apply_normalized, get_parameters, normalize_changes

Step = Callable[[Mapping[str, Any], ValidateChanges], StepResult]


@functools.cache
def default_engine() -> ProcessEngine:
    """The process engine shared by this process's callers, made on first use."""
    return ProcessEngine()


@dataclass
class StepOutcome:
    """What a successful step did: the instance, its ready tasks and the parameters changed."""

    instance: ProcessInstance
    tasks: list[UserTask]
    changes: dict[str, ParamChange]
    log: list[str]


def param_specs(db: Session) -> ParamSpecs:
    """Form field types and options taken from the custom parameters of the same key."""
    return {d.key: (ParamType(d.type), tuple(d.options)) for d in definitions(db)}


def start_form(
    db: Session,
    session: SupportSession,
    process_id: str,
    user: User,
    *,
    engine: ProcessEngine | None = None,
) -> tuple[tuple[FormField, ...], dict[str, object]]:
    """The start form of a process offered in this session, and its values pre-filled from the session."""
    version = _startable_version(db, session, process_id, user)
    engine = engine or default_engine()
    fields = engine.start_form(engine.parse(version.bpmn), process_id)
    return fields, prefill(fields, get_parameters(db, session.id))


def _startable_version(
    db: Session, session: SupportSession, process_id: str, user: User
) -> ProcessVersion:
    require_session_access(db, user, session)
    process = get_process(db, process_id)
    version = latest_version(db, process) if process.active else None
    if version is None:
        raise ValidationError(f"process {process_id!r} is not active", {"process": "not active"})
    if not is_bound(db, process, session.live_chat_id):
        raise ValidationError(
            f"process {process_id!r} is not offered in live chat {session.live_chat.name!r}",
            {"process": "not offered in this live chat"},
        )
    return version


def start_process(
    db: Session,
    session: SupportSession,
    process_id: str,
    form_data: Mapping[str, object],
    user: User,
    *,
    engine: ProcessEngine | None = None,
    variables: Mapping[str, object] | None = None,
) -> StepOutcome:
    """Start a process from a session with a start form; runs until it waits on a user task or ends.

    An invalid form raises ValidationError (every field at once) before anything is created.
    `variables` (an auto-start's input mapping) become task data beside the form's values.
    """
    version = _startable_version(db, session, process_id, user)
    engine = engine or default_engine()
    pending = pending_input("start", None, form_data, user, variables)
    try:
        parsed, values = _start_values(db, version, session, form_data, engine, variables)
    except ProcessStepError as exc:
        raise ProcessFailed(
            exc,
            instance_id=None,
            session_id=session.id,
            version_id=version.id,
            started_by_id=user.id,
            pending=pending,
        ) from exc
    instance = ProcessInstance(
        session_id=session.id,
        version_id=version.id,
        status=InstanceStatus.RUNNING.value,
        started_by_id=user.id,
    )
    db.add(instance)
    db.flush()
    try:
        return _run_start(db, instance, parsed, values, pending, user, engine)
    except ProcessFailed as failure:
        # This instance row goes with the rollback: record_failure creates the failed one.
        failure.instance_id = failure.recorded_instance_id = None
        raise


def run_start_step(
    db: Session,
    instance: ProcessInstance,
    form_data: Mapping[str, object],
    user: User,
    engine: ProcessEngine,
    variables: Mapping[str, object] | None = None,
) -> StepOutcome:
    """Validate the start form and run a new workflow for an existing (failed) instance."""
    pending = pending_input("start", None, form_data, user, variables)
    try:
        parsed, values = _start_values(
            db, instance.process_version, instance.session, form_data, engine, variables
        )
    except ProcessStepError as exc:
        raise step_failed(instance, exc, pending) from exc
    return _run_start(db, instance, parsed, values, pending, user, engine)


def _start_values(
    db: Session,
    version: ProcessVersion,
    session: SupportSession,
    form_data: Mapping[str, object],
    engine: ProcessEngine,
    variables: Mapping[str, object] | None = None,
) -> tuple[ParsedBpmn, dict[str, object]]:
    """The parsed BPMN and the start data: mapped variables, then the typed start form values
    (ValidationError on a bad form)."""
    parsed = engine.parse(version.bpmn)
    fields = engine.start_form(parsed, version.process.bpmn_id)
    shown = prefill(fields, get_parameters(db, session.id))
    values = validate_form(fields, form_data, param_specs(db), shown=shown)
    return parsed, {**(variables or {}), **values}


def _run_start(
    db: Session,
    instance: ProcessInstance,
    parsed: ParsedBpmn,
    values: dict[str, object],
    pending: dict[str, Any],
    user: User,
    engine: ProcessEngine,
) -> StepOutcome:
    bpmn_id = instance.process_version.process.bpmn_id

    def step(snap: Mapping[str, Any], validate: ValidateChanges) -> StepResult:
        return engine.start(parsed, bpmn_id, values, session=snap, validate_changes=validate)

    return _run_step(db, instance, user, step, pending, engine)


def complete_task(
    db: Session,
    instance: ProcessInstance,
    task_id: str,
    form_data: Mapping[str, object],
    user: User,
    *,
    engine: ProcessEngine | None = None,
) -> StepOutcome:
    """Complete a ready user task with its form; the loser of a race gets ConflictError."""
    instance = lock_instance(db, instance.id)
    require_session_access(db, user, instance.session)
    if instance.status != InstanceStatus.WAITING.value:
        raise ConflictError(f"process instance {instance.id} is {instance.status}, not waiting")
    task = find_task(db, instance, task_id)
    if task is None:
        raise NotFoundError("task", task_id)
    if task.state != TaskState.READY.value:
        raise ConflictError(f"task {task_id} is already {task.state}")
    if not may_work_task(db, user, task, instance.session):
        raise AccessDeniedError(f"task {task_id} is not assigned to {user.username!r}")
    return run_complete_step(db, instance, task, form_data, user, engine or default_engine())


def run_complete_step(
    db: Session,
    instance: ProcessInstance,
    task: UserTask,
    form_data: Mapping[str, object],
    user: User,
    engine: ProcessEngine,
    workflow: BpmnWorkflow | None = None,
) -> StepOutcome:
    """Validate a task form and complete the task on the saved (or a given, migrated) workflow."""
    fields = tuple(FormField.from_dict(item) for item in task.form)
    values = validate_form(fields, form_data, param_specs(db))
    pending = pending_input("complete", task.task_id, form_data, user)
    if workflow is None:
        try:
            workflow = load_workflow(instance, engine)
        except ProcessStepError as exc:
            raise step_failed(instance, exc, pending) from exc
    restored = workflow

    def step(snap: Mapping[str, Any], validate: ValidateChanges) -> StepResult:
        return engine.complete_user_task(
            restored, task.task_id, values, session=snap, validate_changes=validate
        )

    return _run_step(db, instance, user, step, pending, engine, completed=task)


def _run_step(
    db: Session,
    instance: ProcessInstance,
    user: User,
    step: Step,
    pending: dict[str, Any],
    engine: ProcessEngine,
    completed: UserTask | None = None,
) -> StepOutcome:
    session = instance.session
    version = instance.process_version
    actor = Actor(user, instance.id, version.process.bpmn_id, version.number)

    def validate(changes: dict[str, object]) -> dict[str, object]:
        return normalize_changes(db, changes, actor)

    try:
        result = step(snapshot(db, session), validate)
    except ProcessStepError as exc:
        raise step_failed(instance, exc, pending) from exc
    applied = _apply_changes(db, session, result, actor)
    _apply_links(db, instance, session, result, pending)
    saved = engine.serialize(result.workflow)
    now = utcnow()
    if completed is not None:
        completed.state = TaskState.COMPLETED.value
        completed.completed_at = now
        completed.completed_by_id = user.id
    instance.workflow_json = saved.json
    instance.serializer_version = saved.version
    instance.status = result.status
    instance.updated_at = now
    instance.finished_at = now if result.status == InstanceStatus.COMPLETED.value else None
    instance.error = None
    instance.pending = None
    tasks = sync_tasks(db, instance, result.tasks, session, user.id)
    db.flush()
    return StepOutcome(instance, tasks, applied, [text for _ref, text in result.log])


def _apply_links(
    db: Session,
    instance: ProcessInstance,
    session: SupportSession,
    result: StepResult,
    pending: dict[str, Any],
) -> None:
    """Link the app items scripts asked for; an invalid request fails the step at its task."""
    for ref, app, item_id in result.links:
        try:
            link_requested(db, session, app, item_id)
        except ValidationError as exc:
            cause = ProcessStepError(
                "changeset", exc.message, element_id=ref.element_id, element_name=ref.name
            )
            raise step_failed(instance, cause, pending) from exc


def _apply_changes(
    db: Session, session: SupportSession, result: StepResult, actor: Actor
) -> dict[str, ParamChange]:
    """Apply the changeset, each key's history naming the task whose script wrote it last."""
    groups: dict[tuple[str | None, str | None], dict[str, object]] = {}
    for key, value in result.changes.items():
        ref = result.sources.get(key)
        where = (ref.element_id, ref.name) if ref is not None else (None, None)
        groups.setdefault(where, {})[key] = value
    applied: dict[str, ParamChange] = {}
    for (task_id, task_name), changes in groups.items():
        by_task = replace(actor, task_id=task_id, task_name=task_name)
        applied.update(apply_normalized(db, session, changes, by_task))
    return applied


def get_instance(db: Session, instance_id: int, user: User | None = None) -> ProcessInstance:
    """The instance `instance_id`; with `user`, only when that user may see its session."""
    instance = db.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFoundError("process instance", instance_id)
    if user is not None:
        require_session_access(db, user, instance.session)
    return instance


def session_instances(db: Session, session_id: int) -> list[ProcessInstance]:
    """The process instances of a session, newest first (for the session page)."""
    query = select(ProcessInstance).where(ProcessInstance.session_id == session_id)
    return list(db.scalars(query.order_by(ProcessInstance.id.desc())))


def load_workflow(instance: ProcessInstance, engine: ProcessEngine) -> BpmnWorkflow:
    """The instance's saved workflow, restored (ProcessStepError when it cannot be read)."""
    saved = SerializedWorkflow(instance.workflow_json or "", instance.serializer_version or "")
    return engine.deserialize(saved)


def lock_instance(db: Session, instance_id: int) -> ProcessInstance:
    """The instance freshly read with a row lock, so concurrent steps on it queue."""
    query = select(ProcessInstance).where(ProcessInstance.id == instance_id).with_for_update()
    instance = db.execute(query.execution_options(populate_existing=True)).scalar_one_or_none()
    if instance is None:
        raise NotFoundError("process instance", instance_id)
    return instance
