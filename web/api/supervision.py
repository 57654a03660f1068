"""Supervisor endpoints: incidents (failed instances) across sessions, the team's open tasks,
reassigning a task. Retry and cancel stay per instance (`/instances/{id}/retry|cancel`): each
call is one transaction, which is what a bulk action on the page does for each instance."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.models import User
from bpm_livechat.processes.incidents import IncidentFilter, in_utc, list_incidents
from bpm_livechat.processes.team_tasks import TaskFilter, reassign_task, team_tasks

from .schemas import Input, Query, Text255
from .spec import Registry

api = Registry()
TAG = "supervision"
Search = Annotated[str, StringConstraints(max_length=200)]


class IncidentOut(BaseModel):
    instance_id: int
    session_id: int
    session_name: str
    live_chat: str
    process: str = Field(description="The process's BPMN id")
    process_name: str
    version: int
    element_id: str | None = Field(description="The BPMN element that failed")
    kind: str | None
    message: str
    failed_at: datetime


class IncidentList(BaseModel):
    items: list[IncidentOut]


class IncidentQuery(Query):
    process: Text255 | None = Field(None, description="A process's BPMN id")
    live_chat: int | None = Field(None, ge=1, le=2**63 - 1, description="A live chat id")
    since: datetime | None = Field(None, description="Failed at or after")
    until: datetime | None = Field(None, description="Failed before")
    q: Search = Field("", description="Text in the failure message or element id")


class TeamTaskOut(BaseModel):
    instance_id: int
    task_id: str
    name: str
    element_id: str
    assignee: str | None
    candidate_roles: list[str]
    session_id: int
    live_chat: str
    process_name: str
    created_at: datetime


class TeamTaskList(BaseModel):
    items: list[TeamTaskOut]


class TeamTaskQuery(Query):
    live_chat: int | None = Field(None, ge=1, le=2**63 - 1)
    process: Text255 | None = None
    assignee: Text255 | None = Field(None, description="A username, or - for unassigned tasks")
    q: Search = ""


class Reassign(Input):
    assignee: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    expected_assignee: Text255 | None = Field(
        None,
        description="Who the caller saw holding the task (null: nobody); 409 when someone else "
        "holds it now. Omitted: no check",
    )


def _utc(moment: datetime | None, field: str) -> datetime | None:
    return None if moment is None else in_utc(moment, field)


@api.operation("GET", "/incidents", summary="Failed instances in the live chats you supervise",
               tag=TAG, query=IncidentQuery, response=IncidentList)  # fmt: skip
def list_incidents_api(db: Session, user: User, query: IncidentQuery) -> IncidentList:
    """Newest failure first, with the failed element and message (supervisors and admins)."""
    wanted = IncidentFilter(
        process=query.process,
        live_chat_id=query.live_chat,
        since=_utc(query.since, "since"),
        until=_utc(query.until, "until"),
        text=query.q.strip(),
    )
    found = list_incidents(db, user, wanted)
    return IncidentList(items=[IncidentOut.model_validate(i.to_dict()) for i in found])


@api.operation("GET", "/team-tasks", summary="Open tasks in the live chats you supervise",
               tag=TAG, query=TeamTaskQuery, response=TeamTaskList)  # fmt: skip
def list_team_tasks_api(db: Session, user: User, query: TeamTaskQuery) -> TeamTaskList:
    """Oldest first (supervisors and admins)."""
    wanted = TaskFilter(
        live_chat_id=query.live_chat,
        process=query.process,
        assignee=query.assignee.lower() if query.assignee else None,
        text=query.q.strip(),
    )
    rows = team_tasks(db, user, wanted)
    return TeamTaskList(items=[TeamTaskOut.model_validate(r.to_dict()) for r in rows])


@api.operation("POST", "/instances/<int:instance_id>/tasks/<string:task_id>/reassign",
               summary="Give a task to an operator of its live chat (supervisors)", tag=TAG,
               body=Reassign, response=TeamTaskOut)  # fmt: skip
def reassign_task_api(
    db: Session, user: User, instance_id: int, task_id: str, body: Reassign
) -> TeamTaskOut:
    """409 when `expected_assignee` is no longer who holds the task."""
    expected: int | None = None
    if body.expected_assignee:
        found = db.scalar(select(User.id).where(User.username == body.expected_assignee.lower()))
        expected = found if found is not None else 0  # a name that holds nothing: stale
    check = "expected_assignee" in body.model_fields_set
    task = reassign_task(
        db, user, instance_id, task_id, body.assignee.lower(), expected, check_current=check
    )
    [row] = [r for r in team_tasks(db, user) if r.task.id == task.id]
    return TeamTaskOut.model_validate(row.to_dict())
