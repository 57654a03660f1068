"""A stopping job worker finishes the job in hand and hands back the others it claimed, so
another worker runs them at once instead of after their lease (issue 18, item 10)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.jobs.queue import ClaimedJob, enqueue
from bpm_livechat.jobs.worker import JobKind, Worker
from bpm_livechat.models import Job
from bpm_livechat.persistence.engines import make_engine
from bpm_livechat.persistence.transactions import session_factory, unit_of_work
from tests.support import MovingClock


def test_a_stopped_worker_finishes_its_job_and_releases_the_rest(
    factory: sessionmaker[Session],
) -> None:
    clock = MovingClock()
    with unit_of_work(factory) as db:
        for n in range(4):
            enqueue(db, "test", due_at=clock.now() - timedelta(seconds=10 - n))
    stop = threading.Event()
    ran: list[int] = []

    def work(_db: Session, job: ClaimedJob) -> None:
        ran.append(job.id)
        stop.set()  # SIGTERM arrives while the first job runs

    first = Worker(factory, {"test": JobKind(run=work)}, clock, name="first")
    assert first.run_due(stop=stop) == 1
    with factory() as db:
        rows = db.scalars(select(Job).order_by(Job.id)).all()
        states = [(r.status, r.locked_by, r.attempts) for r in rows]
    assert states == [("done", None, 1)] + [("pending", None, 0)] * 3
    # Another worker takes them over now, not five minutes later.
    second = Worker(factory, {"test": JobKind(run=lambda _db, job: ran.append(job.id))}, clock)
    assert second.run_due() == 3
    assert ran == [rows[0].id, rows[1].id, rows[2].id, rows[3].id]


def test_a_worker_stopped_before_claiming_claims_nothing(factory: sessionmaker[Session]) -> None:
    clock = MovingClock()
    with unit_of_work(factory) as db:
        enqueue(db, "test", due_at=clock.now())
    stop = threading.Event()
    stop.set()
    worker = Worker(factory, {"test": JobKind(run=lambda _db, _job: None)}, clock)
    assert worker.run_due(stop=stop) == 0
    with factory() as db:
        assert db.scalars(select(Job.status)).all() == ["pending"]


def test_a_database_outage_costs_the_job_worker_one_line_per_try_without_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A database nobody listens on: every claim fails at connect.
    factory = session_factory(make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none"))
    worker = Worker(factory, {}, MovingClock(), poll_seconds=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,))
    with caplog.at_level(logging.INFO, logger="bpm_livechat.jobs"):
        thread.start()
        time.sleep(0.5)
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    records = [r for r in caplog.records if r.name.startswith("bpm_livechat.jobs")]
    assert records
    assert all(r.exc_info is None for r in records)
    assert all("database unavailable" in r.getMessage() for r in records)
