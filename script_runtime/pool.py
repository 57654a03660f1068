"""A warm, thread-safe pool of sandbox worker processes; the caller never hangs.

Each request checks out one idle worker, waiting at most `wait_seconds` for one (then
ScriptPoolBusy), sends it one message and waits at most the wall-clock limit for the reply. A
worker that times out is killed; one that dies (CPU signal, crash, memory) is replaced; either
way the caller gets a ScriptError naming what happened. A worker that cannot start (a host
limit) makes the call fail at once with ScriptPoolUnavailable naming why; the pool then starts
no new worker for `retry_seconds`, so it never respawns workers in a loop.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from script_runtime import framing
from script_runtime.codec import decode
from script_runtime.errors import (
    Problem,
    ScriptCapacityError,
    ScriptError,
    ScriptLimitExceeded,
    ScriptPoolBusy,
    ScriptPoolUnavailable,
    ScriptRuntimeError,
)
from script_runtime.policy import DEFAULT_POLICY, Limits, Policy
from script_runtime.protocol import (
    ScriptResult,
    build_check,
    build_request,
    error_from_reply,
    parse_reply,
    run_result,
)
from script_runtime.worker import BOOTSTRAP, EXIT_OUT_OF_MEMORY

_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE}
_CPU_SIGNALS = {signal.SIGPROF, signal.SIGXCPU}
_RESOLVED_CACHE = 64  # distinct Limits values remembered per pool
# How long a caller polls for a reply before it sleeps, when the worker's last reply came that
# fast. A reply to a sleeping caller waits for the caller's CPU to wake (about 40 to 100 µs on
# the VMs measured), longer than a small script runs; see `Worker.request`.
SPIN_SECONDS = 0.0003


class _WorkerDied(Exception):
    pass


class _WorkerStartFailed(Exception):
    """The worker never said ready; `reason` is what it said instead, if anything."""

    def __init__(self, reason: str | None) -> None:
        super().__init__(reason or "the script worker exited while starting")
        self.reason = reason


class _WorkerTimedOut(Exception):
    pass


class _ReplyTooLarge(Exception):
    pass


class Worker:
    """One worker process and its two pipe ends; used by one thread at a time."""

    def __init__(self, init_message: bytes) -> None:
        child_in, self.to_child = os.pipe()
        self.from_child, child_out = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-B", "-c", BOOTSTRAP, _PACKAGE_PARENT,
                 str(child_in), str(child_out)],
                pass_fds=(child_in, child_out),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                cwd="/",
                env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
            )  # fmt: skip
        finally:
            os.close(child_in)
            os.close(child_out)
        _log_stderr(self.process)
        self._open = True
        self._closing = threading.Lock()
        self._poller = select.poll()  # one per worker: building a selector per call costs more
        self._poller.register(self.from_child, select.POLLIN | select.POLLHUP | select.POLLERR)
        self.ready = False
        self.quick = False  # the last reply came within SPIN_SECONDS
        # time.monotonic() by which the request in flight ends (its wall-clock limit: the pool
        # kills the worker then); None while no request is in flight.
        self.busy_until: float | None = None
        framing.send(self.to_child, init_message)

    def alive(self) -> bool:
        """True while the process has not exited."""
        return self.process.poll() is None

    def wait_ready(self, timeout: float) -> None:
        """Block until the worker said it is ready (imports done), or raise _WorkerStartFailed."""
        if self.ready:
            return
        try:
            if not self._poller.poll(max(0, int(timeout * 1000))):
                raise _WorkerStartFailed(f"the script worker did not start within {timeout:g} s")
            said = json.loads(framing.receive(self.from_child, 4096))
        except (EOFError, OSError, ValueError, framing.MessageTooLarge):
            raise _WorkerStartFailed(None) from None
        if said.get("op") != "ready":
            raise _WorkerStartFailed(str(said.get("error") or said))
        self.ready = True

    def request(self, payload: bytes, timeout: float, max_reply: int) -> bytes:
        """Send one request and return the raw reply; raise _WorkerTimedOut or _WorkerDied."""
        # Adaptive spin, then sleep: after a quick reply the next one is awaited by polling for
        # up to SPIN_SECONDS, which spares the wake-up of a sleeping caller; after a slow one
        # the caller sleeps at once, so a long script costs no polling.
        self.busy_until = time.monotonic() + timeout
        try:
            framing.send(self.to_child, payload)
            sent = time.perf_counter()
            answered = self.quick and self._answered_within(sent + SPIN_SECONDS)
            if not answered and not self._poller.poll(max(0, int(timeout * 1000))):
                raise _WorkerTimedOut
            raw = framing.receive(self.from_child, max_reply)
            self.quick = time.perf_counter() - sent <= SPIN_SECONDS
            return raw
        except framing.MessageTooLarge as exc:
            raise _ReplyTooLarge from exc
        except (EOFError, OSError) as exc:
            raise _WorkerDied(str(exc)) from exc
        finally:
            self.busy_until = None

    def _answered_within(self, deadline: float) -> bool:
        """Poll without sleeping until the reply is readable (True) or `deadline` passes."""
        poll = self._poller.poll
        while time.perf_counter() < deadline:
            if poll(0):
                return True
        return False

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
        self.close_pipes()

    def stop(self) -> None:
        """Ask the process to exit (closing its input), then make sure it is gone."""
        self.close_pipes()
        try:
            self.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            self.kill()

    def close_pipes(self) -> None:
        """Close both pipe ends, once (a second close could hit a reused descriptor)."""
        with self._closing:
            if self._open:
                self._open = False
                os.close(self.to_child)
                os.close(self.from_child)


_sandbox_log = logging.getLogger("script_runtime.sandbox")
_STDERR_CHUNK = 8192


def _log_stderr(process: subprocess.Popen[bytes]) -> None:
    """Log what a worker writes to stderr (only a crash does: scripts have no stderr), one record
    per burst, in a thread that ends with the worker."""
    stream = process.stderr
    if stream is None:
        return

    def forward() -> None:
        with stream:
            while chunk := os.read(stream.fileno(), _STDERR_CHUNK):
                text = chunk.decode("utf-8", "replace").rstrip()
                _sandbox_log.warning("sandbox worker %d wrote: %s", process.pid, text)

    threading.Thread(target=forward, name=f"sandbox-stderr-{process.pid}", daemon=True).start()


def _death_error(status: int | None, limits: Limits) -> ScriptError:
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


class _Resolved(NamedTuple):
    """Limits checked against the policy once, with what every call derives from them."""

    limits: Limits
    wire: tuple[Any, ...] | None
    max_reply: int


class ScriptPool:
    """A warm pool of sandbox workers, safe to share between threads."""

    def __init__(
        self,
        size: int | None = None,
        *,
        policy: Policy = DEFAULT_POLICY,
        start_timeout: float = 30.0,
        wait_seconds: float | None = None,
        retry_seconds: float = 10.0,
        max_waiting: int | None = None,
    ) -> None:
        """`size` workers; a call waits at most `wait_seconds` for a free one (by default as long
        as a worker may take to start and run the longest script); after a worker failed to
        start, calls fail at once for `retry_seconds` before a new worker is tried. With
        `max_waiting`, at most that many calls wait at once: more are refused (ScriptPoolBusy)
        at once, so callers' threads are not all tied up waiting (None: no bound)."""
        self.policy = policy
        self.size = size or os.cpu_count() or 2
        self.start_timeout = start_timeout
        self.wait_seconds = (
            wait_seconds
            if wait_seconds is not None
            else start_timeout + policy.maxima.wall_seconds + 5.0
        )
        self.retry_seconds = retry_seconds
        self.max_waiting = max_waiting
        self._waiting = 0
        self._unavailable: tuple[float, str] | None = None  # (since, reason) of a failed start
        self._init = json.dumps({"policy": policy.to_dict()}).encode()
        self._lock = threading.Lock()
        self._available = threading.Condition(self._lock)
        # Last in, first out: the most recently used worker is the one with warm caches.
        self._idle: list[Worker] = []
        self._workers: set[Worker] = set()
        self._resolved: dict[Limits | None, _Resolved] = {}
        self._closed = False
        self.stats = {
            "runs": 0,
            "compilations": 0,
            "workers_started": 0,
            "workers_replaced": 0,
            "busy": 0,  # calls refused because no worker was free in time
            "start_failures": 0,  # workers that never became ready
        }
        for _ in range(self.size):
            self._put_idle(self._spawn())

    def run(
        self,
        source: str,
        *,
        data: Mapping[str, object],
        session: Mapping[str, object] | None = None,
        limits: Limits | None = None,
        wait: float | None = None,
    ) -> ScriptResult:
        """Run a script (exec mode) in a worker and return its result, or raise a ScriptError;
        wait at most `wait` seconds (and never beyond `wait_seconds`) for a free worker."""
        chosen = self._resolve(limits)
        payload = build_request("run", source, data, session, chosen.wire)
        reply = self._call(payload, chosen, wait)
        return run_result(reply, data)

    def evaluate(
        self,
        expression: str,
        *,
        data: Mapping[str, object],
        session: Mapping[str, object] | None = None,
        limits: Limits | None = None,
        wait: float | None = None,
    ) -> object:
        """Evaluate an expression (eval mode) in a worker and return its value."""
        chosen = self._resolve(limits)
        payload = build_request("eval", expression, data, session, chosen.wire)
        return decode(self._call(payload, chosen, wait)["value"])

    def check(self, source: str, *, mode: Literal["exec", "eval"] = "exec") -> list[Problem]:
        """Compile `source` in a worker (so a compiler crash costs only the worker) and list problems."""
        try:
            reply = self._call(build_check(source, mode), self._resolve(None))
        except ScriptCapacityError:
            raise  # nothing was compiled: the caller may retry
        except ScriptError as exc:
            detail = "the script is too complex to compile"
            return [Problem(None, None, f"{detail} ({exc})", "compile", "recursion_depth")]
        return [
            Problem(p["line"], p["column"], p["message"], p["kind"], p.get("name"))
            for p in reply["problems"]
        ]

    @property
    def idle(self) -> int:
        """How many workers are free right now (0 while every one runs a script)."""
        with self._lock:
            return len(self._idle)

    def wait_started(self) -> None:
        """Wait until a worker is ready; raise ScriptPoolUnavailable (naming why) if none can start
        (a worker killed while starting is tried again, up to three times)."""
        for attempt in range(3):
            try:
                worker = self._acquire(self.start_timeout + self.wait_seconds)
            except ScriptPoolUnavailable:
                if self._unavailable is not None or attempt == 2:
                    raise
                continue
            self._put_idle(worker)
            return

    def close(self) -> None:
        """Stop every worker; later calls raise RuntimeError."""
        with self._lock:
            self._closed = True
            workers = list(self._workers)
            self._workers.clear()
            self._idle.clear()
            self._available.notify_all()
        for worker in workers:
            worker.stop()

    def __enter__(self) -> ScriptPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _resolve(self, limits: Limits | None) -> _Resolved:
        """Validate and encode `limits` once per distinct value (Limits are frozen)."""
        resolved = self._resolved.get(limits)
        if resolved is None:
            chosen = self.policy.resolve(limits)
            max_reply = 2 * chosen.result_bytes + 8 * chosen.output_bytes + 65536
            resolved = _Resolved(chosen, self.policy.wire_of(chosen), max_reply)
            if len(self._resolved) >= _RESOLVED_CACHE:
                self._resolved.clear()
            self._resolved[limits] = resolved
        return resolved

    def _spawn(self) -> Worker:
        with self._lock:
            if self._closed:
                raise RuntimeError("the script pool is closed")
            worker = Worker(self._init)
            self._workers.add(worker)
            self.stats["workers_started"] += 1
        return worker

    def _put_idle(self, worker: Worker) -> None:
        with self._lock:
            self._idle.append(worker)
            self._available.notify()

    def _discard(self, worker: Worker, *, kill: bool, replace: bool = True) -> None:
        if kill:
            worker.kill()
        else:
            worker.close_pipes()
        with self._lock:
            self._workers.discard(worker)
            closed = self._closed
            self.stats["workers_replaced"] += 1
            self._available.notify()  # a waiting caller may start the missing worker
        if replace and not closed:
            self._put_idle(self._spawn())

    def _acquire(self, wait: float | None = None) -> Worker:
        """A ready worker, waiting at most `wait` (default `wait_seconds`) for a free one."""
        wait = self.wait_seconds if wait is None else wait
        deadline = time.monotonic() + wait
        while True:
            worker = self._checkout(wait, deadline)
            if not worker.ready:
                try:
                    worker.wait_ready(self.start_timeout)
                except _WorkerStartFailed as exc:
                    raise self._start_failed(worker, exc) from None
                with self._lock:
                    self._unavailable = None
            if worker.alive():
                return worker
            self._discard(worker, kill=True)  # killed while idle: replace it and try another

    def _checkout(self, wait: float, deadline: float) -> Worker:
        """An idle worker, or a new one when fewer than `size` are running."""
        with self._lock:
            while True:
                if self._closed:
                    raise RuntimeError("the script pool is closed")
                if self._idle:
                    return self._idle.pop()
                if len(self._workers) < self.size:
                    self._refuse_while_unavailable()
                    worker = Worker(self._init)
                    self._workers.add(worker)
                    self.stats["workers_started"] += 1
                    return worker
                left = deadline - time.monotonic()
                queue_full = self.max_waiting is not None and self._waiting >= self.max_waiting
                if left <= 0 or queue_full or not self._wait_available(left):
                    self.stats["busy"] += 1
                    raise ScriptPoolBusy(
                        f"all {self.size} script workers stayed busy for {wait:g} s",
                        retry_after=self._free_in(),
                    )

    def _free_in(self) -> float:
        """Seconds (at least 1) until the first busy worker is sure to be free: when its script
        in flight reaches its wall-clock limit (the default limit for one about to run one)."""
        now = time.monotonic()
        idle = set(self._idle)
        soonest = min(
            (
                w.busy_until
                if w.busy_until is not None
                else now + self.policy.defaults.wall_seconds
                for w in self._workers
                if w not in idle
            ),
            default=now,
        )
        return max(1.0, soonest - now)

    def _wait_available(self, seconds: float) -> bool:
        """Wait (holding the lock's condition) up to `seconds` for a worker, counted as waiting."""
        self._waiting += 1
        try:
            return self._available.wait(seconds)
        finally:
            self._waiting -= 1

    def _refuse_while_unavailable(self) -> None:
        """Raise ScriptPoolUnavailable while a recent start failure says a new worker would fail."""
        if self._unavailable is None:
            return
        since, reason = self._unavailable
        left = since + self.retry_seconds - time.monotonic()
        if left > 0:
            raise ScriptPoolUnavailable(reason, retry_after=left)

    def _start_failed(self, worker: Worker, exc: _WorkerStartFailed) -> ScriptPoolUnavailable:
        """Retire a worker that could not start, without a replacement; the error saying why."""
        status = worker.exit_status()
        reason = exc.reason or f"the script worker exited while starting (exit status {status})"
        # Killed by a signal without a word (kill -9, the OOM killer): nothing says the next
        # worker would fail too, so only a worker that said why, or exited, blocks new starts.
        killed = exc.reason is None and status is not None and status < 0
        self._discard(worker, kill=True, replace=False)
        with self._lock:
            self.stats["start_failures"] += 1
            if not killed:
                self._unavailable = (time.monotonic(), reason)
        return ScriptPoolUnavailable(reason, retry_after=1.0 if killed else self.retry_seconds)

    def _release(self, worker: Worker, reply: dict[str, Any]) -> None:
        """Count the run, then hand the worker back (or retire it when it asked to be)."""
        recycle = bool(reply.get("recycle"))
        with self._lock:
            self.stats["runs"] += 1
            self.stats["compilations"] += bool(reply.get("compiled"))
            if not (recycle or self._closed):
                self._idle.append(worker)
                self._available.notify()
                return
        if recycle:
            worker.exit_status()
            self._discard(worker, kill=True)
        else:
            worker.stop()

    def _lost(self, worker: Worker, exc: Exception, limits: Limits) -> ScriptError:
        """Retire a worker that gave no usable reply; the error that says why."""
        if isinstance(exc, _WorkerDied):
            status = worker.exit_status()
            self._discard(worker, kill=True)
            return _death_error(status, limits)
        self._discard(worker, kill=True)  # a worker that breaks the protocol is not reused
        if isinstance(exc, _WorkerTimedOut):
            detail = "the script ran too long and its worker was stopped"
            return ScriptLimitExceeded("wall_seconds", limits.wall_seconds, detail)
        if isinstance(exc, _ReplyTooLarge):
            return ScriptLimitExceeded("result_bytes", limits.result_bytes, "reply too large")
        return ScriptRuntimeError("WorkerCrashed", "the script worker sent a bad reply")

    def _call(self, payload: bytes, limits: _Resolved, wait: float | None = None) -> dict[str, Any]:
        worker = self._acquire(self.wait_seconds if wait is None else min(wait, self.wait_seconds))
        started = time.perf_counter()
        try:
            raw = worker.request(payload, limits.limits.wall_seconds, limits.max_reply)
            reply = parse_reply(raw)
        except (_WorkerTimedOut, _ReplyTooLarge, _WorkerDied, ValueError) as exc:
            error = self._lost(worker, exc, limits.limits)
            error.duration_ms = (time.perf_counter() - started) * 1000.0
            raise error from None
        self._release(worker, reply)
        if not reply.get("ok"):
            raise error_from_reply(reply)
        return reply
