"""The operator's console on the session page and the list: take, assign or transfer, return to
the queue, close (naming the required parameters still empty), and the views' counts as JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.desk.access import is_supervisor_of
from bpm_livechat.desk.livechats import members
from bpm_livechat.desk.presence import presence_of
from bpm_livechat.desk.users import get_user
from bpm_livechat.errors import (
    ConflictError,
    NotFoundError,
    OperatorOfflineError,
    ValidationError,
)
from bpm_livechat.models import MemberRole, Presence, SessionHistory, SupportSession, User
from bpm_livechat.params.definitions import definitions
from bpm_livechat.routing.triggers import route_again
from bpm_livechat.sessions.assignment import (
    assign_session,
    is_operator_of,
    release_session,
    take_session,
)
from bpm_livechat.sessions.events import SessionEvent, record_event
from bpm_livechat.sessions.guards import is_closed
from bpm_livechat.sessions.lifecycle import close_session, get_session, missing_to_close
from bpm_livechat.sessions.queues import view_counts
from bpm_livechat.sessions.stale import check_session_version
from web.auth import acting_user, require_staff
from web.db import discard, get_db, writes
from web.engine import process_engine
from web.presence import LABELS, away_after, passive
from web.redirects import local_path

bp = Blueprint("console", __name__)
bp.before_request(require_staff)
HISTORY_SHOWN = 20


@dataclass(frozen=True)
class Candidate:
    """An operator a supervisor may give the session to, with their presence now."""

    username: str
    name: str
    presence: str
    current: bool


@dataclass(frozen=True)
class Console:
    """What the session page shows and offers about who works the session and its closing."""

    operator: User | None
    operator_presence: str
    closed: bool
    closed_by: str
    offline: bool
    may_take: bool
    may_assign: bool
    may_release: bool
    candidates: list[Candidate]
    required: set[str]
    history: list[SessionHistory]

    @property
    def writable(self) -> bool:
        """Whether the page offers edits: the session is open and the user is not Offline."""
        return not self.closed and not self.offline


def console_context(db: Session, session: SupportSession, user: User) -> dict[str, Any]:
    """The session page's `console` (see Console)."""
    now = process_engine().clock.now()
    closed = is_closed(session)
    operator = session.operator
    supervises = is_supervisor_of(db, user, session.live_chat_id)
    candidates = []
    if supervises and not closed:
        candidates = [
            Candidate(u.username, u.display_name, presence_of(u, now, away_after()).value,
                      u.id == session.operator_id)
            for u in members(db, session.live_chat_id, MemberRole.OPERATOR)
        ]  # fmt: skip
    history = select(SessionHistory).where(SessionHistory.session_id == session.id)
    console = Console(
        operator=operator,
        operator_presence=presence_of(operator, now, away_after()).value if operator else "",
        closed=closed,
        closed_by=session.closed_by.display_name if session.closed_by else "",
        offline=user.presence == Presence.OFFLINE.value,
        may_take=not closed and operator is None and is_operator_of(db, user, session.live_chat_id),
        may_assign=bool(candidates),
        may_release=not closed and operator is not None and (operator.id == user.id or supervises),
        candidates=candidates,
        required={d.key for d in definitions(db) if d.required_to_close},
        history=list(db.scalars(history.order_by(SessionHistory.id.desc()).limit(HISTORY_SHOWN))),
    )
    return {"console": console}


def _page(session_id: int) -> ResponseReturnValue:
    return redirect(url_for("session.show", session_id=session_id))


def _refused(
    exc: ConflictError | OperatorOfflineError | ValidationError, back: str
) -> ResponseReturnValue:
    discard()
    flash(f"{exc.message[:1].upper()}{exc.message[1:]}.", "error")
    return redirect(back)


def _seen() -> int | None:
    """The session version the submitted page showed (None: the form carried none)."""
    raw = request.form.get("version", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def _back(session_id: int) -> str:
    default = url_for("session.show", session_id=session_id)
    return local_path(request.form.get("back"), default, "/sessions")


@bp.post("/sessions/<id:session_id>/take")
@writes
def take(session_id: int) -> ResponseReturnValue:
    """Take a queued session; the loser of a race is told who was quicker."""
    db, user = get_db(), acting_user()
    session = get_session(db, session_id, user)
    try:
        take_session(db, process_engine().clock, session, user)
    except (ConflictError, OperatorOfflineError) as exc:
        return _refused(exc, _back(session_id))
    flash("You took the session.")
    return _page(session.id)


@bp.post("/sessions/<id:session_id>/assign")
@writes
def assign(session_id: int) -> ResponseReturnValue:
    """A supervisor assigns or transfers the session to an operator of its live chat."""
    db, user = get_db(), acting_user()
    session = get_session(db, session_id, user)
    username = request.form.get("operator", "").strip()
    try:
        if not username:
            raise ValidationError("choose an operator", {"operator": "required"})
        try:
            target = get_user(db, username)
        except NotFoundError:
            raise ValidationError(
                f"unknown operator {username!r}", {"operator": "unknown"}
            ) from None
        check_session_version(db, session, _seen())
        assign_session(db, process_engine().clock, session, target, user)
    except (ConflictError, OperatorOfflineError, ValidationError) as exc:
        return _refused(exc, _page_url(session.id))
    flash(f"The session is now {target.display_name}'s.")
    return _page(session.id)


def _page_url(session_id: int) -> str:
    return url_for("session.show", session_id=session_id)


@bp.post("/sessions/<id:session_id>/route-again")
@writes
def route_again_view(session_id: int) -> ResponseReturnValue:
    """A supervisor's Route again: today's rules and presence decide; the history says why."""
    db, user = get_db(), acting_user()
    session = get_session(db, session_id, user)
    try:
        decision = route_again(db, process_engine().clock, session, user)
    except (ConflictError, OperatorOfflineError, ValidationError) as exc:
        return _refused(exc, _page_url(session.id))
    flash(f"Routed again: {decision.explanation}.")
    return _page(session.id)


@bp.post("/sessions/<id:session_id>/release")
@writes
def release(session_id: int) -> ResponseReturnValue:
    """Put the session back in the queue."""
    db, user = get_db(), acting_user()
    session = get_session(db, session_id, user)
    try:
        check_session_version(db, session, _seen())
        release_session(db, process_engine().clock, session, user)
    except (ConflictError, OperatorOfflineError) as exc:
        return _refused(exc, _page_url(session.id))
    flash("The session is back in the queue.")
    return _page(session.id)


@bp.post("/sessions/<id:session_id>/close")
@writes
def close(session_id: int) -> ResponseReturnValue:
    """Close the session; while required parameters are empty, name each with a link to it."""
    from web.sessions.page import render_session  # the page module imports this one

    db, user = get_db(), acting_user()
    session = get_session(db, session_id, user)
    try:
        check_session_version(db, session, _seen())
        closed = close_session(db, session, user)
        db.flush()  # a concurrent writer's change is a conflict here, not at commit
    except ValidationError:
        discard()
        session = get_session(db, session_id, user)
        return render_session(session, 422, close_missing=missing_to_close(db, session))
    except (ConflictError, OperatorOfflineError) as exc:
        return _refused(exc, _page_url(session.id))
    if closed:
        record_event(db, process_engine().clock, SessionEvent.SESSION_CLOSED, session.id)
    flash("Session closed." if closed else "The session was closed already.")
    return _page(session.id)


@bp.get("/sessions/counts")
@passive
def counts() -> ResponseReturnValue:
    """How many sessions each list view holds for the user (the pages refresh their tabs)."""
    return jsonify(view_counts(get_db(), acting_user()).as_dict())


def presence_label(value: str) -> str:
    """Online / Away / Offline, for templates."""
    return LABELS[Presence(value)] if value else ""
