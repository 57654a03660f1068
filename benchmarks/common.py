"""Small helpers shared by the benchmarks: timing, percentiles, a progress bar, temp databases."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Sequence
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
    return _timing(samples, runs)


def measure_alternately(
    calls: Sequence[Callable[[], object]], runs: int, warmup: int = 3
) -> list[Timing]:
    """Call each of `calls` in turn, `runs` rounds after a warm-up, and return each one's
    percentiles: on a shared machine both sides of a ratio then meet the same load."""
    for _ in range(warmup):
        for call in calls:
            call()
    samples: list[list[float]] = [[] for _ in calls]
    for _ in range(runs):
        for call, kept in zip(calls, samples, strict=True):
            start = time.perf_counter()
            call()
            kept.append((time.perf_counter() - start) * 1000)
    return [_timing(kept, runs) for kept in samples]


def _timing(samples: list[float], runs: int) -> Timing:
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
