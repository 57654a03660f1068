"""The conversation's tables: clients, support sessions and their messages."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bpm_livechat.models.base import Base, utcnow
from bpm_livechat.models.desk import Channel, LiveChat, User


class Priority(enum.StrEnum):
    """Session priority, in rising order."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Status(enum.StrEnum):
    """Where a session is in its life."""

    QUEUED = "queued"
    ACTIVE = "active"
    CLOSED = "closed"


class AuthorKind(enum.StrEnum):
    """Who wrote a message."""

    CLIENT = "client"
    OPERATOR = "operator"
    SYSTEM = "system"
    PROCESS = "process"  # a process's reply (session.reply, a client_reply message)


class Client(Base):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))


class SupportSession(Base):
    """A conversation in a live chat: the 'session' of the product (named so to avoid DB sessions)."""

    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_live_chat_created", "live_chat_id", "created_at"),
        Index("ix_sessions_live_chat_status", "live_chat_id", "status"),
        # Routing counts each operator's active sessions from this index alone.
        Index("ix_sessions_operator_status", "operator_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    live_chat_id: Mapped[int] = mapped_column(ForeignKey("live_chats.id"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    subject: Mapped[str] = mapped_column(String(255), default="")
    priority: Mapped[str] = mapped_column(String(16), default=Priority.NORMAL.value)
    status: Mapped[str] = mapped_column(String(16), default=Status.QUEUED.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(255), default="")
    name_is_manual: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}

    live_chat: Mapped[LiveChat] = relationship()
    channel: Mapped[Channel] = relationship()
    client: Mapped[Client] = relationship()
    operator: Mapped[User | None] = relationship(foreign_keys=[operator_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_session_sent", "session_id", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    author_kind: Mapped[str] = mapped_column(String(16))
    author_name: Mapped[str] = mapped_column(String(255))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class SessionHistory(Base):
    """One thing that happened to a session besides its parameters: a priority a process raised,
    an assignment, closing; `summary` is the sentence shown, `detail` the structured facts."""

    __tablename__ = "session_history"
    __table_args__ = (Index("ix_session_history_session", "session_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    kind: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    instance_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor_user: Mapped[User | None] = relationship()
