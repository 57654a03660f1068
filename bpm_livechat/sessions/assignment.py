"""Who works a session: an operator takes a queued one, a supervisor assigns or transfers it.

Taking is one conditional UPDATE (only while nobody has the session), so of two operators
taking at once exactly one wins and the other learns who did. Every change bumps the session's
version, writes a history entry (who, from whom, to whom) and records `session_assigned`.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from bpm_livechat.clock import Clock
from bpm_livechat.desk.access import is_supervisor_of, require_session_access
from bpm_livechat.desk.presence import require_available
from bpm_livechat.errors import AccessDeniedError, SessionTakenError, ValidationError
from bpm_livechat.live.feed import LiveKind, publish
from bpm_livechat.models import (
    LiveChatMember,
    MemberRole,
    Presence,
    SessionHistory,
    Status,
    SupportSession,
    User,
)
from bpm_livechat.routing.triggers import operator_freed
from bpm_livechat.sessions.events import SessionEvent, record_event
from bpm_livechat.sessions.guards import require_open

_SESSIONS = cast(Table, SupportSession.__table__)


def is_operator_of(db: Session, user: User, live_chat_id: int) -> bool:
    """True when `user` is an operator member of the live chat (may take and be given sessions)."""
    member = db.get(LiveChatMember, (live_chat_id, user.id, MemberRole.OPERATOR.value))
    return member is not None


def take_session(db: Session, clock: Clock, session: SupportSession, user: User) -> None:
    """`user` takes a session nobody has; SessionTakenError naming the holder when someone
    was quicker (taking one's own session again changes nothing)."""
    require_session_access(db, user, session)
    require_open(session)
    require_available(user, "take sessions")
    if not is_operator_of(db, user, session.live_chat_id):
        raise AccessDeniedError(
            f"user {user.username!r} is not an operator of live chat {session.live_chat.name!r}"
        )
    statement = (
        update(_SESSIONS)
        .where(
            _SESSIONS.c.id == session.id,
            _SESSIONS.c.operator_id.is_(None),
            _SESSIONS.c.status != Status.CLOSED.value,
        )
        .values(
            operator_id=user.id,
            status=Status.ACTIVE.value,
            version=_SESSIONS.c.version + 1,
        )
        .returning(_SESSIONS.c.id)
    )
    won = db.execute(statement).first() is not None
    db.refresh(session)  # the row as it is now: ours, or the winner's
    if not won:
        if session.operator_id == user.id:
            return
        require_open(session)
        holder = db.get(User, session.operator_id) if session.operator_id else None
        if holder is None:  # cannot happen: the row lock let the winner finish first
            raise SessionTakenError(session.id, "?", "someone else")
        raise SessionTakenError(session.id, holder.username, holder.display_name)
    _record(db, clock, session, user, "taken", None, user)


def assign_session(
    db: Session, clock: Clock, session: SupportSession, target: User, user: User
) -> None:
    """A supervisor of the live chat (or an admin) gives the session to `target`, an operator
    of that live chat who is not Offline: assigning a queued one, or transferring it."""
    require_session_access(db, user, session)
    if not is_supervisor_of(db, user, session.live_chat_id):
        raise AccessDeniedError(
            f"only supervisors of live chat {session.live_chat.name!r} assign its sessions"
        )
    require_open(session)
    require_available(user, "assign sessions")
    if not is_operator_of(db, target, session.live_chat_id):
        raise ValidationError(
            f"{target.username!r} is not an operator of live chat {session.live_chat.name!r}",
            {"operator": "not an operator of this live chat"},
        )
    if target.presence == Presence.OFFLINE.value:
        raise ValidationError(
            f"{target.display_name} is Offline and cannot be given sessions",
            {"operator": "Offline"},
        )
    _lock(db, session)
    require_open(session)
    previous = db.get(User, session.operator_id) if session.operator_id else None
    if previous is not None and previous.id == target.id:
        return
    session.operator = target
    session.status = Status.ACTIVE.value
    kind = "transferred" if previous is not None else "assigned"
    _record(db, clock, session, user, kind, previous, target)
    operator_freed(db, clock, previous.id if previous else None)


def release_session(db: Session, clock: Clock, session: SupportSession, user: User) -> None:
    """Put the session back in the queue: its operator, or a supervisor of the live chat."""
    require_session_access(db, user, session)
    require_open(session)
    require_available(user, "return sessions to the queue")
    _lock(db, session)
    previous = db.get(User, session.operator_id) if session.operator_id else None
    if previous is None:
        return
    if previous.id != user.id and not is_supervisor_of(db, user, session.live_chat_id):
        raise AccessDeniedError(f"session {session.id} is {previous.display_name}'s")
    session.operator = None
    session.status = Status.QUEUED.value
    _record(db, clock, session, user, "released", previous, None)
    operator_freed(db, clock, previous.id)


def _lock(db: Session, session: SupportSession) -> None:
    """Lock the session's row and read it again, so "from whom" is who has it now."""
    # A plain row lock (PostgreSQL; SQLite has one writer): refreshing with FOR UPDATE would
    # repeat the page's outer joins, which PostgreSQL cannot lock.
    db.execute(select(_SESSIONS.c.id).where(_SESSIONS.c.id == session.id).with_for_update())
    db.refresh(session)


_SUMMARIES = {
    "taken": "{by} took the session",
    "assigned": "{by} assigned the session to {to}",
    "transferred": "{by} transferred the session from {from_} to {to}",
    "released": "{by} returned the session to the queue (was {from_}'s)",
}


def _record(
    db: Session,
    clock: Clock,
    session: SupportSession,
    by: User,
    kind: str,
    previous: User | None,
    target: User | None,
) -> None:
    """The history entry and the `session_assigned` event of one change of operator."""
    now = clock.now()
    names = {
        "by": by.display_name,
        "from_": previous.display_name if previous else "nobody",
        "to": target.display_name if target else "nobody",
    }
    detail = {
        "by": by.username,
        "from": previous.username if previous else None,
        "to": target.username if target else None,
    }
    db.add(
        SessionHistory(
            session_id=session.id,
            kind=kind,
            summary=_SUMMARIES[kind].format(**names),
            detail=detail,
            actor_user_id=by.id,
            created_at=now,
        )
    )
    db.flush()
    record_event(db, clock, SessionEvent.SESSION_ASSIGNED, session.id, {"change": kind, **detail})
    publish(db, LiveKind.SESSION_CHANGED, session.id, session.live_chat_id, {"what": "assigned"})


def operator_chats(db: Session, user: User) -> set[int]:
    """The live chats where `user` is an operator member (where they may take sessions)."""
    query = select(LiveChatMember.live_chat_id).where(
        LiveChatMember.user_id == user.id, LiveChatMember.role == MemberRole.OPERATOR.value
    )
    return set(db.scalars(query))
