"""Failed process steps: the error carried out of the rolled-back transaction and recorded apart.

A step that fails raises ProcessFailed. The caller rolls its transaction back (the session's
parameters and the instance are exactly as before) and then, in a new transaction, stores the
failure on the instance with `record_failure`; `run_step` is that pattern in one call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.errors import BpmLivechatError, NotFoundError, ProcessStepError
from bpm_livechat.models import InstanceStatus, ProcessInstance, User, utcnow
from bpm_livechat.persistence.transactions import unit_of_work

T = TypeVar("T")


class ProcessFailed(BpmLivechatError):
    """A step failed and must be rolled back; carries what `record_failure` stores afterwards.

    `instance_id` is None for a first start (its instance goes with the rollback and
    `record_failure` creates a failed one); `recorded_instance_id` is set once recorded.
    """

    def __init__(
        self,
        cause: ProcessStepError,
        *,
        instance_id: int | None,
        session_id: int,
        version_id: int,
        started_by_id: int | None,
        pending: dict[str, Any],
    ) -> None:
        super().__init__(cause.message)
        self.cause = cause
        self.instance_id = instance_id
        self.session_id = session_id
        self.version_id = version_id
        self.started_by_id = started_by_id
        self.pending = pending
        self.recorded_instance_id: int | None = instance_id

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
    instance: ProcessInstance, exc: ProcessStepError, pending: dict[str, Any]
) -> ProcessFailed:
    """The ProcessFailed for a step of `instance` that raised `exc`."""
    return ProcessFailed(
        exc,
        instance_id=instance.id,
        session_id=instance.session_id,
        version_id=instance.version_id,
        started_by_id=instance.started_by_id,
        pending=pending,
    )


def record_failure(db: Session, failure: ProcessFailed) -> ProcessInstance:
    """Store a failed step on its instance (creating it for a failed start); run after the rollback."""
    if failure.instance_id is None:
        instance = ProcessInstance(
            session_id=failure.session_id,
            version_id=failure.version_id,
            status=InstanceStatus.FAILED.value,
            started_by_id=failure.started_by_id,
        )
        db.add(instance)
    else:
        query = select(ProcessInstance).where(ProcessInstance.id == failure.instance_id)
        found = db.scalar(query.with_for_update().execution_options(populate_existing=True))
        if found is None:
            raise NotFoundError("process instance", failure.instance_id)
        instance = found
        instance.status = InstanceStatus.FAILED.value
    instance.error = failure.error
    instance.pending = failure.pending
    instance.updated_at = utcnow()
    db.flush()
    failure.recorded_instance_id = instance.id
    return instance


def run_step(factory: sessionmaker[Session], fn: Callable[[Session], T]) -> T:
    """Run a step in its own transaction; on ProcessFailed roll back, record it in a new one, re-raise."""
    try:
        with unit_of_work(factory) as db:
            return fn(db)
    except ProcessFailed as failure:
        with unit_of_work(factory) as db:
            record_failure(db, failure)
        raise
