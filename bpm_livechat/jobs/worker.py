"""A worker: claims due jobs and runs each by its kind, once (`run_due`) or until stopped.

Each job runs in a transaction of its own, in which it is also marked done; a job whose try
fails is rolled back and due again after its backoff, and after its last try it is marked
failed and its kind's `dead` callback records the incident. Work that must not happen inside a
transaction (an HTTP request) runs in `send`, before the job is marked done.

When the database fails in the middle of a batch (an outage, a restart, a dropped connection),
so that a failed try cannot even be recorded, the worker stops the batch and, once the database
answers again, records that try and hands back the jobs it claimed but did not start: they run
again within seconds, not after their lease.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.clock import Clock
from bpm_livechat.errors import BpmLivechatError, ConflictError
from bpm_livechat.jobs.queue import ClaimedJob, claim, fail, finish, next_due, release_held
from bpm_livechat.jobs.wake import Waker
from bpm_livechat.persistence.transactions import unit_of_work

log = logging.getLogger(__name__)


def exponential_backoff(base_seconds: float, cap_seconds: float) -> Callable[[int], timedelta]:
    """Retry delays of base, 2 x base, 4 x base... seconds after tries 1, 2, 3..., at most cap."""

    def delay(attempts: int) -> timedelta:
        return timedelta(seconds=min(cap_seconds, base_seconds * 2 ** max(attempts - 1, 0)))

    return delay


@dataclass(frozen=True)
class JobKind:
    """What one kind of job does.

    `run` works in the job's transaction; `send` works before it, outside any transaction;
    `dead` records the incident in a new transaction after the last try failed (with the
    exception of that try); `backoff` is the delay before the next try after `attempts` tries.
    """

    run: Callable[[Session, ClaimedJob], None] | None = None
    send: Callable[[ClaimedJob], None] | None = None
    dead: Callable[[Session, ClaimedJob, Exception], None] | None = None
    backoff: Callable[[int], timedelta] = field(default=exponential_backoff(10, 600))


def worker_name() -> str:
    """A name unique to this worker: host, process and a random part (shown on claimed jobs)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0][:200]


def describe(exc: BaseException) -> str:
    """An error as it is stored on a job: domain errors by message, others with their type."""
    if isinstance(exc, BpmLivechatError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


class Worker:
    """Runs due jobs of the kinds it knows, under leases, with the given clock."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        kinds: Mapping[str, JobKind],
        clock: Clock,
        *,
        name: str | None = None,
        lease: timedelta = timedelta(minutes=5),
        batch: int = 20,
        poll_seconds: float = 1.0,
        waker: Waker | None = None,
    ) -> None:
        self.factory = factory
        self.kinds = dict(kinds)
        self.clock = clock
        self.name = name or worker_name()
        self.lease = lease
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.waker = waker

    def run_due(self, limit: int | None = None, stop: threading.Event | None = None) -> int:
        """Run every job due now (and those due while running), at most `limit`; how many ran.
        Once `stop` is set, the job in hand finishes and the other claimed ones are released;
        when the database fails mid-batch, the batch stops and is handed back (`_hand_back`)."""
        ran = 0
        while limit is None or ran < limit:
            if stop is not None and stop.is_set():
                return ran
            batch = self.batch if limit is None else min(self.batch, limit - ran)
            with unit_of_work(self.factory) as db:
                jobs = claim(db, self.name, self.clock.now(), self.lease, batch)
            claimed_at = time.monotonic()
            if not jobs:
                return ran
            for job in jobs:
                if stop is not None and stop.is_set():
                    self.release_held("stopping")
                    return ran
                unrecorded = self.run(job)
                ran += 1
                if unrecorded is not None:  # the database failed: the batch stops here
                    deadline = claimed_at + self.lease.total_seconds()
                    self._hand_back(job, unrecorded, deadline, stop)
                    break  # the database answers again: claim afresh
        return ran

    def _hand_back(
        self, failed: ClaimedJob, failure: Exception, deadline: float, stop: threading.Event | None
    ) -> None:
        """Once the database answers again, record the try that failed and release the claimed
        jobs not started, retrying with backoff; gives up (raising the database's error) when
        the worker stops or the lease would have freed them anyway."""
        delay = min(0.05, self.poll_seconds)
        recorded = False
        while True:
            try:
                if not recorded:
                    self._record_failure(failed, self.kinds.get(failed.kind), failure)
                    recorded = True
                self.release_held("after a database fault")
                return
            except DBAPIError as exc:
                if (stop is not None and stop.is_set()) or time.monotonic() + delay > deadline:
                    raise
                log.warning(
                    "job worker %s: database unavailable, claimed jobs wait: %s",
                    self.name,
                    _first_line(exc),
                )
            if stop is not None:
                stop.wait(delay)
            else:
                time.sleep(delay)
            delay = min(delay * 2, self.poll_seconds)

    def release_held(self, why: str) -> int:
        """Hand back every job this worker claimed and is not running, so another worker runs
        them now, not after the lease; how many. Only between jobs: a Worker runs one at a time."""
        with unit_of_work(self.factory) as db:
            released = release_held(db, self.name, self.clock.now())
        if released:
            log.info("job worker %s %s: released %d claimed jobs", self.name, why, released)
        return released

    def run_forever(self, stop: threading.Event) -> None:
        """Run due jobs until `stop` is set, sleeping until the next due time or a notification."""
        faulted = False  # a database fault may have left jobs claimed by this worker
        while not stop.is_set():
            try:
                if faulted:
                    self.release_held("after a database fault")
                    faulted = False
                self.run_due(stop=stop)
                timeout = self._sleep_seconds()
            except DBAPIError as exc:  # a database outage: one line, and try again
                log.warning("job worker %s: database unavailable: %s", self.name, _first_line(exc))
                faulted = True
                timeout = self.poll_seconds
            except Exception:  # keep the worker alive and try again
                log.exception("job worker %s: claiming failed", self.name)
                timeout = self.poll_seconds
            if stop.is_set():
                break
            if self.waker is not None:
                self.waker.wait(timeout)
            else:
                stop.wait(timeout)
        if faulted:  # one last try; if the database is still away, the lease frees them
            with contextlib.suppress(DBAPIError):
                self.release_held("stopping after a database fault")

    def _sleep_seconds(self) -> float:
        with self.factory() as db:
            due = next_due(db)
        if due is None:
            return self.poll_seconds
        return max(0.0, min(self.poll_seconds, (due - self.clock.now()).total_seconds()))

    def run(self, job: ClaimedJob) -> Exception | None:
        """Run one claimed job: its work and its completion, or its failure. Returns the
        failure when the database could not record it (the job is then still claimed)."""
        kind = self.kinds.get(job.kind)
        failure = self._attempt(job, kind)
        if failure is None:
            return None
        if not isinstance(failure, BpmLivechatError):
            log.warning("job %s (%s) failed: %s", job.id, job.kind, describe(failure))
        try:
            self._record_failure(job, kind, failure)
        except DBAPIError as exc:
            log.warning(
                "job %s: database unavailable, its failure is not recorded yet: %s",
                job.id,
                _first_line(exc),
            )
            return failure
        return None

    def _attempt(self, job: ClaimedJob, kind: JobKind | None) -> Exception | None:
        """One try of the job, marked done in its transaction; the exception when it failed."""
        try:
            if kind is None:
                raise LookupError(f"this worker does not know jobs of kind {job.kind!r}")
            if job.attempts > job.max_attempts:
                raise RuntimeError(f"its worker stopped during {job.attempts - 1} tries")
            if kind.send is not None:
                kind.send(job)
            with unit_of_work(self.factory) as db:
                if kind.run is not None:
                    kind.run(db, job)
                finish(db, job, self.name, self.clock.now())
        except ConflictError as exc:
            if "taken over" in exc.message:  # another worker owns it now: leave it alone
                log.warning("job %s: %s", job.id, exc.message)
                return None
            return exc
        except Exception as exc:  # every failure of a try is recorded on the job
            return exc
        return None

    def _record_failure(self, job: ClaimedJob, kind: JobKind | None, exc: Exception) -> None:
        """Record a failed try: due again after its backoff, or failed for good (and `dead`)."""
        now = self.clock.now()
        final = kind is None or job.last_try
        retry_at: datetime | None = None
        if kind is not None and not final:
            retry_at = now + kind.backoff(job.attempts)
        try:
            with unit_of_work(self.factory) as db:
                if final and kind is not None and kind.dead is not None:
                    kind.dead(db, job, exc)
                fail(db, job, self.name, now, describe(exc), retry_at)
        except ConflictError:
            log.warning("job %s was taken over before its failure was recorded", job.id)
