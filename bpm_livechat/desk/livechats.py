"""Live chats: their channels, members (operators, supervisors, readers) and session name template."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bpm_livechat.desk.access import ACCESS_CACHE
from bpm_livechat.desk.naming import DEFAULT_TEMPLATE, NameTemplate, Placeholder, parse_template
from bpm_livechat.errors import NotFoundError, ValidationError
from bpm_livechat.models import (
    STAFF_ROLES,
    Channel,
    LiveChat,
    LiveChatMember,
    MemberRole,
    Role,
    SupportSession,
    User,
)
from bpm_livechat.names import check_name
from bpm_livechat.params.definitions import definitions
from bpm_livechat.persistence.tx_cache import forget

CHANNEL_KINDS = ("web", "telegram", "whatsapp", "email", "phone", "api", "other")
MEMBER_USER_ROLES = {
    MemberRole.OPERATOR: set(STAFF_ROLES),
    MemberRole.SUPERVISOR: {Role.SUPERVISOR.value, Role.ADMIN.value},
    MemberRole.READER: {r.value for r in Role},
    MemberRole.CHANNEL: {Role.CHANNEL.value},
}


def list_live_chats(db: Session) -> list[LiveChat]:
    """All live chats by name."""
    return list(db.scalars(select(LiveChat).order_by(LiveChat.name)))


def get_live_chat(db: Session, name: str) -> LiveChat:
    """The live chat called `name`, or NotFoundError."""
    chat = db.scalar(select(LiveChat).where(LiveChat.name == name))
    if chat is None:
        raise NotFoundError("live chat", name)
    return chat


def check_template(db: Session, template: str) -> NameTemplate:
    """Parse a name template against the current custom parameters (TemplateError on a problem);
    an empty template, or one without a placeholder, would give every session the same name."""
    if not template.strip():
        reason = "must not be empty: every session would be named “Session”"
        raise ValidationError(f"the name template {reason}", {"name_template": reason})
    parsed = parse_template(template, {d.key for d in definitions(db)})
    if not any(isinstance(part, Placeholder) for part in parsed.parts):
        reason = (
            f"has no placeholder: every session would be named “{template}” (add one, such "
            "as {client.name} or {param.order_number})"
        )
        raise ValidationError(f"the name template {reason}", {"name_template": reason})
    return parsed


def create_live_chat(db: Session, name: str, name_template: str = DEFAULT_TEMPLATE) -> LiveChat:
    """Add a live chat with a validated session name template."""
    name = check_name(name, "the live chat name")
    if db.scalar(select(LiveChat.id).where(LiveChat.name == name)) is not None:
        raise ValidationError(f"live chat {name!r} already exists", {"name": "already exists"})
    check_template(db, name_template)
    chat = LiveChat(name=name, name_template=name_template)
    db.add(chat)
    db.flush()
    return chat


def set_name_template(db: Session, chat: LiveChat, template: str) -> None:
    """Change the template used for new sessions' names (existing names are left as they are)."""
    check_template(db, template)
    chat.name_template = template
    db.flush()


def add_channel(db: Session, chat: LiveChat, name: str, kind: str) -> Channel:
    """Add a channel (web widget, messenger, email...) through which sessions reach the chat."""
    if kind not in CHANNEL_KINDS:
        raise ValidationError(
            f"unknown channel kind {kind!r} (one of: {', '.join(CHANNEL_KINDS)})",
            {"kind": "unknown kind"},
        )
    name = check_name(name, "the channel name")
    if any(c.name == name for c in chat.channels):
        raise ValidationError(
            f"channel {name!r} already exists in {chat.name!r}", {"name": "already exists"}
        )
    channel = Channel(live_chat=chat, name=name, kind=kind)
    db.add(channel)
    db.flush()
    return channel


def remove_channel(db: Session, chat: LiveChat, channel_id: int) -> Channel:
    """Remove a channel no session came through; one with sessions stays (they refer to it)."""
    channel = next((c for c in chat.channels if c.id == channel_id), None)
    if channel is None:
        raise NotFoundError("channel", channel_id)
    used = db.scalar(select(func.count()).where(SupportSession.channel_id == channel.id)) or 0
    if used:
        raise ValidationError(
            f"channel {channel.name!r} cannot be removed: {used} sessions came through it",
            {"channel": f"{used} sessions came through it"},
        )
    chat.channels.remove(channel)
    db.flush()
    return channel


def add_member(db: Session, chat: LiveChat, user: User, role: MemberRole) -> None:
    """Make `user` an operator, supervisor or reader of the live chat (idempotent)."""
    if user.role not in MEMBER_USER_ROLES[role]:
        raise ValidationError(
            f"user {user.username!r} with role {user.role} cannot be a {role.value} of a live chat",
            {"role": "role does not allow this membership"},
        )
    if db.get(LiveChatMember, (chat.id, user.id, role.value)) is None:
        db.add(LiveChatMember(live_chat_id=chat.id, user_id=user.id, role=role.value))
        db.flush()
        forget(db, ACCESS_CACHE)


def members(db: Session, live_chat_id: int, role: MemberRole) -> list[User]:
    """The users holding `role` in the live chat, by username (operators: whom its sessions and
    tasks may go to)."""
    query = (
        select(User)
        .join(LiveChatMember, LiveChatMember.user_id == User.id)
        .where(LiveChatMember.live_chat_id == live_chat_id, LiveChatMember.role == role.value)
        .order_by(User.username)
    )
    return list(db.scalars(query))
