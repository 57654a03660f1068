"""Read access to sessions from app items: who live chats let read, and the messages they see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bpm_livechat.desk.access import ACCESS_CACHE, visible_live_chat_ids
from bpm_livechat.desk.livechats import add_member, members
from bpm_livechat.errors import AccessDeniedError
from bpm_livechat.models import (
    App,
    AppItem,
    LiveChat,
    LiveChatApp,
    LiveChatMember,
    MemberRole,
    Message,
    SessionItemLink,
    SupportSession,
    User,
)
from bpm_livechat.persistence.tx_cache import forget

MAX_WIDGET_MESSAGES = 500


class MessageScope(StrEnum):
    """Which sessions the Live Chat Messages widget shows for an item."""

    LINKED = "linked"
    CLIENT = "client"


@dataclass(frozen=True)
class ReadMessage:
    """One message as the widget shows it, with its session."""

    session_id: int
    session_name: str
    live_chat: str
    author_kind: str
    author_name: str
    text: str
    sent_at: datetime


def readable_live_chat_ids(db: Session, user: User) -> set[int] | None:
    """The live chats whose sessions `user` may read from app items; None means all (admins).

    A read grant, or working the live chat (operators and supervisors, who read the same
    messages on the session page)."""
    working = visible_live_chat_ids(db, user)
    if working is None:
        return None
    query = select(LiveChatMember.live_chat_id).where(
        LiveChatMember.user_id == user.id, LiveChatMember.role == MemberRole.READER.value
    )
    return set(db.scalars(query)) | working


def grant_read_access(db: Session, chat: LiveChat, user: User) -> None:
    """Let `user` read the chat's sessions from app item pages (any role, app users included)."""
    add_member(db, chat, user, MemberRole.READER)


def revoke_read_access(db: Session, chat: LiveChat, user: User) -> None:
    """Take the read grant back (operator and supervisor membership stay)."""
    db.execute(
        delete(LiveChatMember).where(
            LiveChatMember.live_chat_id == chat.id,
            LiveChatMember.user_id == user.id,
            LiveChatMember.role == MemberRole.READER.value,
        )
    )
    db.flush()
    forget(db, ACCESS_CACHE)


def readers(db: Session, chat: LiveChat) -> list[User]:
    """The users granted read access to the chat, by username."""
    return members(db, chat.id, MemberRole.READER)


def _item_chat_ids(db: Session, item: AppItem) -> set[int]:
    """The live chats an item belongs to: those bound to its app and those of its linked sessions."""
    bound = select(LiveChatApp.live_chat_id).where(LiveChatApp.app_id == item.app_id)
    linked = (
        select(SupportSession.live_chat_id)
        .join(SessionItemLink, SessionItemLink.session_id == SupportSession.id)
        .where(SessionItemLink.item_id == item.id)
    )
    return set(db.scalars(bound)) | set(db.scalars(linked))


def can_read_item_messages(db: Session, user: User, item: AppItem) -> bool:
    """True for admins and for readers of a live chat the item belongs to."""
    readable = readable_live_chat_ids(db, user)
    return readable is None or bool(readable & _item_chat_ids(db, item))


def readable_app_ids(db: Session, user: User) -> set[int] | None:
    """The apps whose items `user` may read: those bound to a live chat they may read (None:
    all, for admins). An app item holds a client's details; it follows the live chat's grants."""
    readable = readable_live_chat_ids(db, user)
    if readable is None:
        return None
    query = select(LiveChatApp.app_id).where(LiveChatApp.live_chat_id.in_(readable))
    return set(db.scalars(query))


def require_app_read(db: Session, user: User, app: App) -> None:
    """AccessDeniedError unless `user` may read the app's items."""
    readable = readable_app_ids(db, user)
    if readable is not None and app.id not in readable:
        raise AccessDeniedError(f"user {user.username!r} may not read the items of {app.name!r}")


def require_item_read(db: Session, user: User, item: AppItem) -> None:
    """AccessDeniedError unless `user` may read the item (a live chat it belongs to grants it)."""
    if not can_read_item_messages(db, user, item):
        raise AccessDeniedError(f"user {user.username!r} may not read app item {item.id}")


def item_messages(
    db: Session, user: User, item: AppItem, scope: MessageScope = MessageScope.LINKED
) -> list[ReadMessage]:
    """The messages of the item's linked sessions (or of all sessions of their clients), oldest
    first, limited to live chats that grant `user` read access; AccessDeniedError without a grant."""
    if not can_read_item_messages(db, user, item):
        raise AccessDeniedError(
            f"user {user.username!r} may not read the messages of item {item.id}"
        )
    linked = select(SessionItemLink.session_id).where(SessionItemLink.item_id == item.id)
    if scope is MessageScope.CLIENT:
        clients = select(SupportSession.client_id).where(SupportSession.id.in_(linked))
        sessions = select(SupportSession.id).where(SupportSession.client_id.in_(clients))
    else:
        sessions = linked
    query = (
        select(Message, SupportSession, LiveChat.name)
        .join(SupportSession, SupportSession.id == Message.session_id)
        .join(LiveChat, LiveChat.id == SupportSession.live_chat_id)
        .where(Message.session_id.in_(sessions))
    )
    readable = readable_live_chat_ids(db, user)
    if readable is not None:
        query = query.where(SupportSession.live_chat_id.in_(readable))
    newest = query.order_by(Message.sent_at.desc(), Message.id.desc()).limit(MAX_WIDGET_MESSAGES)
    rows = reversed(db.execute(newest).all())
    return [
        ReadMessage(
            session_id=s.id,
            session_name=s.name or f"Session {s.id}",
            live_chat=chat_name,
            author_kind=m.author_kind,
            author_name=m.author_name,
            text=m.text,
            sent_at=m.sent_at,
        )
        for m, s, chat_name in rows
    ]
