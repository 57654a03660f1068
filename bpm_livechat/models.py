"""The ORM models: users, live chats, channels, clients, sessions, messages and custom parameters."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as naive UTC and returns them aware, identically on every database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so migrations name constraints predictably."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Role(enum.StrEnum):
    """What a user is in the product."""

    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    OPERATOR = "operator"
    USER = "user"


class MemberRole(enum.StrEnum):
    """How a user belongs to a live chat."""

    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    READER = "reader"


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


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LiveChat(Base):
    __tablename__ = "live_chats"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    name_template: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    channels: Mapped[list[Channel]] = relationship(
        back_populates="live_chat", order_by="Channel.id", cascade="all, delete-orphan"
    )
    members: Mapped[list[LiveChatMember]] = relationship(
        back_populates="live_chat", cascade="all, delete-orphan"
    )


class LiveChatMember(Base):
    __tablename__ = "live_chat_members"

    live_chat_id: Mapped[int] = mapped_column(ForeignKey("live_chats.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)

    live_chat: Mapped[LiveChat] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class Channel(Base):
    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("live_chat_id", "name", name="uq_channels_live_chat_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    live_chat_id: Mapped[int] = mapped_column(ForeignKey("live_chats.id"))
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))

    live_chat: Mapped[LiveChat] = relationship(back_populates="channels")


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
    name: Mapped[str] = mapped_column(String(255), default="")
    name_is_manual: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}

    live_chat: Mapped[LiveChat] = relationship()
    channel: Mapped[Channel] = relationship()
    client: Mapped[Client] = relationship()
    operator: Mapped[User | None] = relationship()


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


class ParamDefinition(Base):
    """A custom parameter of every session (Form Settings); archived ones keep their values."""

    __tablename__ = "param_definitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(16))
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    required_to_close: Mapped[bool] = mapped_column(Boolean, default=False)
    archived_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ParamValue(Base):
    """One session's value of one custom parameter: canonical JSON plus indexed columns to query."""

    __tablename__ = "param_values"
    __table_args__ = (
        Index("ix_param_values_text", "definition_id", "text_value", "session_id"),
        Index("ix_param_values_number", "definition_id", "number_value", "session_id"),
        # Clustered by (session_id, definition_id) on SQLite: one seek per value when sorting.
        {"sqlite_with_rowid": False},
    )

    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("param_definitions.id"), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    text_value: Mapped[str | None] = mapped_column(String(255))
    number_value: Mapped[Decimal | None] = mapped_column(Numeric(38, 10))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ParamHistory(Base):
    """One change of one parameter of one session, with who or what made it."""

    __tablename__ = "param_history"
    __table_args__ = (Index("ix_param_history_session_key", "session_id", "key", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    definition_id: Mapped[int] = mapped_column(ForeignKey("param_definitions.id"))
    key: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    instance_id: Mapped[int | None] = mapped_column(Integer)
    process_id: Mapped[str | None] = mapped_column(String(255))
    process_version: Mapped[int | None] = mapped_column(Integer)
    task_id: Mapped[str | None] = mapped_column(String(255))
    task_name: Mapped[str | None] = mapped_column(String(255))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor_user: Mapped[User | None] = relationship()
