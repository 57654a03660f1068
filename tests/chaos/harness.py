"""The chaos harness (issue 18, item 9): the product on PostgreSQL under gunicorn (several workers)
with job workers, a mixed API workload, and faults injected while it runs; afterwards the database
is checked. Loopback only, bounded in time.

Faults: kill -9 of a web worker, of a job worker (restarted as a service manager would) and of
the sandbox workers; a database outage, a slow database and a dropped-connections "restart"
through `FaultyProxy`; and, when asked, a real PostgreSQL restart (other tests share the server,
so only the long run does that). Checks: every acknowledged write exists exactly once, no
instance is half-done, no webhook delivery (a job) ran twice at the same time, no job is left
claimed (to wait for its lease) by a job worker that SIGTERM stopped, every 5xx was a 503 with
Retry-After, and the service answered again within seconds of each fault.

The parts: `plan` (what to do, what was found), `seed` (the database), `service` (gunicorn and
the job workers), `workload` (the clients and their ledger), `receiver` (the webhook receiver),
`faults`, `checks`; this module runs them in order.
"""

from __future__ import annotations

import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

from bpm_livechat.persistence.engines import make_engine
from tests.chaos.checks import Findings, check
from tests.chaos.client import wait_ready
from tests.chaos.faults import run_faults
from tests.chaos.plan import Plan, Report
from tests.chaos.proxy import FaultyProxy
from tests.chaos.receiver import Receiver
from tests.chaos.seed import scratch_database, seed
from tests.chaos.service import HOST, Service
from tests.chaos.workload import Workload

__all__ = ["Plan", "Report", "run"]


def run(plan: Plan, admin_url: str, database_url: str | None = None) -> Report:
    """One run: set up, load, faults, stop, check; on a new database, or on `database_url`
    (migrated and empty: the CI test hands over its own)."""
    receiver = Receiver()
    marks = {"begin": time.monotonic()}
    given = nullcontext(database_url) if database_url else scratch_database(admin_url)
    with given as url, tempfile.TemporaryDirectory() as folder:
        direct = make_engine(url)
        marks["database"] = time.monotonic()
        staff, channel, ids = seed(direct, f"http://{HOST}:{receiver.port}/hook", plan.sessions)
        marks["seeded"] = time.monotonic()
        target = (direct.url.host or HOST, direct.url.port or 5432)
        with FaultyProxy(target) as proxy:
            service = Service(plan, proxy.url(url), Path(folder), Path(folder) / "service.log")
            try:
                wait_ready(service.port, 60)
                service.wait_booted(60)
                marks["ready"] = time.monotonic()
                load = Workload(service.port, staff, channel, ids)
                recovery = _load_under_faults(plan, load, service, proxy)
            finally:
                marks["stopping"] = time.monotonic()
                service.stop()
                marks["stopped"] = time.monotonic()
                log_tail = (Path(folder) / "service.log").read_bytes()[-4000:]
        found = check(direct, load.ledger, receiver, service)
        direct.dispose()
    receiver.server.shutdown()
    marks["end"] = time.monotonic()
    _print_phases(marks)
    if found.problems:
        found.problems.append("service log tail: " + log_tail.decode("utf-8", "replace"))
    return _report(plan, load, receiver, service, recovery, found)


def _load_under_faults(
    plan: Plan, load: Workload, service: Service, proxy: FaultyProxy
) -> dict[str, float]:
    """Run the clients while the faults come; after each fault, how long until ready again."""
    clients = load.run(plan.clients)
    faults = [*plan.faults, *(("pg_restart",) if plan.pg_restart else ())]
    recovery = run_faults(plan, faults, service, proxy)
    load.stop.set()
    for client in clients:
        client.join(timeout=60)
    # No pause for the deliveries still due: SIGTERM while the job workers are busy
    # is the graceful shutdown to check (their jobs finished or released).
    return recovery


def _print_phases(marks: dict[str, float]) -> None:
    """How long each phase of the run took, on stderr."""
    print(
        "chaos phases: "
        + ", ".join(
            f"{b} {marks[b] - marks[a]:.1f} s" for a, b in zip(marks, list(marks)[1:], strict=False)
        ),
        file=sys.stderr,
    )


def _report(
    plan: Plan,
    load: Workload,
    receiver: Receiver,
    service: Service,
    recovery: dict[str, float],
    found: Findings,
) -> Report:
    """The run's report from the ledger, the receiver's visits, the service and the checks."""
    ledger = load.ledger
    visits = receiver.visits.values()
    return Report(
        plan=plan,
        requests=load.requests,
        statuses=ledger.statuses,
        acknowledged={
            "messages": len(ledger.messages_acked),
            "starts": len(ledger.starts_acked),
            "completions": len(ledger.completions_acked),
            "parameter writes": len(ledger.writes_acked),
            "reads": ledger.reads_ok,
        },
        problems=found.problems,
        recovery_seconds=recovery,
        deliveries=sum(len(v) for v in visits),
        duplicate_deliveries=sum(len(v) - 1 for v in visits if len(v) > 1),
        dropped=ledger.dropped,
        replays=ledger.replays,
        stop_seconds=service.stop_seconds,
        leased=found.leased,
        lease_wait=found.lease_wait,
    )
