"""What a lost worker means for the caller: the ScriptError for its exit status or its bad reply.

A worker is lost when it died (a CPU or memory limit, a crash, a kill), ran past its wall-clock
limit, or sent a reply too large or unreadable; each case names the limit or cause it hit.
"""

from __future__ import annotations

import signal

from script_runtime.errors import ScriptError, ScriptLimitExceeded, ScriptRuntimeError
from script_runtime.policy import Limits
from script_runtime.worker import EXIT_OUT_OF_MEMORY
from script_runtime.worker_process import ReplyTooLarge, WorkerDied, WorkerTimedOut

_CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE}
_CPU_SIGNALS = {signal.SIGPROF, signal.SIGXCPU}


def lost_error(exc: Exception, status: int | None, limits: Limits) -> ScriptError:
    """The error for a worker that gave no usable reply (`status`: its exit status, if it died)."""
    if isinstance(exc, WorkerDied):
        return death_error(status, limits)
    if isinstance(exc, WorkerTimedOut):
        detail = "the script ran too long and its worker was stopped"
        return ScriptLimitExceeded("wall_seconds", limits.wall_seconds, detail)
    if isinstance(exc, ReplyTooLarge):
        return ScriptLimitExceeded("result_bytes", limits.result_bytes, "reply too large")
    return ScriptRuntimeError("WorkerCrashed", "the script worker sent a bad reply")


def death_error(status: int | None, limits: Limits) -> ScriptError:
    """The error for a worker that ended with exit status `status` while running a script."""
    error = _death_cause(status, limits)
    if isinstance(error, ScriptLimitExceeded) and error.limit == "cpu_seconds":
        error.cpu_ms = limits.cpu_seconds * 1000.0  # the kernel stopped it at that much CPU
    return error


def _death_cause(status: int | None, limits: Limits) -> ScriptError:
    if status is not None and status < 0:
        sig = -status
        name = signal.Signals(sig).name if sig in signal.Signals.__members__.values() else str(sig)
        if sig in _CPU_SIGNALS:
            return ScriptLimitExceeded("cpu_seconds", limits.cpu_seconds, "CPU time used up")
        if sig in _CRASH_SIGNALS:
            detail = f"the worker crashed ({name}), most likely from too deeply nested code or data"
            return ScriptLimitExceeded("recursion_depth", limits.recursion_depth, detail)
        if sig == signal.SIGABRT:
            return ScriptLimitExceeded(
                "memory_mb", limits.memory_mb, "the worker aborted (SIGABRT)"
            )
        return ScriptRuntimeError("WorkerKilled", f"the script worker was killed ({name})")
    if status == EXIT_OUT_OF_MEMORY:
        return ScriptLimitExceeded("memory_mb", limits.memory_mb, "out of memory")
    return ScriptRuntimeError("WorkerCrashed", f"the script worker stopped (exit status {status})")
