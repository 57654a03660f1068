"""Small helpers shared by the benchmarks: timing, percentiles, a progress bar, temp databases."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Latency percentiles of repeated calls, in milliseconds."""

    p50: float
    p95: float
    p99: float
    runs: int


def measure(call: Callable[[], object], runs: int, warmup: int = 3) -> Timing:
    """Call `call` `runs` times after a warm-up and return its percentiles."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return Timing(statistics.median(samples), cuts[94], cuts[98], runs)


def progress(label: str, done: int, total: int) -> None:
    """A one-line progress bar on stderr."""
    width = 40
    filled = width * done // max(total, 1)
    end = "\n" if done >= total else ""
    sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}{end}")
    sys.stderr.flush()
