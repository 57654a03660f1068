"""When routing runs: the one call each code path makes, in the caller's transaction.

A new session, its first client message, a parameter change that some rule reads (only for a
session nobody has), an operator who comes Online or frees capacity (their teams' queues
drain in arrival order), and a supervisor's Route again.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import cast

from sqlalchemy import Table, exists, func, select
from sqlalchemy.orm import Session

from bpm_livechat.clock import Clock
from bpm_livechat.desk.access import is_supervisor_of
from bpm_livechat.desk.presence import presence_of, require_available
from bpm_livechat.errors import AccessDeniedError, ValidationError
from bpm_livechat.models import (
    AuthorKind,
    Message,
    Presence,
    RoutingRule,
    Status,
    SupportSession,
    User,
)
from bpm_livechat.routing.decision import Decision, route_session
from bpm_livechat.routing.queue import drain_operator
from bpm_livechat.routing.rules import compiled_rules

_SESSIONS = cast(Table, SupportSession.__table__)


class Reason(StrEnum):
    """Why routing ran (the history says it)."""

    CREATED = "session created"
    FIRST_MESSAGE = "first client message"
    PARAMETER_CHANGED = "parameter changed"
    ONLINE = "operator came Online"
    FREED = "operator freed capacity"
    ROUTE_AGAIN = "Route again"


def route_if_needed(
    db: Session,
    clock: Clock,
    session: SupportSession,
    reason: Reason,
    changed_keys: Iterable[str] | None = None,
) -> Decision | None:
    """Route the session when nobody has it and some rule applies (for a parameter change:
    some rule reads one of `changed_keys`); None when routing had nothing to do."""
    if session.operator_id is not None or session.status == Status.CLOSED.value:
        return None
    rules = compiled_rules(db, session.live_chat_id)
    if not rules:
        return None
    if changed_keys is not None:
        keys = set(changed_keys)
        if not any(rule.keys & keys for rule in rules):
            return None
    return route_session(db, clock, session, reason.value, rules)


def first_message_routes(db: Session, session_id: int) -> bool:
    """One statement: the session is queued, nobody has it, its one client message is the
    first, and some routing rule exists (a channel's hot path asks before anything else)."""
    client_messages = (
        select(func.count())
        .where(Message.session_id == session_id, Message.author_kind == AuthorKind.CLIENT.value)
        .scalar_subquery()
    )
    query = select(_SESSIONS.c.id).where(
        _SESSIONS.c.id == session_id,
        _SESSIONS.c.operator_id.is_(None),
        _SESSIONS.c.status == Status.QUEUED.value,
        client_messages == 1,
        exists().where(RoutingRule.id.is_not(None)),
    )
    return db.execute(query).first() is not None


def route_after_client_message(
    db: Session, clock: Clock, session: SupportSession
) -> Decision | None:
    """Route on the session's first client message (later ones change nothing)."""
    if not first_message_routes(db, session.id):
        return None
    return route_if_needed(db, clock, session, Reason.FIRST_MESSAGE)


def operator_available(db: Session, clock: Clock, user: User, reason: Reason) -> list[int]:
    """An operator came Online or freed capacity: drain their teams' queues into their free
    capacity (nothing unless they read as Online); the session ids they were given."""
    if presence_of(user, clock.now()) is not Presence.ONLINE:
        return []
    return drain_operator(db, clock, user, reason.value)


def operator_freed(db: Session, clock: Clock, user_id: int | None) -> list[int]:
    """The session's operator closed, returned or handed over a session: drain into the slot."""
    if user_id is None:
        return []
    user = db.get(User, user_id)
    return [] if user is None else operator_available(db, clock, user, Reason.FREED)


def route_again(db: Session, clock: Clock, session: SupportSession, user: User) -> Decision:
    """A supervisor's Route again: route a queued session by today's rules and presence."""
    if not is_supervisor_of(db, user, session.live_chat_id):
        raise AccessDeniedError(
            f"only supervisors of live chat {session.live_chat.name!r} route its sessions"
        )
    require_available(user, "route sessions")
    db.execute(select(_SESSIONS.c.id).where(_SESSIONS.c.id == session.id).with_for_update())
    db.refresh(session)
    if session.status == Status.CLOSED.value:
        raise ValidationError(f"session {session.id} is closed", {"session": "closed"})
    if session.operator_id is not None:
        holder = session.operator.display_name if session.operator else "someone"
        raise ValidationError(
            f"session {session.id} is {holder}'s: return it to the queue to route it again",
            {"session": "assigned"},
        )
    return route_session(db, clock, session, f"{Reason.ROUTE_AGAIN.value} by {user.display_name}")
