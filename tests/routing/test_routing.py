"""Routing through the core: rules in order, strategies, capacity, the queue draining, the
triggers, and the explanation kept in the session's history."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.clock import SYSTEM_CLOCK
from bpm_livechat.desk.presence import set_presence
from bpm_livechat.desk.users import get_user
from bpm_livechat.models import SessionHistory, SupportSession
from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.routing.decision import preview
from bpm_livechat.routing.rules import RuleSpec, save_rule
from bpm_livechat.routing.teams import create_team
from bpm_livechat.routing.triggers import Reason, operator_available, route_again, route_if_needed
from bpm_livechat.sessions.assignment import release_session
from bpm_livechat.sessions.editing import edit_parameters
from bpm_livechat.sessions.lifecycle import close_session
from tests.routing.support import new_session, operator
from tests.support import Desk

CLOCK = SYSTEM_CLOCK


def _history(db: Session, session_id: int) -> list[str]:
    query = select(SessionHistory.summary).where(
        SessionHistory.session_id == session_id, SessionHistory.kind == "routed"
    )
    return list(db.scalars(query.order_by(SessionHistory.id)))


def _setup(db: Session, desk: Desk) -> None:
    add_parameter(db, "segment", "choice", "Segment", options=["enterprise", "smb"])
    operator(db, "Ivan", desk.support)
    operator(db, "Petra", desk.support)
    create_team(db, "Enterprise", [("olga", 5), ("ivan", 5)])
    create_team(db, "General", [("petra", 2)])
    save_rule(
        db,
        RuleSpec(
            "Enterprise",
            [{"key": "segment", "op": "equals", "value": "enterprise"}],
            "least-busy",
            team="Enterprise",
            live_chat_id=desk.support.id,
        ),
    )
    save_rule(db, RuleSpec("Everyone else", [], "round-robin", team="General"))
    set_presence(db, desk.operator, "online", datetime.now(UTC))
    db.commit()


def _route(db: Session, session: SupportSession) -> str:
    decision = route_if_needed(db, CLOCK, session, Reason.CREATED)
    assert decision is not None
    return decision.explanation


def test_least_busy_picks_the_freest_and_explains_among_whom(
    db_session: Session, desk: Desk
) -> None:
    db = db_session
    _setup(db, desk)
    busy = new_session(db, desk.support)
    busy.operator, busy.status = desk.operator, "active"
    session = new_session(db, desk.support)
    edit_parameters(db, CLOCK, session, {"segment": "enterprise"}, desk.admin)
    db.commit()
    db.refresh(session)
    assert session.operator is not None and session.operator.username == "ivan"
    assert _history(db, session.id) == [
        "Routing (parameter changed): rule Enterprise -> team Enterprise, least busy: "
        "Ivan 0/5, Olga Operator 1/5; assigned to Ivan"
    ]


def test_no_match_falls_to_the_global_rule_and_the_tester_says_why(
    db_session: Session, desk: Desk
) -> None:
    db = db_session
    _setup(db, desk)
    session = new_session(db, desk.support)
    explanation = _route(db, session)
    assert (
        explanation
        == "rule Everyone else -> team General, round robin: Petra 0/2; assigned to Petra"
    )
    other = new_session(db, desk.support)
    shown = preview(db, CLOCK, other).as_dict()
    assert shown["rule"] == "Everyone else"
    assert shown["checks"][0] == {
        "rule_id": shown["checks"][0]["rule_id"],
        "rule": "Enterprise",
        "matched": False,
        "reasons": ["segment equals 'enterprise' failed: segment is empty"],
    }
    assert shown["chosen"] == "petra"


def test_capacity_leaves_the_session_waiting_and_the_queue_drains_in_order(
    db_session: Session, desk: Desk
) -> None:
    db = db_session
    _setup(db, desk)
    routed = [new_session(db, desk.support, f"s{i}") for i in range(4)]
    texts = [_route(db, s) for s in routed]
    db.commit()
    assert [s.operator.username if s.operator else None for s in routed] == [
        "petra",
        "petra",
        None,
        None,
    ]
    assert texts[2].endswith("round robin: nobody Online under capacity; waits for team General")
    # Petra closes one: the oldest waiting session is hers
    close_session(db, routed[0], desk.admin, CLOCK)
    db.commit()
    db.refresh(routed[2])
    db.refresh(routed[3])
    assert routed[2].operator is not None and routed[2].operator.username == "petra"
    assert routed[3].operator is None
    assert _history(db, routed[2].id)[-1] == (
        "Routing: queue of team General drained (operator freed capacity) -> Petra 2/2"
    )


def test_an_operator_coming_online_drains_the_queue(db_session: Session, desk: Desk) -> None:
    db = db_session
    _setup(db, desk)
    petra = get_user(db, "petra")
    set_presence(db, petra, "away", datetime.now(UTC))
    waiting = [new_session(db, desk.support, f"w{i}") for i in range(3)]
    for s in waiting:
        _route(db, s)
    db.commit()
    assert all(s.operator_id is None for s in waiting)
    set_presence(db, petra, "online", datetime.now(UTC))
    given = operator_available(db, CLOCK, petra, Reason.ONLINE)
    db.commit()
    assert given == [waiting[0].id, waiting[1].id]
    assert _history(db, waiting[0].id)[-1] == (
        "Routing: queue of team General drained (operator came Online) -> Petra 1/2"
    )
    assert waiting[2].operator_id is None


def test_round_robin_takes_turns(db_session: Session, desk: Desk) -> None:
    db = db_session
    _setup(db, desk)
    create_team(db, "Rotation", [("olga", 10), ("ivan", 10), ("petra", 10)])
    save_rule(
        db,
        RuleSpec(
            "Rotate", [], "round-robin", team="Rotation", live_chat_id=desk.support.id, position=0
        ),
    )
    sessions = [new_session(db, desk.support, f"r{i}") for i in range(6)]
    for s in sessions:
        _route(db, s)
    names = [s.operator.username for s in sessions if s.operator]
    assert names == ["olga", "ivan", "petra", "olga", "ivan", "petra"]


def test_a_parameter_change_moves_an_unassigned_session_only(
    db_session: Session, desk: Desk
) -> None:
    db = db_session
    _setup(db, desk)
    for name in ("olga", "ivan"):
        set_presence(db, get_user(db, name), "away", datetime.now(UTC))
    session = new_session(db, desk.support)
    _route(db, session)  # General: Petra
    assert session.operator is not None
    release_session(db, CLOCK, session, desk.admin)
    db.commit()
    edit_parameters(db, CLOCK, session, {"segment": "enterprise"}, desk.admin)
    db.commit()
    assert session.operator_id is None
    assert _history(db, session.id)[-1].endswith(
        "nobody Online under capacity; waits for team Enterprise"
    )
    route = route_again(db, CLOCK, session, desk.supervisor)
    assert route.explanation.startswith("rule Enterprise -> team Enterprise")
    assert _history(db, session.id)[-1].startswith(
        "Routing (Route again by Sam Supervisor): rule Enterprise"
    )
