"""The live feed: what changed in which session, for the pages open on it (issue 16)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bpm_livechat.models.base import Base, utcnow


class LiveEvent(Base):
    """One change open pages may show: a message, a new session, an assignment, a parameter...

    Written in the transaction of the change, so a page never hears of a change that rolled
    back; the increasing id is the cursor a reconnecting page resumes from (SSE Last-Event-ID).
    No foreign keys: rows are short-lived (pruned by age) and must never hold a delete back.
    """

    __tablename__ = "live_events"
    __table_args__ = (Index("ix_live_events_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    session_id: Mapped[int | None] = mapped_column(Integer)
    live_chat_id: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
