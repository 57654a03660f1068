"""The durable job queue and its workers on both databases: enqueue, claim under a lease, the
fenced finish, backoff and final failure, a dead worker's job taken over, admin retry and
cancel, two workers racing on PostgreSQL, and the `jobs` and `worker` commands."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.cli import cli
from bpm_livechat.clock import SYSTEM_CLOCK
from bpm_livechat.errors import ConflictError, NotFoundError, ValidationError
from bpm_livechat.jobs.queue import (
    ClaimedJob,
    cancel_job,
    claim,
    enqueue,
    fail,
    finish,
    get_job,
    list_jobs,
    next_due,
    retry_job,
)
from bpm_livechat.jobs.worker import JobKind, Worker
from bpm_livechat.models import Job, SessionHistory
from bpm_livechat.persistence.transactions import unit_of_work
from bpm_livechat.sessions.events import SESSION_EVENT_JOB
from tests.support import Desk, MovingClock, new_session

LEASE = timedelta(minutes=5)


def _add(factory: sessionmaker[Session], due_at: datetime, kind: str = "test", **extra: Any) -> int:
    """Enqueue one job, committed; its id."""
    with unit_of_work(factory) as db:
        enqueue(db, kind, due_at=due_at, **extra)
        return db.scalars(select(Job.id).order_by(Job.id.desc())).first() or 0


def _job(factory: sessionmaker[Session], job_id: int) -> Job:
    with factory() as db:
        return get_job(db, job_id)


def _claim(factory: sessionmaker[Session], worker: str, now: datetime) -> list[ClaimedJob]:
    with unit_of_work(factory) as db:
        return claim(db, worker, now, LEASE)


def test_enqueue_claim_and_finish(factory: sessionmaker[Session], clock: MovingClock) -> None:
    now = clock.now()
    job_id = _add(factory, now, payload={"n": 1}, max_attempts=4)
    [claimed] = _claim(factory, "A", now)
    assert claimed == ClaimedJob(job_id, "test", {"n": 1}, None, None, 1, 4, now)
    assert not claimed.last_try
    running = _job(factory, job_id)
    assert (running.status, running.locked_by, running.locked_until, running.attempts) == (
        "running",
        "A",
        now + LEASE,
        1,
    )
    assert _claim(factory, "B", now) == []  # held under A's lease
    later = clock.advance(seconds=3)
    with unit_of_work(factory) as db:
        finish(db, claimed, "A", later)
    done = _job(factory, job_id)
    assert (done.status, done.locked_by, done.locked_until, done.finished_at) == (
        "done",
        None,
        None,
        later,
    )
    assert _claim(factory, "B", clock.advance(hours=1)) == []


def test_a_job_not_yet_due_is_not_claimed(
    factory: sessionmaker[Session], clock: MovingClock
) -> None:
    now = clock.now()
    late = _add(factory, now + timedelta(minutes=1))
    early = _add(factory, now - timedelta(seconds=1))
    with factory() as db:
        assert next_due(db) == now - timedelta(seconds=1)
    assert [j.id for j in _claim(factory, "A", now)] == [early]
    assert _claim(factory, "A", now + timedelta(seconds=59)) == []
    assert [j.id for j in _claim(factory, "A", now + timedelta(minutes=1))] == [late]
    with factory() as db:
        assert next_due(db) is None


def test_claim_takes_the_oldest_due_first_up_to_the_limit(
    factory: sessionmaker[Session], clock: MovingClock
) -> None:
    now = clock.now()
    ids = [_add(factory, now - timedelta(seconds=s)) for s in (1, 3, 2)]
    with unit_of_work(factory) as db:
        first = claim(db, "A", now, LEASE, limit=2)
    assert [j.id for j in first] == [ids[1], ids[2]]
    assert [j.id for j in _claim(factory, "B", now)] == [ids[0]]


def test_a_dedupe_key_adds_nothing_twice(
    factory: sessionmaker[Session], clock: MovingClock
) -> None:
    now = clock.now()
    with unit_of_work(factory) as db:
        enqueue(db, "test", due_at=now, payload={"n": 1}, dedupe_key="once")
        enqueue(db, "test", due_at=now, payload={"n": 2}, dedupe_key="once")
    with unit_of_work(factory) as db:  # and in a later transaction, even once it ran
        [claimed] = claim(db, "A", now, LEASE)
        finish(db, claimed, "A", now)
        enqueue(db, "test", due_at=now, payload={"n": 3}, dedupe_key="once")
        enqueue(db, "test", due_at=now, payload={"n": 4}, dedupe_key="other")
    with factory() as db:
        rows = db.execute(select(Job.dedupe_key, Job.payload, Job.status).order_by(Job.id)).all()
    assert [tuple(r) for r in rows] == [("once", {"n": 1}, "done"), ("other", {"n": 4}, "pending")]


class Recorder:
    """A test kind's callbacks: fails its first `failures` tries, records its `dead` calls."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.tries: list[int] = []
        self.dead: list[tuple[int, Exception]] = []

    def run(self, db: Session, job: ClaimedJob) -> None:
        self.tries.append(job.attempts)
        if len(self.tries) <= self.failures:
            raise RuntimeError(f"boom {len(self.tries)}")

    def record_dead(self, db: Session, job: ClaimedJob, exc: Exception) -> None:
        self.dead.append((job.id, exc))

    def kind(self) -> JobKind:
        return JobKind(run=self.run, dead=self.record_dead)


def _worker(
    factory: sessionmaker[Session], clock: MovingClock, name: str, **kinds: JobKind
) -> Worker:
    return Worker(factory, kinds, clock, name=name, lease=LEASE)


@pytest.mark.parametrize(
    ("failures", "status", "attempts", "last_error", "dead"),
    [
        (0, "done", 1, None, False),
        (1, "done", 2, "RuntimeError: boom 1", False),
        (2, "done", 3, "RuntimeError: boom 2", False),
        (3, "failed", 3, "RuntimeError: boom 3", True),
    ],
)
def test_a_failing_kind_is_retried_after_its_backoff_then_marked_failed(
    factory: sessionmaker[Session],
    clock: MovingClock,
    failures: int,
    status: str,
    attempts: int,
    last_error: str | None,
    dead: bool,
) -> None:
    recorder = Recorder(failures)
    worker = _worker(factory, clock, "W", flaky=recorder.kind())
    start = clock.now()
    job_id = _add(factory, start, kind="flaky")
    assert worker.run_due() == 1
    for backoff in (10, 20):  # the default backoff: 10 s, then 20 s
        job = _job(factory, job_id)
        if job.status != "pending":
            break
        assert job.due_at == clock.now() + timedelta(seconds=backoff)
        assert job.locked_by is None
        clock.advance(seconds=backoff - 1)
        assert worker.run_due() == 0  # not due yet
        clock.advance(seconds=1)
        assert worker.run_due() == 1
    assert worker.run_due() == 0
    clock.advance(hours=1)
    assert worker.run_due() == 0  # over: done or failed for good
    job = _job(factory, job_id)
    assert (job.status, job.attempts, job.last_error) == (status, attempts, last_error)
    assert recorder.tries == list(range(1, attempts + 1))
    assert job.finished_at is not None and job.locked_by is None
    if dead:
        [(dead_id, exc)] = recorder.dead
        assert dead_id == job_id
        assert isinstance(exc, RuntimeError) and str(exc) == "boom 3"
    else:
        assert recorder.dead == []


def test_a_job_of_an_unknown_kind_fails_at_once(
    factory: sessionmaker[Session], clock: MovingClock
) -> None:
    job_id = _add(factory, clock.now(), kind="nobody_knows", max_attempts=5)
    assert _worker(factory, clock, "W").run_due() == 1
    job = _job(factory, job_id)
    assert (job.status, job.attempts, job.last_error) == (
        "failed",
        1,
        "LookupError: this worker does not know jobs of kind 'nobody_knows'",
    )


def test_a_custom_backoff_sets_the_next_due_time(
    factory: sessionmaker[Session], clock: MovingClock
) -> None:
    recorder = Recorder(failures=5)
    kind = JobKind(run=recorder.run, backoff=lambda attempts: timedelta(minutes=attempts * 7))
    worker = _worker(factory, clock, "W", flaky=kind)
    job_id = _add(factory, clock.now(), kind="flaky")
    worker.run_due()
    assert _job(factory, job_id).due_at == clock.now() + timedelta(minutes=7)
    clock.advance(minutes=7)
    worker.run_due()
    assert _job(factory, job_id).due_at == clock.now() + timedelta(minutes=14)


def test_a_dead_workers_job_is_taken_over_after_its_lease_and_its_late_finish_is_refused(
    factory: sessionmaker[Session], clock: MovingClock
) -> None:
    ran: list[tuple[int, int]] = []
    kind = JobKind(run=lambda db, job: ran.append((job.id, job.attempts)))
    job_id = _add(factory, clock.now())
    [held_by_a] = _claim(factory, "A", clock.now())  # A claims it, then "dies"
    b = _worker(factory, clock, "B", test=kind)
    clock.advance(minutes=4, seconds=59)
    assert b.run_due() == 0  # A's lease still holds
    clock.advance(minutes=1, seconds=2)  # lease ran out at 5 min
    assert b.run_due() == 1
    assert ran == [(job_id, 2)]
    done = _job(factory, job_id)
    assert (done.status, done.locked_by, done.attempts) == ("done", None, 2)
    finished_at = done.finished_at
    clock.advance(seconds=30)
    taken_over = f"job {job_id} was taken over by another worker"
    # A wakes up: its work and its finish roll back together.
    with pytest.raises(ConflictError, match=taken_over), unit_of_work(factory) as db:
        enqueue(db, "follow_up", due_at=clock.now())
        finish(db, held_by_a, "A", clock.now())
    with pytest.raises(ConflictError, match=taken_over), unit_of_work(factory) as db:
        fail(db, held_by_a, "A", clock.now(), "late", None)
    after = _job(factory, job_id)
    assert (after.status, after.locked_by, after.attempts, after.finished_at) == (
        "done",
        None,
        2,
        finished_at,
    )
    assert after.last_error is None
    with factory() as db:
        assert db.scalar(select(func.count()).select_from(Job)) == 1  # no follow_up job


def test_a_job_whose_workers_kept_dying_past_its_tries_fails_as_an_incident(
    factory: sessionmaker[Session], clock: MovingClock
) -> None:
    recorder = Recorder(failures=0)
    job_id = _add(factory, clock.now(), kind="flaky", max_attempts=1)
    _claim(factory, "A", clock.now())  # its only try: A dies during it
    clock.advance(minutes=6)
    assert _worker(factory, clock, "B", flaky=recorder.kind()).run_due() == 1
    assert recorder.tries == []  # not run once more
    job = _job(factory, job_id)
    assert (job.status, job.attempts, job.last_error) == (
        "failed",
        2,
        "RuntimeError: its worker stopped during 1 tries",
    )
    [(dead_id, exc)] = recorder.dead
    assert dead_id == job_id and isinstance(exc, RuntimeError)


def test_run_due_runs_at_most_its_limit(factory: sessionmaker[Session], clock: MovingClock) -> None:
    for _ in range(5):
        _add(factory, clock.now())
    worker = _worker(factory, clock, "W", test=JobKind(run=lambda db, job: None))
    assert worker.run_due(limit=2) == 2
    with factory() as db:
        assert len(list_jobs(db, status="pending")) == 3


def _in_state(factory: sessionmaker[Session], now: datetime, state: str) -> int:
    """A job brought into `state` through the queue's own functions."""
    job_id = _add(factory, now)
    if state == "pending":
        return job_id
    with unit_of_work(factory) as db:
        if state == "cancelled":
            cancel_job(db, job_id, now)
            return job_id
        [claimed] = claim(db, "A", now, LEASE)
        if state == "done":
            finish(db, claimed, "A", now)
        elif state == "failed":
            fail(db, claimed, "A", now, "gave up", None)
    return job_id


@pytest.mark.parametrize(
    ("action", "state", "outcome"),
    [
        ("retry", "failed", "pending"),
        ("retry", "cancelled", "pending"),
        ("retry", "pending", "job {id} is pending; only failed or cancelled jobs retry"),
        ("retry", "running", "job {id} is running; only failed or cancelled jobs retry"),
        ("retry", "done", "job {id} is done; only failed or cancelled jobs retry"),
        ("cancel", "pending", "cancelled"),
        ("cancel", "failed", "cancelled"),
        ("cancel", "running", "job {id} is running; only pending or failed jobs cancel"),
        ("cancel", "done", "job {id} is done; only pending or failed jobs cancel"),
        ("cancel", "cancelled", "job {id} is cancelled; only pending or failed jobs cancel"),
    ],
)
def test_retry_and_cancel_rules(
    factory: sessionmaker[Session], clock: MovingClock, action: str, state: str, outcome: str
) -> None:
    job_id = _in_state(factory, clock.now(), state)
    before = _job(factory, job_id)
    act = retry_job if action == "retry" else cancel_job
    later = clock.advance(minutes=1)
    if " " in outcome:
        with pytest.raises(ConflictError) as caught, unit_of_work(factory) as db:
            act(db, job_id, later)
        assert caught.value.message == outcome.format(id=job_id)
        after = _job(factory, job_id)
        assert (after.status, after.attempts, after.due_at) == (
            before.status,
            before.attempts,
            before.due_at,
        )
        return
    with unit_of_work(factory) as db:
        act(db, job_id, later)
    job = _job(factory, job_id)
    assert job.status == outcome
    if outcome == "pending":  # fresh tries, due now
        assert (job.attempts, job.due_at, job.finished_at) == (0, later, None)
    else:
        assert (job.finished_at, job.updated_at) == (later, later)


def test_unknown_jobs_and_statuses_are_refused(
    factory: sessionmaker[Session], clock: MovingClock
) -> None:
    with factory() as db:
        for act in (retry_job, cancel_job):
            with pytest.raises(NotFoundError):
                act(db, 999, clock.now())
        with pytest.raises(ValidationError, match="unknown job status 'stuck'"):
            list_jobs(db, status="stuck")


def test_list_jobs_filters_newest_first(factory: sessionmaker[Session], clock: MovingClock) -> None:
    now = clock.now()
    a = _in_state(factory, now, "failed")
    b = _add(factory, now, kind="x")
    c = _add(factory, now, kind="y")
    with factory() as db:
        assert [j.id for j in list_jobs(db)] == [c, b, a]
        assert [j.id for j in list_jobs(db, kind="x")] == [b]
        assert [j.id for j in list_jobs(db, status="failed")] == [a]
        assert [j.id for j in list_jobs(db, status="pending", limit=1)] == [c]


ON_POSTGRES = pytest.mark.parametrize(
    "engine", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@ON_POSTGRES
def test_two_workers_racing_run_every_job_exactly_once(
    factory: sessionmaker[Session], db_session: Session, desk: Desk
) -> None:
    session_id = new_session(db_session, desk).id
    total = 200
    with unit_of_work(factory) as db:
        due = SYSTEM_CLOCK.now()
        for _ in range(total):
            enqueue(db, "mark", due_at=due, session_id=session_id)

    def mark(db: Session, job: ClaimedJob) -> None:
        db.add(
            SessionHistory(
                session_id=session_id, kind="test", summary="ran", detail={"job": job.id}
            )
        )

    workers = [
        Worker(factory, {"mark": JobKind(run=mark)}, SYSTEM_CLOCK, name=name, batch=7)
        for name in ("racer-a", "racer-b")
    ]
    ran: dict[str, int] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(len(workers))

    def race(worker: Worker) -> None:
        try:
            start.wait(timeout=10)
            ran[worker.name] = worker.run_due()
        except BaseException as exc:  # reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=race, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert sum(ran.values()) == total
    with factory() as db:
        marks = db.scalars(select(SessionHistory.detail).where(SessionHistory.kind == "test"))
        job_ids = sorted(detail["job"] for detail in marks)
        jobs = db.execute(select(Job.id, Job.status, Job.attempts).order_by(Job.id)).all()
    assert job_ids == [job_id for job_id, _status, _attempts in jobs]  # each ran exactly once
    assert {(status, attempts) for _id, status, attempts in jobs} == {("done", 1)}


# -- the command line ---------------------------------------------------------------------


Run = Callable[..., Result]


@pytest.fixture
def run(engine: Engine) -> Run:
    """`bpm-livechat --database-url URL ARGS...` in-process."""
    url = engine.url.render_as_string(hide_password=False)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--database-url", url, *args])

    return invoke


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_cli_lists_retries_and_cancels_jobs_and_the_worker_runs_them(
    run: Run, factory: sessionmaker[Session], db_session: Session, desk: Desk
) -> None:
    session_id = new_session(db_session, desk).id
    now = SYSTEM_CLOCK.now()
    failed = _in_state(factory, now, "failed")
    pending = _add(factory, now + timedelta(days=1), kind="later")
    event = _add(
        factory,
        now,
        kind=SESSION_EVENT_JOB,
        session_id=session_id,
        payload={"event": "session_created"},
    )
    listed = _json(run("jobs", "list", "--json"))["jobs"]
    assert [(j["id"], j["kind"], j["status"]) for j in listed] == [
        (event, SESSION_EVENT_JOB, "pending"),
        (pending, "later", "pending"),
        (failed, "test", "failed"),
    ]
    assert set(listed[0]) == {
        "id", "kind", "status", "due_at", "session_id", "instance_id", "attempts",
        "max_attempts", "last_error", "locked_by", "finished_at",
    }  # fmt: skip
    assert (listed[2]["last_error"], listed[2]["attempts"]) == ("gave up", 1)
    only = _json(run("jobs", "list", "--status", "failed", "--json"))["jobs"]
    assert [j["id"] for j in only] == [failed]

    retried = _json(run("jobs", "retry", str(failed), "--json"))
    assert (retried["id"], retried["status"], retried["attempts"]) == (failed, "pending", 0)
    refused = run("jobs", "retry", str(pending))
    assert refused.exit_code == 1
    assert (
        refused.stderr == f"error: job {pending} is pending; only failed or cancelled jobs retry\n"
    )
    cancelled = _json(run("jobs", "cancel", str(pending), "--json"))
    assert (cancelled["status"], cancelled["finished_at"] is not None) == ("cancelled", True)
    assert run("jobs", "cancel", str(pending)).exit_code == 1
    missing = run("jobs", "retry", "424242")
    assert missing.exit_code == 1 and "424242" in missing.stderr
    bad = run("jobs", "list", "--status", "stuck")
    assert bad.exit_code == 1 and "unknown job status 'stuck'" in bad.stderr

    # The session event fans out into nothing (nobody listens); the retried test job's kind is
    # unknown to the product's worker, so it fails for good at once.
    assert _json(run("worker", "--once", "--json")) == {"ran": 2}
    assert _json(run("worker", "--once", "--json")) == {"ran": 0}
    with factory() as db:
        statuses = {job_id: status for job_id, status in db.execute(select(Job.id, Job.status))}
    assert statuses == {failed: "failed", pending: "cancelled", event: "done"}
    text = run("worker", "--once")
    assert (text.exit_code, text.stdout) == (0, "0 jobs ran\n")
