"""Sessions and their messages: what chat channels call to feed conversations in."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bpm_livechat.desk.access import can_access_live_chat
from bpm_livechat.desk.idempotency import KeyedWrite
from bpm_livechat.desk.livechats import get_live_chat
from bpm_livechat.errors import AccessDeniedError, NotFoundError, ValidationError
from bpm_livechat.models import AuthorKind, User
from bpm_livechat.params.values import get_parameters
from bpm_livechat.routing.triggers import Reason, route_if_needed
from bpm_livechat.sessions.events import SessionEvent, record_event, record_events
from bpm_livechat.sessions.ingest import take_channel_message
from bpm_livechat.sessions.lifecycle import (
    close_session,
    create_session,
    get_session,
)
from bpm_livechat.sessions.messages import add_message, messages
from bpm_livechat.sessions.quick_replies import quick_replies_for
from bpm_livechat.sessions.replies import posting_kind, reply_as_operator
from bpm_livechat.sessions.search import SessionQuery, parse_filter, search_sessions
from bpm_livechat.sessions.stale import check_session_version, rename_seen
from web.engine import process_engine

from .convert import message_out, param_types, session_out, values_json
from .schemas import (
    MessageCreate,
    MessageOut,
    MessagePageOut,
    PageQuery,
    QuickReplyList,
    QuickReplyOut,
    SessionCreate,
    SessionListQuery,
    SessionOut,
    SessionPageOut,
    SessionRename,
)
from .spec import KeyedResult, Registry, seen_version

api = Registry()
TAG = "sessions"


def _out(db: Session, session_id: int, user: User) -> SessionOut:
    session = get_session(db, session_id, user)
    return session_out(session, values_json(param_types(db), get_parameters(db, session.id)))


@api.operation(
    "POST", "/sessions", summary="Create a session from a channel", tag=TAG,
    body=SessionCreate, response=SessionOut, status=201, idempotent=True, channel=True,
)  # fmt: skip
def create_session_api(db: Session, user: User, body: SessionCreate) -> SessionOut:
    """A new session in a live chat the user works, with the client's first message."""
    try:
        chat = get_live_chat(db, body.live_chat)
    except NotFoundError:
        raise ValidationError(
            f"unknown live chat {body.live_chat!r}", {"live_chat": "unknown live chat"}
        ) from None
    if not can_access_live_chat(db, user, chat.id):
        raise AccessDeniedError(f"user {user.username!r} does not work live chat {chat.name!r}")
    session = create_session(
        db,
        chat,
        client_name=body.client.name,
        client_email=body.client.email,
        client_phone=body.client.phone,
        subject=body.subject,
        channel_name=body.channel,
        priority=body.priority,
    )
    events: list[tuple[SessionEvent, dict[str, object] | None]] = [
        (SessionEvent.SESSION_CREATED, None)
    ]
    if body.message is not None:
        first = add_message(db, session, body.message)
        events.append((SessionEvent.MESSAGE_RECEIVED, {"message_id": first.id}))
    record_events(db, process_engine().clock, session.id, events)
    route_if_needed(db, process_engine().clock, session, Reason.CREATED)
    return session_out(session, {})


@api.operation(
    "GET", "/sessions", summary="List sessions: filters, search, sort, pages", tag=TAG,
    query=SessionListQuery, response=SessionPageOut,
)  # fmt: skip
def list_sessions_api(db: Session, user: User, query: SessionListQuery) -> SessionPageOut:
    """The sessions the user may see, with the same filters and sort as the UI."""
    filters = [parse_filter(text) for text in query.filter]
    page = search_sessions(
        db,
        user,
        SessionQuery(
            filters=filters,
            search=query.q or None,
            sort=query.sort,
            page=query.page,
            per_page=query.per_page,
        ),
    )
    types = param_types(db)
    return SessionPageOut(
        items=[session_out(s, values_json(types, page.params.get(s.id, {}))) for s in page.items],
        total=page.total,
        page=page.page,
        per_page=page.per_page,
    )


@api.operation(
    "GET", "/sessions/<int:session_id>", summary="Get a session with its typed parameters",
    tag=TAG, response=SessionOut, channel=True,
)  # fmt: skip
def get_session_api(db: Session, user: User, session_id: int) -> SessionOut:
    """One session the user may see."""
    return _out(db, session_id, user)


@api.operation(
    "PATCH", "/sessions/<int:session_id>", summary="Rename a session (409 when `version` or If-Match is stale)", tag=TAG,
    body=SessionRename, response=SessionOut,
)  # fmt: skip
def rename_session_api(
    db: Session, user: User, session_id: int, body: SessionRename, if_match: int | None
) -> SessionOut:
    """Give the session a name by hand; with `version` (or If-Match), 409 if the session
    changed since."""
    session = get_session(db, session_id, user)
    rename_seen(db, session, body.name, user, seen_version(body.version, if_match))
    return _out(db, session_id, user)


@api.operation(
    "POST", "/sessions/<int:session_id>/close", tag=TAG, response=SessionOut,
    summary="Close a session (422 naming the empty required-to-close parameters)",
)  # fmt: skip
def close_session_api(db: Session, user: User, session_id: int, if_match: int | None) -> SessionOut:
    """Close the session; refused while a required-to-close parameter is empty; with If-Match,
    409 when the session changed since."""
    session = get_session(db, session_id, user)
    check_session_version(db, session, if_match)
    if close_session(db, session, user):
        record_event(db, process_engine().clock, SessionEvent.SESSION_CLOSED, session.id)
    return _out(db, session_id, user)


@api.operation(
    "POST", "/sessions/<int:session_id>/messages", tag=TAG,
    summary="Append a message: people as operator, a channel account as the client",
    body=MessageCreate, response=MessageOut, status=201, idempotent=True, one_statement=True,
    channel=True,
)  # fmt: skip
def add_message_api(
    db: Session, user: User, session_id: int, body: MessageCreate, keyed: KeyedWrite | None
) -> KeyedResult:
    """A person's token posts an operator reply; a channel account's posts the client's (or a
    system) message. Bound processes start, and waiting ones resume, in a worker after this
    commits."""
    clock = process_engine().clock
    kind = posting_kind(user, body.author_kind)
    if kind == AuthorKind.OPERATOR.value:
        session = get_session(db, session_id, user)
        taken = reply_as_operator(db, clock, session, user, body.text, keyed)
    else:  # the channel's hot path: one statement, access checked inside it
        taken = take_channel_message(db, clock, session_id, user, body.text, kind, keyed)
    return KeyedResult(message_out(taken.message), taken.key_recorded)


@api.operation(
    "GET", "/sessions/<int:session_id>/messages", summary="List messages, oldest first",
    tag=TAG, query=PageQuery, response=MessagePageOut, channel=True,
)  # fmt: skip
def list_messages_api(db: Session, user: User, session_id: int, query: PageQuery) -> MessagePageOut:
    """One page of the session's thread."""
    session = get_session(db, session_id, user)
    thread = messages(db, session.id)
    start = (query.page - 1) * query.per_page
    return MessagePageOut(
        items=[message_out(m) for m in thread[start : start + query.per_page]],
        total=len(thread),
        page=query.page,
        per_page=query.per_page,
    )


@api.operation(
    "GET", "/sessions/<int:session_id>/quick-replies", tag=TAG, response=QuickReplyList,
    summary="The quick replies offered in the session's live chat, rendered for it",
)  # fmt: skip
def list_quick_replies_api(db: Session, user: User, session_id: int) -> QuickReplyList:
    """What the composer's picker offers, with the session's placeholders filled in."""
    session = get_session(db, session_id, user)
    offered = quick_replies_for(db, session)
    return QuickReplyList(
        items=[QuickReplyOut(id=q.id, title=q.title, text=q.text) for q in offered]
    )
