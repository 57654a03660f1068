"""A warm, thread-safe pool of sandbox worker processes; the caller never hangs.

Each request checks out one idle worker (`checkout`: waiting at most `wait_seconds` for one,
then ScriptPoolBusy), sends it one message (`worker_process`) and waits at most the wall-clock
limit for the reply. A worker that times out is killed; one that dies (CPU signal, crash, memory)
is replaced; either way the caller gets a ScriptError naming what happened (`worker_exit`). A
worker that cannot start (a host limit) makes the call fail at once with ScriptPoolUnavailable
naming why; the pool then starts no new worker for `retry_seconds`, so it never respawns workers
in a loop.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from script_runtime.checkout import Checkout
from script_runtime.codec import decode
from script_runtime.errors import Problem, ScriptCapacityError, ScriptError, ScriptPoolUnavailable
from script_runtime.policy import DEFAULT_POLICY, Limits, Policy
from script_runtime.protocol import (
    ScriptResult,
    build_check,
    build_request,
    error_from_reply,
    parse_reply,
    run_result,
)
from script_runtime.worker_exit import lost_error
from script_runtime.worker_process import ReplyTooLarge, Worker, WorkerDied, WorkerTimedOut

_RESOLVED_CACHE = 64  # distinct Limits values remembered per pool


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
        self._resolved: dict[Limits | None, _Resolved] = {}
        self._checkout = Checkout(
            json.dumps({"policy": policy.to_dict()}).encode(),
            size=self.size,
            start_timeout=start_timeout,
            retry_seconds=retry_seconds,
            max_waiting=max_waiting,
            default_wall_seconds=policy.defaults.wall_seconds,
        )
        self.stats = self._checkout.stats  # the counters, as the checkout keeps them
        for _ in range(self.size):
            self._checkout.put_idle(self._checkout.spawn())

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
        return self._checkout.idle_count()

    def wait_started(self) -> None:
        """Wait until a worker is ready; raise ScriptPoolUnavailable (naming why) if none can start
        (a worker killed while starting is tried again, up to three times)."""
        for attempt in range(3):
            try:
                worker = self._checkout.take(self.start_timeout + self.wait_seconds)
            except ScriptPoolUnavailable:
                if self._checkout.unavailable is not None or attempt == 2:
                    raise
                continue
            self._checkout.put_idle(worker)
            return

    def close(self) -> None:
        """Stop every worker; later calls raise RuntimeError."""
        self._checkout.close()

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

    def _lost(self, worker: Worker, exc: Exception, limits: Limits) -> ScriptError:
        """Retire a worker that gave no usable reply (one that breaks the protocol is not reused
        either); the error that says why."""
        status = worker.exit_status() if isinstance(exc, WorkerDied) else None
        self._checkout.discard(worker, kill=True)
        return lost_error(exc, status, limits)

    def _call(self, payload: bytes, limits: _Resolved, wait: float | None = None) -> dict[str, Any]:
        worker = self._checkout.take(
            self.wait_seconds if wait is None else min(wait, self.wait_seconds)
        )
        started = time.perf_counter()
        try:
            raw = worker.request(payload, limits.limits.wall_seconds, limits.max_reply)
            reply = parse_reply(raw)
        except (WorkerTimedOut, ReplyTooLarge, WorkerDied, ValueError) as exc:
            error = self._lost(worker, exc, limits.limits)
            error.duration_ms = (time.perf_counter() - started) * 1000.0
            raise error from None
        self._checkout.hand_back(
            worker, compiled=bool(reply.get("compiled")), recycle=bool(reply.get("recycle"))
        )
        if not reply.get("ok"):
            raise error_from_reply(reply)
        return reply
