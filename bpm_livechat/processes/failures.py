"""The one policy for a failed process step: roll it back, record the failure, return it.

A step that fails raises ProcessFailed carrying a FailedStep (what to record). Whoever runs a
step (a web page, the API, the CLI, an automatic start, a job) calls `run_or_record`: on
failure it rolls the caller's transaction back (the session's parameters and the instance are
exactly as before), stores the failure on the instance in that same `Session`, and returns a
StepFailure instead of raising. The caller then commits, as after any other step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.errors import BpmLivechatError, NotFoundError, ProcessStepError
from bpm_livechat.models import InstanceStatus, ProcessInstance, StepKind, User, utcnow
from bpm_livechat.persistence.transactions import queue_for_writer
from bpm_livechat.processes.step_log import log_step

T = TypeVar("T")


@dataclass(frozen=True)
class FailedStep:
    """What a failed step leaves to record once its transaction is rolled back.

    `instance_id` is None for a first start: its instance goes with the rollback, and
    `record_failure` creates a failed one in its place.
    """

    cause: ProcessStepError
    instance_id: int | None
    session_id: int
    version_id: int
    started_by_id: int | None
    pending: dict[str, Any]

    @property
    def error(self) -> dict[str, Any]:
        """The failure as stored on the instance: kind, message, line, element, parameter."""
        return {
            "kind": self.cause.kind,
            "message": self.cause.reason,
            "line": self.cause.line,
            "element_id": self.cause.element_id,
            "element_name": self.cause.element_name,
            "parameter_key": self.cause.parameter_key,
        }


class ProcessFailed(BpmLivechatError):
    """A step failed and must be rolled back; `failed` is what to record afterwards."""

    def __init__(self, failed: FailedStep) -> None:
        super().__init__(failed.cause.message)
        self.failed = failed


@dataclass(frozen=True)
class StepFailure:
    """A failed step, rolled back and recorded: the failed instance and why it failed."""

    instance: ProcessInstance
    failed: FailedStep

    @property
    def error(self) -> dict[str, Any]:
        """The stored error (kind, message, line, element, parameter)."""
        return self.failed.error

    @property
    def message(self) -> str:
        """The failure in one line, with its kind and element."""
        return self.failed.cause.message


def pending_input(
    step: str,
    task_id: str | None,
    form_data: Mapping[str, object],
    user: User,
    variables: Mapping[str, object] | None = None,
) -> dict[str, Any]:
    """What a retry needs to run a step again: which step, which task, the form, the variables
    an event mapped in (auto-start), and who."""
    pending = {
        "step": step,
        "task_id": task_id,
        "data": _plain(dict(form_data)),
        "user_id": user.id,
    }
    if variables:
        pending["variables"] = _plain(dict(variables))
    return pending


def _plain(value: object) -> Any:
    """JSON-ready form data (dates as ISO text, decimals as text), which forms accept again."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def step_failed(
    instance: ProcessInstance, exc: ProcessStepError, pending: dict[str, Any], *, new: bool
) -> ProcessFailed:
    """The ProcessFailed for a step of `instance` that raised `exc`; `new`: its first start."""
    return ProcessFailed(
        FailedStep(
            exc,
            instance_id=None if new else instance.id,
            session_id=instance.session_id,
            version_id=instance.version_id,
            started_by_id=instance.started_by_id,
            pending=pending,
        )
    )


def record_failure(db: Session, failed: FailedStep) -> ProcessInstance:
    """Store a failed step on its instance (creating it for a failed start); run after the rollback."""
    if failed.instance_id is None:
        instance = ProcessInstance(
            session_id=failed.session_id,
            version_id=failed.version_id,
            status=InstanceStatus.FAILED.value,
            started_by_id=failed.started_by_id,
        )
        db.add(instance)
    else:
        query = select(ProcessInstance).where(ProcessInstance.id == failed.instance_id)
        found = db.scalar(query.with_for_update().execution_options(populate_existing=True))
        if found is None:
            raise NotFoundError("process instance", failed.instance_id)
        instance = found
        instance.status = InstanceStatus.FAILED.value
    instance.error = failed.error
    instance.pending = failed.pending
    instance.updated_at = utcnow()
    db.flush()
    job = failed.pending.get("job_id")
    detail = {"step": failed.pending.get("step"), **failed.error}
    job_id = job if isinstance(job, int) else None
    user_id = failed.pending.get("user_id")
    log_step(db, instance, StepKind.FAILED.value, user_id, job_id=job_id, detail=detail)
    return instance


def run_or_record(db: Session, step: Callable[[], T]) -> T | StepFailure:
    """Run `step` in `db`'s transaction; if it fails, roll back, record the failure, return it.

    The caller commits either way: the step's work, or the recorded failure.
    """
    try:
        return step()
    except ProcessFailed as exc:
        db.rollback()
        queue_for_writer(db)  # recording it is a write (see `transactions.one_writer`)
        return StepFailure(record_failure(db, exc.failed), exc.failed)
