"""The routing queue: sessions waiting for a team go, oldest first, to an operator of the team
who comes Online or frees capacity, under the same locks as a decision."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from bpm_livechat.clock import Clock
from bpm_livechat.live.feed import LiveKind, publish
from bpm_livechat.models import (
    LiveChatMember,
    MemberRole,
    SessionHistory,
    SessionRoute,
    Status,
    SupportSession,
    Team,
    User,
)
from bpm_livechat.routing.decision import ROUTED
from bpm_livechat.routing.strategies import (
    assign_if_unassigned,
    lock_operator,
    lock_teams,
    take_turn,
    teams_of,
)
from bpm_livechat.sessions.events import SessionEvent, record_event

_SESSIONS = cast(Table, SupportSession.__table__)
_ROUTES = cast(Table, SessionRoute.__table__)


def drain_operator(db: Session, clock: Clock, user: User, reason: str) -> list[int]:
    """Give an operator who came Online or freed capacity the sessions waiting for their teams,
    oldest first, up to their capacity in each team; the ids assigned."""
    teams = teams_of(db, user.id)
    if not teams:
        return []
    lock_teams(db, [team_id for team_id, _capacity in teams])
    assigned: list[int] = []
    for team_id, capacity in teams:
        active = lock_operator(db, user.id)
        while active < capacity:
            session_id = _next_waiting(db, team_id, user.id)
            if session_id is None:
                break
            if assign_if_unassigned(db, session_id, user.id):
                take_turn(db, team_id, user.id)
                _drained(db, clock, session_id, team_id, user, active + 1, capacity, reason)
                assigned.append(session_id)
                active += 1
    return assigned


def _next_waiting(db: Session, team_id: int, user_id: int) -> int | None:
    """The oldest open session waiting for the team in a live chat the operator works, locked
    (one another worker holds is skipped)."""
    works = select(LiveChatMember.live_chat_id).where(
        LiveChatMember.user_id == user_id, LiveChatMember.role == MemberRole.OPERATOR.value
    )
    query = (
        select(_SESSIONS.c.id)
        .join(_ROUTES, _ROUTES.c.session_id == _SESSIONS.c.id)
        .where(
            _ROUTES.c.team_id == team_id,
            _ROUTES.c.waiting.is_(True),
            _SESSIONS.c.operator_id.is_(None),
            _SESSIONS.c.status == Status.QUEUED.value,
            _SESSIONS.c.live_chat_id.in_(works),
        )
        .order_by(_SESSIONS.c.created_at, _SESSIONS.c.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=_SESSIONS)
    )
    return db.execute(query).scalar()


def _drained(
    db: Session,
    clock: Clock,
    session_id: int,
    team_id: int,
    user: User,
    active: int,
    capacity: int,
    reason: str,
) -> None:
    team = db.scalar(select(Team.name).where(Team.id == team_id))
    text = f"queue of team {team} drained ({reason}) -> {user.display_name} {active}/{capacity}"
    route = db.get(SessionRoute, session_id)
    if route is not None:
        route.waiting, route.explanation, route.routed_at = False, text, clock.now()
    db.add(
        SessionHistory(
            session_id=session_id,
            kind=ROUTED,
            summary=f"Routing: {text}",
            detail={"reason": reason, "team": team, "chosen": user.username},
            created_at=clock.now(),
        )
    )
    detail = {"by": None, "from": None, "to": user.username, "routed": True}
    record_event(db, clock, SessionEvent.SESSION_ASSIGNED, session_id, {"change": ROUTED, **detail})
    live_chat_id = db.scalar(select(_SESSIONS.c.live_chat_id).where(_SESSIONS.c.id == session_id))
    publish(db, LiveKind.SESSION_CHANGED, session_id, int(live_chat_id or 0), {"what": "assigned"})
    db.flush()
