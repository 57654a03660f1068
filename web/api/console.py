"""The operator's console on the API: take, assign or transfer, return to the queue, presence."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bpm_livechat.desk.presence import presence_of, set_presence
from bpm_livechat.desk.users import get_user
from bpm_livechat.errors import NotFoundError, ValidationError
from bpm_livechat.models import Presence, User
from bpm_livechat.params.values import get_parameters
from bpm_livechat.routing.triggers import Reason, operator_available
from bpm_livechat.sessions.assignment import assign_session, release_session, take_session
from bpm_livechat.sessions.lifecycle import get_session
from bpm_livechat.sessions.stale import check_session_version
from web.engine import process_engine
from web.presence import away_after

from .console_schemas import PresenceIn, PresenceOut, SessionAssign
from .convert import param_types, session_out, values_json
from .schemas import SessionOut
from .spec import Registry, seen_version

api = Registry()
TAG = "sessions"
PRESENCE_TAG = "presence"


def _out(db: Session, session_id: int, user: User) -> SessionOut:
    session = get_session(db, session_id, user)
    return session_out(session, values_json(param_types(db), get_parameters(db, session.id)))


@api.operation(
    "POST", "/sessions/<int:session_id>/take", tag=TAG, response=SessionOut,
    summary="Take a queued session (409 already_taken naming who was quicker)",
)  # fmt: skip
def take_session_api(db: Session, user: User, session_id: int) -> SessionOut:
    """The calling operator takes a session nobody has; it becomes active."""
    take_session(db, process_engine().clock, get_session(db, session_id, user), user)
    return _out(db, session_id, user)


@api.operation(
    "POST", "/sessions/<int:session_id>/assign", tag=TAG, body=SessionAssign, response=SessionOut,
    summary="Assign or transfer a session to an operator (supervisors of its live chat, admins)",
)  # fmt: skip
def assign_session_api(
    db: Session, user: User, session_id: int, body: SessionAssign, if_match: int | None
) -> SessionOut:
    """Give the session to an operator of its live chat who is not Offline; with `version` (or
    If-Match), 409 when the session changed since."""
    session = get_session(db, session_id, user)
    check_session_version(db, session, seen_version(body.version, if_match))
    try:
        target = get_user(db, body.operator)
    except NotFoundError:
        raise ValidationError(
            f"unknown operator {body.operator!r}", {"operator": "unknown user"}
        ) from None
    assign_session(db, process_engine().clock, session, target, user)
    return _out(db, session_id, user)


@api.operation(
    "POST", "/sessions/<int:session_id>/release", tag=TAG, response=SessionOut,
    summary="Return a session to the queue (its operator, or a supervisor)",
)  # fmt: skip
def release_session_api(
    db: Session, user: User, session_id: int, if_match: int | None
) -> SessionOut:
    """Nobody has the session any more; it is queued again (If-Match: 409 when it changed)."""
    session = get_session(db, session_id, user)
    check_session_version(db, session, if_match)
    release_session(db, process_engine().clock, session, user)
    return _out(db, session_id, user)


def _presence_out(user: User) -> PresenceOut:
    now = process_engine().clock.now()
    after = away_after()
    return PresenceOut(
        username=user.username,
        presence=presence_of(user, now, after).value,
        chosen=user.presence,  # type: ignore[arg-type]
        last_seen_at=user.last_seen_at,
        away_after_minutes=after.total_seconds() / 60,
    )


@api.operation(
    "GET", "/me/presence", tag=PRESENCE_TAG, response=PresenceOut,
    summary="The caller's presence (Online, Away after inactivity, Offline)",
)  # fmt: skip
def get_presence_api(db: Session, user: User) -> PresenceOut:
    """What the caller set and what it reads as now."""
    return _presence_out(user)


@api.operation(
    "PUT", "/me/presence", tag=PRESENCE_TAG, body=PresenceIn, response=PresenceOut,
    summary="Set the caller's presence (Offline: read only, no replies, edits or starts)",
)  # fmt: skip
def set_presence_api(db: Session, user: User, body: PresenceIn) -> PresenceOut:
    """Set Online, Away or Offline."""
    clock = process_engine().clock
    if set_presence(db, user, body.presence, clock.now()) is Presence.ONLINE:
        operator_available(db, clock, user, Reason.ONLINE)
    return _presence_out(user)
