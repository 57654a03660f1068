"""Quick replies: admin-kept response templates, checked when saved and rendered for a session
by the session names' renderer (`desk.naming`: a fixed set of placeholders, never str.format)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bpm_livechat.desk.naming import parse_template, render_text
from bpm_livechat.errors import NotFoundError, TemplateError, ValidationError
from bpm_livechat.models import (
    QUICK_REPLY_TITLE_LENGTH,
    LiveChat,
    QuickReply,
    SupportSession,
    utcnow,
)
from bpm_livechat.names import check_name
from bpm_livechat.params.definitions import definitions
from bpm_livechat.sessions.lifecycle import name_context
from bpm_livechat.sessions.replies import MAX_REPLY_LENGTH


@dataclass(frozen=True)
class RenderedReply:
    """A quick reply as it reads in one session."""

    id: int
    title: str
    text: str


def list_quick_replies(db: Session) -> list[QuickReply]:
    """Every quick reply, those for all live chats first, then by title."""
    query = select(QuickReply).order_by(QuickReply.live_chat_id.is_not(None), QuickReply.title)
    return list(db.scalars(query))


def get_quick_reply(db: Session, reply_id: int) -> QuickReply:
    """One quick reply; NotFoundError otherwise."""
    reply = db.get(QuickReply, reply_id)
    if reply is None:
        raise NotFoundError("quick reply", reply_id)
    return reply


def _checked(db: Session, title: str, body: str) -> tuple[str, str]:
    title = check_name(title, "the title", "title", QUICK_REPLY_TITLE_LENGTH)
    body = body.replace("\r\n", "\n").strip()
    if not body:
        raise ValidationError("the text is empty", {"body": "write the reply's text"})
    keys = {d.key for d in definitions(db)}
    try:
        parse_template(body, keys, max_length=MAX_REPLY_LENGTH)
    except TemplateError as exc:
        raise ValidationError(f"the text: {exc.message}", {"body": exc.message}) from None
    return title, body


def save_quick_reply(
    db: Session,
    title: str,
    body: str,
    live_chat: LiveChat | None = None,
    reply: QuickReply | None = None,
) -> QuickReply:
    """Create a quick reply (or change `reply`); its placeholders are checked now, so a bad
    one (unknown field or parameter, a stray brace) is refused naming it and its position."""
    title, body = _checked(db, title, body)
    if reply is None:
        reply = QuickReply(title=title, body=body)
        db.add(reply)
    reply.title, reply.body = title, body
    reply.live_chat_id = live_chat.id if live_chat is not None else None
    reply.updated_at = utcnow()
    db.flush()
    return reply


def delete_quick_reply(db: Session, reply: QuickReply) -> None:
    """Remove a quick reply (the messages sent with it stay as they were)."""
    db.delete(reply)
    db.flush()


def quick_replies_for(db: Session, session: SupportSession) -> list[RenderedReply]:
    """The quick replies offered in the session's live chat, rendered for this session."""
    query = (
        select(QuickReply)
        .where(
            or_(QuickReply.live_chat_id.is_(None), QuickReply.live_chat_id == session.live_chat_id)
        )
        .order_by(QuickReply.title, QuickReply.id)
    )
    replies = list(db.scalars(query))
    if not replies:
        return []
    # A parameter archived since the reply was saved renders empty, as in session names.
    parsed = [(r, parse_template(r.body, max_length=MAX_REPLY_LENGTH)) for r in replies]
    keys = frozenset().union(*(template.param_keys for _r, template in parsed))
    context = name_context(db, session, keys)
    return [RenderedReply(r.id, r.title, render_text(t, context)) for r, t in parsed]
