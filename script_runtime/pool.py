"""A warm, thread-safe pool of sandbox worker processes; the caller never hangs.

Each request checks out one idle worker, sends it one message and waits at most the wall-clock
limit for the reply. A worker that times out is killed; one that dies (CPU signal, crash, memory)
is replaced; either way the caller gets a ScriptError naming what happened.
"""

from __future__ import annotations

import contextlib
import json
import marshal
import os
import queue
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from multiprocessing.connection import Connection
from typing import Any, Literal

from script_runtime.codec import decode
from script_runtime.errors import Problem, ScriptError, ScriptLimitExceeded, ScriptRuntimeError
from script_runtime.policy import DEFAULT_POLICY, Limits, Policy
from script_runtime.protocol import (
    ScriptResult,
    build_request,
    error_from_reply,
    parse_reply,
    run_result,
)
from script_runtime.worker import BOOTSTRAP, EXIT_OUT_OF_MEMORY

_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE}
_CPU_SIGNALS = {signal.SIGPROF, signal.SIGXCPU}


class _WorkerDied(Exception):
    pass


class _WorkerTimedOut(Exception):
    pass


class _ReplyTooLarge(Exception):
    pass


class Worker:
    """One worker process and its two pipe ends; used by one thread at a time."""

    def __init__(self, init_message: bytes) -> None:
        child_in, parent_out = os.pipe()
        parent_in, child_out = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-B", "-c", BOOTSTRAP, _PACKAGE_PARENT,
                 str(child_in), str(child_out)],
                pass_fds=(child_in, child_out),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd="/",
                env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
            )  # fmt: skip
        finally:
            os.close(child_in)
            os.close(child_out)
        self.to_child = Connection(parent_out, readable=False)
        self.from_child = Connection(parent_in, writable=False)
        self._poller = (
            select.poll()
        )  # one poller per worker: Connection.poll builds a selector per call
        self._poller.register(parent_in, select.POLLIN | select.POLLHUP | select.POLLERR)
        self.ready = False
        self.to_child.send_bytes(init_message)

    def alive(self) -> bool:
        """True while the process has not exited."""
        return self.process.poll() is None

    def wait_ready(self, timeout: float) -> None:
        """Block until the worker said it is ready (imports done), or raise _WorkerDied."""
        if self.ready:
            return
        try:
            if not self.from_child.poll(timeout):
                raise _WorkerDied("the script worker did not start in time")
            self.from_child.recv_bytes(1024)
        except (EOFError, OSError) as exc:
            raise _WorkerDied("the script worker failed to start") from exc
        self.ready = True

    def request(self, payload: bytes, timeout: float, max_reply: int) -> bytes:
        """Send one request and return the raw reply; raise _WorkerTimedOut or _WorkerDied."""
        try:
            self.to_child.send_bytes(payload)
            if not self._poller.poll(max(0, int(timeout * 1000))):
                raise _WorkerTimedOut
            return self.from_child.recv_bytes(max_reply)
        except OSError as exc:
            if "bad message length" in str(exc):
                raise _ReplyTooLarge from exc
            raise _WorkerDied(str(exc)) from exc
        except EOFError as exc:
            raise _WorkerDied(str(exc)) from exc

    def exit_status(self) -> int | None:
        """Wait briefly for the process to end after its pipe closed; kill it if it lingers."""
        try:
            return self.process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.process.returncode

    def kill(self) -> None:
        """Kill the process now and release its pipes."""
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5.0)
        self._close_pipes()

    def stop(self) -> None:
        """Ask the process to exit (closing its input), then make sure it is gone."""
        self._close_pipes()
        try:
            self.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            self.kill()

    def _close_pipes(self) -> None:
        for conn in (self.to_child, self.from_child):
            with contextlib.suppress(OSError):
                conn.close()


def _death_error(status: int | None, limits: Limits) -> ScriptError:
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


class ScriptPool:
    """A warm pool of sandbox workers, safe to share between threads."""

    def __init__(
        self,
        size: int | None = None,
        *,
        policy: Policy = DEFAULT_POLICY,
        start_timeout: float = 30.0,
    ) -> None:
        self.policy = policy
        self.size = size or os.cpu_count() or 2
        self.start_timeout = start_timeout
        self._init = json.dumps({"policy": policy.to_dict()}).encode()
        # Last in, first out: the most recently used worker is the one with warm caches.
        self._idle: queue.LifoQueue[Worker] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._workers: set[Worker] = set()
        self._closed = False
        self.stats = {"runs": 0, "compilations": 0, "workers_started": 0, "workers_replaced": 0}
        for _ in range(self.size):
            self._idle.put(self._spawn())

    def run(
        self,
        source: str,
        *,
        data: Mapping[str, object],
        session: Mapping[str, object] | None = None,
        limits: Limits | None = None,
    ) -> ScriptResult:
        """Run a script (exec mode) in a worker and return its result, or raise a ScriptError."""
        chosen = self.policy.resolve(limits)
        payload = build_request("run", source, data, session, chosen)
        reply = self._call(payload, chosen)
        return run_result(reply, data)

    def evaluate(
        self,
        expression: str,
        *,
        data: Mapping[str, object],
        session: Mapping[str, object] | None = None,
        limits: Limits | None = None,
    ) -> object:
        """Evaluate an expression (eval mode) in a worker and return its value."""
        chosen = self.policy.resolve(limits)
        payload = build_request("eval", expression, data, session, chosen)
        return decode(self._call(payload, chosen)["value"])

    def check(self, source: str, *, mode: Literal["exec", "eval"] = "exec") -> list[Problem]:
        """Compile `source` in a worker (so a compiler crash costs only the worker) and list problems."""
        payload = marshal.dumps({"op": "check", "source": source, "mode": mode})
        try:
            reply = self._call(payload, self.policy.defaults)
        except ScriptError as exc:
            detail = "the script is too complex to compile"
            return [Problem(None, None, f"{detail} ({exc})", "compile", "recursion_depth")]
        return [
            Problem(p["line"], p["column"], p["message"], p["kind"], p.get("name"))
            for p in reply["problems"]
        ]

    def close(self) -> None:
        """Stop every worker; later calls raise RuntimeError."""
        with self._lock:
            self._closed = True
            workers = list(self._workers)
            self._workers.clear()
        for worker in workers:
            worker.stop()

    def __enter__(self) -> ScriptPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _spawn(self) -> Worker:
        with self._lock:
            if self._closed:
                raise RuntimeError("the script pool is closed")
            worker = Worker(self._init)
            self._workers.add(worker)
            self.stats["workers_started"] += 1
        return worker

    def _discard(self, worker: Worker, *, kill: bool) -> None:
        if kill:
            worker.kill()
        else:
            worker._close_pipes()
        with self._lock:
            self._workers.discard(worker)
            closed = self._closed
            self.stats["workers_replaced"] += 1
        if not closed:
            self._idle.put(self._spawn())

    def _acquire(self) -> Worker:
        wait = self.start_timeout + self.policy.maxima.wall_seconds + 5.0
        while True:
            if self._closed:
                raise RuntimeError("the script pool is closed")
            try:
                worker = self._idle.get(timeout=wait)
            except queue.Empty:
                raise ScriptRuntimeError("WorkerUnavailable", "no script worker is free") from None
            if worker.alive():
                try:
                    worker.wait_ready(self.start_timeout)
                    return worker
                except _WorkerDied:
                    pass
            self._discard(worker, kill=True)

    def _release(self, worker: Worker) -> None:
        if self._closed:
            worker.stop()
        else:
            self._idle.put(worker)

    def _call(self, payload: bytes, limits: Limits) -> dict[str, Any]:
        worker = self._acquire()
        max_reply = 2 * limits.result_bytes + 8 * limits.output_bytes + 65536
        try:
            raw = worker.request(payload, limits.wall_seconds, max_reply)
        except _WorkerTimedOut:
            self._discard(worker, kill=True)
            detail = "the script ran too long and its worker was stopped"
            raise ScriptLimitExceeded("wall_seconds", limits.wall_seconds, detail) from None
        except _ReplyTooLarge:
            self._discard(worker, kill=True)
            raise ScriptLimitExceeded(
                "result_bytes", limits.result_bytes, "reply too large"
            ) from None
        except _WorkerDied:
            status = worker.exit_status()
            self._discard(worker, kill=True)
            raise _death_error(status, limits) from None
        reply = parse_reply(raw)
        with self._lock:
            self.stats["runs"] += 1
            self.stats["compilations"] += 1 if reply.get("compiled") else 0
        if reply.get("recycle"):
            worker.exit_status()
            self._discard(worker, kill=True)
        else:
            self._release(worker)
        if not reply.get("ok"):
            raise error_from_reply(reply)
        return reply
