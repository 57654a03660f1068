"""The step log of process instances: one row per step, saying who or which job moved it, when,
and which BPMN elements ran (written in the step's own transaction)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bpm_livechat.models.base import Base, utcnow
from bpm_livechat.models.desk import User


class StepKind(enum.StrEnum):
    """What moved an instance: a person's start or task, a worker's job, a supervisor."""

    START = "start"
    COMPLETE = "complete"
    TIMER = "timer"
    MESSAGE = "message"
    CONTINUE = "continue"
    RETRY = "retry"
    CANCEL = "cancel"
    FAILED = "failed"


class InstanceStep(Base):
    """One step of one instance: its kind, who (user) or which job, when, the elements it ran
    (in order: [{"id", "name", "type"}]) and the instance's status after it."""

    __tablename__ = "process_instance_steps"
    __table_args__ = (Index("ix_process_instance_steps_instance", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    job_id: Mapped[int | None] = mapped_column(Integer)  # no key: done jobs may be purged
    status: Mapped[str] = mapped_column(String(16))
    elements: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # {"task": user task name, "message": message name, "error": failure message...}
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship()
