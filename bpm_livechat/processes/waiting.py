"""Steps that move a waiting instance without a person: due timers, a message of its session's
conversation, the continuation after an asynchronous boundary.

Workers run them from jobs, and a supervisor's retry runs them again; each is one step in the
caller's transaction, like a task completion, acting as the built-in `system` account. An
instance that no longer waits (completed, cancelled, failed, or moved past the event) is left
as it is and the step says so by returning None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy.orm import Session

from bpm_livechat.desk.users import system_user
from bpm_livechat.errors import ProcessStepError
from bpm_livechat.models import InstanceStatus, ProcessInstance, User
from bpm_livechat.processes.deployments import VersionInfo
from bpm_livechat.processes.engine.engine import ProcessEngine, StepResult
from bpm_livechat.processes.engine.script_environment import ValidateChanges
from bpm_livechat.processes.failures import step_failed
from bpm_livechat.processes.instances import load_workflow, lock_instance
from bpm_livechat.processes.steps import StepOutcome, lock_values, run_step

Call = Callable[[BpmnWorkflow, Mapping[str, Any], ValidateChanges], StepResult | None]


def fire_timers(
    db: Session, engine: ProcessEngine, instance_id: int, job_id: int | None = None
) -> StepOutcome | None:
    """Fire the instance's timers that are due by the engine's clock, and run on."""

    def call(
        workflow: BpmnWorkflow, snap: Mapping[str, Any], validate: ValidateChanges
    ) -> StepResult:
        return engine.run(workflow, session=snap, validate_changes=validate)

    return _resume(db, engine, instance_id, {"step": "timer"}, call, job_id)


def continue_instance(
    db: Session, engine: ProcessEngine, instance_id: int, job_id: int | None = None
) -> StepOutcome | None:
    """Run the tasks held at asynchronous boundaries (camunda:asyncBefore/asyncAfter)."""

    def call(
        workflow: BpmnWorkflow, snap: Mapping[str, Any], validate: ValidateChanges
    ) -> StepResult:
        return engine.run(workflow, session=snap, validate_changes=validate, release_held=True)

    return _resume(db, engine, instance_id, {"step": "continue"}, call, job_id)


def deliver_message(
    db: Session,
    engine: ProcessEngine,
    instance_id: int,
    message: str,
    payload: Mapping[str, object],
    job_id: int | None = None,
) -> StepOutcome | None:
    """Deliver `message` of the session's conversation; None when the instance does not wait
    for it (any more): the message is then not for it."""
    pending = {"step": "message", "message": message, "payload": dict(payload)}

    def call(
        workflow: BpmnWorkflow, snap: Mapping[str, Any], validate: ValidateChanges
    ) -> StepResult | None:
        return engine.deliver(workflow, message, payload, session=snap, validate_changes=validate)

    return _resume(db, engine, instance_id, pending, call, job_id)


class _NotWaiting(Exception):
    """The instance does not wait for what the step brings."""


def _resume(
    db: Session,
    engine: ProcessEngine,
    instance_id: int,
    pending: dict[str, Any],
    call: Call,
    job_id: int | None,
) -> StepOutcome | None:
    instance = lock_instance(db, instance_id)
    if instance.status != InstanceStatus.WAITING.value:
        return None
    user = system_user(db)
    pending = {**pending, "user_id": user.id}
    if job_id is not None:
        pending["job_id"] = job_id  # the step log names the job that ran it
    return resume(db, engine, instance, user.id, pending, call)


def resume(
    db: Session,
    engine: ProcessEngine,
    instance: ProcessInstance,
    user_id: int,
    pending: dict[str, Any],
    call: Call,
) -> StepOutcome | None:
    """Run `call` on the instance's saved workflow as one step (also a supervisor's retry)."""
    user = db.get_one(User, user_id)
    try:
        workflow = load_workflow(engine, instance)
    except ProcessStepError as exc:
        raise step_failed(instance, exc, pending, new=False) from exc

    def step(snap: Mapping[str, Any], validate: ValidateChanges) -> StepResult:
        result = call(workflow, snap, validate)
        if result is None:
            raise _NotWaiting
        return result

    session = instance.session
    version = VersionInfo.of(instance.process_version)
    locked = lock_values(db, session)
    try:
        return run_step(db, instance, session, version, user, step, locked, pending, engine)
    except _NotWaiting:
        return None


def retry_call(engine: ProcessEngine, pending: Mapping[str, Any]) -> Call | None:
    """The call a supervisor's retry runs again for a failed timer, message or continuation."""
    step = pending.get("step")
    if step == "timer":
        return lambda wf, snap, validate: engine.run(wf, session=snap, validate_changes=validate)
    if step == "continue":
        return lambda wf, snap, validate: engine.run(
            wf, session=snap, validate_changes=validate, release_held=True
        )
    if step == "message":
        message, payload = str(pending["message"]), dict(pending.get("payload") or {})
        return lambda wf, snap, validate: engine.deliver(
            wf, message, payload, session=snap, validate_changes=validate
        )
    return None
