"""A channel's message ingest: one call stores the message, asks whether a process listens, and
records a keyed request's answer, then says what happened.

The message is inserted only if the session exists and the caller works its live chat; a client
message takes the client's name from the session. On PostgreSQL the insert, the question and
the idempotency record are one statement (a data-modifying CTE), which the API runs in
autocommit; elsewhere the record is a second INSERT in the caller's transaction.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, bindparam, exists, func, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.dml import ReturningInsert

from bpm_livechat.desk.access import no_access, work_clause, work_params
from bpm_livechat.desk.idempotency import KeyedWrite
from bpm_livechat.errors import NotFoundError
from bpm_livechat.models import AuthorKind, Client, EventBinding, Message, SupportSession, User
from bpm_livechat.sessions.messages import message_row

MESSAGE_RECEIVED = "message_received"  # the session event of a client's message


@dataclass(frozen=True)
class Ingested:
    """What taking a message in did.

    `listened`: a process is bound to a client's message (start it once this commits);
    `key_recorded`: the keyed request's answer was stored with the message.
    """

    message: Message
    listened: bool
    key_recorded: bool


_MESSAGES = Message.metadata.tables[Message.__tablename__]
_POSTED_INTO = (
    select(SupportSession.id)
    .join(Client, Client.id == SupportSession.client_id)
    .where(SupportSession.id == bindparam("session_id"))
)
_LISTENING = exists().where(EventBinding.event == MESSAGE_RECEIVED)
# What only the database knows of a new message: its id, and a client message's author name.
_FILLED = ("id", "author_name")


def _value(column: str) -> BindParameter[Any]:
    return bindparam(column, type_=_MESSAGES.c[column].type)


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


def take_message(
    db: Session,
    session_id: int,
    user: User,
    text: str,
    author_kind: str = AuthorKind.CLIENT.value,
    keyed: KeyedWrite | None = None,
) -> Ingested:
    """Append a message to a session `user` works; a client message also asks whether a process
    listens; `keyed` is recorded with it. NotFound / AccessDenied / ValidationError otherwise."""
    author = None if author_kind == AuthorKind.CLIENT.value else user
    values = message_row(session_id, None, text, author_kind, author)
    ask = _LISTENING if values["author_kind"] == AuthorKind.CLIENT.value else None
    insert_message = _insert_message(ask)
    params = {**values, **work_params(user)}
    one_statement = keyed is not None and db.get_bind().dialect.name == "postgresql"
    statement: Executable = insert_message
    if keyed is not None and one_statement:
        statement = keyed.statement(insert_message, _FILLED)
        provisional = {**values, "id": 0, "author_name": values["author_name"] or ""}
        params.update(keyed.params(provisional))
    inserted = db.execute(statement, params).first()
    if inserted is None:  # say why: a missing session, or one of another live chat
        if db.execute(_POSTED_INTO, {"session_id": session_id}).first() is None:
            raise NotFoundError("session", session_id)
        raise no_access(user, session_id)
    row = {**values, "id": inserted.id, "author_name": inserted.author_name}
    if keyed is not None and not one_statement:
        keyed.remember_row(db, row)
    listened = ask is not None and bool(inserted.answer)
    return Ingested(Message(**row), listened, key_recorded=keyed is not None)
