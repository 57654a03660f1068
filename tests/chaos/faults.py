"""The faults of a chaos run: kill -9 of a web, job or sandbox worker; a database outage, a slow
database and dropped connections through `FaultyProxy`; a real PostgreSQL restart."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time

from tests.chaos.client import wait_ready
from tests.chaos.plan import Plan
from tests.chaos.proxy import FaultyProxy
from tests.chaos.service import Service


def inject(kind: str, plan: Plan, service: Service, proxy: FaultyProxy) -> None:
    """Cause one fault (returning when it is over: the outage and the slowdown last a while)."""
    if kind in ("web_kill", "sandbox_kill"):
        service.wait_booted(60)  # one fault at a time: not while a killed worker's heir boots
    if kind == "job_kill":
        service.wait_jobs_running(60)  # kill a worker at work, not one still importing
    if kind == "web_kill":
        os.kill(random.choice(service.web_workers()), signal.SIGKILL)
    elif kind == "job_kill":
        service.restart_job_worker(random.randrange(len(service.jobs)))
    elif kind == "sandbox_kill":
        for pid in service.sandbox_workers():
            os.kill(pid, signal.SIGKILL)
    elif kind == "outage":
        proxy.cut()
        time.sleep(plan.outage_seconds)
        proxy.heal()
    elif kind == "slow":
        proxy.delay(plan.slow_delay)
        time.sleep(plan.slow_seconds)
        proxy.heal()
    elif kind == "reset":
        proxy.reset()
    elif kind == "pg_restart":
        command = ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart"]
        subprocess.run(command, check=True, timeout=120)
    else:
        raise ValueError(f"unknown fault {kind!r}")


def run_faults(
    plan: Plan, faults: list[str], service: Service, proxy: FaultyProxy
) -> dict[str, float]:
    """Spread the faults over the run; after each, how long until the service was ready."""
    gap = plan.seconds / (len(faults) + 1)
    began = time.monotonic()
    recovery: dict[str, float] = {}
    for index, kind in enumerate(faults, start=1):
        pause = began + index * gap - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        inject(kind, plan, service, proxy)
        took = wait_ready(service.port, 60)
        recovery[kind] = max(took, recovery.get(kind, 0.0))  # the slower of repeated faults
    rest = began + plan.seconds - time.monotonic()
    if rest > 0:
        time.sleep(rest)
    return recovery
