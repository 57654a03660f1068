"""A channel's message ingest: one call stores the message, records its session event for the
workers when anyone listens, and records a keyed request's answer, then says what happened.

The message is inserted only if the session exists and the caller works its live chat; a client
message takes the client's name from the session. On PostgreSQL the insert, the event's job and
the idempotency record are one statement (data-modifying CTEs), which the API runs in
autocommit; elsewhere they are two or three statements in the caller's transaction. The live
feed's event for open pages (`live.feed`) is written by the database's own trigger on
`messages`. Nothing runs a script here: bound processes start, and waiting ones resume, in a worker.
A channel's message (`take_channel_message`) also routes a queued session on its first client
message.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BindParameter,
    ColumnElement,
    Table,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.dml import ReturningInsert

from bpm_livechat.clock import Clock
from bpm_livechat.desk.access import no_access, work_clause, work_params
from bpm_livechat.desk.idempotency import KeyedWrite
from bpm_livechat.errors import NotFoundError
from bpm_livechat.jobs.queue import JOBS, enqueue
from bpm_livechat.models import (
    AuthorKind,
    Client,
    JobStatus,
    Message,
    Status,
    SupportSession,
    User,
)
from bpm_livechat.persistence.transactions import session_factory, unit_of_work
from bpm_livechat.routing.triggers import Reason, route_if_needed
from bpm_livechat.sessions.events import (
    SESSION_EVENT_JOB,
    SessionEvent,
    anyone_listens,
    event_payload,
)
from bpm_livechat.sessions.lifecycle import get_session
from bpm_livechat.sessions.messages import message_row

# The session event a message is, by who wrote it (a system note is no event).
MESSAGE_EVENTS = {
    AuthorKind.CLIENT.value: SessionEvent.MESSAGE_RECEIVED,
    AuthorKind.OPERATOR.value: SessionEvent.OPERATOR_MESSAGE,
}


@dataclass(frozen=True)
class Ingested:
    """What taking a message in did.

    `event_recorded`: its session event was written for the workers (a process is bound to it,
    an instance waits for it, or a webhook subscribes); `key_recorded`: the keyed request's
    answer was stored with the message; `first_in_queue`: it is the session's first client
    message and the session waits in the queue with nobody on it (what routing asks for).
    """

    message: Message
    event_recorded: bool
    key_recorded: bool
    first_in_queue: bool = False


_MESSAGES = cast(Table, Message.__table__)
_POSTED_INTO = (
    select(SupportSession.id)
    .join(Client, Client.id == SupportSession.client_id)
    .where(SupportSession.id == bindparam("session_id"))
)
# What only the database knows of a new message: its id, and a client message's author name.
_FILLED = ("id", "author_name")


def _first_in_queue(seen: int) -> ColumnElement[bool]:
    """The message's session is queued with nobody on it, and has `seen` client messages: 0 where
    the statement does not see its own insert (PostgreSQL's CTE), 1 where it does (SQLite's
    RETURNING). Read in the insert's own statement, so the hot path pays no query."""
    session_id = bindparam("session_id", type_=_MESSAGES.c.session_id.type)
    clients = (
        select(literal(1))
        .where(_MESSAGES.c.session_id == session_id)
        .where(_MESSAGES.c.author_kind == AuthorKind.CLIENT.value)
        .limit(seen + 1)
        .subquery()
    )
    waiting = exists().where(
        SupportSession.id == session_id,
        SupportSession.operator_id.is_(None),
        SupportSession.status == Status.QUEUED.value,
    )
    counted = select(func.count()).select_from(clients).scalar_subquery()
    return and_(counted == seen, waiting).label("first_in_queue")


def _value(column: str) -> BindParameter[Any]:
    return bindparam(column, type_=_MESSAGES.c[column].type)


@functools.cache  # one statement per event: built once, since building costs more than running
def _insert_message(event: SessionEvent | None, asks_first: bool) -> ReturningInsert[Any]:
    session_id = bindparam("session_id", type_=_MESSAGES.c.session_id.type)
    asked = [] if event is None else [anyone_listens(event, session_id)]
    answer: list[ColumnElement[Any]] = [question.label("answer") for question in asked]
    if asks_first and event is SessionEvent.MESSAGE_RECEIVED:  # a client's message
        answer.append(_first_in_queue(seen=1))
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
        .returning(
            _MESSAGES.c.id,
            _MESSAGES.c.author_name,
            _MESSAGES.c.session_id,
            _MESSAGES.c.author_kind,
            *answer,
        )
    )


@functools.cache
def _one_statement(event: SessionEvent | None, keyed: bool) -> Executable:
    """PostgreSQL: the message, its event's job when anyone listens, and the key's record."""
    written = _insert_message(event, False).cte("written")
    parts = []
    if event is not None:
        payload = func.json_build_object(
            literal("event"), literal(event.value), literal("message_id"), written.c.id
        )
        job = insert(JOBS).from_select(
            ["kind", "status", "due_at", "session_id", "payload", "attempts", "max_attempts",
             "created_at", "updated_at"],
            select(
                literal(SESSION_EVENT_JOB), literal(JobStatus.PENDING.value),
                bindparam("now", type_=JOBS.c.due_at.type), written.c.session_id,
                sql_cast(payload, JSON), literal(0), literal(3),
                bindparam("now", type_=JOBS.c.due_at.type),
                bindparam("now", type_=JOBS.c.due_at.type),
            ).where(written.c.answer),
        )  # fmt: skip
        parts.append(job.cte("queued"))
    if keyed:
        parts.append(KeyedWrite.record_cte_for(written, _FILLED))
    first = [_first_in_queue(seen=0)] if event is SessionEvent.MESSAGE_RECEIVED else []
    return select(written, *first).add_cte(*parts)


def take_message(
    db: Session,
    clock: Clock,
    session_id: int,
    user: User,
    text: str,
    author_kind: str = AuthorKind.CLIENT.value,
    keyed: KeyedWrite | None = None,
) -> Ingested:
    """Append a message to a session `user` works, record its event when anyone listens, and
    `keyed`'s answer with it. NotFound / AccessDenied / ValidationError otherwise."""
    author = None if author_kind == AuthorKind.CLIENT.value else user
    values = message_row(session_id, None, text, author_kind, author, clock.now())
    event = MESSAGE_EVENTS.get(values["author_kind"])
    params = {**values, **work_params(user), "now": values["sent_at"]}
    one_statement = db.get_bind().dialect.name == "postgresql"
    statement: Executable = (
        _one_statement(event, keyed is not None) if one_statement else _insert_message(event, True)
    )
    if keyed is not None and one_statement:
        provisional = {**values, "id": 0, "author_name": values["author_name"] or ""}
        params.update(keyed.params(provisional))
    inserted = db.execute(statement, params).first()
    if inserted is None:  # say why: a missing session, or one of another live chat
        if db.execute(_POSTED_INTO, {"session_id": session_id}).first() is None:
            raise NotFoundError("session", session_id)
        raise no_access(user, session_id)
    row = {**values, "id": inserted.id, "author_name": inserted.author_name}
    recorded = event is not None and bool(inserted.answer)
    first_in_queue = bool(getattr(inserted, "first_in_queue", False))
    if not one_statement:
        if recorded and event is not None:
            _record(db, event, session_id, inserted.id, values["sent_at"])
        if keyed is not None:
            keyed.remember_row(db, row)
    return Ingested(Message(**row), recorded, keyed is not None, first_in_queue)


def take_channel_message(
    db: Session,
    clock: Clock,
    session_id: int,
    user: User,
    text: str,
    author_kind: str = AuthorKind.CLIENT.value,
    keyed: KeyedWrite | None = None,
) -> Ingested:
    """A channel's message, as `take_message` takes it; on the session's first client message,
    while it waits in the queue, the session is routed too. On PostgreSQL the message's one
    statement commits by itself (the caller runs `db` in autocommit), so routing, which holds
    its row locks until it commits, runs in a transaction of its own; elsewhere in `db`'s."""
    taken = take_message(db, clock, session_id, user, text, author_kind, keyed)
    if not taken.first_in_queue:
        return taken
    if db.get_bind().dialect.name != "postgresql":
        route_if_needed(db, clock, get_session(db, session_id), Reason.FIRST_MESSAGE)
        return taken
    with unit_of_work(session_factory(db.get_bind().engine)) as tx:
        route_if_needed(tx, clock, get_session(tx, session_id), Reason.FIRST_MESSAGE)
    return taken


def _record(
    db: Session, event: SessionEvent, session_id: int, message_id: int, now: datetime
) -> None:
    payload = event_payload(event, {"message_id": message_id})
    enqueue(db, SESSION_EVENT_JOB, due_at=now, session_id=session_id, payload=payload)
