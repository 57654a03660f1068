"""What one routing decision reads and writes: the best few operators ranked in the database
with everyone eligible counted, the turn, the route written over the one before, and a
statement budget."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from bpm_livechat.clock import SYSTEM_CLOCK
from bpm_livechat.desk.presence import set_presence
from bpm_livechat.models import SessionHistory, SessionRoute, TeamMember
from bpm_livechat.routing.rules import RuleSpec, Strategy, save_rule
from bpm_livechat.routing.strategies import BEST, best_candidates
from bpm_livechat.routing.teams import create_team
from bpm_livechat.routing.triggers import Reason, route_again, route_if_needed
from bpm_livechat.sessions.lifecycle import get_session
from tests.routing.support import new_session, operator
from tests.support import Desk

CLOCK = SYSTEM_CLOCK


def _crowd(db: Session, desk: Desk, count: int) -> list[int]:
    """`count` Online operators of the support chat in team Crowd, capacity 2 each."""
    users = [operator(db, f"Op{i:02d}", desk.support) for i in range(count)]
    team = create_team(db, "Crowd", [(u.username, 2) for u in users])
    db.flush()
    return [team.id, *(u.id for u in users)]


@contextmanager
def _statements(db: Session) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(*args: Any) -> None:
        seen.append(args[2])

    engine = db.get_bind().engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_the_best_few_come_back_and_everyone_eligible_is_counted(
    db_session: Session, desk: Desk
) -> None:
    db = db_session
    team_id, *ids = _crowd(db, desk, BEST + 5)
    full, busy = new_session(db, desk.support), [new_session(db, desk.support) for _ in range(3)]
    for session, user_id in zip([full, *busy], [ids[0], ids[0], ids[1], ids[2]], strict=True):
        session.operator_id, session.status = user_id, "active"
    db.flush()
    now = datetime.now(UTC)
    best, total = best_candidates(db, now, desk.support.id, Strategy.LEAST_BUSY, team_id)
    assert total == BEST + 4  # Op00 has 2 of 2: not eligible
    assert len(best) == BEST
    assert [c.user_id for c in best[:2]] == [ids[3], ids[4]]  # idle first, by id
    assert [(c.name, c.active) for c in best if c.active] == []
    passed = [ids[3], ids[4]]
    best, total = best_candidates(
        db, now, desk.support.id, Strategy.LEAST_BUSY, team_id, (), passed
    )
    assert total == BEST + 2 and best[0].user_id == ids[5]
    by_turn, total = best_candidates(db, now, desk.support.id, Strategy.ROUND_ROBIN, team_id)
    assert total == BEST + 4 and [c.user_id for c in by_turn[:3]] == [ids[1], ids[2], ids[3]]


def test_named_operators_take_turns_after_everyone_s_latest(
    db_session: Session, desk: Desk
) -> None:
    db = db_session
    _team_id, *ids = _crowd(db, desk, 3)
    usernames = [f"op{i:02d}" for i in range(3)]
    save_rule(db, RuleSpec("Named", [], "round-robin", operators=usernames))
    sessions = [new_session(db, desk.support, f"n{i}") for i in range(4)]
    for session in sessions:
        route_if_needed(db, CLOCK, session, Reason.CREATED)
    assert [s.operator_id for s in sessions] == [ids[0], ids[1], ids[2], ids[0]]
    turns = db.execute(select(TeamMember.user_id, TeamMember.last_turn)).all()
    assert sorted(turns) == [(ids[0], 4), (ids[1], 2), (ids[2], 3)]


def test_the_route_is_written_over_the_one_before_and_a_quiet_repeat_says_nothing(
    db_session: Session, desk: Desk
) -> None:
    db = db_session
    ivan = operator(db, "Ivan", desk.support, online=False)
    create_team(db, "Night", [("ivan", 1)])
    save_rule(db, RuleSpec("All", [], "least-busy", team="Night"))
    session = new_session(db, desk.support)
    route_if_needed(db, CLOCK, session, Reason.CREATED)
    route_if_needed(db, CLOCK, session, Reason.FIRST_MESSAGE)  # the same outcome: no history
    waiting = db.get(SessionRoute, session.id)  # loaded: the next decision must not leave it stale
    assert waiting is not None and waiting.waiting
    set_presence(db, ivan, "online", datetime.now(UTC))
    decision = route_again(db, CLOCK, session, desk.supervisor)
    route = db.get(SessionRoute, session.id)
    assert route is waiting and not route.waiting and route.explanation == decision.explanation
    assert decision.explanation == "rule All -> team Night, least busy: Ivan 0/1; assigned to Ivan"
    summaries = db.scalars(
        select(SessionHistory.summary).where(SessionHistory.session_id == session.id)
    ).all()
    assert [s.split(":")[0] for s in summaries if s.startswith("Routing")] == [
        "Routing (session created)",
        "Routing (Route again by Sam Supervisor)",
    ]


def test_a_decision_stays_within_its_statement_budget(db_session: Session, desk: Desk) -> None:
    db = db_session
    _crowd(db, desk, BEST + 5)
    save_rule(db, RuleSpec("All", [], "least-busy", team="Crowd"))
    first, session = new_session(db, desk.support), new_session(db, desk.support)
    route_if_needed(db, CLOCK, first, Reason.CREATED)  # compiles the rules once
    db.commit()
    session = get_session(db, session.id)  # as a request loads it: client and channel joined
    with _statements(db) as seen:
        decision = route_if_needed(db, CLOCK, session, Reason.CREATED)
    assert decision is not None and decision.chosen is not None
    assert decision.explanation.endswith("and 20 more; assigned to Op01")
    # definitions, rules fingerprint, session lock, values, ranking, assignment, turn, route,
    # history, who listens, live event; PostgreSQL adds the team and operator locks and the
    # recount
    budget = 11 if db.get_bind().dialect.name == "sqlite" else 14
    ran = [s.split("\n")[0][:50] for s in seen if not s.startswith("BEGIN")]
    assert len(ran) <= budget, ran
