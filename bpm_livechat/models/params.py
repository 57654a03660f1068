"""The custom parameters' tables: definitions, each session's values, and their history."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bpm_livechat.models.base import Base, utcnow
from bpm_livechat.models.desk import User


class ParamDefinition(Base):
    """A custom parameter of every session (Form Settings); archived ones keep their values."""

    __tablename__ = "param_definitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(16))
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    # What people read for an option ({"follow_up": "Follow-up"}); data and the API keep keys.
    option_labels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
    constraints: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
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
