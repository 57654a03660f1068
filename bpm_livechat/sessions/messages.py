"""Session messages: appending to a thread (one statement for a channel's ingest) and reading it."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, bindparam, func, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.dml import ReturningInsert

from bpm_livechat.desk.access import no_access, work_clause, work_params
from bpm_livechat.desk.idempotency import KeyedWrite
from bpm_livechat.errors import NotFoundError, ValidationError
from bpm_livechat.models import AuthorKind, Client, Message, SupportSession, User, utcnow
from bpm_livechat.params.choices import parse_choice

MAX_MESSAGE_LENGTH = 20_000


def add_message(
    db: Session,
    session: SupportSession,
    text: str,
    author_kind: str = AuthorKind.CLIENT.value,
    author: User | None = None,
    sent_at: datetime | None = None,
) -> Message:
    """Append a message to the session's thread."""
    row = _message_row(session.id, session.client.name, text, author_kind, author, sent_at)
    message = Message(**row)
    db.add(message)
    db.flush()
    return message


_MESSAGES = Message.metadata.tables[Message.__tablename__]


def _value(column: str) -> BindParameter[Any]:
    return bindparam(column, type_=_MESSAGES.c[column].type)


# A channel's message ingest in one statement: the row is inserted only if the session exists and
# the caller works its live chat, and a client message takes the client's name from the session.
_POSTED_INTO = (
    select(SupportSession.id)
    .join(Client, Client.id == SupportSession.client_id)
    .where(SupportSession.id == bindparam("session_id"))
)


@functools.cache  # one statement per question: built once, since building costs more than running
def _insert_message(ask: ColumnElement[bool] | None) -> ReturningInsert[Any]:
    answer = [] if ask is None else [ask.label("answer")]
    return (
        insert(_MESSAGES)
        .from_select(
            ["session_id", "author_kind", "author_name", "author_user_id", "text", "sent_at"],
            _POSTED_INTO.with_only_columns(
                SupportSession.id,
                _value("author_kind"),
                func.coalesce(_value("author_name"), Client.name),
                _value("author_user_id"),
                _value("text"),
                _value("sent_at"),
            ).where(work_clause(SupportSession.live_chat_id)),
        )
        .returning(_MESSAGES.c.id, _MESSAGES.c.author_name, *answer)
    )


def post_message(
    db: Session,
    session_id: int,
    user: User,
    text: str,
    author_kind: str = AuthorKind.CLIENT.value,
    ask: ColumnElement[bool] | None = None,
    keyed: KeyedWrite | None = None,
) -> tuple[Message, bool]:
    """Append a message to a session `user` works in one statement, which also answers `ask`
    and, with `keyed` (PostgreSQL), stores the keyed request's response."""
    # A channel's hot path: `ask` saves a round trip (the API asks whether a process listens).
    # Operator and system messages are by `user`. The Message returned is a detached copy of the
    # row: an ORM insert (object, flush) would cost more than the whole statement.
    author = None if author_kind == AuthorKind.CLIENT.value else user
    values = _message_row(session_id, None, text, author_kind, author)
    insert_message = _insert_message(ask)
    statement: Executable = insert_message
    params = {**values, **work_params(user)}
    if keyed is not None:
        statement = keyed.statement(insert_message, _FILLED)
        provisional = {**values, "id": 0, "author_name": values["author_name"] or ""}
        params.update(keyed.params(provisional))
    inserted = db.execute(statement, params).first()
    if inserted is None:  # say why: a missing session, or one of another live chat
        if db.execute(_POSTED_INTO, {"session_id": session_id}).first() is None:
            raise NotFoundError("session", session_id)
        raise no_access(user, session_id)
    if keyed is not None:
        keyed.stored = True
    message = Message(**{**values, "id": inserted.id, "author_name": inserted.author_name})
    return message, ask is not None and bool(inserted.answer)


# What only the database knows of a new message: its id, and a client message's author name.
_FILLED = ("id", "author_name")


def _message_row(
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
    select(_MESSAGES.c.author_name, _MESSAGES.c.text, _MESSAGES.c.sent_at)
    .where(_MESSAGES.c.session_id == bindparam("session_id"))
    .order_by(_MESSAGES.c.sent_at.desc(), _MESSAGES.c.id.desc())
    .limit(bindparam("limit"))
)


def recent_lines(db: Session, session_id: int, limit: int) -> list[tuple[str, str, datetime]]:
    """The newest `limit` messages as plain (author name, text, sent at) rows, oldest first."""
    rows = db.execute(_NEWEST_LINES, {"session_id": session_id, "limit": limit}).all()
    return [(author, text, sent_at) for author, text, sent_at in reversed(rows)]
