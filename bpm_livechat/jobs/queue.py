"""The job queue in the product's own database: enqueue, claim under a lease, finish, retry.

A job is a row written in the caller's transaction, so a rolled-back step leaves no job and a
committed one never loses it. Workers claim due rows in one UPDATE whose subquery skips rows
another worker has locked (PostgreSQL; SQLite has one writer anyway) and stamps a lease; a
worker that dies lets its lease expire and another claims the job again. Finishing is fenced:
only the worker that holds the lease may mark the job done, in the transaction of its work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bpm_livechat.errors import ConflictError, NotFoundError, ValidationError
from bpm_livechat.models import Job, JobStatus

JOBS = cast(Table, Job.__table__)
NOTIFY_CHANNEL = "bpm_livechat_jobs"  # the PostgreSQL channel a trigger notifies on insert
MAX_ERROR_LENGTH = 4000


@dataclass(frozen=True)
class ClaimedJob:
    """A job a worker holds: what to do, for whom, and how many tries it has had (this one too)."""

    id: int
    kind: str
    payload: dict[str, Any]
    session_id: int | None
    instance_id: int | None
    attempts: int
    max_attempts: int
    due_at: datetime

    @property
    def last_try(self) -> bool:
        """True when a failure now is final."""
        return self.attempts >= self.max_attempts


def enqueue(
    db: Session,
    kind: str,
    *,
    due_at: datetime,
    payload: Mapping[str, Any] | None = None,
    session_id: int | None = None,
    instance_id: int | None = None,
    max_attempts: int = 3,
    dedupe_key: str | None = None,
) -> None:
    """Add a job in the caller's transaction; with `dedupe_key`, only if no job has that key."""
    row = {
        "kind": kind,
        "status": JobStatus.PENDING.value,
        "due_at": due_at,
        "session_id": session_id,
        "instance_id": instance_id,
        "payload": dict(payload or {}),
        "attempts": 0,
        "max_attempts": max_attempts,
        "dedupe_key": dedupe_key,
        "created_at": due_at,
        "updated_at": due_at,
    }
    if dedupe_key is None:
        db.execute(insert(JOBS), row)
        return
    dialect = db.get_bind().dialect.name
    maker = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.execute(maker(JOBS).values(row).on_conflict_do_nothing(index_elements=["dedupe_key"]))


def _claimable(now: datetime) -> Any:
    pending = and_(Job.status == JobStatus.PENDING.value, Job.due_at <= now)
    abandoned = and_(Job.status == JobStatus.RUNNING.value, Job.locked_until < now)
    return or_(pending, abandoned)


def claim(
    db: Session, worker: str, now: datetime, lease: timedelta, limit: int = 20
) -> list[ClaimedJob]:
    """Take up to `limit` due jobs (and jobs whose worker's lease ran out), oldest due first."""
    due = (
        select(Job.id)
        .where(_claimable(now))
        .order_by(Job.due_at, Job.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(JOBS)
        .where(JOBS.c.id.in_(due.scalar_subquery()))
        .values(
            status=JobStatus.RUNNING.value,
            locked_by=worker,
            locked_until=now + lease,
            attempts=JOBS.c.attempts + 1,
            updated_at=now,
        )
        .returning(
            JOBS.c.id,
            JOBS.c.kind,
            JOBS.c.payload,
            JOBS.c.session_id,
            JOBS.c.instance_id,
            JOBS.c.attempts,
            JOBS.c.max_attempts,
            JOBS.c.due_at,
        )
    )
    jobs = [ClaimedJob(*row) for row in db.execute(statement)]
    return sorted(jobs, key=lambda job: (job.due_at, job.id))


def finish(db: Session, job: ClaimedJob, worker: str, now: datetime) -> None:
    """Mark the job done in the transaction of its work; ConflictError when the lease was lost
    (another worker took the job over: this worker's work must be rolled back)."""
    _release(db, job, worker, now, status=JobStatus.DONE, finished=True)


def release_held(db: Session, worker: str, now: datetime) -> int:
    """Hand back every job `worker` still holds and will not run (it is stopping, or a database
    fault cut its batch short): due again at once for any worker, the claim's try not counted;
    how many. Jobs whose lease ran out and another worker claimed are not touched."""
    held = and_(JOBS.c.locked_by == worker, JOBS.c.status == JobStatus.RUNNING.value)
    done = db.execute(
        update(JOBS)
        .where(held)
        .values(
            status=JobStatus.PENDING.value,
            locked_by=None,
            locked_until=None,
            attempts=JOBS.c.attempts - 1,
            updated_at=now,
        )
    )
    return int(getattr(done, "rowcount", 0) or 0)


def fail(
    db: Session,
    job: ClaimedJob,
    worker: str,
    now: datetime,
    error: str,
    retry_at: datetime | None,
) -> None:
    """Record a failed try: due again at `retry_at`, or failed for good when it is None."""
    if retry_at is None:
        _release(db, job, worker, now, status=JobStatus.FAILED, finished=True, error=error)
    else:
        _release(db, job, worker, now, status=JobStatus.PENDING, due_at=retry_at, error=error)


def _release(
    db: Session,
    job: ClaimedJob,
    worker: str,
    now: datetime,
    *,
    status: JobStatus,
    finished: bool = False,
    due_at: datetime | None = None,
    error: str | None = None,
) -> None:
    values: dict[str, Any] = {
        "status": status.value,
        "locked_by": None,
        "locked_until": None,
        "updated_at": now,
    }
    if finished:
        values["finished_at"] = now
    if due_at is not None:
        values["due_at"] = due_at
    if error is not None:
        values["last_error"] = error[:MAX_ERROR_LENGTH]
    fenced = and_(
        JOBS.c.id == job.id,
        JOBS.c.locked_by == worker,
        JOBS.c.status == JobStatus.RUNNING.value,
    )
    done = db.execute(update(JOBS).where(fenced).values(**values))
    if getattr(done, "rowcount", 0) != 1:
        raise ConflictError(f"job {job.id} was taken over by another worker (its lease ran out)")


def next_due(db: Session) -> datetime | None:
    """When the next pending job falls due (None when there is none)."""
    query = select(func.min(Job.due_at)).where(Job.status == JobStatus.PENDING.value)
    return db.scalar(query)


def cancel_pending(db: Session, instance_id: int, kinds: tuple[str, ...], now: datetime) -> None:
    """Cancel an instance's pending jobs of `kinds` (its timer when it moved on or ended)."""
    db.execute(
        update(JOBS)
        .where(
            JOBS.c.instance_id == instance_id,
            JOBS.c.kind.in_(kinds),
            JOBS.c.status == JobStatus.PENDING.value,
        )
        .values(status=JobStatus.CANCELLED.value, updated_at=now, finished_at=now)
    )


def list_jobs(
    db: Session,
    *,
    status: str | None = None,
    kind: str | None = None,
    instance_id: int | None = None,
    limit: int = 100,
) -> list[Job]:
    """Jobs, newest first, optionally of one status, kind or instance."""
    if status is not None and status not in {s.value for s in JobStatus}:
        valid = ", ".join(s.value for s in JobStatus)
        raise ValidationError(
            f"unknown job status {status!r} (one of: {valid})", {"status": status}
        )
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Job.status == status)
    if kind is not None:
        query = query.where(Job.kind == kind)
    if instance_id is not None:
        query = query.where(Job.instance_id == instance_id)
    return list(db.scalars(query))


def get_job(db: Session, job_id: int) -> Job:
    """The job `job_id` (NotFoundError otherwise)."""
    job = db.get(Job, job_id)
    if job is None:
        raise NotFoundError("job", job_id)
    return job


def retry_job(db: Session, job_id: int, now: datetime) -> Job:
    """Run a failed or cancelled job again now, with fresh tries (an admin's action)."""
    job = get_job(db, job_id)
    if job.status not in (JobStatus.FAILED.value, JobStatus.CANCELLED.value):
        raise ConflictError(f"job {job_id} is {job.status}; only failed or cancelled jobs retry")
    job.status = JobStatus.PENDING.value
    job.attempts = 0
    job.due_at = now
    job.updated_at = now
    job.finished_at = None
    db.flush()
    return job


def cancel_job(db: Session, job_id: int, now: datetime) -> Job:
    """Stop a pending or failed job for good (an admin's action)."""
    job = get_job(db, job_id)
    if job.status not in (JobStatus.PENDING.value, JobStatus.FAILED.value):
        raise ConflictError(f"job {job_id} is {job.status}; only pending or failed jobs cancel")
    job.status = JobStatus.CANCELLED.value
    job.updated_at = now
    job.finished_at = now
    db.flush()
    return job
