"""Who may get a session, and who does: Online operators under capacity, by round robin or
least busy, under row locks so that concurrent workers never overfill anyone.

Locks are taken in one order everywhere: the session's row (the caller's), then team rows (by
id), then the chosen operator's membership rows (by team id). A team's lock serializes its
decisions (round robin stays fair); an operator's lock makes the capacity recount final, even
when two teams share the operator. SQLite has one writer at a time, so the locks are no-ops there.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, exists, func, select, update
from sqlalchemy.orm import Session

from bpm_livechat.desk.presence import DEFAULT_AWAY_AFTER
from bpm_livechat.models import (
    LiveChatMember,
    MemberRole,
    Presence,
    Status,
    SupportSession,
    Team,
    TeamMember,
    User,
)
from bpm_livechat.routing.rules import Strategy

_SESSIONS = cast(Table, SupportSession.__table__)
_MEMBERS = cast(Table, TeamMember.__table__)
_TEAMS = cast(Table, Team.__table__)
_USERS = cast(Table, User.__table__)


@dataclass(frozen=True)
class Candidate:
    """An Online operator a rule could choose, with their load."""

    user_id: int
    username: str
    name: str
    active: int
    capacity: int
    last_turn: int

    @property
    def free(self) -> bool:
        """Under capacity."""
        return self.active < self.capacity

    def load(self) -> str:
        """ "Olga 2/5"."""
        return f"{self.name} {self.active}/{self.capacity}"


def _active_of(user_id: Any) -> Any:
    return (
        select(func.count())
        .select_from(_SESSIONS)
        .where(_SESSIONS.c.operator_id == user_id, _SESSIONS.c.status == Status.ACTIVE.value)
        .scalar_subquery()
    )


def online_clause(now: datetime, away_after: timedelta = DEFAULT_AWAY_AFTER) -> Any:
    """SQL: the user reads as Online at `now` (see desk.presence.presence_of)."""
    return (_USERS.c.presence == Presence.ONLINE.value) & (
        _USERS.c.last_seen_at >= now - away_after
    )


def _works_chat(live_chat_id: int) -> Any:
    return exists().where(
        LiveChatMember.user_id == _USERS.c.id,
        LiveChatMember.live_chat_id == live_chat_id,
        LiveChatMember.role == MemberRole.OPERATOR.value,
    )


# How many of the best operators a decision reads: enough to explain among whom it chose and to
# pass over the few another worker filled meanwhile; the rest are only counted.
BEST = 20


def best_candidates(
    db: Session,
    now: datetime,
    live_chat_id: int,
    strategy: Strategy,
    team_id: int | None = None,
    operator_ids: Sequence[int] = (),
    passed: Sequence[int] = (),
) -> tuple[list[Candidate], int]:
    """The Online operators of the target who work the live chat and are under capacity, best
    first (least busy: fewest active sessions; round robin: whose turn is longest ago; ties by
    who waited longest, then id), at most BEST of them but those `passed` over already; and
    how many there are.
    A named operator's capacity is their largest among their teams. Two statements: each
    eligible operator's sort key (their load read from the sessions(operator_id, status) index),
    ranked and counted here, then the names of the best."""
    if team_id is not None:  # one membership per operator
        capacity: Any = _MEMBERS.c.capacity
        last_turn: Any = _MEMBERS.c.last_turn
        where = _MEMBERS.c.team_id == team_id
    else:  # named operators: their largest capacity, their latest turn
        per_user = (
            select(
                _MEMBERS.c.user_id,
                func.max(_MEMBERS.c.capacity).label("capacity"),
                func.max(_MEMBERS.c.last_turn).label("last_turn"),
            )
            .where(_MEMBERS.c.user_id.in_(list(operator_ids)))
            .group_by(_MEMBERS.c.user_id)
            .subquery()
        )
        capacity, last_turn, where = per_user.c.capacity, per_user.c.last_turn, None
    members = per_user if team_id is None else _MEMBERS
    keys = (
        select(_USERS.c.id, capacity, last_turn, _active_of(_USERS.c.id))
        .join(members, members.c.user_id == _USERS.c.id)
        .where(online_clause(now), _works_chat(live_chat_id))
    )
    if where is not None:
        keys = keys.where(where)
    if passed:
        keys = keys.where(_USERS.c.id.not_in(list(passed)))
    # (active, last turn, id, capacity) of the operators under capacity
    free = [
        (int(a), int(t or 0), int(u), int(c)) for u, c, t, a in db.execute(keys) if int(a) < int(c)
    ]
    if strategy is Strategy.LEAST_BUSY:
        top = heapq.nsmallest(BEST, free)
    else:
        top = heapq.nsmallest(BEST, free, key=lambda f: (f[1], f[2]))
    if not top:
        return [], 0
    names = select(_USERS.c.id, _USERS.c.username, _USERS.c.display_name)
    named = {r.id: r for r in db.execute(names.where(_USERS.c.id.in_([f[2] for f in top])))}
    best = [Candidate(u, named[u].username, named[u].display_name, a, c, t) for a, t, u, c in top]
    return best, len(free)


def lock_teams(db: Session, team_ids: Sequence[int]) -> None:
    """Lock team rows in id order (the first lock after the session's row)."""
    if team_ids:
        query = select(_TEAMS.c.id).where(_TEAMS.c.id.in_(sorted(team_ids))).order_by(_TEAMS.c.id)
        db.execute(query.with_for_update()).all()


def lock_operator(db: Session, user_id: int) -> int:
    """Lock the operator's membership rows and return their active sessions, counted after
    the lock (so it includes every assignment committed by the lock's previous holder)."""
    rows = select(_MEMBERS.c.team_id).where(_MEMBERS.c.user_id == user_id)
    db.execute(rows.order_by(_MEMBERS.c.team_id).with_for_update()).all()
    return int(db.execute(select(_active_of(user_id))).scalar_one())


def assign_if_unassigned(db: Session, session_id: int, user_id: int) -> bool:
    """Give the session to the operator only while nobody has it and it is open."""
    statement = (
        update(_SESSIONS)
        .where(
            _SESSIONS.c.id == session_id,
            _SESSIONS.c.operator_id.is_(None),
            _SESSIONS.c.status != Status.CLOSED.value,
        )
        .values(operator_id=user_id, status=Status.ACTIVE.value, version=_SESSIONS.c.version + 1)
        .returning(_SESSIONS.c.id)
    )
    return db.execute(statement).first() is not None


def take_turn(db: Session, team_id: int | None, user_id: int) -> None:
    """Note the operator's round-robin turn in the team (for named operators: in all theirs)."""
    if team_id is not None:
        bump = update(_TEAMS).where(_TEAMS.c.id == team_id).values(turns=_TEAMS.c.turns + 1)
        turn = db.execute(bump.returning(_TEAMS.c.turns)).scalar_one()
        mine: ColumnElement[bool] = (_MEMBERS.c.team_id == team_id) & (
            _MEMBERS.c.user_id == user_id
        )
    else:
        turn = (
            int(db.execute(select(func.coalesce(func.max(_MEMBERS.c.last_turn), 0))).scalar_one())
            + 1
        )
        mine = _MEMBERS.c.user_id == user_id
    db.execute(update(_MEMBERS).where(mine).values(last_turn=turn))


def teams_of(db: Session, user_id: int) -> list[tuple[int, int]]:
    """(team id, capacity) of each team the operator belongs to, by team id."""
    query = select(_MEMBERS.c.team_id, _MEMBERS.c.capacity).where(_MEMBERS.c.user_id == user_id)
    return [(int(t), int(c)) for t, c in db.execute(query.order_by(_MEMBERS.c.team_id))]
