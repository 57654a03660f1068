"""PostgreSQL sessions carry timeouts, the pool is configurable, and a stale pooled connection
never costs a request (issue 18, items 5 and 6)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from bpm_livechat.config import DatabaseSettings
from bpm_livechat.persistence.engines import make_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url(pg_engine: Engine) -> str:
    """The URL of the run's scratch PostgreSQL database."""
    return pg_engine.url.render_as_string(hide_password=False)


def _setting(engine: Engine, name: str) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text(f"SHOW {name}")).scalar())


def test_postgres_sessions_get_the_three_timeouts_by_default(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        assert _setting(engine, "statement_timeout") == "30s"
        assert _setting(engine, "lock_timeout") == "10s"
        assert _setting(engine, "idle_in_transaction_session_timeout") == "1min"
    finally:
        engine.dispose()


def test_timeouts_and_pool_sizes_come_from_the_environment(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BPM_LIVECHAT_DB_STATEMENT_TIMEOUT_MS", "1500")
    monkeypatch.setenv("BPM_LIVECHAT_DB_LOCK_TIMEOUT_MS", "250")
    monkeypatch.setenv("BPM_LIVECHAT_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", "0")
    monkeypatch.setenv("BPM_LIVECHAT_DB_POOL_SIZE", "3")
    monkeypatch.setenv("BPM_LIVECHAT_DB_MAX_OVERFLOW", "1")
    monkeypatch.setenv("BPM_LIVECHAT_DB_POOL_RECYCLE_SECONDS", "120")
    monkeypatch.setenv("BPM_LIVECHAT_DB_POOL_TIMEOUT_SECONDS", "2.5")
    engine = make_engine(pg_url)
    try:
        assert _setting(engine, "statement_timeout") == "1500ms"
        assert _setting(engine, "lock_timeout") == "250ms"
        assert _setting(engine, "idle_in_transaction_session_timeout") == "0"
        pool = engine.pool
        assert (pool.size(), pool._max_overflow, pool._recycle, pool._timeout) == (3, 1, 120, 2.5)  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def test_a_bad_setting_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="BPM_LIVECHAT_DB_POOL_SIZE must be a number, not 'ten'"):
        DatabaseSettings.from_env({"BPM_LIVECHAT_DB_POOL_SIZE": "ten"})
    with pytest.raises(ValueError, match="BPM_LIVECHAT_DB_LOCK_TIMEOUT_MS must not be negative"):
        DatabaseSettings.from_env({"BPM_LIVECHAT_DB_LOCK_TIMEOUT_MS": "-1"})


def test_a_row_lock_wait_ends_at_the_lock_timeout(pg_url: str) -> None:
    engine = make_engine(pg_url, DatabaseSettings(lock_timeout_ms=200))
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS ops_lock_probe (id int primary key)"))
            conn.execute(text("INSERT INTO ops_lock_probe VALUES (1) ON CONFLICT DO NOTHING"))
        holder = engine.connect()
        holder.begin()
        holder.execute(text("SELECT * FROM ops_lock_probe WHERE id = 1 FOR UPDATE"))
        try:
            with engine.connect() as waiter, pytest.raises(OperationalError, match="lock timeout"):
                waiter.execute(text("UPDATE ops_lock_probe SET id = 1 WHERE id = 1"))
        finally:
            holder.rollback()
            holder.close()
    finally:
        engine.dispose()


def test_a_transaction_left_open_is_ended_and_its_locks_released(pg_url: str) -> None:
    settings = DatabaseSettings(idle_in_transaction_timeout_ms=300, lock_timeout_ms=5000)
    engine = make_engine(pg_url, settings)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS ops_idle_probe (id int primary key)"))
            conn.execute(text("INSERT INTO ops_idle_probe VALUES (1) ON CONFLICT DO NOTHING"))
        stuck = engine.connect()
        stuck.begin()
        stuck.execute(text("SELECT * FROM ops_idle_probe WHERE id = 1 FOR UPDATE"))
        # The stuck transaction does nothing more; the other writer gets the row once the server
        # ends it, well within its own 5 s lock timeout.
        with engine.begin() as other:
            other.execute(text("UPDATE ops_idle_probe SET id = 1 WHERE id = 1"))
        stuck.invalidate()
        stuck.close()
    finally:
        engine.dispose()


def test_a_pooled_connection_the_server_ended_is_replaced_before_use(pg_url: str) -> None:
    engine = make_engine(pg_url, pool_size=2, max_overflow=0)
    admin = make_engine(pg_url)
    try:
        # Two connections in the pool, both used moments ago (no idle ping would run).
        first, second = engine.connect(), engine.connect()
        pids = [c.execute(text("SELECT pg_backend_pid()")).scalar() for c in (first, second)]
        first.close()
        second.close()
        with admin.connect() as conn:  # as a server restart does to every backend
            for pid in pids:
                conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
        barrier = threading.Barrier(2)
        answers: list[object] = []

        def use() -> None:
            barrier.wait()
            with engine.connect() as conn:
                answers.append(conn.execute(text("SELECT 42")).scalar())

        threads = [threading.Thread(target=use) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert answers == [42, 42]
    finally:
        engine.dispose()
        admin.dispose()
