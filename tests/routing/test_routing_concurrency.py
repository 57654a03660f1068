"""Routing under concurrency on PostgreSQL: workers in threads route, route the same sessions
twice, and drain queues as operators come Online, at once; nobody ends over capacity, no
session is assigned twice, and no lock order deadlocks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bpm_livechat.clock import SYSTEM_CLOCK
from bpm_livechat.desk.presence import set_presence
from bpm_livechat.desk.users import get_user
from bpm_livechat.models import SessionHistory, Status, SupportSession, User
from bpm_livechat.persistence.transactions import session_factory, unit_of_work
from bpm_livechat.routing.rules import RuleSpec, save_rule
from bpm_livechat.routing.teams import create_team
from bpm_livechat.routing.triggers import Reason, operator_available, route_if_needed
from bpm_livechat.sessions.lifecycle import get_session
from tests.routing.support import new_session, operator
from tests.support import Desk

SESSIONS = 48
CAPACITY_A, CAPACITY_B = 3, 2


def _threads(*work: Callable[[], None]) -> None:
    start = threading.Barrier(len(work))
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            start.wait(timeout=10)
            job()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    if errors:
        raise errors[0]


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_workers_never_overfill_nor_assign_twice(
    engine: Engine, db_session: Session, desk: Desk
) -> None:
    db = db_session
    names = [f"Op{i}" for i in range(6)]
    for name in names:
        operator(db, name, desk.support, online=name not in ("Op4", "Op5"))
    create_team(db, "A", [(n.lower(), CAPACITY_A) for n in names])
    create_team(db, "B", [("op0", CAPACITY_B), ("op1", CAPACITY_B)])
    high = [{"key": "priority", "op": "equals", "value": "high"}]
    save_rule(db, RuleSpec("High", high, "round-robin", team="B", live_chat_id=desk.support.id))
    save_rule(db, RuleSpec("Rest", [], "least-busy", team="A"))
    ids = [
        new_session(db, desk.support, f"s{i}", priority="high" if i % 2 else "normal").id
        for i in range(SESSIONS)
    ]
    db.commit()
    factory = session_factory(engine)

    def route(chunk: list[int]) -> Callable[[], None]:
        def work() -> None:
            for session_id in chunk:
                with unit_of_work(factory) as tx:
                    route_if_needed(tx, SYSTEM_CLOCK, get_session(tx, session_id), Reason.CREATED)

        return work

    def come_online(username: str) -> Callable[[], None]:
        def work() -> None:
            with unit_of_work(factory) as tx:
                user = get_user(tx, username)
                set_presence(tx, user, "online", datetime.now(UTC))
                operator_available(tx, SYSTEM_CLOCK, user, Reason.ONLINE)

        return work

    # four workers; each session is routed by two of them, in opposite orders
    _threads(
        route(ids[::2]), route(ids[1::2]), route(ids[::-2]), route(ids[-2::-2]),
        come_online("op4"), come_online("op5"),
    )  # fmt: skip
    db.expire_all()
    active = dict(
        db.execute(
            select(User.username, func.count(SupportSession.id))
            .join(SupportSession, SupportSession.operator_id == User.id)
            .where(SupportSession.status == Status.ACTIVE.value)
            .group_by(User.username)
        ).all()
    )
    assert all(count <= CAPACITY_A for count in active.values()), active
    assert sum(active.values()) == 6 * CAPACITY_A  # every slot filled: 48 sessions, 18 slots
    assigned_twice = db.execute(
        select(SessionHistory.session_id)
        .where(
            SessionHistory.kind == "routed",
            SessionHistory.summary.contains("assigned to")
            | SessionHistory.summary.contains("drained"),
        )
        .group_by(SessionHistory.session_id)
        .having(func.count() > 1)
    ).all()
    assert assigned_twice == []
