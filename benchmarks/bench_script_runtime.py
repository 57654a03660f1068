"""Benchmark the script sandbox's warm pool against a bare multiprocessing pipe round trip.

Run from the repository root:  .venv/bin/python benchmarks/bench_script_runtime.py [--runs N]

Prints p50/p99 per call for both (same run, same machine), runs per second with one caller per
worker, and the number of `compile_restricted` calls the workers made (the cached path makes none).
Targets (issue 3): p50 <= 3x the bare round trip, >= 2,000 runs/s on 2 cores, 1 compile per worker.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import threading
import time
from multiprocessing.connection import Connection

from script_runtime import ScriptPool

SCRIPT = """
total = price * qty
if total > 100:
    discount = round(total * 0.1, 2)
else:
    discount = 0
session.params['discount'] = discount
"""
DATA: dict[str, object] = {"price": 12.5, "qty": 10}
SESSION: dict[str, object] = {
    "name": "Bench",
    "client": {"name": "Ann"},
    "params": {"tier": "gold"},
}
PAYLOAD = b'{"op": "run", "source": "' + b"x" * 150 + b'", "data": {"price": 12.5, "qty": 10}}'


def _echo(conn: Connection) -> None:
    while True:
        try:
            message = conn.recv_bytes()
        except EOFError:
            return
        conn.send_bytes(message)


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def bare_round_trips(runs: int) -> list[float]:
    """Per-call seconds of send_bytes/recv_bytes to an echoing child process over a Pipe."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(target=_echo, args=(child,))
    process.start()
    for _ in range(200):
        parent.send_bytes(PAYLOAD)
        parent.recv_bytes()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        parent.send_bytes(PAYLOAD)
        parent.recv_bytes()
        samples.append(time.perf_counter() - started)
    parent.close()
    process.join(5)
    return samples


def pool_calls(pool: ScriptPool, runs: int) -> list[float]:
    """Per-call seconds of pool.run for the benchmark script, from one thread."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = pool.run(SCRIPT, data=DATA, session=SESSION)
        samples.append(time.perf_counter() - started)
    assert result.changes == {"discount": 12.5}, result
    return samples


def throughput(pool: ScriptPool, runs: int, callers: int) -> float:
    """Runs per second with `callers` threads sharing the pool."""
    share = runs // callers

    def work() -> None:
        for _ in range(share):
            pool.run(SCRIPT, data=DATA, session=SESSION)

    threads = [threading.Thread(target=work) for _ in range(callers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return share * callers / (time.perf_counter() - started)


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    runs = parser.parse_args().runs
    bare = bare_round_trips(runs)
    with ScriptPool() as pool:
        pool_calls(pool, 500)  # warm both workers
        latency = pool_calls(pool, runs)
        rate = throughput(pool, runs, pool.size)
        compilations = pool.stats["compilations"]
        total = pool.stats["runs"]
        size = pool.size
    bare_p50, bare_p99 = _percentile(bare, 0.5) * 1e6, _percentile(bare, 0.99) * 1e6
    pool_p50, pool_p99 = _percentile(latency, 0.5) * 1e6, _percentile(latency, 0.99) * 1e6
    print(f"{runs} calls each; pool of {size} workers; {multiprocessing.cpu_count()} CPUs")
    print(f"{'measure':<34}{'p50 us':>10}{'p99 us':>10}{'mean us':>10}")
    print(f"{'bare multiprocessing pipe':<34}{bare_p50:>10.1f}{bare_p99:>10.1f}"
          f"{statistics.fmean(bare) * 1e6:>10.1f}")  # fmt: skip
    print(f"{'ScriptPool.run (1 caller)':<34}{pool_p50:>10.1f}{pool_p99:>10.1f}"
          f"{statistics.fmean(latency) * 1e6:>10.1f}")  # fmt: skip
    ratio = pool_p50 / bare_p50
    print(f"p50 ratio pool/bare: {ratio:.2f}x (target <= 3x) {'PASS' if ratio <= 3 else 'FAIL'}")
    print(f"throughput, {size} callers: {rate:,.0f} runs/s (target >= 2,000) "
          f"{'PASS' if rate >= 2000 else 'FAIL'}")  # fmt: skip
    print(f"compile_restricted calls in workers: {compilations} for {total:,} runs "
          f"(target <= {size}, one per worker) {'PASS' if compilations <= size else 'FAIL'}")  # fmt: skip


if __name__ == "__main__":
    main()
