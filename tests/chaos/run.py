"""Run the chaos harness: `python -m tests.chaos.run [--seconds 180] [--long]`.

The default run (45 s of load; the CI test's is 12 s) takes about a minute; `--long` is the documented run: 180 s, a
10 s outage, a slow database, every fault twice and a real PostgreSQL restart (which other users
of the same server feel: run it on a machine of your own).
"""

from __future__ import annotations

import argparse
import sys

from tests.chaos.harness import Plan, run
from tests.databases import PG_ADMIN_URL, pg_reachable

FAULTS = ("web_kill", "job_kill", "sandbox_kill", "outage", "slow", "reset")


def main() -> int:
    """Parse the options, run, print the report; exit 1 when a check failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=None, help="length of the load")
    parser.add_argument("--long", action="store_true", help="the long run (see the docstring)")
    parser.add_argument("--no-pg-restart", action="store_true", help="long run without it")
    args = parser.parse_args()
    problem = pg_reachable()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if args.long:
        plan = Plan(
            seconds=args.seconds or 180,
            clients=8,
            sessions=30,
            outage_seconds=10,
            slow_seconds=10,
            slow_delay=0.1,
            faults=FAULTS + FAULTS,
            pg_restart=not args.no_pg_restart,
        )
    else:
        plan = Plan(seconds=args.seconds or 45)
    report = run(plan, PG_ADMIN_URL)
    print(report.text())
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
