"""Session messages: the validated row of a new message, appending one, reading the thread.

A channel's message ingest (one statement, with the auto-start question and the idempotency
record) is in `ingest`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bpm_livechat.errors import ValidationError
from bpm_livechat.models import AuthorKind, Message, SupportSession, User, utcnow
from bpm_livechat.params.choices import parse_choice
from bpm_livechat.sessions.guards import require_writable

MAX_MESSAGE_LENGTH = 20_000


def add_message(
    db: Session,
    session: SupportSession,
    text: str,
    author_kind: str = AuthorKind.CLIENT.value,
    author: User | None = None,
    sent_at: datetime | None = None,
) -> Message:
    """Append a message to the session's thread (an operator's only while they may write)."""
    if author_kind == AuthorKind.OPERATOR.value and author is not None:
        require_writable(session, author, "reply")
    row = message_row(session.id, session.client.name, text, author_kind, author, sent_at)
    message = Message(**row)
    db.add(message)
    db.flush()  # the database announces the message to open pages (a trigger: see live.feed)
    return message


_MESSAGES = Message.metadata.tables[Message.__tablename__]


def message_row(
    session_id: int,
    client_name: str | None,
    text: str,
    author_kind: str,
    author: User | None,
    sent_at: datetime | None = None,
) -> dict[str, Any]:
    """The validated columns of a new message; without `client_name` the INSERT names the client."""
    kind = parse_choice(AuthorKind, author_kind, "author_kind", "author kind")
    if not text.strip():
        raise ValidationError("message text must not be empty", {"text": "must not be empty"})
    if len(text) > MAX_MESSAGE_LENGTH:
        raise ValidationError(
            f"message is longer than {MAX_MESSAGE_LENGTH} characters", {"text": "too long"}
        )
    if kind is AuthorKind.CLIENT:
        author_name = client_name
    elif author is not None:
        author_name = author.display_name
    else:
        author_name = "System"
    return {
        "session_id": session_id,
        "author_kind": kind.value,
        "author_name": author_name,
        "author_user_id": author.id if author else None,
        "text": text,
        "sent_at": sent_at or utcnow(),
    }


def messages(db: Session, session_id: int, limit: int | None = None) -> list[Message]:
    """The session's messages, oldest first; with `limit`, only the newest ones."""
    query = select(Message).where(Message.session_id == session_id)
    if limit is None:
        return list(db.scalars(query.order_by(Message.sent_at, Message.id)))
    newest = db.scalars(query.order_by(Message.sent_at.desc(), Message.id.desc()).limit(limit))
    return list(reversed(list(newest)))


# Plain rows, newest first, built once: a process step reads them on every step, and Message
# objects would cost twice as much as the query. Table columns, not mapped attributes, so the
# statement skips the ORM's result handling (half its cost).
_NEWEST_LINES = (
    select(_MESSAGES.c.author_name, _MESSAGES.c.author_kind, _MESSAGES.c.text, _MESSAGES.c.sent_at)
    .where(_MESSAGES.c.session_id == bindparam("session_id"))
    .order_by(_MESSAGES.c.sent_at.desc(), _MESSAGES.c.id.desc())
    .limit(bindparam("limit"))
)


def recent_lines(db: Session, session_id: int, limit: int) -> list[tuple[str, str, str, datetime]]:
    """The newest `limit` messages as plain (author name, author kind, text, sent at) rows,
    oldest first."""
    rows = db.execute(_NEWEST_LINES, {"session_id": session_id, "limit": limit}).all()
    return [(author, kind, text, sent_at) for author, kind, text, sent_at in reversed(rows)]
