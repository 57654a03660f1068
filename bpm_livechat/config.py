"""Where the product keeps its data (the instance folder, the database URL and its pool settings),
how long logins last, and the settings of its script sandbox (workers, how long a request waits
for one, a step's time budget)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from bpm_livechat.errors import ValidationError

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


SCRIPT_WORKERS_ENV = "BPM_LIVECHAT_SCRIPT_WORKERS"
SCRIPT_WAIT_ENV = "BPM_LIVECHAT_SCRIPT_WAIT_SECONDS"
STEP_SECONDS_ENV = "BPM_LIVECHAT_STEP_SECONDS"
# The web worker processes that share the machine's cores (gunicorn.conf.py reads them, and sets
# BPM_LIVECHAT_WORKERS to gunicorn's final count, `-w` included, before the workers start).
WEB_WORKERS_ENVS = ("BPM_LIVECHAT_WORKERS", "WEB_CONCURRENCY")
DEFAULT_SCRIPT_WAIT_SECONDS = 0.5
DEFAULT_STEP_SECONDS = 10.0


@dataclass(frozen=True)
class SandboxSettings:
    """How much script work one process takes on, and for how long a step may run.

    `workers`: sandbox worker processes (per web worker process, or per job worker);
    `wait_seconds`: how long a request waits for a free one before it is refused (503 with
    Retry-After), so requests that run scripts never pile up behind each other (0: at once);
    `step_seconds`: the default wall-clock budget of one process step.
    """

    workers: int
    wait_seconds: float
    step_seconds: float


def sandbox_settings(overrides: Mapping[str, Any] | None = None) -> SandboxSettings:
    """The sandbox settings: `overrides` (SCRIPT_WORKERS, SCRIPT_WAIT_SECONDS, STEP_SECONDS),
    else $BPM_LIVECHAT_SCRIPT_WORKERS, $BPM_LIVECHAT_SCRIPT_WAIT_SECONDS,
    $BPM_LIVECHAT_STEP_SECONDS, else `default_script_workers()`, 0.5 s and 10 s."""
    given = overrides or {}

    def read(key: str, env: str) -> object:
        value = given.get(key)
        return value if value not in (None, "") else os.environ.get(env) or None

    workers = _positive(read("SCRIPT_WORKERS", SCRIPT_WORKERS_ENV), SCRIPT_WORKERS_ENV, int)
    wait = _positive(
        read("SCRIPT_WAIT_SECONDS", SCRIPT_WAIT_ENV), SCRIPT_WAIT_ENV, float, zero=True
    )
    step = _positive(read("STEP_SECONDS", STEP_SECONDS_ENV), STEP_SECONDS_ENV, float)
    return SandboxSettings(
        workers=int(workers or default_script_workers()),
        wait_seconds=DEFAULT_SCRIPT_WAIT_SECONDS if wait is None else float(wait),
        step_seconds=float(step or DEFAULT_STEP_SECONDS),
    )


def default_script_workers() -> int:
    """Sandbox workers per process when none are set: the CPU count shared among the web worker
    processes ($BPM_LIVECHAT_WORKERS, else $WEB_CONCURRENCY, else 1), at least 1, so that all the
    processes' CPU-burning scripts together do not take more cores than the machine has."""
    web_workers = 1
    for name in WEB_WORKERS_ENVS:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            web_workers = int(value)
            break
    return max(1, (os.cpu_count() or 1) // web_workers)


def _positive(
    value: object, name: str, kind: type[int] | type[float], *, zero: bool = False
) -> float | None:
    """`value` as a positive number (or 0 with `zero`), None when unset; ValidationError naming
    `name` otherwise."""
    if value is None:
        return None
    try:
        number = kind(str(value))
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be a positive number, got {value!r}") from None
    if not math.isfinite(number) or number < 0 or (number == 0 and not zero):
        raise ValidationError(f"{name} must be a positive number, got {value!r}")
    return number
