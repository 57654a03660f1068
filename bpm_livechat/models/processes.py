"""The ORM models of business processes: deployed versions, live chat bindings, instances, tasks."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bpm_livechat.models.base import Base, utcnow
from bpm_livechat.models.desk import LiveChat, User
from bpm_livechat.models.sessions import SupportSession


class InstanceStatus(enum.StrEnum):
    """Where a process instance is: running only inside a step, waiting on a user task, or done."""

    RUNNING = "running"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TaskState(enum.StrEnum):
    """Where a user task is."""

    READY = "ready"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Process(Base):
    """A BPMN process, by its id in the BPMN file; its content lives in numbered versions."""

    __tablename__ = "processes"

    id: Mapped[int] = mapped_column(primary_key=True)
    bpmn_id: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[ProcessVersion]] = relationship(
        back_populates="process", order_by="ProcessVersion.number"
    )
    live_chats: Mapped[list[LiveChat]] = relationship(
        secondary="process_bindings", order_by="LiveChat.name"
    )


class ProcessVersion(Base):
    """One deployed content of a process: the whole BPMN file as uploaded, and its hash."""

    __tablename__ = "process_versions"
    __table_args__ = (
        UniqueConstraint("process_id", "number", name="uq_process_versions_process_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id"))
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    bpmn: Mapped[bytes] = mapped_column(LargeBinary)
    content_hash: Mapped[str] = mapped_column(String(128))
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deployed_at: Mapped[datetime] = mapped_column(default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Its call activities of other processes, resolved at deploy time where the binding says so:
    # [{"process", "element", "name", "line", "called", "binding", "version", "target_id"}].
    calls: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")

    process: Mapped[Process] = relationship(back_populates="versions")
    deployed_by: Mapped[User | None] = relationship()


class ProcessBinding(Base):
    """A process offered under "Start process" in the sessions of a live chat."""

    __tablename__ = "process_bindings"

    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id"), primary_key=True)
    live_chat_id: Mapped[int] = mapped_column(
        ForeignKey("live_chats.id"), primary_key=True, index=True
    )


class ProcessInstance(Base):
    """A run of one process version for one session: saved workflow, status, last failure."""

    __tablename__ = "process_instances"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    workflow_json: Mapped[str | None] = mapped_column(Text)
    serializer_version: Mapped[str | None] = mapped_column(String(64))
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # {"kind", "message", "line", "element_id", "element_name", "parameter_key"} of the last failure.
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # What a retry runs again: {"step": "start" | "complete" | "timer" | "message" | "continue",
    # "task_id", "data", "user_id"...}.
    pending: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # What it waits for besides people: [{"kind", "element_id", "name", "label", "due"}] (see
    # process_waits; "label" is the element's name).
    waiting_for: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default="[]"
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    # The versions of other processes its call activities run, fixed when it starts:
    # {process id: {"id", "number", "content_hash"}} (see processes.library).
    called_versions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")

    __mapper_args__ = {"version_id_col": version}

    session: Mapped[SupportSession] = relationship()
    process_version: Mapped[ProcessVersion] = relationship()
    started_by: Mapped[User | None] = relationship()
    tasks: Mapped[list[UserTask]] = relationship(
        back_populates="instance", order_by="UserTask.id", cascade="all, delete-orphan"
    )


class UserTask(Base):
    """A user task of an instance, mirrored from the workflow so "my tasks" is one query."""

    __tablename__ = "process_user_tasks"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_id", name="uq_process_user_tasks_instance_task"),
        Index("ix_process_user_tasks_assignee_state", "assignee_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    task_id: Mapped[str] = mapped_column(String(64))
    element_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    form: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    candidate_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    # camunda:candidateUsers resolved to user ids when the task was created.
    candidate_user_ids: Mapped[list[int]] = mapped_column(JSON, default=list, server_default="[]")
    state: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    instance: Mapped[ProcessInstance] = relationship(back_populates="tasks")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])


class EventBinding(Base):
    """A process started automatically on a session event, with variables mapped from the session."""

    __tablename__ = "process_event_bindings"
    __table_args__ = (
        UniqueConstraint("process_id", "event", name="uq_process_event_bindings_process_event"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("processes.id"), index=True)
    event: Mapped[str] = mapped_column(String(32), index=True)
    # Process variable name -> source ("session.subject", "client.email", "param.KEY", "message.text").
    input_mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    process: Mapped[Process] = relationship()


class WaitKind(enum.StrEnum):
    """What a waiting instance waits for besides a person."""

    TIMER = "timer"
    MESSAGE = "message"
    CONTINUE = "continue"  # an asynchronous continuation (camunda:asyncBefore/asyncAfter)


class InstanceWait(Base):
    """One event a waiting instance waits for: a timer (with its due time) or a message of its
    session's conversation. Rewritten after every step; read by the ingest to correlate."""

    __tablename__ = "process_waits"
    __table_args__ = (Index("ix_process_waits_session_kind_name", "session_id", "kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255))  # the message name, or the element's name
    element_id: Mapped[str] = mapped_column(String(255))
    due_at: Mapped[datetime | None]
