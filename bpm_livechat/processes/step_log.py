"""The step log of an instance: what moved it (a person, a job, a supervisor), when, and which
BPMN elements ran; each row is written in the transaction of the step it describes."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from bpm_livechat.models import InstanceStep, ProcessInstance, StepKind, User, utcnow

_STEPS = cast(Table, InstanceStep.__table__)
# A worker's step names its job in the pending input ("job_id"); a person's carries no job.
_KINDS = {kind.value for kind in StepKind}


def step_clock() -> float:
    """The moment a step starts, comparable with SpiffWorkflow's task timestamps."""
    return time.time()


def elements_run(workflow: BpmnWorkflow, since: float) -> list[dict[str, Any]]:
    """The BPMN elements completed at or after `since` (this step), in the order they ended."""
    done = [
        task
        for task in _all_tasks(workflow)
        if task.state == TaskState.COMPLETED and task.last_state_change >= since
    ]
    done.sort(key=lambda task: task.last_state_change)
    elements = []
    for task in done:
        spec = task.task_spec
        element_id = getattr(spec, "bpmn_id", None)
        if not element_id:
            continue  # SpiffWorkflow's own bookkeeping tasks (root, end of workflow)
        name = getattr(spec, "bpmn_name", None) or ""
        elements.append({"id": element_id, "name": name, "type": type(spec).__name__})
    return elements


def _all_tasks(workflow: BpmnWorkflow) -> Iterator[Any]:
    yield from workflow.tasks.values()
    for subprocess in workflow.subprocesses.values():
        yield from subprocess.tasks.values()


def log_step(
    db: Session,
    instance: ProcessInstance,
    kind: str,
    user_id: int | None,
    *,
    elements: list[dict[str, Any]] | None = None,
    job_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Add one row to the instance's step log, in the caller's transaction."""
    row = {
        "instance_id": instance.id,
        "kind": kind if kind in _KINDS else StepKind.COMPLETE.value,
        "user_id": user_id,
        "job_id": job_id,
        "status": instance.status,
        "elements": elements or [],
        "detail": dict(detail or {}),
        "at": utcnow(),
    }
    db.execute(insert(_STEPS), row)


def log_pending_step(
    db: Session,
    instance: ProcessInstance,
    pending: Mapping[str, Any],
    user: User,
    elements: list[dict[str, Any]],
) -> None:
    """Log a step that succeeded, from the input it ran with (`pending`: step kind, job)."""
    detail = {}
    if pending.get("message"):
        detail["message"] = str(pending["message"])
    job = pending.get("job_id")
    log_step(
        db,
        instance,
        str(pending.get("step") or "complete"),
        user.id,
        elements=elements,
        job_id=job if isinstance(job, int) else None,
        detail=detail,
    )


@dataclass(frozen=True)
class StepEntry:
    """One step as the instance page, the API and the CLI show it."""

    id: int
    kind: str
    by: str  # the user's display name, "a job" for one without a user
    username: str | None
    job_id: int | None
    status: str
    elements: list[dict[str, Any]]
    detail: dict[str, Any]
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "id": self.id,
            "kind": self.kind,
            "by": self.by,
            "username": self.username,
            "job_id": self.job_id,
            "status": self.status,
            "elements": list(self.elements),
            "detail": dict(self.detail),
            "at": self.at.isoformat(),
        }


def instance_steps(db: Session, instance_id: int) -> list[StepEntry]:
    """The instance's step log, oldest first."""
    query = (
        select(InstanceStep, User)
        .outerjoin(User, User.id == InstanceStep.user_id)
        .where(InstanceStep.instance_id == instance_id)
        .order_by(InstanceStep.id)
    )
    entries = []
    for step, user in db.execute(query).all():
        if user is not None:
            by = user.display_name or user.username
        else:
            by = "a job" if step.job_id else "—"
        entries.append(
            StepEntry(
                step.id,
                step.kind,
                by,
                user.username if user else None,
                step.job_id,
                step.status,
                list(step.elements),
                dict(step.detail),
                step.at,
            )
        )
    return entries
