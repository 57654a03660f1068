"""The job table: durable work the product does without a click (timers, messages, automatic
starts, webhook deliveries), written in the transaction that causes it and run by workers."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bpm_livechat.models.base import Base, utcnow


class JobStatus(enum.StrEnum):
    """Where a job is: due or waiting for its time, claimed by a worker, or over."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # its last try failed: an incident, or a dead webhook delivery
    CANCELLED = "cancelled"


class Job(Base):
    """One piece of durable work. A worker claims it with a lease (`locked_by` until
    `locked_until`); a worker that dies lets the lease expire and another takes the job over."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.PENDING.value)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # Work that must exist once (an instance's timer at one due time, one delivery of one
    # message to one instance): a second enqueue with the same key adds nothing.
    dedupe_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
