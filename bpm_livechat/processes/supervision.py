"""A supervisor's actions on process instances: retry a failed step (on a fixed version), cancel."""

from __future__ import annotations

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.desk.access import is_supervisor_of
from bpm_livechat.errors import AccessDeniedError, ConflictError, ProcessStepError
from bpm_livechat.models import (
    InstanceStatus,
    ProcessInstance,
    ProcessVersion,
    StepKind,
    TaskState,
    User,
    UserTask,
    utcnow,
)
from bpm_livechat.processes.deployments import latest_version
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.instances import (
    instance_called_specs,
    load_workflow,
    lock_instance,
    run_complete_step,
    run_start_step,
)
from bpm_livechat.processes.step_effects import clear_waits
from bpm_livechat.processes.step_log import log_step
from bpm_livechat.processes.step_phases import run_unlocked
from bpm_livechat.processes.steps import PreparedStep, StepOutcome, apply_step
from bpm_livechat.processes.tasks import cancel_tasks, find_task
from bpm_livechat.processes.waiting import NotWaiting, prepare_resume, retry_call


def _require_supervisor(db: Session, user: User, instance: ProcessInstance) -> None:
    if not is_supervisor_of(db, user, instance.session.live_chat_id):
        raise AccessDeniedError(
            f"user {user.username!r} may not retry or cancel process instance {instance.id}"
        )


def failed_instances(db: Session, user: User) -> list[ProcessInstance]:
    """Failed instances in the live chats `user` supervises (all of them for admins), oldest first."""
    query = (
        select(ProcessInstance)
        .where(ProcessInstance.status == InstanceStatus.FAILED.value)
        .order_by(ProcessInstance.updated_at, ProcessInstance.id)
    )
    return [
        instance
        for instance in db.scalars(query)
        if is_supervisor_of(db, user, instance.session.live_chat_id)
    ]


def retry_instance(
    db: Session, engine: ProcessEngine, instance: ProcessInstance, user: User
) -> StepOutcome:
    """Run a failed step again (a supervisor's action) with the input it failed with.

    The instance moves to the process's newest active version first when the failed task
    still exists there (a failed start always can), so deploying a fixed version and retrying
    picks the fix up. History still names the user whose step it was.
    """

    def prepare() -> PreparedStep:
        return _prepare_retry(db, engine, instance, user)

    def apply(prepared: PreparedStep) -> StepOutcome:
        def log_retry() -> None:
            detail = {"step": prepared.pending.get("step")}
            log_step(db, instance, StepKind.RETRY.value, user.id, detail=detail)

        return apply_step(db, prepared, engine, before=log_retry)

    return run_unlocked(db, prepare, apply)


def _prepare_retry(
    db: Session, engine: ProcessEngine, instance: ProcessInstance, user: User
) -> PreparedStep:
    """Phase 1 of a retry: the checks, the version to run on, and the failed step run again."""
    _require_supervisor(db, user, instance)
    if instance.status != InstanceStatus.FAILED.value or not instance.pending:
        raise ConflictError(f"process instance {instance.id} is {instance.status}, not failed")
    pending = {key: value for key, value in instance.pending.items() if key != "job_id"}
    actor = db.get(User, pending.get("user_id")) or user
    call = retry_call(engine, pending)
    if call is not None:  # a timer, message or continuation a worker ran: run it again
        try:
            return prepare_resume(db, engine, instance, actor.id, pending, call)
        except NotWaiting:
            raise ConflictError(
                f"process instance {instance.id} no longer waits for that"
            ) from None
    newest = latest_version(db, instance.process_version.process)
    if pending["step"] == "start":
        return run_start_step(
            db, engine, instance, pending["data"], actor, pending.get("variables"), newest
        )
    task = find_task(db, instance, str(pending["task_id"]))
    if task is None or task.state != TaskState.READY.value:
        raise ConflictError(f"task {pending['task_id']} of instance {instance.id} is not ready")
    workflow, version = None, None
    if newest is not None and newest.number > instance.process_version.number:
        workflow = _migrated(engine, instance, task, newest)
        version = newest if workflow is not None else None
    return run_complete_step(db, engine, instance, task, pending["data"], actor, workflow, version)


def _migrated(
    engine: ProcessEngine, instance: ProcessInstance, task: UserTask, newest: ProcessVersion
) -> BpmnWorkflow | None:
    """The saved workflow moved onto `newest`, or None when a task it has is gone there."""
    bpmn_id = instance.process_version.process.bpmn_id
    try:
        workflow = load_workflow(engine, instance)
        spec, dependencies = engine.parse(newest.bpmn).specs(bpmn_id)
        dependencies = {**(instance_called_specs(engine, instance) or {}), **dependencies}
    except ProcessStepError:
        return None
    if task.element_id not in spec.task_specs:
        return None
    registry = engine.serializer.registry
    top, subprocesses = diff_workflow(registry, workflow, spec, dependencies)
    if top.removed or any(d is None or d.removed for d in subprocesses.values()):
        return None
    migrate_workflow(top, workflow, spec)
    for subprocess_id, diff in subprocesses.items():
        subprocess = workflow.subprocesses[subprocess_id]
        migrate_workflow(diff, subprocess, dependencies[subprocess.spec.name])
    workflow.subprocess_specs = dependencies
    return workflow


def check_cancel(db: Session, user: User, instance: ProcessInstance) -> None:
    """Raise unless `user` may cancel `instance` now (a supervisor; not yet ended)."""
    _require_supervisor(db, user, instance)
    if instance.status in (InstanceStatus.COMPLETED.value, InstanceStatus.CANCELLED.value):
        raise ConflictError(f"process instance {instance.id} is already {instance.status}")


def cancel_instance(
    db: Session, engine: ProcessEngine, instance: ProcessInstance, user: User
) -> ProcessInstance:
    """Stop an instance for good (a supervisor's action); its ready tasks are cancelled."""
    instance = lock_instance(db, instance.id)
    check_cancel(db, user, instance)
    cancel_tasks(db, instance)
    clear_waits(db, engine.clock, instance)
    now = utcnow()
    instance.status = InstanceStatus.CANCELLED.value
    instance.pending = None
    instance.updated_at = now
    instance.finished_at = now
    db.flush()
    log_step(db, instance, StepKind.CANCEL.value, user.id)
    return instance
