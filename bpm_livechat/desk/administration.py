"""Administering users and live chats: roles, live chat names, and removing memberships."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bpm_livechat.desk.access import ACCESS_CACHE
from bpm_livechat.desk.livechats import MEMBER_USER_ROLES
from bpm_livechat.desk.users import SYSTEM_USERNAME, parse_role
from bpm_livechat.errors import ValidationError
from bpm_livechat.models import LiveChat, LiveChatMember, MemberRole, Role, User
from bpm_livechat.names import check_name
from bpm_livechat.persistence.tx_cache import forget


def list_users(db: Session) -> list[User]:
    """All users by username (not the built-in `system` account automation acts as)."""
    query = select(User).where(User.username != SYSTEM_USERNAME).order_by(User.username)
    return list(db.scalars(query))


def memberships(db: Session, user: User) -> list[LiveChatMember]:
    """The user's live chat memberships, by live chat name and role."""
    query = (
        select(LiveChatMember)
        .join(LiveChat, LiveChat.id == LiveChatMember.live_chat_id)
        .where(LiveChatMember.user_id == user.id)
        .order_by(LiveChat.name, LiveChatMember.role)
    )
    return list(db.scalars(query))


def set_role(db: Session, user: User, role: str) -> list[LiveChatMember]:
    """Give `user` a new role; memberships the new role cannot hold are removed and returned.

    The last admin cannot lose the role, so the product always has someone to administer it.
    """
    new_role = parse_role(role)
    if user.role == Role.ADMIN.value and new_role is not Role.ADMIN:
        people = User.username != SYSTEM_USERNAME  # the built-in account administers nothing
        admins = db.scalar(select(func.count(User.id)).where(User.role == Role.ADMIN.value, people))
        if (admins or 0) <= 1:
            raise ValidationError(
                f"{user.username!r} is the last admin and must keep the admin role",
                {"role": "the last admin must stay admin"},
            )
    user.role = new_role.value
    dropped = [
        m
        for m in memberships(db, user)
        if new_role.value not in MEMBER_USER_ROLES[MemberRole(m.role)]
    ]
    for member in dropped:
        db.delete(member)
    db.flush()
    forget(db, ACCESS_CACHE)
    return dropped


def remove_member(db: Session, chat: LiveChat, user: User, role: MemberRole) -> bool:
    """Take `role` in the live chat away from `user`; False when the user did not hold it."""
    member = db.get(LiveChatMember, (chat.id, user.id, role.value))
    if member is None:
        return False
    db.delete(member)
    db.flush()
    forget(db, ACCESS_CACHE)
    return True


def rename_live_chat(db: Session, chat: LiveChat, name: str) -> None:
    """Give the live chat a new unique name (sessions keep their names until re-rendered)."""
    name = check_name(name, "the live chat name")
    taken = db.scalar(select(LiveChat.id).where(LiveChat.name == name, LiveChat.id != chat.id))
    if taken is not None:
        raise ValidationError(f"live chat {name!r} already exists", {"name": "already exists"})
    chat.name = name
    db.flush()
