"""Module-level entry points backed by a lazily started default pool (nothing starts at import)."""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Mapping
from typing import Literal

from script_runtime.errors import Problem
from script_runtime.policy import Limits
from script_runtime.pool import ScriptPool
from script_runtime.protocol import ScriptResult

_lock = threading.Lock()
_pool: ScriptPool | None = None
_pool_pid: int | None = None
_atexit_registered = False


def default_pool() -> ScriptPool:
    """Return the shared pool, starting it on first use (and again in a forked child)."""
    global _pool, _pool_pid, _atexit_registered
    with _lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ScriptPool()
            _pool_pid = os.getpid()
            if not _atexit_registered:
                atexit.register(shutdown)
                _atexit_registered = True
        return _pool


def shutdown() -> None:
    """Stop the default pool's workers (a later call starts a new pool)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None and _pool_pid == os.getpid():
        pool.close()


def check(source: str, *, mode: Literal["exec", "eval"] = "exec") -> list[Problem]:
    """Statically check a script (exec) or expression (eval); runs nothing, returns all problems."""
    return default_pool().check(source, mode=mode)


def run_script(
    source: str,
    *,
    data: Mapping[str, object],
    session: Mapping[str, object] | None = None,
    limits: Limits | None = None,
) -> ScriptResult:
    """Run a script task in the sandbox; return new data, parameter changes, log and duration."""
    return default_pool().run(source, data=data, session=session, limits=limits)


def evaluate(
    expression: str,
    *,
    data: Mapping[str, object],
    session: Mapping[str, object] | None = None,
    limits: Limits | None = None,
) -> object:
    """Evaluate an expression (gateway condition) in the sandbox and return its value."""
    return default_pool().evaluate(expression, data=data, session=session, limits=limits)
