"""Monitoring: a process's instances filtered by status, version and session, and an
instance's step log (who or which job, when, what ran) with the parameter changes it made."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bpm_livechat.models import User
from bpm_livechat.processes.deployments import get_process
from bpm_livechat.processes.instances import get_instance
from bpm_livechat.processes.monitoring import (
    MAX_PER_PAGE,
    PER_PAGE,
    InstanceFilter,
    instance_changes,
    process_instances,
)
from bpm_livechat.processes.step_log import instance_steps

from .schemas import PageInfo, Query
from .spec import Registry

api = Registry()
TAG = "instances"
Status = Literal["running", "waiting", "completed", "failed", "cancelled"]


class ProcessInstanceQuery(Query):
    status: Status | None = Field(None, description="Only instances in this status")
    version: int | None = Field(None, ge=1, le=2**31 - 1, description="Only this version")
    session: int | None = Field(None, ge=1, le=2**63 - 1, description="Only this session's")
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(PER_PAGE, ge=1, le=MAX_PER_PAGE)


class InstanceRowOut(BaseModel):
    id: int
    session_id: int
    session_name: str
    live_chat: str
    version: int
    status: str
    started_by: str | None
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    current: list[str] = Field(
        description="The ready user tasks of a waiting instance, or the element it failed at"
    )


class InstanceRowList(BaseModel):
    process: str
    items: list[InstanceRowOut]
    page: PageInfo


class ElementOut(BaseModel):
    id: str = Field(description="The BPMN element id")
    name: str
    type: str = Field(description="The element's kind (ScriptTask, UserTask, ExclusiveGateway...)")


class StepEntryOut(BaseModel):
    id: int
    kind: str = Field(
        description="start, complete, timer, message, continue, retry, cancel or failed"
    )
    by: str = Field(description="Who did it (display name), or 'a job'")
    username: str | None
    job_id: int | None = Field(description="The worker's job that ran the step")
    status: str = Field(description="The instance's status after the step")
    elements: list[ElementOut] = Field(description="The BPMN elements the step ran, in order")
    detail: dict[str, Any]
    at: datetime


class ParamChangeOut(BaseModel):
    key: str
    old: Any
    new: Any
    task: str | None
    changed_at: datetime


class InstanceHistoryOut(BaseModel):
    instance_id: int
    steps: list[StepEntryOut]
    changes: list[ParamChangeOut]


@api.operation(
    "GET",
    "/processes/<string:process_id>/instances",
    tag=TAG,
    query=ProcessInstanceQuery,
    response=InstanceRowList,
    summary="A process's instances in the live chats you work, newest first, filtered",
)
def list_process_instances_api(
    db: Session, user: User, process_id: str, query: ProcessInstanceQuery
) -> InstanceRowList:
    """422 names a version the process does not have."""
    process = get_process(db, process_id)
    wanted = InstanceFilter(query.status, query.version, query.session, query.page, query.per_page)
    found = process_instances(db, user, process, wanted)
    return InstanceRowList(
        process=process.bpmn_id,
        items=[InstanceRowOut.model_validate(row.to_dict()) for row in found.items],
        page=PageInfo(total=found.total, page=wanted.page, per_page=wanted.per_page),
    )


@api.operation(
    "GET",
    "/instances/<int:instance_id>/history",
    tag=TAG,
    response=InstanceHistoryOut,
    summary="An instance's steps (who or which job, when, what ran) and parameter changes",
)
def instance_history_api(db: Session, user: User, instance_id: int) -> InstanceHistoryOut:
    """Visible to whoever may see its session."""
    instance = get_instance(db, instance_id, user)
    return InstanceHistoryOut(
        instance_id=instance.id,
        steps=[StepEntryOut.model_validate(s.to_dict()) for s in instance_steps(db, instance.id)],
        changes=[
            ParamChangeOut(
                key=c.key,
                old=c.old_value,
                new=c.new_value,
                task=c.task_name or c.task_id,
                changed_at=c.changed_at,
            )
            for c in instance_changes(db, instance)
        ],
    )
