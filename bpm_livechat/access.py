"""Who may see and work which live chats and sessions; checked on the server for every caller."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import AccessDeniedError
from .models import LiveChatMember, MemberRole, Role, SupportSession, User
from .tx_cache import cached

ACCESS_CACHE = "bpm_livechat.access."
_WORKING_ROLES = (MemberRole.OPERATOR.value, MemberRole.SUPERVISOR.value)


def visible_live_chat_ids(db: Session, user: User) -> set[int] | None:
    """The live chats whose sessions `user` works; None means all of them (admins)."""
    if user.role == Role.ADMIN.value:
        return None
    if user.role == Role.USER.value:
        return set()
    query = select(LiveChatMember.live_chat_id).where(
        LiveChatMember.user_id == user.id, LiveChatMember.role.in_(_WORKING_ROLES)
    )
    return set(cached(db, f"{ACCESS_CACHE}{user.id}", lambda: list(db.scalars(query))))


def can_access_live_chat(db: Session, user: User, live_chat_id: int) -> bool:
    """True when `user` works sessions of this live chat."""
    ids = visible_live_chat_ids(db, user)
    return ids is None or live_chat_id in ids


def require_session_access(db: Session, user: User, session: SupportSession) -> None:
    """Raise AccessDeniedError unless `user` may see and work this session."""
    if not can_access_live_chat(db, user, session.live_chat_id):
        raise AccessDeniedError(f"user {user.username!r} has no access to session {session.id}")


def is_supervisor_of(db: Session, user: User, live_chat_id: int) -> bool:
    """True for admins and for supervisors of this live chat."""
    if user.role == Role.ADMIN.value:
        return True
    if user.role != Role.SUPERVISOR.value:
        return False
    member = db.get(LiveChatMember, (live_chat_id, user.id, MemberRole.SUPERVISOR.value))
    return member is not None
