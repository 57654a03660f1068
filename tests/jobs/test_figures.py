"""The database figures /metrics reports: jobs by kind and status, due jobs, incidents by kind."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.jobs.queue import claim, enqueue
from bpm_livechat.persistence.transactions import unit_of_work
from bpm_livechat.processes.figures import read_figures
from tests.support import MovingClock


def test_figures_count_jobs_by_kind_and_status_and_due_ones(
    factory: sessionmaker[Session],
) -> None:
    clock = MovingClock()
    now = clock.now()
    with unit_of_work(factory) as db:
        enqueue(db, "webhook", due_at=now - timedelta(seconds=5))
        enqueue(db, "webhook", due_at=now - timedelta(seconds=1))
        enqueue(db, "timer", due_at=now + timedelta(hours=1))
        enqueue(db, "timer", due_at=now - timedelta(seconds=1))
    with unit_of_work(factory) as db:
        claim(db, "w1", now, timedelta(minutes=5), limit=1)  # the oldest webhook
    with factory() as db:
        figures = read_figures(db, now)
    assert figures.jobs == {
        ("webhook", "running"): 1,
        ("webhook", "pending"): 1,
        ("timer", "pending"): 2,
    }
    assert figures.jobs_due == {"webhook": 1, "timer": 1}
    assert figures.incidents == {}
