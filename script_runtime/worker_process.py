"""The pool's handle on one sandbox worker process: its start, one request at a time, its end.

The pool owns the policy and the bookkeeping; a `Worker` only moves bytes over its two pipes and
turns what goes wrong there into one of the exceptions below, which never leave the package.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time

from script_runtime import framing
from script_runtime.worker import BOOTSTRAP

_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# How long a caller polls for a reply before it sleeps, when the worker's last reply came that
# fast. A reply to a sleeping caller waits for the caller's CPU to wake (about 40 to 100 µs on
# the VMs measured), longer than a small script runs; see `Worker.request`.
SPIN_SECONDS = 0.0003


class WorkerDied(Exception):
    """The worker's pipe broke or closed while a reply was awaited."""


class WorkerStartFailed(Exception):
    """The worker never said ready; `reason` is what it said instead, if anything."""

    def __init__(self, reason: str | None) -> None:
        super().__init__(reason or "the script worker exited while starting")
        self.reason = reason


class WorkerTimedOut(Exception):
    """No reply came within the wall-clock limit."""


class ReplyTooLarge(Exception):
    """The reply was longer than the limits allow."""


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
        """Block until the worker said it is ready (imports done), or raise WorkerStartFailed."""
        if self.ready:
            return
        try:
            if not self._poller.poll(max(0, int(timeout * 1000))):
                raise WorkerStartFailed(f"the script worker did not start within {timeout:g} s")
            said = json.loads(framing.receive(self.from_child, 4096))
        except (EOFError, OSError, ValueError, framing.MessageTooLarge):
            raise WorkerStartFailed(None) from None
        if said.get("op") != "ready":
            raise WorkerStartFailed(str(said.get("error") or said))
        self.ready = True

    def request(self, payload: bytes, timeout: float, max_reply: int) -> bytes:
        """Send one request and return the raw reply; raise WorkerTimedOut or WorkerDied."""
        # Adaptive spin, then sleep: after a quick reply the next one is awaited by polling for
        # up to SPIN_SECONDS, which spares the wake-up of a sleeping caller; after a slow one
        # the caller sleeps at once, so a long script costs no polling.
        self.busy_until = time.monotonic() + timeout
        try:
            framing.send(self.to_child, payload)
            sent = time.perf_counter()
            answered = self.quick and self._answered_within(sent + SPIN_SECONDS)
            if not answered and not self._poller.poll(max(0, int(timeout * 1000))):
                raise WorkerTimedOut
            raw = framing.receive(self.from_child, max_reply)
            self.quick = time.perf_counter() - sent <= SPIN_SECONDS
            return raw
        except framing.MessageTooLarge as exc:
            raise ReplyTooLarge from exc
        except (EOFError, OSError) as exc:
            raise WorkerDied(str(exc)) from exc
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
