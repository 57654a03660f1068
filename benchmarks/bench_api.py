"""Message ingest, session creation and process start through the REST API, served by gunicorn.

SQLite gets sync workers, PostgreSQL gthread workers with 4 threads each (see `worker_class`).

Run: .venv/bin/python -m benchmarks.bench_api [--postgres] [--messages N] [--sessions N] [--starts N]

A bounded load generator (threads + plain sockets, a fixed number of requests, 127.0.0.1 only)
times each request; a trivial endpoint on the same server (GET /api/v1/health, no token, no
database) is the baseline measured in the same run. The messages, the process starts
(*Collect contact details* with its start form, as `bench_processes` runs it in process) and a
second run of trivial requests go in 10 alternating blocks, so all three meet the same drift of
the machine's speed; the targets compare the messages with those trivial requests. Afterwards
the database is counted: no message lost or duplicated, every started instance completed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, func, select, text

from bpm_livechat.desk.livechats import add_channel, add_member, create_live_chat
from bpm_livechat.desk.tokens import create_token
from bpm_livechat.desk.users import create_user
from bpm_livechat.models import InstanceStatus, MemberRole, Message, ProcessInstance, SupportSession
from bpm_livechat.persistence.transactions import session_factory
from script_runtime import ScriptPool

from . import http_load
from .bench_processes import FORM, PROCESS_ID, offer_collect_contact_details
from .bench_sessions import database
from .http_load import Request, Result, run_load

PG_THREADS = 4
WARM_UP = 200  # trivial requests before timing: workers and their threads started, code loaded
BLOCKS = 10  # rounds of messages and trivial requests, alternating


def alternate(
    port: int, phases: list[tuple[str, list[Request], int]], threads: int, blocks: int
) -> list[Result]:
    """Run the phases' requests in `blocks` rounds, a slice of each phase per round.

    The machine's speed drifts within seconds; alternating puts every phase under the same
    drift, so their latencies compare like with like.
    """
    parts: list[list[Result]] = [[] for _ in phases]
    for block in range(blocks):
        for done, (label, requests, expect) in zip(parts, phases, strict=True):
            size = -(-len(requests) // blocks)
            chunk = requests[block * size : (block + 1) * size]
            if chunk:
                done.append(run_load(label, port, chunk, threads, expect)[0])
    return [
        Result(
            label,
            sum(r.requests for r in done),
            sum(r.errors for r in done),
            sum(r.seconds for r in done),
            tuple(x for r in done for x in r.samples),
        )
        for done, (label, _, _) in zip(parts, phases, strict=True)
    ]


def seed(engine: Engine) -> tuple[str, str]:
    """A live chat with a channel, *Collect contact details* offered in it, an operator working it
    and a channel account feeding it; the channel's API token (sessions and client messages)
    and the operator's (process starts)."""
    with session_factory(engine)() as db:
        admin = create_user(db, "bench-admin", "admin", "bench-pass-1")
        operator = create_user(db, "bench", "operator", "bench-pass-1")
        chat = create_live_chat(db, "Support", "{client.name} — {subject}")
        add_channel(db, chat, "Website", "web")
        add_member(db, chat, operator, MemberRole.OPERATOR)
        widget = create_user(db, "bench-widget", "channel", "bench-pass-1")
        add_member(db, chat, widget, MemberRole.CHANNEL)
        with ScriptPool(1) as pool:  # compiles the process's scripts at deployment
            offer_collect_contact_details(db, pool, chat, admin)
        _token, staff = create_token(db, operator, "benchmark")
        _token, channel = create_token(db, widget, "benchmark")
        db.commit()
    return channel, staff


@contextmanager
def gunicorn(url: str, workers: int = 2) -> Iterator[int]:
    """The product's app (web.create_app) under gunicorn on 127.0.0.1; yields the port."""
    options = ["--workers", str(workers), *worker_class(not url.startswith("sqlite"))]
    with http_load.gunicorn(url, options) as server:
        yield server.port


def worker_class(postgres: bool) -> list[str]:
    """The gunicorn worker options for the database."""
    # SQLite's writers take turns and its requests are all CPU: plain sync workers. On PostgreSQL
    # threads let requests waiting for round trips and the commit overlap the others; 2 workers
    # with 4 threads each match the 8 clients (15% more messages/s than 2 threads, A/B/A/B).
    # `--threads 1` too: gunicorn.conf.py sets 256 threads, and gunicorn turns a sync worker
    # with more than one thread into a gthread one.
    if not postgres:
        return ["--worker-class", "sync", "--threads", "1"]
    return ["--worker-class", "gthread", "--threads", str(PG_THREADS)]


def _requests(
    tokens: tuple[str, str], sessions: int, messages: int, ids: list[int], starts: int = 0
) -> dict[str, list[Request]]:
    channel, staff = tokens
    auth = {"Authorization": f"Bearer {channel}", "Content-Type": "application/json"}
    operator = {**auth, "Authorization": f"Bearer {staff}"}

    def create(i: int) -> Request:
        body = {
            "live_chat": "Support",
            "client": {"name": f"Client {i}", "email": f"client{i}@example.com"},
            "subject": f"Question {i}",
            "message": "Hello, I need help with my order.",
        }
        key = {"Idempotency-Key": f"create-{i}"}
        return ("POST", "/api/v1/sessions", json.dumps(body).encode(), {**auth, **key})

    def message(i: int) -> Request:
        path = f"/api/v1/sessions/{ids[i % len(ids)]}/messages"
        body = json.dumps({"text": f"Message number {i} from the client."}).encode()
        return ("POST", path, body, {**auth, "Idempotency-Key": f"message-{i}"})

    def start(i: int) -> Request:
        path = f"/api/v1/sessions/{ids[i % len(ids)]}/instances"
        body = json.dumps({"process": PROCESS_ID, "data": FORM}).encode()
        return ("POST", path, body, operator)

    trivial: Callable[[int], Request] = lambda i: ("GET", "/api/v1/health", None, {})  # noqa: E731
    return {
        "trivial": [trivial(i) for i in range(messages)],
        "create": [create(i) for i in range(sessions)],
        "message": [message(i) for i in range(messages)] if ids else [],
        "start": [start(i) for i in range(starts)] if ids else [],
    }


def run(postgres: bool, sessions: int, messages: int, starts: int, threads: int) -> list[Result]:
    """All phases against one database; asserts zero errors and exact counts afterwards."""
    with database(postgres) as engine:
        token = seed(engine)
        if postgres:  # flush the new database's pages now, not during the first timed phase
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("CHECKPOINT"))
        url = engine.url.render_as_string(hide_password=False)
        with gunicorn(url) as port:
            warm = _requests(token, 0, WARM_UP, [])
            run_load("warm-up", port, warm["trivial"], threads, 200)
            trivial_before, _ = run_load(
                "trivial GET /health", port, _requests(token, 0, messages, [])["trivial"],
                threads, 200,
            )  # fmt: skip
            create, bodies = run_load(
                "POST /sessions (with first message)", port,
                _requests(token, sessions, 0, [])["create"], threads, 201,
            )  # fmt: skip
            ids = [json.loads(body)["id"] for body in bodies if body]
            timed = _requests(token, 0, messages, ids, starts)
            ingest, started, trivial_after = alternate(port, [
                ("POST /sessions/{id}/messages", timed["message"], 201),
                ("POST /sessions/{id}/instances (start form, script)", timed["start"], 201),
                ("trivial GET /health (alternating)", timed["trivial"], 200),
            ], threads, BLOCKS)  # fmt: skip
        with session_factory(engine)() as db:
            stored_sessions = db.scalar(select(func.count()).select_from(SupportSession))
            stored_messages = db.scalar(select(func.count()).select_from(Message))
            distinct = db.scalar(select(func.count(func.distinct(Message.text))))
            completed = db.scalar(
                select(func.count())
                .select_from(ProcessInstance)
                .where(ProcessInstance.status == InstanceStatus.COMPLETED.value)
            )
            instances = db.scalar(select(func.count()).select_from(ProcessInstance))
    expected_messages = sessions + messages
    print(
        f"database check: {stored_sessions} sessions (expected {sessions}), {stored_messages} "
        f"messages (expected {expected_messages}), {distinct} distinct texts "
        f"(expected {messages + 1}), {completed} of {instances} instances completed "
        f"(expected {starts} of {starts})"
    )
    assert stored_sessions == sessions and stored_messages == expected_messages
    assert distinct == messages + 1
    assert completed == instances == starts
    return [trivial_before, create, ingest, started, trivial_after]


def main() -> None:
    """Parse arguments, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", action="store_true", help="use the local PostgreSQL")
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--starts", type=int, default=1000, help="process starts")
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    results = run(args.postgres, args.sessions, args.messages, args.starts, args.threads)
    baseline = results[0]
    name = "PostgreSQL" if args.postgres else "SQLite (WAL)"
    workers = " ".join(worker_class(args.postgres))
    print(f"\n{name}, gunicorn 2 workers ({workers}), {args.threads} client threads, 127.0.0.1\n")
    print("| phase | requests | errors | req/s | p50 | p99 | p50 vs trivial |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        if not r.requests:  # a phase asked for none (--starts 0)
            continue
        ratio = r.p50 / baseline.p50
        print(
            f"| {r.label} | {r.requests:,} | {r.errors} | {r.per_second:,.0f} | "
            f"{r.p50:.1f} ms | {r.p99:.1f} ms | {ratio:.2f}x |"
        )
    # The first trivial phase runs on its own, before the sessions exist; the target compares
    # the messages with the trivial requests timed in alternating blocks with them.
    ingest, started, trivial = results[2:]
    print(f"\nmessage p50 vs trivial p50, alternating blocks: {ingest.p50 / trivial.p50:.2f}x")
    if started.requests:
        ratio = started.p50 / trivial.p50
        print(f"process start p50 vs trivial p50, alternating blocks: {ratio:.2f}x")
    if any(r.errors for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
