"""Request and response models of the jobs and webhooks endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from .schemas import Input, Query, Text255

JobStatusName = Literal["pending", "running", "done", "failed", "cancelled"]
WebhookEvent = Literal["message", "created", "closed", "assigned", "parameter_changed"]


class JobOut(BaseModel):
    id: int
    kind: str = Field(description="session_event, start, timer, deliver, continue, webhook")
    status: JobStatusName
    due_at: datetime
    session_id: int | None
    instance_id: int | None
    attempts: int
    max_attempts: int
    last_error: str | None
    finished_at: datetime | None


class JobList(BaseModel):
    items: list[JobOut]


class JobListQuery(Query):
    status: JobStatusName | None = None
    kind: Annotated[str, StringConstraints(max_length=32)] | None = None
    instance_id: int | None = Field(None, ge=1, le=2**63 - 1)
    limit: int = Field(50, ge=1, le=1000)


def _outgoing_messages() -> list[WebhookEvent]:
    return ["message"]


class WebhookCreate(Input):
    name: Text255
    url: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    live_chat: Text255 | None = Field(None, description="With `channel`: only that channel")
    channel: Text255 | None = None
    events: list[WebhookEvent] = Field(default_factory=_outgoing_messages, min_length=1)


class WebhookOut(BaseModel):
    id: int
    name: str
    url: str
    channel: str | None = Field(description="LIVE_CHAT/CHANNEL, or null for every channel")
    events: list[WebhookEvent]
    active: bool


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Deliveries are signed with it (HMAC-SHA256); keep it")


class WebhookList(BaseModel):
    items: list[WebhookOut]
