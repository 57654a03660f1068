"""Request and response models of the process and instance endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from .schemas import Input, Text255

FormData = dict[Annotated[str, StringConstraints(max_length=255)], Any]


BpmnText = Annotated[str, StringConstraints(min_length=1, max_length=1_000_000)]


class BpmnFileIn(Input):
    """One file of a deployment of several: a name for messages, and its BPMN 2.0 XML."""

    name: Text255
    bpmn: BpmnText


class ProcessDeploy(Input):
    """A BPMN 2.0 XML document (`bpmn`) or several deployed together, all or nothing (`files`,
    whose call activities may call each other's processes), and the live chats that offer them."""

    bpmn: BpmnText | None = None
    files: list[BpmnFileIn] = Field(default_factory=list, max_length=20)
    live_chats: list[Text255] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _one_source(self) -> ProcessDeploy:
        if (self.bpmn is None) == (not self.files):
            raise ValueError("give either bpmn or files")
        return self


class ProcessDeactivate(Input):
    """Deactivate the whole process, or only `version`."""

    version: int | None = Field(default=None, ge=1)


class DeployedProcessOut(BaseModel):
    id: str
    name: str
    version: int
    created: bool = Field(description="False when the same content was deployed before")


class ProblemOut(BaseModel):
    element: str | None
    line: int | None
    message: str
    file: str | None = None


class DeployOut(BaseModel):
    processes: list[DeployedProcessOut]
    warnings: list[ProblemOut]


class ProcessOut(BaseModel):
    id: str
    name: str
    active: bool
    latest_version: int | None
    live_chats: list[str]


class ProcessList(BaseModel):
    items: list[ProcessOut]


class VersionOut(BaseModel):
    version: int
    name: str
    active: bool
    content_hash: str
    deployed_by: str | None
    deployed_at: datetime


class VersionList(BaseModel):
    process: str
    items: list[VersionOut]


class BindingChange(Input):
    live_chat: Text255


class InstanceStart(Input):
    process: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    data: FormData = Field(default_factory=dict, max_length=500, description="Start form values")


class TaskComplete(Input):
    data: FormData = Field(default_factory=dict, max_length=500, description="Task form values")


class TaskOut(BaseModel):
    id: str
    instance_id: int
    element_id: str
    name: str
    state: str
    assignee: str | None
    candidate_roles: list[str]
    form: list[dict[str, Any]]


class TaskList(BaseModel):
    items: list[TaskOut]


class StepError(BaseModel):
    kind: str
    message: str
    line: int | None = None
    element_id: str | None = None
    element_name: str | None = None
    parameter_key: str | None = None


class ValueChange(BaseModel):
    old: Any
    new: Any


class StepOut(BaseModel):
    """What a start, task completion or retry did; a failed step changed nothing and says why."""

    instance_id: int | None
    status: str
    tasks: list[TaskOut]
    changes: dict[str, ValueChange]
    error: StepError | None


class InstanceOut(BaseModel):
    id: int
    process: str
    version: int
    session_id: int
    status: str
    started_by: str | None
    started_at: datetime
    finished_at: datetime | None
    tasks: list[TaskOut]
    error: StepError | None


class EventBindingIn(Input):
    """Start the process automatically on a session event, with variables mapped from the session."""

    event: Literal["session_created", "message_received", "session_closed"]
    input_mapping: dict[
        Annotated[str, StringConstraints(max_length=64)],
        Annotated[str, StringConstraints(max_length=100)],
    ] = Field(
        default_factory=dict,
        max_length=100,
        description='Variable -> source: "session.subject", "client.email", "param.KEY", '
        '"message.text" (message_received only)...',
    )


class EventBindingRemove(Input):
    event: Literal["session_created", "message_received", "session_closed"]


class EventBindingOut(BaseModel):
    process: str
    event: str
    input_mapping: dict[str, str]


class EventBindingList(BaseModel):
    items: list[EventBindingOut]
