"""Routing's tables: teams of operators with their capacities, ordered routing rules, and the
team each queued session waits for."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bpm_livechat.models.base import Base, utcnow
from bpm_livechat.models.desk import LiveChat, User


class Team(Base):
    """A named group of operators that rules send sessions to (each member keeps the round-robin
    turn it last got: the team's turns are its members' `last_turn`s)."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    members: Mapped[list[TeamMember]] = relationship(
        back_populates="team", cascade="all, delete-orphan", order_by="TeamMember.user_id"
    )


class TeamMember(Base):
    """An operator in a team, with the most concurrent active sessions routing gives them."""

    __tablename__ = "team_members"
    __table_args__ = (Index("ix_team_members_team_turn", "team_id", "last_turn"),)

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    capacity: Mapped[int] = mapped_column(Integer)
    last_turn: Mapped[int] = mapped_column(Integer, default=0)

    team: Mapped[Team] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class RoutingRule(Base):
    """One ordered rule: when its conditions hold (all or any), send the session to a team or to
    named operators by a strategy. No live chat: a global rule, tried after the chat's own."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    live_chat_id: Mapped[int | None] = mapped_column(ForeignKey("live_chats.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    match: Mapped[str] = mapped_column(String(8), default="all")
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    operator_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    strategy: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set on every save: with the count and the newest id, a cheap fingerprint of the rules.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    live_chat: Mapped[LiveChat | None] = relationship()
    team: Mapped[Team | None] = relationship()


class SessionRoute(Base):
    """Where routing last sent a session: the team it waits for (the queue drains in arrival
    order), the rule that matched, and the explanation shown in its history."""

    __tablename__ = "session_routes"
    __table_args__ = (Index("ix_session_routes_team_waiting", "team_id", "waiting"),)

    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), primary_key=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    rule_id: Mapped[int | None] = mapped_column(Integer)
    waiting: Mapped[bool] = mapped_column(default=False)
    explanation: Mapped[str] = mapped_column(Text, default="")
    routed_at: Mapped[datetime] = mapped_column(default=utcnow)
