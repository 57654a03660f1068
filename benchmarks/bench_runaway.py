"""Message ingest while runaway process starts (CPU-burning scripts) hammer the same servers.

Run: .venv/bin/python -m benchmarks.bench_runaway [--postgres] [--messages N] [--runaways N]
     [--script-workers N] [--wait SECONDS] [--impolite]

gunicorn runs the product's app with 3 workers x 4 threads (gthread), as the issue's test did.
Phases, in one run: ingest alone (the baseline), ingest while `--runaways` client threads keep
starting a process whose script spins until its CPU limit stops it, then ingest alone again.
Each ingest phase sends `--messages` client messages from 4 threads. The figure is the ingest
rate with runaway starts as a ratio of the mean of the two baselines around it. The runaway
starts' answers are counted: 503 (no sandbox worker free within `--wait` seconds, with
Retry-After) or a recorded failure (the script hit its limit). Loopback only, bounded in time.

The runaway clients honour Retry-After, as the product asks a client to; `--impolite` makes them
retry at once after a 503 instead (a flood of cheap refused requests, not script work). Without
`--script-workers` the servers size their sandbox pools by the product's default rule.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, func, select

from bpm_livechat.desk.livechats import add_channel, add_member, create_live_chat
from bpm_livechat.desk.tokens import create_token
from bpm_livechat.desk.users import create_user
from bpm_livechat.models import MemberRole, Message
from bpm_livechat.persistence.transactions import session_factory
from bpm_livechat.processes.deployments import deploy
from bpm_livechat.sessions.lifecycle import create_session
from script_runtime import ScriptPool

from . import http_load
from .bench_sessions import database
from .http_load import Request, Result, call, run_load

RUNAWAY = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
                  targetNamespace="http://bpm-livechat.example/bench">
  <bpmn:process id="runaway" name="Runaway" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:scriptTask id="spin" name="Spin"><bpmn:script>while True:
    pass</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="spin" />
    <bpmn:sequenceFlow id="f2" sourceRef="spin" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
SESSIONS = 40
INGEST_THREADS = 4


def seed(engine: Engine) -> tuple[str, str, list[int]]:
    """A live chat with the runaway process offered, sessions, and the channel's and the
    operator's API tokens."""
    with session_factory(engine)() as db:
        admin = create_user(db, "bench-admin", "admin", "bench-pass-1")
        operator = create_user(db, "bench", "operator", "bench-pass-1")
        chat = create_live_chat(db, "Support", "{client.name} — {subject}")
        add_channel(db, chat, "Website", "web")
        add_member(db, chat, operator, MemberRole.OPERATOR)
        widget = create_user(db, "bench-widget", "channel", "bench-pass-1")
        add_member(db, chat, widget, MemberRole.CHANNEL)
        with ScriptPool(1) as pool:
            deploy(db, pool, RUNAWAY, admin, [chat])
        ids = [
            create_session(
                db, chat, client_name=f"Client {i}", subject="Help", operator=operator
            ).id
            for i in range(SESSIONS)
        ]
        _token, staff = create_token(db, operator, "benchmark")
        _token, channel = create_token(db, widget, "benchmark")
        db.commit()
    return channel, staff, ids


@contextmanager
def gunicorn(url: str, script_workers: int | None, wait: float) -> Iterator[http_load.Server]:
    """web.create_app under gunicorn, 3 workers x 4 threads, with the sandbox settings given
    (`script_workers` None: the product's default)."""
    options = ["--workers", "3", "--worker-class", "gthread", "--threads", "4", "--timeout", "120"]
    env = {
        "BPM_LIVECHAT_SCRIPT_WAIT_SECONDS": str(wait),
        "BPM_LIVECHAT_SCRIPT_WORKERS": None if script_workers is None else str(script_workers),
    }
    # Three workers each start their sandbox pool first; runaway scripts may still be stopping.
    with http_load.gunicorn(url, options, env, up_seconds=180, stop_seconds=60) as server:
        yield server


def _messages(channel: str, ids: list[int], count: int, tag: str) -> list[Request]:
    auth = {"Authorization": f"Bearer {channel}", "Content-Type": "application/json"}
    return [
        (
            "POST",
            f"/api/v1/sessions/{ids[i % len(ids)]}/messages",
            json.dumps({"text": f"{tag} message {i}"}).encode(),
            auth,
        )
        for i in range(count)
    ]


@contextmanager
def runaways(
    port: int, staff: str, ids: list[int], clients: int, polite: bool
) -> Iterator[Counter[str]]:
    """`clients` threads starting the runaway process again and again; counts their answers.
    A polite client waits the Retry-After of a 503 before it tries again, an impolite one not."""
    stop = threading.Event()
    answers: Counter[str] = Counter()
    headers = {"Authorization": f"Bearer {staff}", "Content-Type": "application/json"}
    body = json.dumps({"process": "runaway"}).encode()

    def client(number: int) -> None:
        path = f"/api/v1/sessions/{ids[number % len(ids)]}/instances"
        while not stop.is_set():
            try:
                answer = call(port, ("POST", path, body, headers))
            except OSError as exc:
                answers[type(exc).__name__] += 1
                continue
            answers[_kind(answer.status, answer.body)] += 1
            if answer.status == 503 and polite:
                stop.wait(answer.retry_after)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(2.0)  # let them fill the sandbox workers and the request threads
    try:
        yield answers
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def _pool_sizes(server: int) -> str:
    """The sandbox worker processes each gunicorn worker runs (its children), as "2, 2, 2"."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    workers = [pid for pid, parent in parents.items() if parent == server]
    sizes = sorted(sum(1 for parent in parents.values() if parent == w) for w in workers)
    return ", ".join(str(size) for size in sizes)


def _kind(status: int, payload: bytes) -> str:
    if status == 503:
        return "503 busy"
    try:
        state = json.loads(payload).get("status")
    except ValueError:
        state = None
    return f"{status} {state}" if state else str(status)


def run(
    postgres: bool,
    messages: int,
    clients: int,
    script_workers: int | None,
    wait: float,
    polite: bool,
) -> None:
    """The three phases against one database; checks every message was stored once."""
    with database(postgres) as engine:
        channel, staff, ids = seed(engine)
        url = engine.url.render_as_string(hide_password=False)
        with gunicorn(url, script_workers, wait) as server:
            port = server.port
            run_load("warm-up", port, _messages(channel, ids, 100, "warm"), INGEST_THREADS, 201)
            pools = _pool_sizes(server.pid)
            before, _ = run_load(
                "ingest alone", port, _messages(channel, ids, messages, "before"),
                INGEST_THREADS, 201,
            )  # fmt: skip
            with runaways(port, staff, ids, clients, polite) as answers:
                during, _ = run_load(
                    "ingest with runaway starts", port, _messages(channel, ids, messages, "during"),
                    INGEST_THREADS, 201,
                )  # fmt: skip
            after, _ = run_load(
                "ingest alone again", port, _messages(channel, ids, messages, "after"),
                INGEST_THREADS, 201,
            )  # fmt: skip
        with session_factory(engine)() as db:
            stored = db.scalar(select(func.count()).select_from(Message)) or 0
    _report(postgres, [before, during, after], answers, clients, pools, wait, polite)
    expected = 100 + 3 * messages
    print(f"database check: {stored} messages stored (expected {expected})")
    if stored != expected or any(r.errors for r in (before, during, after)):
        sys.exit(1)


def _report(
    postgres: bool,
    results: list[Result],
    answers: Counter[str],
    clients: int,
    pools: str,
    wait: float,
    polite: bool,
) -> None:
    name = "PostgreSQL" if postgres else "SQLite (WAL)"
    manner = "honour Retry-After" if polite else "impolite: retry at once after a 503"
    print(
        f"\n{name}, gunicorn 3 workers x 4 threads, {pools} sandbox worker(s) per "
        f"worker, wait for one {wait:g} s, {clients} runaway clients ({manner}), 127.0.0.1, "
        f"cores: {os.cpu_count()}, load average at the end: {os.getloadavg()[0]:.2f}\n"
    )
    print("| phase | messages | errors | msg/s | p50 | p99 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(
            f"| {r.label} | {r.requests:,} | {r.errors} | {r.per_second:,.1f} | "
            f"{r.p50:.1f} ms | {r.p99:.1f} ms |"
        )
    before, during, after = results
    baseline = (before.per_second + after.per_second) / 2
    print(f"\ningest rate with runaway starts vs alone: {during.per_second / baseline:.2f}x")
    print("runaway starts answered: " + ", ".join(f"{k}: {v}" for k, v in sorted(answers.items())))


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", action="store_true", help="use the local PostgreSQL")
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--runaways", type=int, default=30, help="runaway client threads")
    parser.add_argument(
        "--script-workers", type=int, default=None, help="per web worker (default: the product's)"
    )
    parser.add_argument("--wait", type=float, default=0.5, help="seconds to wait for a worker")
    parser.add_argument(
        "--impolite", action="store_true", help="runaway clients ignore Retry-After"
    )
    args = parser.parse_args()
    run(
        args.postgres,
        args.messages,
        args.runaways,
        args.script_workers,
        args.wait,
        not args.impolite,
    )


if __name__ == "__main__":
    main()
