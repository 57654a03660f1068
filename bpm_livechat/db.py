"""Database engines, sessions and schema migrations (Alembic), the same on SQLite and PostgreSQL."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from .errors import ConflictError

MIGRATIONS = Path(__file__).with_name("migrations")
_READS_ONLY = "bpm_livechat_reads_only"
# A pooled connection idle for longer is pinged before use; see `_ping_if_idle`.
IDLE_PING_SECONDS = 10.0


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout so writers wait, not fail."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    engine = create_engine(url, **kwargs)
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    # pool_pre_ping would cost three round trips on every request (ping, begin, rollback). A
    # connection back from a request moments ago has just proven itself; one that sat idle may
    # have been dropped (a server restart, a firewall), so it is pinged, and replaced when dead.
    # A connection that dies while in steady use fails one request (503), and SQLAlchemy then
    # invalidates the whole pool.
    checked_in = record.info.get("checked_in")
    if checked_in is None or time.monotonic() - checked_in < IDLE_PING_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_connection.rollback()
    except Exception as exc:  # the driver's own error types: any failure means a dead connection
        raise DisconnectionError(str(exc)) from exc


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling is off; SQLAlchemy's "begin" event below takes over.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # A larger page cache and memory-mapped reads keep list queries off the syscall path.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    # BEGIN IMMEDIATE takes the write lock up front, so two writers queue instead of deadlocking;
    # a transaction opened by `reading` only reads, so it takes no lock and waits for no writer.
    reads_only = connection.get_execution_options().get(_READS_ONLY, False)
    connection.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A sessionmaker whose sessions keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration pointing at the bundled migrations and the given engine."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema to the latest migration; harmless when already there."""
    command.upgrade(alembic_config(engine), "head")


def commit(db: Session) -> None:
    """Commit; a lost optimistic-locking race becomes a ConflictError (after rolling back)."""
    try:
        db.commit()
    except StaleDataError as exc:
        db.rollback()
        raise ConflictError(
            "someone else changed the same record first; reload and try again"
        ) from exc


@contextmanager
def reading(db: Session) -> Iterator[None]:
    """Reads before a write: on SQLite in a deferred transaction, ended before `one_writer`."""
    # So the time spent queueing for SQLite's single writer stays short. Committed, not rolled
    # back, so loaded objects stay usable. Other databases run the reads in the request's one
    # transaction: ending it there would cost a round trip.
    if db.get_bind().engine.dialect.name != "sqlite" or db.in_transaction():
        yield
        return
    db.connection(execution_options={_READS_ONLY: True})
    yield
    db.commit()


@contextmanager
def one_writer(db: Session) -> Iterator[None]:
    """On SQLite, queue on an OS file lock while `db` writes; on every database, end its transaction."""
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
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            db.rollback()  # before the lock goes: the next writer must not meet our transaction
            fcntl.flock(handle, fcntl.LOCK_UN)


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
