"""The conversation half of issue 15's figures: the message ingest with a bound process (in
alternating blocks against the same ingest with nothing bound) and webhook deliveries to a
local receiver (latency after commit, and an outage of the receiver)."""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import Engine, func, select

from bpm_livechat.clock import SYSTEM_CLOCK
from bpm_livechat.desk.users import get_user
from bpm_livechat.desk.webhooks import add_webhook
from bpm_livechat.models import Job, SupportSession
from bpm_livechat.persistence.transactions import session_factory, unit_of_work
from bpm_livechat.processes.autostart import bind_event, unbind_event
from bpm_livechat.processes.deployments import get_process
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.sessions.ingest import take_message
from bpm_livechat.sessions.lifecycle import create_session

from .bench_jobs import bench_chat, percentile, workers
from .common import progress

HOST = "127.0.0.1"


def _session(engine: Engine) -> int:
    with unit_of_work(session_factory(engine)) as db:
        return create_session(db, bench_chat(db), client_name="Ingest", subject="Bench").id


def _binding(engine: Engine, bound: bool) -> None:
    with unit_of_work(session_factory(engine)) as db:
        admin, process = get_user(db, "bench-admin"), get_process(db, "bench_task")
        if bound:
            bind_event(db, process, "message_received", admin, {})
        else:
            unbind_event(db, process, "message_received", admin)


def run_ingest(engine: Engine, processes: ProcessEngine, blocks: int, block: int) -> None:
    """A client's message taken in (one transaction each, like the API's handler): with a
    process bound to it (its event job written too) against nothing bound, alternating."""
    factory = session_factory(engine)
    session_id = _session(engine)
    samples: dict[bool, list[float]] = {False: [], True: []}
    for number in range(blocks * 2):
        bound = number % 2 == 1
        _binding(engine, bound)
        for i in range(block):
            started = time.perf_counter()
            with unit_of_work(factory) as db:
                user = get_user(db, "bench")
                take_message(db, processes.clock, session_id, user, f"Message {number}-{i}")
            samples[bound].append(time.perf_counter() - started)
        progress("ingest blocks", number + 1, blocks * 2)
    with session_factory(engine)() as db:
        jobs = db.scalar(select(func.count()).select_from(Job).where(Job.kind == "session_event"))
    plain, bound_p50 = (
        statistics.median(samples[False]) * 1000,
        statistics.median(samples[True]) * 1000,
    )
    print(
        f"\n{engine.dialect.name}: {blocks * block} messages each way, alternating blocks of {block}"
    )
    print(f"nothing bound: p50 {plain:.2f} ms; a process bound: p50 {bound_p50:.2f} ms "
          f"({jobs} event jobs written, no script ran); ratio {bound_p50 / plain:.2f}x (target <= 1.5x)")  # fmt: skip


class Receiver:
    """A local webhook receiver that records every POST and can be taken down and up again."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[str, float, dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.port = 0

    def up(self) -> None:
        """Serve (on the same port as before, if it served before)."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.arrivals.append(
                        (self.headers["X-BpmLivechat-Delivery"], time.time(), json.loads(body))
                    )
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        """Stop serving: connections are refused until `up` again."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def _bare_post(port: int) -> float:
    started = time.perf_counter()
    connection = http.client.HTTPConnection(HOST, port, timeout=5)
    connection.request("POST", "/hook", body=b"{}", headers={
        "Content-Type": "application/json", "X-BpmLivechat-Delivery": "0"})  # fmt: skip
    connection.getresponse().read()
    connection.close()
    return time.perf_counter() - started


def run_webhooks(engine: Engine, messages: int, outage: float) -> None:
    """Operator messages delivered by webhook: time from commit to arrival; then, with the
    receiver down for `outage` seconds, whether every delivery arrives once."""
    receiver = Receiver()
    receiver.up()
    with unit_of_work(session_factory(engine)) as db:
        add_webhook(db, "bench", f"http://{HOST}:{receiver.port}/hook", events=["message"])
    session_id = _session(engine)
    bare = [_bare_post(receiver.port) for _ in range(50)]
    receiver.arrivals.clear()
    committed: dict[int, float] = {}
    count = 1 if engine.dialect.name == "sqlite" else 2
    with workers(engine, count):
        for i in range(messages):
            committed[_reply(engine, session_id, f"Reply {i}")] = time.time()
            time.sleep(0.05)
        _wait_for(receiver, messages, 30)
        latencies = _latencies(receiver, committed)
        print(
            f"\n{engine.dialect.name}: {messages} operator messages, webhook on every message, {count} worker(s)"
        )
        print(f"commit to arrival: p50 {statistics.median(latencies) * 1000:.0f} ms, p99 "
              f"{percentile(latencies, 99) * 1000:.0f} ms (target p50 < 200 ms); a bare POST to the "
              f"receiver: p50 {statistics.median(bare) * 1000:.1f} ms")  # fmt: skip
        if outage > 0:
            _outage(engine, receiver, session_id, messages, outage)


def _reply(engine: Engine, session_id: int, text: str) -> int:
    with unit_of_work(session_factory(engine)) as db:
        user = get_user(db, "bench")
        return take_message(db, SYSTEM_CLOCK, session_id, user, text, "operator").message.id


def _wait_for(receiver: Receiver, expected: int, seconds: float) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        with receiver.lock:
            if len({a[0] for a in receiver.arrivals}) >= expected:
                return
        time.sleep(0.2)


def _latencies(receiver: Receiver, committed: dict[int, float]) -> list[float]:
    found = []
    for _delivery, arrived, body in receiver.arrivals:
        for message in body.get("messages", []):
            if message["id"] in committed:
                found.append(arrived - committed[message["id"]])
    return found


def _outage(
    engine: Engine, receiver: Receiver, session_id: int, messages: int, outage: float
) -> None:
    receiver.down()
    before = len(receiver.arrivals)
    sent = [_reply(engine, session_id, f"During the outage {i}") for i in range(messages)]
    time.sleep(outage)
    receiver.up()
    _wait_for(receiver, before + messages, 600)
    arrived = Counter(d for d, _t, body in receiver.arrivals[before:])
    delivered = {
        m["id"] for _d, _t, body in receiver.arrivals[before:] for m in body.get("messages", [])
    }
    with session_factory(engine)() as db:
        failed = db.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.kind == "webhook", Job.status == "failed")
        )
        sessions = db.scalar(select(func.count()).select_from(SupportSession))
    twice = sum(1 for n in arrived.values() if n > 1)
    print(f"receiver down {outage:.0f} s: {len(set(sent) & delivered)} of {messages} messages arrived "
          f"after it came back, {twice} deliveries arrived twice, {failed} failed for good "
          f"({sessions} sessions)")  # fmt: skip
