"""Who may see and work which live chats and sessions; checked on the server for every caller."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    SQLColumnExpression,
    bindparam,
    exists,
    or_,
    select,
)
from sqlalchemy.orm import Session

from bpm_livechat.errors import AccessDeniedError
from bpm_livechat.models import LiveChatMember, MemberRole, Role, SupportSession, User
from bpm_livechat.persistence.tx_cache import cached

ACCESS_CACHE = "bpm_livechat.access."
# The roles that work a live chat's sessions, as plain comparisons: an IN list of literals is
# expanded by SQLAlchemy on every execution ("postcompile"), and these run on every request.
_WORKING_ROLE = or_(
    LiveChatMember.role == MemberRole.OPERATOR.value,
    LiveChatMember.role == MemberRole.SUPERVISOR.value,
    LiveChatMember.role == MemberRole.CHANNEL.value,
)
_WORKS_IN = select(LiveChatMember.live_chat_id).where(
    LiveChatMember.user_id == bindparam("user_id"), _WORKING_ROLE
)


def visible_live_chat_ids(db: Session, user: User) -> set[int] | None:
    """The live chats whose sessions `user` works; None means all of them (admins)."""
    if user.role == Role.ADMIN.value:
        return None
    if user.role == Role.USER.value:
        return set()
    return set(cached(db, f"{ACCESS_CACHE}{user.id}", lambda: _working_chats(db, user.id)))


def _working_chats(db: Session, user_id: int) -> list[int]:
    return list(db.scalars(_WORKS_IN, {"user_id": user_id}))


def can_access_live_chat(db: Session, user: User, live_chat_id: int) -> bool:
    """True when `user` works sessions of this live chat."""
    if live_chat_id in _granted(db, user):
        return True
    ids = visible_live_chat_ids(db, user)
    return ids is None or live_chat_id in ids


def note_access(db: Session, user: User, live_chat_id: int) -> None:
    """Remember for this transaction that a statement's `work_clause` let `user` work this chat."""
    _granted(db, user).add(live_chat_id)


def _granted(db: Session, user: User) -> set[int]:
    # Filled by statements that checked access themselves (`note_access`), so later checks in the
    # same transaction need no query of their own; forgotten with the rest of ACCESS_CACHE.
    return cached(db, f"{ACCESS_CACHE}{user.id}.granted", set)


def work_clause(live_chat_id: SQLColumnExpression[int]) -> ColumnElement[bool]:
    """SQL: the user of `work_params` works `live_chat_id` (`visible_live_chat_ids` as a clause)."""
    # For hot paths that check access inside the statement that reads or writes the row.
    member = exists().where(
        LiveChatMember.live_chat_id == live_chat_id,
        LiveChatMember.user_id == bindparam("access_user_id", type_=Integer),
        _WORKING_ROLE,
    )
    return or_(bindparam("access_all", type_=Boolean), member)


def work_params(user: User) -> dict[str, object]:
    """The values `work_clause` is run with for `user` (an app user's membership gives no work)."""
    return {
        "access_all": user.role == Role.ADMIN.value,
        "access_user_id": None if user.role == Role.USER.value else user.id,
    }


def no_access(user: User, session_id: int) -> AccessDeniedError:
    """The refusal for a session `user` may not work."""
    return AccessDeniedError(f"user {user.username!r} has no access to session {session_id}")


def require_session_access(db: Session, user: User, session: SupportSession) -> None:
    """Raise AccessDeniedError unless `user` may see and work this session."""
    if not can_access_live_chat(db, user, session.live_chat_id):
        raise no_access(user, session.id)


def is_supervisor_of(db: Session, user: User, live_chat_id: int) -> bool:
    """True for admins and for supervisors of this live chat."""
    if user.role == Role.ADMIN.value:
        return True
    if user.role != Role.SUPERVISOR.value:
        return False
    member = db.get(LiveChatMember, (live_chat_id, user.id, MemberRole.SUPERVISOR.value))
    return member is not None
