"""Who may get a session, and who does: Online operators under capacity, by round robin or
least busy, under row locks so that concurrent workers never overfill anyone.

Locks are taken in one order everywhere: the session's row (the caller's), then team rows (by
id), then the chosen operator's membership rows (by team id). A team's lock serializes its
decisions (round robin stays fair); an operator's lock makes the capacity recount final, even
when two teams share the operator. SQLite has one writer at a time, which a writing transaction
holds from its start: the locks and the recount are skipped there.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, Update, bindparam, exists, func, select, update
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


def _online() -> Any:
    """SQL: the user reads as Online (see desk.presence.presence_of): present and seen since
    the bound `online_since`."""
    since = bindparam("online_since", type_=_USERS.c.last_seen_at.type)
    return (_USERS.c.presence == Presence.ONLINE.value) & (_USERS.c.last_seen_at >= since)


def _works_chat(live_chat_id: Any) -> Any:
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
    A named operator's capacity is their largest among their teams. One statement ranks in the
    database (each load read from the sessions(operator_id, status) index), counts every
    eligible operator with a window and returns only the best with their names."""
    query = _ranking(team_id is None, strategy is Strategy.LEAST_BUSY, bool(passed))
    params: dict[str, Any] = {
        "online_since": now - DEFAULT_AWAY_AFTER,
        "live_chat_id": live_chat_id,
        "team_id": team_id,
        "operator_ids": list(operator_ids),
        "passed": list(passed),
    }
    rows = db.execute(query, params).all()
    best = [
        Candidate(r.id, r.username, r.display_name, r.active, r.capacity, r.last_turn) for r in rows
    ]
    return best, rows[0].total if rows else 0


@functools.cache  # built once per shape: building the statement costs about as much as running it
def _ranking(named: bool, least_busy: bool, passing: bool) -> Select[Any]:
    """The best BEST eligible operators, each row with how many are eligible (`total`)."""
    # OFFSET 0 keeps the subquery whole: inlined, each operator's sessions would be counted
    # once for the capacity test and again for the order.
    keys = _eligible(named, passing).offset(0).subquery()
    order: tuple[Any, ...] = (keys.c.last_turn, keys.c.id)
    if least_busy:
        order = (keys.c.active, *order)
    return (
        select(keys, func.count().over().label("total"))
        .where(keys.c.active < keys.c.capacity)
        .order_by(*order)
        .limit(BEST)
    )


def _eligible(named: bool, passing: bool) -> Select[Any]:
    """Each Online operator of the target (the bound team, or the bound `operator_ids`) who
    works the bound live chat but those `passed`: name, capacity, last turn, active sessions."""
    if not named:  # one membership per operator
        capacity: Any = _MEMBERS.c.capacity
        last_turn: Any = _MEMBERS.c.last_turn
        members: Any = _MEMBERS
    else:  # named operators: their largest capacity, their latest turn
        members = (
            select(
                _MEMBERS.c.user_id,
                func.max(_MEMBERS.c.capacity).label("capacity"),
                func.max(_MEMBERS.c.last_turn).label("last_turn"),
            )
            .where(_MEMBERS.c.user_id.in_(bindparam("operator_ids", expanding=True)))
            .group_by(_MEMBERS.c.user_id)
            .subquery()
        )
        capacity, last_turn = members.c.capacity, members.c.last_turn
    keys = (
        select(
            _USERS.c.id,
            _USERS.c.username,
            _USERS.c.display_name,
            capacity.label("capacity"),
            func.coalesce(last_turn, 0).label("last_turn"),
            _active_of(_USERS.c.id).label("active"),
        )
        .join(members, members.c.user_id == _USERS.c.id)
        .where(_online(), _works_chat(bindparam("live_chat_id")))
    )
    if not named:
        keys = keys.where(_MEMBERS.c.team_id == bindparam("team_id"))
    if passing:
        keys = keys.where(_USERS.c.id.not_in(bindparam("passed", expanding=True)))
    return keys


def single_writer(db: Session) -> bool:
    """True on SQLite: a writing transaction holds the database's one write lock from its first
    statement (BEGIN IMMEDIATE), so row locks are moot and what it read stays true."""
    return db.get_bind().dialect.name == "sqlite"


# The statements of a decision, built once (building one costs several times running it) and
# bound at each use.
_LOCK_TEAMS = (
    select(_TEAMS.c.id)
    .where(_TEAMS.c.id.in_(bindparam("team_ids", expanding=True)))
    .order_by(_TEAMS.c.id)
    .with_for_update()
)
_LOCK_MEMBERSHIPS = (
    select(_MEMBERS.c.team_id)
    .where(_MEMBERS.c.user_id == bindparam("operator"))
    .order_by(_MEMBERS.c.team_id)
    .with_for_update()
)
_ACTIVE = select(_active_of(bindparam("operator")))
_ASSIGN = (
    update(_SESSIONS)
    .where(
        _SESSIONS.c.id == bindparam("session"),
        _SESSIONS.c.operator_id.is_(None),
        _SESSIONS.c.status != Status.CLOSED.value,
    )
    .values(
        operator_id=bindparam("operator"),
        status=Status.ACTIVE.value,
        version=_SESSIONS.c.version + 1,
    )
    .returning(_SESSIONS.c.id)
)


def lock_teams(db: Session, team_ids: Sequence[int]) -> None:
    """Lock team rows in id order (the first lock after the session's row; nothing to do on
    SQLite)."""
    if team_ids and not single_writer(db):
        db.execute(_LOCK_TEAMS, {"team_ids": sorted(team_ids)}).all()


def lock_operator(db: Session, user_id: int, counted: int | None = None) -> int:
    """Lock the operator's membership rows and return their active sessions, counted after
    the lock (so it includes every assignment committed by the lock's previous holder). On
    SQLite, where nobody else writes meanwhile, a count this transaction made (`counted`)
    stands as it is."""
    if single_writer(db):
        if counted is not None:
            return counted
    else:
        db.execute(_LOCK_MEMBERSHIPS, {"operator": user_id}).all()
    return int(db.execute(_ACTIVE, {"operator": user_id}).scalar_one())


def assign_if_unassigned(db: Session, session_id: int, user_id: int) -> bool:
    """Give the session to the operator only while nobody has it and it is open."""
    return db.execute(_ASSIGN, {"session": session_id, "operator": user_id}).first() is not None


def take_turn(db: Session, team_id: int | None, user_id: int) -> None:
    """Note the operator's round-robin turn in the team, one after the team's latest (for named
    operators: one after anyone's latest, in all their teams); one statement."""
    if team_id is None:
        db.execute(_turn(False), {"operator": user_id})
    else:
        db.execute(_turn(True), {"operator": user_id, "team": team_id})


@functools.cache
def _turn(in_team: bool) -> Update:
    """Set the bound operator's last_turn one after the latest (in the bound team)."""
    latest = _MEMBERS.alias("latest")
    after = select(func.coalesce(func.max(latest.c.last_turn), 0) + 1)
    mine: ColumnElement[bool] = _MEMBERS.c.user_id == bindparam("operator")
    if in_team:
        after = after.where(latest.c.team_id == bindparam("team"))
        mine = mine & (_MEMBERS.c.team_id == bindparam("team"))
    return update(_MEMBERS).where(mine).values(last_turn=after.scalar_subquery())


def teams_of(db: Session, user_id: int) -> list[tuple[int, int]]:
    """(team id, capacity) of each team the operator belongs to, by team id."""
    query = select(_MEMBERS.c.team_id, _MEMBERS.c.capacity).where(_MEMBERS.c.user_id == user_id)
    return [(int(t), int(c)) for t, c in db.execute(query.order_by(_MEMBERS.c.team_id))]
