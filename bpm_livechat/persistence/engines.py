"""Database engines and schema migrations (Alembic), the same on SQLite and PostgreSQL."""

from __future__ import annotations

import select
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import NullPool

from bpm_livechat.config import DatabaseSettings

MIGRATIONS = Path(__file__).parents[1] / "migrations"
# The execution option of a transaction that only reads (see `transactions.reading`).
READS_ONLY = "bpm_livechat_reads_only"
# A pooled connection idle for longer is pinged before use; see `_ping_if_idle`.
IDLE_PING_SECONDS = 10.0


def make_engine(url: str, settings: DatabaseSettings | None = None, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout so writers wait, not fail;
    PostgreSQL gets the pool and session timeouts of `settings` (default: BPM_LIVECHAT_DB_*)."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    settings = settings or DatabaseSettings.from_env()
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", settings.pool_size)
        kwargs.setdefault("max_overflow", settings.max_overflow)
        kwargs.setdefault("pool_timeout", settings.pool_timeout_seconds)
    kwargs.setdefault("pool_recycle", settings.pool_recycle_seconds or -1)
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("options", settings.postgres_options())
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _check_on_checkout)
    return engine


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in"] = time.monotonic()


def _check_on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    # A pooled connection must never cost a user request. A pre-ping on every checkout would cost
    # three round trips (ping, begin, rollback), so two cheaper checks replace it:
    # - an idle connection has nothing to read; when its socket is readable, the server said
    #   goodbye (a restart or an administrator ended the backend) or the connection was cut: it
    #   is replaced, at the cost of one poll() and no round trip;
    # - one that sat idle for a while may have been dropped silently (a firewall), so it is
    #   pinged.
    # Raising DisconnectionError here makes the pool open a fresh connection and try again.
    if _socket_says_goodbye(dbapi_connection):
        raise DisconnectionError("the server closed this pooled connection")
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


def _socket_says_goodbye(dbapi_connection: Any) -> bool:
    """True when an idle connection's socket is closed or has unread data (a server's farewell)."""
    if getattr(dbapi_connection, "closed", False) or getattr(dbapi_connection, "broken", False):
        return True
    try:
        descriptor = dbapi_connection.fileno()
    except Exception:  # closed under us
        return True
    poller = select.poll()
    poller.register(descriptor, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


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
    reads_only = connection.get_execution_options().get(READS_ONLY, False)
    connection.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration pointing at the bundled migrations and the given engine."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema to the latest migration; harmless when already there."""
    if engine.dialect.name != "postgresql":
        command.upgrade(alembic_config(engine), "head")
        return
    # A migration may rewrite large tables: it runs without the request-sized statement timeout.
    patient = create_engine(
        engine.url,
        poolclass=NullPool,
        connect_args={"options": "-c statement_timeout=0 -c idle_in_transaction_session_timeout=0"},
    )
    try:
        command.upgrade(alembic_config(patient), "head")
    finally:
        patient.dispose()
