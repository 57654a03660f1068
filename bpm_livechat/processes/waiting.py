"""Steps that move a waiting instance without a person: due timers, a message of its session's
conversation, the continuation after an asynchronous boundary.

Workers run them from jobs, and a supervisor's retry runs them again; each is one step
(`step_phases`: the engine with reads only, then the write), like a task completion, acting as the built-in `system` account. An
instance that no longer waits (completed, cancelled, failed, or moved past the event) is left
as it is and the step says so by returning None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy.orm import Session

from bpm_livechat.desk.users import system_user
from bpm_livechat.errors import NotFoundError, ProcessStepError
from bpm_livechat.models import InstanceStatus, ProcessInstance, User
from bpm_livechat.processes.deployments import VersionInfo
from bpm_livechat.processes.engine.engine import ProcessEngine, StepResult
from bpm_livechat.processes.engine.script_environment import ValidateChanges
from bpm_livechat.processes.failures import step_failed
from bpm_livechat.processes.instances import load_workflow
from bpm_livechat.processes.step_phases import run_unlocked
from bpm_livechat.processes.steps import (
    PreparedStep,
    StepOutcome,
    apply_step,
    prepare_step,
    read_values,
)

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


class NotWaiting(Exception):
    """The instance does not wait for what the step brings (any more)."""


def _resume(
    db: Session,
    engine: ProcessEngine,
    instance_id: int,
    pending: dict[str, Any],
    call: Call,
    job_id: int | None,
) -> StepOutcome | None:
    user = system_user(db)
    pending = {**pending, "user_id": user.id}
    if job_id is not None:
        pending["job_id"] = job_id  # the step log names the job that ran it

    def prepare() -> PreparedStep:
        instance = db.get(ProcessInstance, instance_id)
        if instance is None:
            raise NotFoundError("process instance", instance_id)
        if instance.status != InstanceStatus.WAITING.value:
            raise NotWaiting
        return prepare_resume(db, engine, instance, user.id, pending, call)

    try:
        return run_unlocked(db, prepare, lambda prepared: apply_step(db, prepared, engine))
    except NotWaiting:
        return None


def prepare_resume(
    db: Session,
    engine: ProcessEngine,
    instance: ProcessInstance,
    user_id: int,
    pending: dict[str, Any],
    call: Call,
) -> PreparedStep:
    """Phase 1 of `call` on the instance's saved workflow (also a supervisor's retry);
    NotWaiting when the workflow does not wait for it."""
    user = db.get_one(User, user_id)
    try:
        workflow = load_workflow(engine, instance)
    except ProcessStepError as exc:
        raise step_failed(instance, exc, pending, new=False) from exc

    def step(snap: Mapping[str, Any], validate: ValidateChanges) -> StepResult:
        result = call(workflow, snap, validate)
        if result is None:
            raise NotWaiting
        return result

    session = instance.session
    version = VersionInfo.of(instance.process_version)
    values = read_values(db, session)
    return prepare_step(db, instance, session, version, user, step, values, pending)


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
