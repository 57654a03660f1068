"""Transactions: the caller's unit of work, lost races as conflicts, SQLite's single writer."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from bpm_livechat.errors import ConflictError
from bpm_livechat.persistence.engines import READS_ONLY

LOST_RACE = "someone else changed the same record first; reload and try again"


class ConflictingSession(Session):
    """A Session whose lost optimistic-locking races are ConflictErrors wherever they surface:
    at an explicit or automatic flush inside a write (a rename, a close), not only at commit."""

    def flush(self, objects: Sequence[Any] | None = None) -> None:
        """Flush; a row changed by a concurrent writer since it was loaded is a ConflictError."""
        try:
            super().flush(objects)
        except StaleDataError as exc:
            raise ConflictError(LOST_RACE) from exc


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A sessionmaker whose sessions keep loaded objects usable after commit and report lost
    races as ConflictError."""
    return sessionmaker(engine, class_=ConflictingSession, expire_on_commit=False)


def commit(db: Session) -> None:
    """Commit; a lost optimistic-locking race becomes a ConflictError (after rolling back)."""
    try:
        db.commit()
    except StaleDataError as exc:
        db.rollback()
        raise ConflictError(LOST_RACE) from exc
    except ConflictError:
        db.rollback()
        raise


@contextmanager
def reading(db: Session) -> Iterator[None]:
    """Reads before a write: on SQLite in a deferred transaction, ended before `one_writer`."""
    # So the time spent queueing for SQLite's single writer stays short. Committed, not rolled
    # back, so loaded objects stay usable. Other databases run the reads in the request's one
    # transaction: ending it there would cost a round trip.
    if db.get_bind().engine.dialect.name != "sqlite" or db.in_transaction():
        yield
        return
    db.connection(execution_options={READS_ONLY: True})
    yield
    db.commit()


# Where a lazy `one_writer` leaves its queue for the step to take (see `queue_for_writer`).
WRITER_QUEUE = "bpm_livechat_writer_queue"


class _FileQueue:
    """SQLite's writers of one database in line on an OS file lock; taken at most once."""

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle
        self.held = False

    def take(self) -> None:
        if not self.held:
            fcntl.flock(self.handle, fcntl.LOCK_EX)
            self.held = True

    def leave(self) -> None:
        if self.held:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.held = False


@contextmanager
def one_writer(db: Session, *, lazily: bool = False) -> Iterator[None]:
    """On SQLite, queue on an OS file lock while `db` writes; on every database, end its transaction.

    `lazily`: the queue is taken only when the code inside calls `queue_for_writer` (a process
    step does, after its scripts ran and before it writes), not on entry.
    """
    # SQLite has one writer at a time (every transaction begins IMMEDIATE), and a connection
    # waiting in its busy handler polls with sleeps of up to 100 ms; an flock waiter wakes the
    # moment the lock is released. The lock file sits next to the database, so it queues every
    # process that uses the database this way.
    engine = db.get_bind().engine
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:":
        try:
            yield
        finally:
            db.rollback()  # a no-op after a commit
        return
    with open(path + ".api-lock", "a") as handle:
        queue = _FileQueue(handle)
        if lazily:
            db.info[WRITER_QUEUE] = queue
            if not db.in_transaction():  # the reads before the step take no write lock either
                db.connection(execution_options={READS_ONLY: True})
        else:
            queue.take()
        try:
            yield
        finally:
            db.rollback()  # before the lock goes: the next writer must not meet our transaction
            db.info.pop(WRITER_QUEUE, None)
            queue.leave()


def queue_for_writer(db: Session) -> None:
    """Take the place in the writer queue a lazy `one_writer` keeps for `db` (else nothing)."""
    queue = db.info.get(WRITER_QUEUE)
    if queue is not None:
        queue.take()


def leave_writer_queue(db: Session) -> None:
    """Give that place up again (after a rollback), so others write while `db` only reads."""
    queue = db.info.get(WRITER_QUEUE)
    if queue is not None:
        queue.leave()


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session and transaction: commits on success, rolls back on error, maps lost races."""
    with factory() as db:
        try:
            yield db
        except BaseException:
            db.rollback()
            raise
        commit(db)
