"""Running processes from sessions: start one, complete its tasks, in the caller's transaction.

A step (start or completion) validates the form, runs the engine until it waits or ends (with
reads only, holding no lock), then applies the scripts' parameter changes with history, saves
the workflow and syncs the task rows in the caller's write transaction (`step_phases`). A
failed step raises ProcessFailed; callers run steps through `failures.run_or_record`, which
rolls back, records the failure and returns it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from bpm_livechat.desk.access import require_session_access
from bpm_livechat.errors import (
    AccessDeniedError,
    ConflictError,
    NotFoundError,
    ProcessStepError,
)
from bpm_livechat.models import (
    InstanceStatus,
    ProcessInstance,
    ProcessVersion,
    SupportSession,
    TaskState,
    User,
    UserTask,
    utcnow,
)
from bpm_livechat.processes.deployments import VersionInfo
from bpm_livechat.processes.engine.engine import (
    CalledSpecs,
    ProcessEngine,
    SerializedWorkflow,
    StepResult,
)
from bpm_livechat.processes.engine.script_environment import ValidateChanges
from bpm_livechat.processes.failures import pending_input, step_failed
from bpm_livechat.processes.forms import FormField, prefill, validate_form
from bpm_livechat.processes.library import called_specs, resolve_called
from bpm_livechat.processes.start_forms import (
    StartForm,
    param_specs,
    parsed_version,
    prefill_sources,
    start_form,
)
from bpm_livechat.processes.step_phases import run_unlocked
from bpm_livechat.processes.steps import (
    PreparedStep,
    StepOutcome,
    apply_step,
    prepare_step,
    read_values,
)
from bpm_livechat.processes.tasks import find_task, may_work_task
from bpm_livechat.sessions.guards import require_writable


def start_process(
    db: Session,
    engine: ProcessEngine,
    session: SupportSession,
    process_id: str,
    form_data: Mapping[str, object],
    user: User,
    *,
    variables: Mapping[str, object] | None = None,
) -> StepOutcome:
    """Start a process from a session with a start form; runs until it waits on a user task or ends.

    An invalid form raises ValidationError (every field at once) before anything is created.
    `variables` (an auto-start's input mapping) become task data beside the form's values.
    """
    form = start_form(db, engine, session, process_id, user)
    return start_with_form(db, engine, form, form_data, user, variables=variables)


def start_with_form(
    db: Session,
    engine: ProcessEngine,
    form: StartForm,
    form_data: Mapping[str, object],
    user: User,
    *,
    variables: Mapping[str, object] | None = None,
) -> StepOutcome:
    """`start_process` for a start form already resolved (the start page's POST)."""
    # Not added to `db`: the step saves it, in its final state, only when it succeeds.
    instance = ProcessInstance(
        session_id=form.session.id,
        version_id=form.version.id,
        status=InstanceStatus.RUNNING.value,
        started_by_id=user.id,
        started_at=utcnow(),
    )
    return _start(db, engine, instance, form, form_data, user, variables)


def run_start_step(
    db: Session,
    engine: ProcessEngine,
    instance: ProcessInstance,
    form_data: Mapping[str, object],
    user: User,
    variables: Mapping[str, object] | None = None,
    version: ProcessVersion | None = None,
) -> PreparedStep:
    """Phase 1 of a new workflow for an existing (failed) instance: the start form validated and
    the engine run, on `version` (default: the instance's own)."""
    version_info = VersionInfo.of(version or instance.process_version)
    pending = pending_input("start", None, form_data, user, variables)
    try:
        parsed = parsed_version(db, engine, version_info)
        fields = engine.start_form(parsed, version_info.process_id)
    except ProcessStepError as exc:
        raise step_failed(instance, exc, pending, new=False) from exc
    form = StartForm(instance.session, version_info, parsed, fields)
    return _prepare_start(db, engine, instance, form, form_data, user, variables)


def _start(
    db: Session,
    engine: ProcessEngine,
    instance: ProcessInstance,
    form: StartForm,
    form_data: Mapping[str, object],
    user: User,
    variables: Mapping[str, object] | None,
) -> StepOutcome:
    """Validate the start form (ValidationError on a bad form), then run the new workflow."""

    def prepare() -> PreparedStep:
        return _prepare_start(db, engine, instance, form, form_data, user, variables)

    return run_unlocked(db, prepare, lambda prepared: apply_step(db, prepared, engine))


def _prepare_start(
    db: Session,
    engine: ProcessEngine,
    instance: ProcessInstance,
    form: StartForm,
    form_data: Mapping[str, object],
    user: User,
    variables: Mapping[str, object] | None,
) -> PreparedStep:
    """Phase 1 of a start: the form checked against the session's values, the engine run."""
    pending = pending_input("start", None, form_data, user, variables)
    values = read_values(db, form.session)
    shown = prefill(form.fields, values.params, prefill_sources(form.session))
    checked = validate_form(form.fields, form_data, param_specs(db), shown=shown)
    data = {**(variables or {}), **checked}
    parsed, process_id = form.parsed, form.version.process_id
    try:  # a library's called versions are fixed at the start, for the instance's whole life
        called = resolve_called(db, engine, parsed, process_id, form.version.id)
        specs = called_specs(db, engine, called) if called else None
    except ProcessStepError as exc:
        raise step_failed(instance, exc, pending, new=instance.id is None) from exc

    def step(snap: Mapping[str, Any], validate: ValidateChanges) -> StepResult:
        return engine.start(
            parsed, process_id, data, session=snap, validate_changes=validate, called=specs
        )

    return prepare_step(
        db, instance, form.session, form.version, user, step, values, pending,
        called_versions=called,
    )  # fmt: skip


def complete_task(
    db: Session,
    engine: ProcessEngine,
    instance: ProcessInstance,
    task_id: str,
    form_data: Mapping[str, object],
    user: User,
) -> StepOutcome:
    """Complete a ready user task with its form; the loser of a race gets ConflictError."""

    def prepare() -> PreparedStep:
        task = _ready_task(db, instance, task_id, user)
        return run_complete_step(db, engine, instance, task, form_data, user)

    return run_unlocked(db, prepare, lambda prepared: apply_step(db, prepared, engine))


def _ready_task(db: Session, instance: ProcessInstance, task_id: str, user: User) -> UserTask:
    """The ready task `task_id` of a waiting instance that `user` may work, else why not."""
    require_session_access(db, user, instance.session)
    require_writable(instance.session, user, "complete tasks")
    if instance.status != InstanceStatus.WAITING.value:
        raise ConflictError(f"process instance {instance.id} is {instance.status}, not waiting")
    task = find_task(db, instance, task_id)
    if task is None:
        raise NotFoundError("task", task_id)
    if task.state != TaskState.READY.value:
        raise ConflictError(f"task {task_id} is already {task.state}")
    if not may_work_task(db, user, task, instance.session):
        raise AccessDeniedError(f"task {task_id} is not assigned to {user.username!r}")
    return task


def run_complete_step(
    db: Session,
    engine: ProcessEngine,
    instance: ProcessInstance,
    task: UserTask,
    form_data: Mapping[str, object],
    user: User,
    workflow: BpmnWorkflow | None = None,
    version: ProcessVersion | None = None,
) -> PreparedStep:
    """Phase 1 of a completion: the task form validated and the task completed on the saved
    (or a given, migrated to `version`) workflow."""
    fields = tuple(FormField.from_dict(item) for item in task.form)
    values = validate_form(fields, form_data, param_specs(db))
    pending = pending_input("complete", task.task_id, form_data, user)
    if workflow is None:
        try:
            workflow = load_workflow(engine, instance)
        except ProcessStepError as exc:
            raise step_failed(instance, exc, pending, new=False) from exc
    restored = workflow

    def step(snap: Mapping[str, Any], validate: ValidateChanges) -> StepResult:
        return engine.complete_user_task(
            restored, task.task_id, values, session=snap, validate_changes=validate
        )

    session = instance.session
    info = VersionInfo.of(version or instance.process_version)
    session_values = read_values(db, session)
    return prepare_step(db, instance, session, info, user, step, session_values, pending, task)


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


def load_workflow(engine: ProcessEngine, instance: ProcessInstance) -> BpmnWorkflow:
    """The instance's saved workflow, restored (ProcessStepError when it cannot be read)."""
    version = instance.process_version
    parsed = engine.parse_stored(version.content_hash, lambda: version.bpmn)
    saved = SerializedWorkflow(instance.workflow_json or "", instance.serializer_version or "")
    return engine.deserialize(
        saved, parsed, version.process.bpmn_id, instance_called_specs(engine, instance)
    )


def instance_called_specs(engine: ProcessEngine, instance: ProcessInstance) -> CalledSpecs | None:
    """The specs of the other files' processes the instance started with; None when it calls none."""
    called = instance.called_versions or {}
    if not called:
        return None
    db = object_session(instance)
    if db is None:
        raise ProcessStepError("engine", f"process instance {instance.id} is not in a session")
    return called_specs(db, engine, called)


def lock_instance(db: Session, instance_id: int) -> ProcessInstance:
    """The instance freshly read with a row lock, so concurrent steps on it queue."""
    query = select(ProcessInstance).where(ProcessInstance.id == instance_id).with_for_update()
    instance = db.execute(query.execution_options(populate_existing=True)).scalar_one_or_none()
    if instance is None:
        raise NotFoundError("process instance", instance_id)
    return instance
