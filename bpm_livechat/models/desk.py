"""The desk's tables: users and roles, web logins, live chats with channels and members, API
tokens, user preferences and idempotency records."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bpm_livechat.models.base import Base, utcnow

TOKEN_NAME_LENGTH = 64
IDEMPOTENCY_KEY_LENGTH = 255
LOGIN_HASH_LENGTH = 64  # hex SHA-256


class Role(enum.StrEnum):
    """What a user is in the product."""

    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    OPERATOR = "operator"
    USER = "user"
    # An integration account of a channel (a web widget's server, a messenger bridge): it speaks
    # for the client through the API, never as a person, and does not use the pages.
    CHANNEL = "channel"


# The people who work sessions: they reply as the operator, have a presence, may be operators.
STAFF_ROLES = frozenset({Role.OPERATOR.value, Role.SUPERVISOR.value, Role.ADMIN.value})


class MemberRole(enum.StrEnum):
    """How a user belongs to a live chat."""

    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    READER = "reader"
    CHANNEL = "channel"  # a channel account feeding the live chat's sessions


class Presence(enum.StrEnum):
    """Whether an operator is there to work: Away is set by hand or after inactivity."""

    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The presence the user chose, and when they last made a request (automatic Away reads it).
    presence: Mapped[str] = mapped_column(
        String(16), default=Presence.ONLINE.value, server_default=Presence.ONLINE.value
    )
    presence_changed_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]
    # A deactivated user cannot log in, and their logins and API tokens stop working.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class Login(Base):
    """One browser's web login: the cookie carries a random secret, the row only its SHA-256.
    Logout deletes the row; a new password, deactivation and "sign out everywhere" delete the
    user's rows."""

    __tablename__ = "logins"

    id: Mapped[int] = mapped_column(primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(LOGIN_HASH_LENGTH), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    # The last request the person made (written at most once a minute; background requests
    # of an open page do not count).
    last_seen_at: Mapped[datetime]


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


class ApiToken(Base):
    """A user's personal API token; only its hash and a short visible prefix are kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(TOKEN_NAME_LENGTH))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class UserPreference(Base):
    """One named preference of one user."""

    __tablename__ = "user_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdempotencyRecord(Base):
    """The response first given to one user's request under one key."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(IDEMPOTENCY_KEY_LENGTH))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class WebhookSubscription(Base):
    """An outbound webhook: where a channel's (or, without a channel, every channel's) events
    are POSTed as signed JSON, and which events it wants."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(255))
    # Which events it receives: outgoing messages (operator or process) and session events.
    on_message: Mapped[bool] = mapped_column(Boolean, default=True)
    on_created: Mapped[bool] = mapped_column(Boolean, default=False)
    on_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    on_assigned: Mapped[bool] = mapped_column(Boolean, default=False)
    on_parameter_changed: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    channel: Mapped[Channel | None] = relationship()
