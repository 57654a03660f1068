"""Concurrent writers: two threads, two database sessions, one support session, no lost update."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.actors import user_actor
from bpm_livechat.db import unit_of_work
from bpm_livechat.models import User
from bpm_livechat.parameters import add_parameter
from bpm_livechat.sessions import get_session
from bpm_livechat.values import get_parameters, parameter_history, set_parameters

from .conftest import Desk, open_session

ROUNDS = 5


def _in_threads(*work: Callable[[], None]) -> None:
    """Run each callable in its own thread, released together; re-raise the first failure."""
    start = threading.Barrier(len(work))
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            start.wait(timeout=10)
            job()
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    if errors:
        raise errors[0]


def _writer(
    factory: sessionmaker[Session], session_id: int, user_id: int, key: str, prefix: str
) -> Callable[[], None]:
    """ROUNDS separate transactions, each loading the session and writing `key`."""

    def write() -> None:
        for round_ in range(1, ROUNDS + 1):
            with unit_of_work(factory) as db:
                actor = db.get_one(User, user_id)
                target = get_session(db, session_id, actor)
                set_parameters(db, target, {key: f"{prefix}-{round_}"}, user_actor(actor))

    return write


def test_two_threads_writing_different_parameters_both_land_with_history(
    db_session: Session, factory: sessionmaker[Session], desk: Desk
) -> None:
    db = db_session
    add_parameter(db, "summary", "string", "Summary")
    add_parameter(db, "order_no", "string", "Order number")
    session = open_session(db, desk.support)
    db.commit()
    _in_threads(
        _writer(factory, session.id, desk.operator.id, "summary", "summary"),
        _writer(factory, session.id, desk.supervisor.id, "order_no", "order_no"),
    )

    with factory() as fresh:
        assert get_parameters(fresh, session.id) == {
            "summary": f"summary-{ROUNDS}",
            "order_no": f"order_no-{ROUNDS}",
        }
        for key, username in (("summary", "olga"), ("order_no", "sam")):
            chain = [
                (h.old_value, h.new_value, h.actor_user.username if h.actor_user else None)
                for h in parameter_history(fresh, session.id, key)
            ]
            values = [None, *(f"{key}-{r}" for r in range(1, ROUNDS + 1))]
            assert chain == [(values[i], values[i + 1], username) for i in range(ROUNDS)]


def test_two_threads_writing_the_same_parameter_keep_an_unbroken_history_chain(
    db_session: Session, factory: sessionmaker[Session], desk: Desk
) -> None:
    db = db_session
    add_parameter(db, "summary", "string", "Summary")
    session = open_session(db, desk.support)
    db.commit()
    _in_threads(
        _writer(factory, session.id, desk.operator.id, "summary", "olga"),
        _writer(factory, session.id, desk.supervisor.id, "summary", "sam"),
    )

    with factory() as fresh:
        history = parameter_history(fresh, session.id, "summary")
        assert len(history) == 2 * ROUNDS
        assert history[0].old_value is None
        for before, after in itertools.pairwise(history):
            assert after.old_value == before.new_value  # each writer saw the other's commit
        assert get_parameters(fresh, session.id) == {"summary": history[-1].new_value}
        assert sorted(h.new_value for h in history) == sorted(
            f"{u}-{r}" for u in ("olga", "sam") for r in range(1, ROUNDS + 1)
        )
