"""The ORM models of built-in apps: apps, their typed fields, items, live chat bindings, links."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bpm_livechat.models.base import Base, utcnow


class App(Base):
    """A simple typed collection (Clients, Requests...): fields, and items holding their values."""

    __tablename__ = "apps"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    fields: Mapped[list[AppField]] = relationship(
        back_populates="app", order_by="AppField.position", cascade="all, delete-orphan"
    )


class AppField(Base):
    """One typed field of an app; the types and their validation are those of custom parameters."""

    __tablename__ = "app_fields"
    __table_args__ = (UniqueConstraint("app_id", "key", name="uq_app_fields_app_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"))
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16))
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)

    app: Mapped[App] = relationship(back_populates="fields")


class AppItem(Base):
    """One record of an app: canonical JSON values by field key, and a title to list and search."""

    __tablename__ = "app_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"), index=True)
    title: Mapped[str] = mapped_column(String(255))
    search_text: Mapped[str] = mapped_column(String(1000), default="")
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    app: Mapped[App] = relationship()


class LiveChatApp(Base):
    """The app a live chat is bound to: its sessions create and link items of that app."""

    __tablename__ = "live_chat_apps"

    live_chat_id: Mapped[int] = mapped_column(ForeignKey("live_chats.id"), primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"), index=True)

    app: Mapped[App] = relationship()


class SessionItemLink(Base):
    """A session linked to an app item (by an operator, or by a script's changeset)."""

    __tablename__ = "session_item_links"

    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("app_items.id"), primary_key=True, index=True)
    linked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[AppItem] = relationship()
