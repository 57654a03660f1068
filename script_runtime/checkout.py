"""Which caller gets which worker: the pool's workers, idle and busy, under one lock.

A call checks out one ready worker, waiting a bounded time for one (then ScriptPoolBusy, with a
Retry-After from `retry_after`), and hands it back or retires it; a retired worker is replaced.
A worker that cannot start makes the call fail at once with ScriptPoolUnavailable naming why, and
no new worker is started for `retry_seconds`, so the pool never respawns workers in a loop.
"""

from __future__ import annotations

import threading
import time

from script_runtime.errors import ScriptPoolBusy, ScriptPoolUnavailable
from script_runtime.retry_after import seconds_until_free
from script_runtime.worker_process import Worker, WorkerStartFailed


class Checkout:
    """The pool's workers and its counters (`stats`); safe to share between threads."""

    def __init__(
        self,
        init_message: bytes,
        *,
        size: int,
        start_timeout: float,
        retry_seconds: float,
        max_waiting: int | None,
        default_wall_seconds: float,
    ) -> None:
        """Up to `size` workers, each sent `init_message` as it starts (none started yet)."""
        self.size = size
        self.start_timeout = start_timeout
        self.retry_seconds = retry_seconds
        self.max_waiting = max_waiting
        self.default_wall_seconds = default_wall_seconds
        self._init = init_message
        self._lock = threading.Lock()
        self._available = threading.Condition(self._lock)
        # Last in, first out: the most recently used worker is the one with warm caches.
        self.idle: list[Worker] = []
        self.running: set[Worker] = set()
        self.waiting = 0  # callers waiting for a worker right now
        self.unavailable: tuple[float, str] | None = None  # (since, reason) of a failed start
        self.closed = False
        self.stats = {
            "runs": 0,
            "compilations": 0,
            "workers_started": 0,
            "workers_replaced": 0,
            "busy": 0,  # calls refused because no worker was free in time
            "start_failures": 0,  # workers that never became ready
        }

    def idle_count(self) -> int:
        """How many workers are free right now."""
        with self._lock:
            return len(self.idle)

    def spawn(self) -> Worker:
        """Start one more worker (not yet ready, not idle) and count it."""
        with self._lock:
            if self.closed:
                raise RuntimeError("the script pool is closed")
            return self._start_locked()

    def put_idle(self, worker: Worker) -> None:
        """Make `worker` the next one a caller gets."""
        with self._lock:
            self.idle.append(worker)
            self._available.notify()

    def take(self, wait: float) -> Worker:
        """A ready worker, waiting at most `wait` seconds for a free one."""
        deadline = time.monotonic() + wait
        while True:
            worker = self._checkout(wait, deadline)
            if not worker.ready:
                try:
                    worker.wait_ready(self.start_timeout)
                except WorkerStartFailed as exc:
                    raise self._start_failed(worker, exc) from None
                with self._lock:
                    self.unavailable = None
            if worker.alive():
                return worker
            self.discard(worker, kill=True)  # killed while idle: replace it and try another

    def hand_back(self, worker: Worker, *, compiled: bool, recycle: bool) -> None:
        """Count the run, then make the worker idle again (or retire it when it asked to be)."""
        with self._lock:
            self.stats["runs"] += 1
            self.stats["compilations"] += compiled
            if not (recycle or self.closed):
                self.idle.append(worker)
                self._available.notify()
                return
        if recycle:
            worker.exit_status()
            self.discard(worker, kill=True)
        else:
            worker.stop()

    def discard(self, worker: Worker, *, kill: bool, replace: bool = True) -> None:
        """Retire `worker` (killing it, or only closing its pipes) and start its replacement."""
        if kill:
            worker.kill()
        else:
            worker.close_pipes()
        with self._lock:
            self.running.discard(worker)
            closed = self.closed
            self.stats["workers_replaced"] += 1
            self._available.notify()  # a waiting caller may start the missing worker
        if replace and not closed:
            self.put_idle(self.spawn())

    def close(self) -> None:
        """Stop every worker; later checkouts raise RuntimeError."""
        with self._lock:
            self.closed = True
            workers = list(self.running)
            self.running.clear()
            self.idle.clear()
            self._available.notify_all()
        for worker in workers:
            worker.stop()

    def _start_locked(self) -> Worker:
        worker = Worker(self._init)
        self.running.add(worker)
        self.stats["workers_started"] += 1
        return worker

    def _checkout(self, wait: float, deadline: float) -> Worker:
        """An idle worker, or a new one when fewer than `size` are running."""
        with self._lock:
            while True:
                if self.closed:
                    raise RuntimeError("the script pool is closed")
                if self.idle:
                    return self.idle.pop()
                if len(self.running) < self.size:
                    self._refuse_while_unavailable()
                    return self._start_locked()
                left = deadline - time.monotonic()
                queue_full = self.max_waiting is not None and self.waiting >= self.max_waiting
                if left <= 0 or queue_full or not self._wait_available(left):
                    self.stats["busy"] += 1
                    raise ScriptPoolBusy(
                        f"all {self.size} script workers stayed busy for {wait:g} s",
                        retry_after=self._free_in(),
                    )

    def _free_in(self) -> float:
        """Retry-After for a refused caller (called holding the lock)."""
        idle = set(self.idle)
        busy = (worker for worker in self.running if worker not in idle)
        return seconds_until_free(busy, self.default_wall_seconds)

    def _wait_available(self, seconds: float) -> bool:
        """Wait (holding the lock's condition) up to `seconds` for a worker, counted as waiting."""
        self.waiting += 1
        try:
            return self._available.wait(seconds)
        finally:
            self.waiting -= 1

    def _refuse_while_unavailable(self) -> None:
        """Raise ScriptPoolUnavailable while a recent start failure says a new worker would fail."""
        if self.unavailable is None:
            return
        since, reason = self.unavailable
        left = since + self.retry_seconds - time.monotonic()
        if left > 0:
            raise ScriptPoolUnavailable(reason, retry_after=left)

    def _start_failed(self, worker: Worker, exc: WorkerStartFailed) -> ScriptPoolUnavailable:
        """Retire a worker that could not start, without a replacement; the error saying why."""
        status = worker.exit_status()
        reason = exc.reason or f"the script worker exited while starting (exit status {status})"
        # Killed by a signal without a word (kill -9, the OOM killer): nothing says the next
        # worker would fail too, so only a worker that said why, or exited, blocks new starts.
        killed = exc.reason is None and status is not None and status < 0
        self.discard(worker, kill=True, replace=False)
        with self._lock:
            self.stats["start_failures"] += 1
            if not killed:
                self.unavailable = (time.monotonic(), reason)
        return ScriptPoolUnavailable(reason, retry_after=1.0 if killed else self.retry_seconds)
