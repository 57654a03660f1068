"""Operator replies, and who may post which side of the conversation.

`reply_as_operator` is the one way a person answers a client: the session page's composer, the
API and `bpm-livechat session reply` all call it. The reply is stored as an operator message
and recorded as the `operator_message` session event, so waiting processes and the channel's
webhooks (the "message" flag) receive it after the commit.

The posting rule: people (operators, supervisors, admins) post only as the operator; the client
side is the channel's, posted by a channel account (role "channel", a member of the live chat
as "channel"), which never posts as a person.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bpm_livechat.clock import Clock
from bpm_livechat.desk.access import require_session_access
from bpm_livechat.desk.idempotency import KeyedWrite
from bpm_livechat.errors import AccessDeniedError, ValidationError
from bpm_livechat.models import STAFF_ROLES, AuthorKind, Role, SupportSession, User
from bpm_livechat.sessions.guards import require_writable
from bpm_livechat.sessions.ingest import Ingested, take_message

MAX_REPLY_LENGTH = 4000  # what the common messengers carry in one message
# What a channel account may post through the API: the client's words. System messages are
# the product's own (automation, the CLI), never an API caller's.
CHANNEL_KINDS = frozenset({AuthorKind.CLIENT.value})


def posting_kind(user: User, requested: str | None) -> str:
    """The author kind `user`'s post is stored as (by default: people as the operator, a
    channel account as the client); AccessDeniedError naming `author` for the other side."""
    if user.role in STAFF_ROLES:
        if requested not in (None, AuthorKind.OPERATOR.value):
            raise AccessDeniedError(
                f"user {user.username!r} ({user.role}) posts only as the operator; "
                f"{requested} messages come from the channel's account",
                {"author_kind": "people post only as operator"},
            )
        return AuthorKind.OPERATOR.value
    if user.role == Role.CHANNEL.value:
        kind = requested or AuthorKind.CLIENT.value
        if kind not in CHANNEL_KINDS:
            raise AccessDeniedError(
                f"channel account {user.username!r} posts for the client only; {kind} "
                "messages are not a channel's",
                {"author_kind": "a channel account posts as the client only"},
            )
        return kind
    raise AccessDeniedError(
        f"user {user.username!r} ({user.role}) may not post messages",
        {"author_kind": f"role {user.role} may not post"},
    )


def check_reply(text: str) -> str:
    """The reply as stored (outer blank lines and spaces trimmed); ValidationError on `text`."""
    trimmed = text.strip()
    if not trimmed:
        raise ValidationError("the reply is empty", {"text": "write a reply first"})
    if len(trimmed) > MAX_REPLY_LENGTH:
        raise ValidationError(
            f"the reply has {len(trimmed)} characters; at most {MAX_REPLY_LENGTH} are sent",
            {"text": f"at most {MAX_REPLY_LENGTH} characters ({len(trimmed)} now)"},
        )
    return trimmed


def reply_as_operator(
    db: Session,
    clock: Clock,
    session: SupportSession,
    user: User,
    text: str,
    keyed: KeyedWrite | None = None,
) -> Ingested:
    """Store `user`'s reply in the session's thread and record its `operator_message` event
    (for waiting processes and webhooks); AccessDenied / ValidationError otherwise."""
    if user.role not in STAFF_ROLES:
        raise AccessDeniedError(
            f"user {user.username!r} ({user.role}) cannot reply as an operator",
            {"author_kind": "only people reply as operator"},
        )
    require_session_access(db, user, session)
    # The session's state and the replier's presence are checked here, before anything is
    # stored, so every surface (page, API, CLI) refuses alike.
    require_writable(session, user, "reply")
    checked = check_reply(text)
    return take_message(db, clock, session.id, user, checked, AuthorKind.OPERATOR.value, keyed)
