"""Support sessions: creation with a rendered name, renaming, closing, and the scripts' snapshot."""

from __future__ import annotations

import functools
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from bpm_livechat.clock import SYSTEM_CLOCK, Clock
from bpm_livechat.desk.access import (
    no_access,
    note_access,
    require_session_access,
    work_clause,
    work_params,
)
from bpm_livechat.desk.naming import MAX_NAME_LENGTH, NameContext, parse_template, render_name
from bpm_livechat.desk.presence import require_available
from bpm_livechat.errors import NotFoundError, ValidationError
from bpm_livechat.live.feed import LiveKind, publish
from bpm_livechat.models import (
    Client,
    LiveChat,
    Priority,
    SessionHistory,
    Status,
    SupportSession,
    User,
    utcnow,
)
from bpm_livechat.names import check_name
from bpm_livechat.params.choices import parse_choice
from bpm_livechat.params.definitions import Definition, definitions
from bpm_livechat.params.types import ParamType, format_value, normalize
from bpm_livechat.params.values import get_parameters
from bpm_livechat.routing.triggers import operator_freed
from bpm_livechat.sessions.guards import require_writable
from bpm_livechat.sessions.messages import recent_lines

RECENT_MESSAGES = 50
NAME_HISTORY = "name"  # the session history's kind for a name given by hand or reset


# Pages, scripts and the API show the live chat, channel, client and operator of a session:
# one query with joins instead of lazy loads, built once (building it each time costs half as
# much as running it). It also answers whether the user works the session's live chat, which
# would otherwise be a query of its own. The operator is not joined: it is most often the user
# asking, already loaded, whom the lazy load then finds without a query (and no operator means
# no query either).
_WITH_RELATIONS = (
    select(SupportSession, work_clause(SupportSession.live_chat_id))
    .options(
        joinedload(SupportSession.live_chat),
        joinedload(SupportSession.channel),
        joinedload(SupportSession.client),
    )
    .where(SupportSession.id == bindparam("session_id"))
)
_ANY_USER = {"access_all": True, "access_user_id": None}


def get_session(db: Session, session_id: int, user: User | None = None) -> SupportSession:
    """The session `session_id`; with `user`, only when that user has access (else AccessDeniedError)."""
    access = _ANY_USER if user is None else work_params(user)
    row = db.execute(_WITH_RELATIONS, {"session_id": session_id, **access}).first()
    if row is None:
        raise NotFoundError("session", session_id)
    session, works = row
    if user is not None:
        if not works:
            raise no_access(user, session.id)
        note_access(db, user, session.live_chat_id)
    return session


def _find_or_create_client(db: Session, name: str, email: str | None, phone: str | None) -> Client:
    name = name.strip()
    if not name or len(name) > 255:
        raise ValidationError(
            "client name must have 1 to 255 characters", {"client_name": "1 to 255 characters"}
        )
    email_n = normalize("client_email", ParamType.EMAIL, email) if email else None
    phone_n = normalize("client_phone", ParamType.PHONE, phone) if phone else None
    if email_n is not None:
        client = db.scalar(
            select(Client).where(Client.email == email_n).order_by(Client.id).limit(1)
        )
        if client is not None:
            client.phone = client.phone or (str(phone_n) if phone_n else None)
            return client
    client = Client(name=name, email=email_n, phone=phone_n)
    db.add(client)
    return client


def create_session(
    db: Session,
    chat: LiveChat,
    *,
    client_name: str,
    subject: str,
    client_email: str | None = None,
    client_phone: str | None = None,
    channel_name: str | None = None,
    priority: str = Priority.NORMAL.value,
    operator: User | None = None,
    created_at: datetime | None = None,
) -> SupportSession:
    """Open a session in `chat`; its name is rendered from the chat's template."""
    if not chat.channels:
        raise ValidationError(f"live chat {chat.name!r} has no channel", {"channel": "no channel"})
    channel = chat.channels[0]
    if channel_name is not None:
        found = [c for c in chat.channels if c.name == channel_name]
        if not found:
            raise ValidationError(
                f"live chat {chat.name!r} has no channel {channel_name!r}", {"channel": "unknown"}
            )
        channel = found[0]
    subject = subject.strip()
    if len(subject) > 255:
        raise ValidationError(
            "subject is longer than 255 characters", {"subject": "longer than 255 characters"}
        )
    session = SupportSession(
        live_chat=chat,
        channel=channel,
        client=_find_or_create_client(db, client_name, client_email, client_phone),
        operator=operator,
        subject=subject,
        priority=parse_choice(Priority, priority, "priority").value,
        status=Status.ACTIVE.value if operator else Status.QUEUED.value,
        created_at=created_at or utcnow(),
    )
    # A new session has no parameter values yet, so its name needs no read and no second write.
    template = parse_template(chat.name_template)
    session.name = render_name(template, name_context(db, session, ()))
    db.add(session)
    db.flush()
    publish(db, LiveKind.SESSION_CREATED, session.id, chat.id, {"status": session.status})
    return session


def name_context(
    db: Session, session: SupportSession, param_keys: Collection[str] | None = None
) -> NameContext:
    """What a name template can show about this session (only `param_keys` when given)."""
    params: dict[str, str] = {}
    if param_keys is None or param_keys:
        by_key = {d.key: d for d in definitions(db)}
        params = {
            key: format_value(ParamType(by_key[key].type), value, by_key[key].option_labels)
            for key, value in get_parameters(db, session.id).items()
            if key in by_key and (param_keys is None or key in param_keys)
        }
    return NameContext(
        client_name=session.client.name,
        client_email=session.client.email,
        client_phone=session.client.phone,
        created_at=session.created_at,
        live_chat_name=session.live_chat.name,
        channel_name=session.channel.name,
        subject=session.subject,
        operator_name=session.operator.display_name if session.operator else None,
        params=params,
    )


def template_name(db: Session, session: SupportSession) -> str:
    """The name the live chat's template gives this session now."""
    template = parse_template(session.live_chat.name_template)
    return render_name(template, name_context(db, session, template.param_keys))


def rename_session(db: Session, session: SupportSession, name: str, user: User) -> None:
    """Give a session a name by hand; it is kept until reset to the template."""
    require_session_access(db, user, session)
    require_writable(session, user, "rename sessions")
    name = check_name(name, "the session name", limit=MAX_NAME_LENGTH)
    _note_name(db, session, name, user, manual=True)


def _note_name(db: Session, session: SupportSession, name: str, user: User, manual: bool) -> None:
    """Set the name and keep who gave it when in the session's history (`NAME_HISTORY`)."""
    old = session.name
    session.name = name
    session.name_is_manual = manual
    if name != old:
        how = "Renamed" if manual else "Name follows the template again"
        db.add(
            SessionHistory(
                session_id=session.id,
                kind=NAME_HISTORY,
                summary=f"{how}: {name}",
                detail={"old": old, "new": name},
                actor_user_id=user.id,
                created_at=utcnow(),
            )
        )
    db.flush()
    _changed(db, session, "renamed")


def reset_name(db: Session, session: SupportSession, user: User) -> None:
    """Render the name from the live chat's template again and stop treating it as hand-given."""
    require_session_access(db, user, session)
    require_writable(session, user, "rename sessions")
    _note_name(db, session, template_name(db, session), user, manual=False)


def missing_to_close(db: Session, session: SupportSession) -> list[Definition]:
    """The required-to-close parameters still empty on the session (the one rule of closing)."""
    values = get_parameters(db, session.id)
    return [d for d in definitions(db) if d.required_to_close and values.get(d.key) is None]


def close_session(
    db: Session, session: SupportSession, user: User, clock: Clock = SYSTEM_CLOCK
) -> bool:
    """Close a session; refused while a required-to-close parameter is empty, naming the keys.
    False when it was closed already (nothing to do). Its operator's freed capacity drains
    their teams' routing queues."""
    require_session_access(db, user, session)
    if session.status == Status.CLOSED.value:
        return False
    require_available(user, "close sessions")
    missing = [d.key for d in missing_to_close(db, session)]
    if missing:
        raise ValidationError(
            f"session {session.id} cannot be closed: required parameters are empty: {', '.join(missing)}",
            {key: "required to close" for key in missing},
        )
    now = utcnow()
    session.status = Status.CLOSED.value
    session.closed_at = now
    session.closed_by = user
    db.add(
        SessionHistory(
            session_id=session.id,
            kind="closed",
            summary=f"{user.display_name} closed the session",
            detail={"by": user.username},
            actor_user_id=user.id,
            created_at=now,
        )
    )
    db.flush()
    _changed(db, session, "closed")
    operator_freed(db, clock, session.operator_id)
    return True


def _changed(db: Session, session: SupportSession, what: str) -> None:
    publish(db, LiveKind.SESSION_CHANGED, session.id, session.live_chat_id, {"what": what})


def system_values(session: SupportSession) -> dict[str, Any]:
    """The system parameters of a session, as plain values."""
    return {
        "live_chat": session.live_chat.name,
        "channel": session.channel.name,
        "client": session.client.name,
        "operator": session.operator.display_name if session.operator else None,
        "priority": session.priority,
        "status": session.status,
        "subject": session.subject,
        "created_at": session.created_at,
        "closed_at": session.closed_at,
        "name": session.name,
    }


def snapshot(
    db: Session,
    session: SupportSession,
    params: dict[str, object] | None = None,
    *,
    messages_on_demand: bool = False,
) -> dict[str, Any]:
    """The read-only view of a session that scripts receive (plain data, no ORM objects).

    `params` are the session's typed values when the caller has just read them (a process
    step reads them under its lock); otherwise they are read here. With `messages_on_demand`,
    "messages" holds a reader of the recent messages instead of the list (see
    `StepState.session_view`: most steps never read them).
    """
    reader = functools.partial(recent_messages, db, session.id)
    return {
        "id": session.id,
        "name": session.name,
        "subject": session.subject,
        "priority": session.priority,
        "status": session.status,
        "created_at": session.created_at,
        "live_chat": {"name": session.live_chat.name},
        "channel": {"name": session.channel.name},
        "client": {
            "name": session.client.name,
            "email": session.client.email or "",
            "phone": session.client.phone or "",
        },
        "operator": {"name": session.operator.display_name if session.operator else ""},
        "params": get_parameters(db, session.id) if params is None else params,
        "messages": reader if messages_on_demand else reader(),
    }


def recent_messages(db: Session, session_id: int) -> list[dict[str, Any]]:
    """The session's recent messages as scripts see them (`session.messages`), oldest first."""
    return [
        {"author": author, "kind": kind, "text": text, "sent_at": sent_at}
        for author, kind, text, sent_at in recent_lines(db, session_id, RECENT_MESSAGES)
    ]
