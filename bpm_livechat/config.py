"""Where the product keeps its data: the instance folder, the database URL and its pool settings."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

INSTANCE_ENV = "BPM_LIVECHAT_INSTANCE_PATH"
DATABASE_ENV = "BPM_LIVECHAT_DATABASE_URL"


def instance_path() -> Path:
    """The instance folder: $BPM_LIVECHAT_INSTANCE_PATH or ./instance."""
    return Path(os.environ.get(INSTANCE_ENV) or Path.cwd() / "instance").resolve()


def database_url(explicit: str | None = None) -> str:
    """The database URL: an explicit one, $BPM_LIVECHAT_DATABASE_URL, or the instance's SQLite file."""
    if explicit:
        return explicit
    from_env = os.environ.get(DATABASE_ENV)
    if from_env:
        return from_env
    folder = instance_path()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'bpm_livechat.sqlite3'}"


DB_SETTINGS_PREFIX = "BPM_LIVECHAT_DB_"


@dataclass(frozen=True)
class DatabaseSettings:
    """The connection pool and PostgreSQL's per-session timeouts (read from BPM_LIVECHAT_DB_*).

    Timeouts are in milliseconds, 0 turning one off. `statement_timeout` stops a runaway query,
    `lock_timeout` a wait on a row another transaction holds, and
    `idle_in_transaction_session_timeout` ends a transaction left open (a stuck script step),
    releasing its row locks. Pool sizes are per process: a gunicorn worker or a job worker
    holds at most `pool_size + max_overflow` connections.
    """

    pool_size: int = 5
    max_overflow: int = 10
    pool_recycle_seconds: int = 1800
    pool_timeout_seconds: float = 10.0
    statement_timeout_ms: int = 30_000
    lock_timeout_ms: int = 10_000
    idle_in_transaction_timeout_ms: int = 60_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DatabaseSettings:
        """The defaults, overridden by BPM_LIVECHAT_DB_POOL_SIZE, ..._STATEMENT_TIMEOUT_MS..."""
        source = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for item in fields(cls):
            raw = source.get(DB_SETTINGS_PREFIX + item.name.upper())
            if raw is None or raw.strip() == "":
                continue
            kind = float if item.type in ("float", float) else int
            try:
                value = kind(raw)
            except ValueError:
                raise ValueError(
                    f"{DB_SETTINGS_PREFIX}{item.name.upper()} must be a number, not {raw!r}"
                ) from None
            if value < 0:
                raise ValueError(f"{DB_SETTINGS_PREFIX}{item.name.upper()} must not be negative")
            values[item.name] = value
        return cls(**values)

    def postgres_options(self) -> str:
        """The libpq `options` string that sets the timeouts when a connection opens."""
        return (
            f"-c statement_timeout={self.statement_timeout_ms}"
            f" -c lock_timeout={self.lock_timeout_ms}"
            f" -c idle_in_transaction_session_timeout={self.idle_in_transaction_timeout_ms}"
        )


# How long a login lasts (web pages): it ends after this much inactivity, and in any case this
# long after the password was entered. The web app reads BPM_LIVECHAT_WEB_LOGIN_IDLE_MINUTES and
# BPM_LIVECHAT_WEB_LOGIN_MAX_HOURS (or LOGIN_IDLE_MINUTES / LOGIN_MAX_HOURS in its config).
DEFAULT_LOGIN_IDLE_MINUTES = 480
DEFAULT_LOGIN_MAX_HOURS = 24
