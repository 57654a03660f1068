"""A job worker whose database fails in the middle of a batch (an outage through a real TCP
proxy in front of PostgreSQL) records the failed try and hands back the jobs it claimed but did
not start as soon as the database answers again: they run within seconds, not after the lease."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.jobs.queue import ClaimedJob, claim, enqueue
from bpm_livechat.jobs.worker import JobKind, Worker
from bpm_livechat.models import Job
from bpm_livechat.persistence.engines import make_engine
from bpm_livechat.persistence.transactions import session_factory, unit_of_work
from tests.chaos.proxy import FaultyProxy
from tests.databases import truncate_all
from tests.support import MovingClock

pytestmark = pytest.mark.postgres

LEASE = timedelta(minutes=5)
OUTAGE_SECONDS = 0.5


@pytest.fixture
def direct(pg_engine: Engine) -> sessionmaker[Session]:
    """Sessions on the emptied test database, straight to the server (never cut)."""
    truncate_all(pg_engine)
    return session_factory(pg_engine)


@pytest.fixture
def proxy(pg_engine: Engine) -> Iterator[FaultyProxy]:
    """A fault proxy in front of the test database."""
    target = (pg_engine.url.host or "127.0.0.1", pg_engine.url.port or 5432)
    with FaultyProxy(target) as faulty:
        yield faulty


@pytest.fixture
def faulty(pg_engine: Engine, proxy: FaultyProxy) -> Iterator[sessionmaker[Session]]:
    """Sessions on the test database through the proxy (what the worker uses)."""
    engine = make_engine(proxy.url(pg_engine.url.render_as_string(hide_password=False)))
    yield session_factory(engine)
    engine.dispose()


def _enqueue(factory: sessionmaker[Session], clock: MovingClock, count: int) -> list[int]:
    with unit_of_work(factory) as db:
        for n in range(count):
            enqueue(db, "test", due_at=clock.now() - timedelta(seconds=count - n))
    with factory() as db:
        return list(db.scalars(select(Job.id).order_by(Job.id)))


def _states(factory: sessionmaker[Session]) -> list[tuple[str, str | None, int]]:
    with factory() as db:
        rows = db.execute(select(Job.status, Job.locked_by, Job.attempts).order_by(Job.id))
        return [(status, holder, attempts) for status, holder, attempts in rows]


def test_an_outage_mid_batch_hands_the_unstarted_jobs_back_once_the_database_answers(
    direct: sessionmaker[Session], faulty: sessionmaker[Session], proxy: FaultyProxy
) -> None:
    clock = MovingClock()
    ids = _enqueue(direct, clock, 5)
    ran: list[int] = []

    def work(_db: Session, job: ClaimedJob) -> None:
        ran.append(job.id)
        if len(ran) == 1:  # the database goes away while the batch's first job runs
            proxy.cut()
            threading.Timer(OUTAGE_SECONDS, proxy.heal).start()

    worker = Worker(faulty, {"test": JobKind(run=work)}, clock, name="cut", poll_seconds=0.2)
    # The same clock, no lease run out: the four others run now because they were handed back.
    assert worker.run_due() == 5
    assert ran == ids
    with direct() as db:
        first = db.get_one(Job, ids[0])
        assert (first.status, first.locked_by, first.attempts) == ("pending", None, 1)
        assert first.due_at == clock.now() + timedelta(seconds=10)  # the kind's backoff
        assert first.last_error is not None and first.last_error.startswith("OperationalError")
    assert _states(direct)[1:] == [("done", None, 1)] * 4


def test_a_worker_whose_claim_was_cut_releases_what_it_may_hold_when_the_database_is_back(
    direct: sessionmaker[Session], faulty: sessionmaker[Session], proxy: FaultyProxy
) -> None:
    clock = MovingClock()
    ids = _enqueue(direct, clock, 3)
    # A claim committed whose answer the worker never saw (the connection dropped at COMMIT):
    # the jobs are the worker's in the database, and it does not know them.
    with unit_of_work(direct) as db:
        assert len(claim(db, "lost-answer", clock.now(), LEASE)) == 3
    proxy.cut()
    ran: list[int] = []
    worker = Worker(
        faulty,
        {"test": JobKind(run=lambda _db, job: ran.append(job.id))},
        clock,
        name="lost-answer",
        poll_seconds=0.05,
    )
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,))
    thread.start()
    try:
        time.sleep(OUTAGE_SECONDS)  # a few claims fail meanwhile
        proxy.heal()
        deadline = time.monotonic() + 30  # a bound for a loaded machine, not a measurement
        while len(ran) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert ran == ids  # the same clock: not after the lease, they were released
    assert _states(direct) == [("done", None, 1)] * 3
