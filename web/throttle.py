"""Slow down password guessing: a growing lock per username and client address after failures.

The counters live in this process's memory: with several workers each keeps its own, so the
effective allowance is multiplied by the worker count (still exponential), and a restart resets
them. A shared store (the database or Redis) would be the next step for large deployments.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass
class _Record:
    failures: int = 0
    locked_until: float = 0.0


class LoginThrottle:
    """Counts failed logins per (username, address); after `free` failures each one locks longer."""

    def __init__(self, free: int = 3, max_delay: float = 300.0) -> None:
        self.free = free
        self.max_delay = max_delay
        self._records: dict[tuple[str, str], _Record] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, username: str, address: str) -> int:
        """Seconds until this pair may try again; 0 when it may try now."""
        with self._lock:
            record = self._records.get((username.lower(), address))
            remaining = record.locked_until - time.monotonic() if record else 0.0
        return max(0, int(remaining + 0.999))

    def failed(self, username: str, address: str) -> None:
        """Record a failure; from the (free+1)-th on, lock for 1, 2, 4... seconds up to the cap."""
        with self._lock:
            if len(self._records) > 100_000:  # bound memory under a spray of usernames
                self._records.clear()
            record = self._records.setdefault((username.lower(), address), _Record())
            record.failures += 1
            extra = record.failures - self.free
            if extra > 0:
                delay = min(self.max_delay, 2.0 ** (extra - 1))
                record.locked_until = time.monotonic() + delay

    def succeeded(self, username: str, address: str) -> None:
        """Forget the failures of this pair."""
        with self._lock:
            self._records.pop((username.lower(), address), None)
