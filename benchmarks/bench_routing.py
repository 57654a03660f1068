"""Routing benchmarks (issue 17), each printed next to a baseline of the same run.

    .venv/bin/python -m benchmarks.bench_routing decision [--postgres] [--rules 100] [--operators 1000] [--runs 200]
    .venv/bin/python -m benchmarks.bench_routing burst    [--postgres] [--sessions 1000] [--team 20] [--workers 2]

`decision`: one routing decision (its own transaction: 100 rules tried, the last matching, the
least busy chosen among 1,000 Online operators, the assignment written) against the
session-creation transaction alone; p50 ratio, target <= 3x.

`burst`: sessions arriving at once, created and routed by `--workers` worker processes, to a
team of 20: under round robin the busiest and least busy operator differ by at most 1; under
least busy with capacities (3 to 60 each, fewer slots than sessions) nobody exceeds capacity
and every slot is filled.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, Table, delete, func, insert, select
from sqlalchemy.orm import Session

from bpm_livechat.clock import SYSTEM_CLOCK
from bpm_livechat.desk.livechats import add_channel, create_live_chat, get_live_chat
from bpm_livechat.models import (
    LiveChat,
    LiveChatMember,
    MemberRole,
    RoutingRule,
    Status,
    SupportSession,
    Team,
    TeamMember,
    User,
)
from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.persistence.engines import make_engine
from bpm_livechat.persistence.transactions import session_factory, unit_of_work
from bpm_livechat.routing.rules import RuleSpec, save_rule
from bpm_livechat.routing.triggers import Reason, route_if_needed
from bpm_livechat.sessions.events import SessionEvent, record_event
from bpm_livechat.sessions.lifecycle import create_session, get_session

from .bench_sessions import database
from .common import measure_alternately

_USERS = cast(Table, User.__table__)


def _operators(db: Session, chat_id: int, count: int, prefix: str) -> list[int]:
    """`count` Online operators of the live chat, inserted in bulk (no password hashing)."""
    now = datetime.now(UTC) + timedelta(hours=1)  # Online for the whole run
    rows = [
        {"username": f"{prefix}{i}", "display_name": f"{prefix.title()} {i}", "role": "operator",
         "password_hash": "-", "created_at": now, "presence": "online", "last_seen_at": now}
        for i in range(count)
    ]  # fmt: skip
    db.execute(insert(_USERS), rows)
    ids = list(
        db.scalars(select(User.id).where(User.username.like(f"{prefix}%")).order_by(User.id))
    )
    members = [
        {"live_chat_id": chat_id, "user_id": i, "role": MemberRole.OPERATOR.value} for i in ids
    ]
    db.execute(insert(LiveChatMember), members)
    return ids


def _team(db: Session, name: str, ids: list[int], capacities: list[int]) -> None:
    team = Team(name=name)
    db.add(team)
    db.flush()
    rows = [
        {"team_id": team.id, "user_id": u, "capacity": c, "last_turn": 0}
        for u, c in zip(ids, capacities, strict=True)
    ]
    db.execute(insert(TeamMember), rows)


def seed_decision(engine: Engine, rules: int, operators: int) -> None:
    """A live chat, `operators` Online operators in one team, 5 parameters and `rules` rules of
    which only the last matches."""
    with unit_of_work(session_factory(engine)) as db:
        chat = create_live_chat(db, "Bench", "{client.name}: {subject}")
        add_channel(db, chat, "Web", "web")
        db.flush()
        ids = _operators(db, chat.id, operators, "op")
        _team(db, "Everyone", ids, [5] * len(ids))
        add_parameter(db, "segment", "choice", "Segment", options=["consumer", "smb", "enterprise"])
        add_parameter(db, "seats", "integer", "Seats")
        add_parameter(db, "region", "string", "Region")
        add_parameter(db, "vip", "boolean", "VIP")
        add_parameter(db, "topics", "multichoice", "Topics", options=["billing", "bug", "sales"])
        for i in range(rules - 1):
            conditions = [
                {"key": "segment", "op": "equals", "value": "enterprise"},
                {"key": "seats", "op": "range", "value": f"{i * 10}..{i * 10 + 9}"},
                {"key": "topics", "op": "contains", "value": "billing"},
            ]
            save_rule(
                db,
                RuleSpec(
                    f"Rule {i}", conditions, "round-robin", team="Everyone", live_chat_id=chat.id
                ),
            )
        last = [{"key": "priority", "op": "one_of", "value": ["low", "normal"]}]
        save_rule(db, RuleSpec("Catch-all", last, "least-busy", team="Everyone"))


def run_decision(engine: Engine, runs: int) -> None:
    """Print the creation baseline, the decision, and their ratio: each round creates a session
    (the baseline) and routes the one the round before created, so both meet the same load."""
    factory = session_factory(engine)
    with unit_of_work(factory) as db:
        chat_id = get_live_chat(db, "Bench").id
    made: list[int] = []

    def create() -> None:
        with unit_of_work(factory) as db:
            chat = db.get_one(LiveChat, chat_id)
            session = create_session(db, chat, client_name="Client", subject="Help")
            record_event(db, SYSTEM_CLOCK, SessionEvent.SESSION_CREATED, session.id)  # as the API
            made.append(session.id)

    create()  # the first round's decision routes this one
    routed = iter(made)  # made grows as rounds create

    def decide() -> None:
        with unit_of_work(factory) as db:
            decision = route_if_needed(
                db, SYSTEM_CLOCK, get_session(db, next(routed)), Reason.CREATED
            )
            assert decision is not None and decision.chosen is not None, decision

    creation, decision = measure_alternately([create, decide], runs)
    print(
        f"{'session-creation transaction (baseline)':<48} p50 {creation.p50:7.2f} ms  p95 {creation.p95:7.2f} ms"
    )
    print(
        f"{'routing decision (own transaction)':<48} p50 {decision.p50:7.2f} ms  p95 {decision.p95:7.2f} ms"
    )
    print(f"ratio p50: {decision.p50 / creation.p50:.2f}x (target <= 3x)")


def _burst_worker(url: str, count: int, start: Any) -> None:
    """One worker process: create and route `count` sessions, each in its own transaction."""
    engine = make_engine(url)
    factory = session_factory(engine)
    with unit_of_work(factory) as db:
        chat_id = get_live_chat(db, "Burst").id
    start.wait()
    for _ in range(count):
        with unit_of_work(factory) as db:
            session = create_session(
                db, db.get_one(LiveChat, chat_id), client_name="C", subject="S"
            )
            route_if_needed(db, SYSTEM_CLOCK, session, Reason.CREATED)
    engine.dispose()


def run_burst(engine: Engine, sessions: int, team_size: int, workers: int) -> bool:
    """Both strategies; True when every check held."""
    ok = True
    for strategy, capacities in (
        ("round-robin", [sessions] * team_size),
        ("least-busy", [3 + (57 * i) // max(team_size - 1, 1) for i in range(team_size)]),
    ):
        ok &= _one_burst(engine, strategy, capacities, sessions, workers)
    return ok


def _one_burst(
    engine: Engine, strategy: str, capacities: list[int], sessions: int, workers: int
) -> bool:
    with unit_of_work(session_factory(engine)) as db:
        chat = create_live_chat(db, "Burst", "{client.name}")
        add_channel(db, chat, "Web", "web")
        db.flush()
        ids = _operators(db, chat.id, len(capacities), f"b{strategy[0]}")
        _team(db, "Burst team", ids, capacities)
        save_rule(db, RuleSpec("All", [], strategy, team="Burst team", live_chat_id=chat.id))
    url = engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(workers)
    share = [sessions // workers + (1 if i < sessions % workers else 0) for i in range(workers)]
    processes = [context.Process(target=_burst_worker, args=(url, n, start)) for n in share]
    begun = datetime.now(UTC)
    for p in processes:
        p.start()
    for p in processes:
        p.join()
    seconds = (datetime.now(UTC) - begun).total_seconds()
    with unit_of_work(session_factory(engine)) as db:
        counts = dict(
            db.execute(
                select(TeamMember.user_id, func.count(SupportSession.id))
                .outerjoin(
                    SupportSession,
                    (SupportSession.operator_id == TeamMember.user_id)
                    & (SupportSession.status == Status.ACTIVE.value),
                )
                .where(TeamMember.user_id.in_(ids))
                .group_by(TeamMember.user_id)
            ).all()
        )
        waiting = db.scalar(
            select(func.count()).where(
                SupportSession.operator_id.is_(None), SupportSession.status == Status.QUEUED.value
            )
        )
        _retire(db, "Burst", ids)
    loads = [counts.get(u, 0) for u in ids]
    over = [(load, cap) for load, cap in zip(loads, capacities, strict=True) if load > cap]
    print(
        f"{strategy}: {sessions} sessions by {workers} workers in {seconds:.1f} s; loads {loads}; waiting {waiting}"
    )
    if strategy == "round-robin":
        spread = max(loads) - min(loads)
        print(f"  busiest - least busy = {spread} (target <= 1)")
        return spread <= 1 and sum(loads) == sessions
    filled = sum(loads) == min(sessions, sum(capacities))
    print(
        f"  over capacity: {len(over)} (target 0); slots {sum(capacities)}, assigned {sum(loads)}, all slots filled: {filled}"
    )
    return not over and filled


def _retire(db: Session, chat_name: str, ids: list[int]) -> None:
    """Close the burst's sessions and rename its chat, so the next strategy starts clean."""
    chat = get_live_chat(db, chat_name)
    for session in db.scalars(select(SupportSession).where(SupportSession.live_chat_id == chat.id)):
        session.status = Status.CLOSED.value
    chat.name = f"{chat_name} {chat.id}"
    db.execute(delete(TeamMember).where(TeamMember.user_id.in_(ids)))
    team = db.scalar(select(Team).where(Team.name == "Burst team"))
    if team is not None:
        team.name = f"Burst team {team.id}"
    for rule in db.scalars(select(RoutingRule).where(RoutingRule.live_chat_id == chat.id)):
        db.delete(rule)


def main() -> None:
    """Parse arguments and run one benchmark."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("benchmark", choices=("decision", "burst"))
    parser.add_argument("--postgres", action="store_true", help="use the local PostgreSQL")
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--operators", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--team", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with database(args.postgres) as engine:
        if args.benchmark == "decision":
            seed_decision(engine, args.rules, args.operators)
            run_decision(engine, args.runs)
        elif not run_burst(engine, args.sessions, args.team, args.workers):
            sys.exit(1)


if __name__ == "__main__":
    main()
