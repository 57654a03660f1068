"""The Retry-After of a busy pool: when the first busy worker is sure to be free.

A busy worker is free at the latest when its script in flight reaches its wall-clock limit (the
pool kills it then), so a refused caller is told that time rather than a fixed second.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from script_runtime.worker_process import Worker


def seconds_until_free(busy: Iterable[Worker], default_wall_seconds: float) -> float:
    """Seconds (at least 1) until the first of the `busy` workers is sure to be free: when its
    script in flight reaches its wall-clock limit (the default limit for one about to run one)."""
    now = time.monotonic()
    soonest = min(
        (
            worker.busy_until if worker.busy_until is not None else now + default_wall_seconds
            for worker in busy
        ),
        default=now,
    )
    return max(1.0, soonest - now)
