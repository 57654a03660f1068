"""Concurrency: writers lose no update, readers wait for no writer, dead pooled connections go."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.models import User
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.params.values import get_parameters, parameter_history, set_parameters
from bpm_livechat.persistence import engines as db_module
from bpm_livechat.persistence.engines import make_engine
from bpm_livechat.persistence.transactions import reading, unit_of_work
from bpm_livechat.sessions.lifecycle import get_session
from tests.support import Desk, open_session

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


@pytest.mark.parametrize(
    ("olga_writes", "sam_writes"),
    [("summary", "order_no"), ("summary", "summary")],
    ids=["different parameters", "the same parameter"],
)
def test_two_threads_writing_lose_no_update_and_keep_an_unbroken_history_chain(
    db_session: Session,
    factory: sessionmaker[Session],
    desk: Desk,
    olga_writes: str,
    sam_writes: str,
) -> None:
    db = db_session
    add_parameter(db, "summary", "string", "Summary")
    add_parameter(db, "order_no", "string", "Order number")
    session = open_session(db, desk.support)
    db.commit()
    _in_threads(
        _writer(factory, session.id, desk.operator.id, olga_writes, "olga"),
        _writer(factory, session.id, desk.supervisor.id, sam_writes, "sam"),
    )

    with factory() as fresh:
        final = get_parameters(fresh, session.id)
        for key in {olga_writes, sam_writes}:
            history = parameter_history(fresh, session.id, key)
            writers = [u for u, k in (("olga", olga_writes), ("sam", sam_writes)) if k == key]
            assert history[0].old_value is None
            for before, after in itertools.pairwise(history):
                assert after.old_value == before.new_value  # each writer saw the other's commit
            assert sorted(h.new_value for h in history) == sorted(
                f"{u}-{r}" for u in writers for r in range(1, ROUNDS + 1)
            )
            assert [h.actor_user.username for h in history if h.actor_user] == [
                h.new_value.split("-")[0] for h in history
            ]
            assert final[key] == history[-1].new_value


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_reads_before_the_writer_lock_wait_for_no_writer(
    factory: sessionmaker[Session], desk: Desk
) -> None:
    with factory() as writer, factory() as reader:
        writer.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: holds SQLite's write lock from here
        started = time.monotonic()
        with reading(reader):
            assert reader.scalar(select(User.id).where(User.username == "olga")) == desk.operator.id
        assert time.monotonic() - started < 5  # a writer's transaction would wait out 30 s
        assert not reader.in_transaction()


@pytest.mark.parametrize(
    "engine", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_a_pooled_connection_that_died_while_idle_is_replaced_unnoticed(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pooled = make_engine(engine.url.render_as_string(hide_password=False))
    backend = "SELECT pg_backend_pid()"
    try:
        with pooled.connect() as conn:
            dead = conn.scalar(text(backend))
        with engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dead})
        monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 0.0)
        with pooled.connect() as conn:
            assert conn.scalar(text(backend)) != dead
    finally:
        pooled.dispose()
