"""Prometheus metrics: requests by route and status with latency, step durations, script runs,
and, read from the database at scrape time, jobs by state, webhook deliveries and incidents.

Each app owns a `Metrics` (built in `create_app`, no global registry). Under gunicorn, several
worker processes serve /metrics in turn: when PROMETHEUS_MULTIPROC_DIR is set (gunicorn.conf.py
sets it), the counters and histograms live in files there and every scrape sums all workers;
without it, each process reports its own figures. The database figures are the same from any
process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bpm_livechat.processes.figures import Figures

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# A step is the engine's work and scripts between two waits: these endpoints run one.
STEP_ENDPOINTS = {
    "api.start_instance_api": "start",
    "api.complete_task_api": "complete",
    "api.retry_instance_api": "retry",
    "processes.start_submit": "start",
    "processes.task_submit": "complete",
    "processes.retry": "retry",
}
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    """The app's metric families; `observe_request` after each request, `exposition` for /metrics."""

    def __init__(self, read_figures: Callable[[], Figures | None]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.multiprocess = bool(os.environ.get(MULTIPROCESS_ENV))
        self.requests = Counter(
            "bpm_livechat_http_requests",
            "HTTP requests answered, by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "bpm_livechat_http_request_seconds",
            "Time to answer a request (to the first byte of a stream), by method and route.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.steps = Histogram(
            "bpm_livechat_process_step_seconds",
            "Requests that ran a process step (start, task completion), engine and scripts included.",
            ["step", "outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.script_runs = Counter(
            "bpm_livechat_script_runs",
            "Scripts and expressions run in this app's sandbox pool (/readyz's probe included).",
            registry=self.registry,
        )
        self.sandbox_replaced = Counter(
            "bpm_livechat_sandbox_workers_replaced",
            "Sandbox workers replaced (a script over its CPU, memory or time limit, or a crash).",
            registry=self.registry,
        )
        self._database = DatabaseFigures(read_figures)
        self.registry.register(self._database)
        self._seen_lock = threading.Lock()
        self._seen = {"runs": 0, "workers_replaced": 0}

    def observe_request(
        self, method: str, endpoint: str | None, status: int, seconds: float
    ) -> None:
        """Count one answered request and its latency (and its step, for a step endpoint)."""
        route = endpoint or "unmatched"
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        step = STEP_ENDPOINTS.get(route)
        if step is not None:
            outcome = "ok" if status < 400 else "refused" if status < 500 else "error"
            self.steps.labels(step, outcome).observe(seconds)

    def observe_pool(self, stats: dict[str, int]) -> None:
        """Move the script counters up to the pool's own totals (`ScriptPool.stats`)."""
        with self._seen_lock:
            runs = stats.get("runs", 0) - self._seen["runs"]
            replaced = stats.get("workers_replaced", 0) - self._seen["workers_replaced"]
            self._seen = {
                "runs": stats.get("runs", 0),
                "workers_replaced": stats.get("workers_replaced", 0),
            }
        if runs > 0:
            self.script_runs.inc(runs)
        if replaced > 0:
            self.sandbox_replaced.inc(replaced)

    def exposition(self) -> bytes:
        """The text format of every metric: all workers' when multiprocess, else this process's."""
        if not self.multiprocess:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(self._database)
        return generate_latest(registry)


class DatabaseFigures(Collector):
    """Gauges read from the database at scrape time (so every process reports the same)."""

    def __init__(self, read_figures: Callable[[], Figures | None]) -> None:
        self.read_figures = read_figures

    def describe(self) -> list[Metric]:
        """Nothing up front: the figures are read only when scraped."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Jobs by kind and status, due jobs, webhook deliveries, incidents by error kind."""
        figures = self.read_figures()
        up = GaugeMetricFamily(
            "bpm_livechat_database_up", "1 when the database answered this scrape."
        )
        up.add_metric([], 0 if figures is None else 1)
        yield up
        if figures is None:
            return
        jobs = GaugeMetricFamily(
            "bpm_livechat_jobs", "Jobs by kind and status (pending, running, done, failed...).",
            labels=["kind", "status"],
        )  # fmt: skip
        for (kind, status), count in sorted(figures.jobs.items()):
            jobs.add_metric([kind, status], count)
        yield jobs
        due = GaugeMetricFamily(
            "bpm_livechat_jobs_due", "Pending jobs already due, by kind.", labels=["kind"]
        )
        for kind, count in sorted(figures.jobs_due.items()):
            due.add_metric([kind], count)
        yield due
        hooks = GaugeMetricFamily(
            "bpm_livechat_webhook_deliveries", "Webhook deliveries by status.", labels=["status"]
        )
        for (kind, status), count in sorted(figures.jobs.items()):
            if kind == "webhook":
                hooks.add_metric([status], count)
        yield hooks
        incidents = GaugeMetricFamily(
            "bpm_livechat_process_incidents",
            "Failed process instances by error kind (kind=limit: a script hit a limit).",
            labels=["kind"],
        )
        for kind, count in sorted(figures.incidents.items()):
            incidents.add_metric([kind], count)
        yield incidents
