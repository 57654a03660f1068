"""Live updates (issue 16): 200 open event streams against one web machine, served by gunicorn.

Run: .venv/bin/python -m benchmarks.bench_live [--postgres] [--streams 200] [--pages 150]

The server is the production model (README, Production): gunicorn, 2 worker processes of the
`gthread` class with `THREADS` threads each, at most `MAX_STREAMS` streams per process, bound to
127.0.0.1. A logged-in operator's session page (an ordinary page: the session, its parameters,
its messages, its processes) is timed with no stream open, then with `--streams` streams open
(half of them session pages, half the sessions list, as operators keep them), in `--rounds`
alternations, so both meet the same drift of the machine's speed. In every phase a channel posts a client message through the API twice a second into
other sessions, so the streams have work to do and the baseline pays the same writes. Then,
streams still open, `--messages` messages are posted a quarter second apart and each one's
arrival on every stream is timed, from just before the POST to the event on the socket: the
update latency. Every message must reach every stream. Bounded: fixed counts, timeouts on
every socket, 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import re
import selectors
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Engine, text

from bpm_livechat.desk.livechats import add_channel, add_member, create_live_chat
from bpm_livechat.desk.tokens import create_token
from bpm_livechat.desk.users import create_user
from bpm_livechat.models import MemberRole
from bpm_livechat.persistence.transactions import session_factory
from bpm_livechat.sessions.lifecycle import create_session
from bpm_livechat.sessions.messages import add_message

from . import http_load
from .bench_sessions import database
from .http_load import HOST, Answer, call

WORKERS = 2
THREADS = 256  # per worker: up to MAX_STREAMS streams and still threads for every other request
MAX_STREAMS = 200  # per worker (BPM_LIVECHAT_WEB_LIVE_MAX_STREAMS)
PASSWORD = "bench-pass-1"
EVENT = re.compile(rb"id: (\d+)\ndata: ([^\n]*)\n\n")


@dataclass
class Operator:
    """The logged-in operator on the running gunicorn: its port, the cookie and the API token."""

    port: int
    cookie: str = ""
    token: str = ""


def seed(engine: Engine, sessions: int) -> tuple[str, list[int]]:
    """An operator working a live chat with `sessions` sessions (a short thread each); the
    operator's API token and the session ids."""
    with session_factory(engine)() as db:
        operator = create_user(db, "bench", "operator", PASSWORD)
        chat = create_live_chat(db, "Support", "{client.name} — {subject}")
        add_channel(db, chat, "Website", "web")
        add_member(db, chat, operator, MemberRole.OPERATOR)
        ids = []
        for i in range(sessions):
            session = create_session(db, chat, client_name=f"Client {i}", subject=f"Question {i}")
            for j in range(6):
                add_message(db, session, f"Message {j} of session {i}.")
            ids.append(session.id)
        _row, token = create_token(db, operator, "benchmark")
        db.commit()
    return token, ids


@contextmanager
def gunicorn(url: str) -> Iterator[int]:
    """The product under gunicorn gthread on 127.0.0.1; yields the port."""
    options = ["--workers", str(WORKERS), "--worker-class", "gthread", "--threads", str(THREADS)]
    env = {"BPM_LIVECHAT_WEB_LIVE_MAX_STREAMS": str(MAX_STREAMS)}
    with http_load.gunicorn(url, options, env, stop_seconds=60) as server:
        yield server.port


def log_in(port: int) -> str:
    """The operator's session cookie, through the login form."""
    page = call(port, ("GET", "/login", None, {}))
    jar = _cookies(page)
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page.body)
    assert token is not None
    form = f"username=bench&password={PASSWORD}&csrf_token={token.group(1).decode()}".encode()
    answer = call(port, ("POST", "/login", form, {
        "Cookie": jar, "Content-Type": "application/x-www-form-urlencoded",
    }))  # fmt: skip
    assert answer.status == 302, answer.status
    return _cookies(answer) or jar


def _cookies(answer: Answer) -> str:
    return "; ".join(value.split(";", 1)[0] for value in answer.headers("set-cookie"))


@dataclass
class Streams:
    """Open event streams read by one thread; records when each message id reached each."""

    port: int
    cookie: str
    socks: list[socket.socket] = field(default_factory=list)
    arrivals: dict[int, list[float]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def open(self, count: int, session_id: int) -> None:
        """Open `count` streams (every other one of a session page) and start reading them."""
        for i in range(count):
            path = f"/live/stream?session={session_id}" if i % 2 else "/live/stream"
            sock = socket.create_connection((HOST, self.port), timeout=30)
            head = f"GET {path} HTTP/1.0\r\nHost: {HOST}\r\nCookie: {self.cookie}\r\n\r\n"
            sock.sendall(head.encode())
            received = b""
            while b"\r\n\r\n" not in received:
                chunk = sock.recv(4096)
                if not chunk:
                    raise RuntimeError(f"stream {i} closed before its headers")
                received += chunk
            status = int(received.split(b" ", 2)[1])
            if status != 200:
                raise RuntimeError(f"stream {i} answered {status}")
            sock.setblocking(False)
            self.socks.append(sock)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        selector = selectors.DefaultSelector()
        buffers: dict[socket.socket, bytes] = {}
        for sock in self.socks:
            selector.register(sock, selectors.EVENT_READ)
            buffers[sock] = b""
        while not self._stop.is_set():
            for key, _mask in selector.select(timeout=0.2):
                sock = cast(socket.socket, key.fileobj)
                try:
                    chunk = sock.recv(65536)
                except BlockingIOError:
                    continue
                now = time.monotonic()
                if not chunk:
                    selector.unregister(sock)
                    continue
                buffered = buffers[sock] + chunk
                end = 0
                for match in EVENT.finditer(buffered):
                    end = match.end()
                    event = json.loads(match.group(2))
                    for message_id in event.get("data", {}).get("message_ids", []):
                        self.arrivals.setdefault(message_id, []).append(now)
                buffers[sock] = buffered[end:] if end else buffered[-65536:]
        selector.close()

    def close(self) -> None:
        """Hang up every stream."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for sock in self.socks:
            sock.close()
        self.socks.clear()


def post_message(server: Operator, session_id: int, text_: str) -> int:
    """A client message through the API; its id."""
    body = json.dumps({"text": text_}).encode()
    answer = call(server.port, ("POST", f"/api/v1/sessions/{session_id}/messages", body, {
        "Authorization": f"Bearer {server.token}", "Content-Type": "application/json",
    }))  # fmt: skip
    assert answer.status == 201, (answer.status, answer.body[:200])
    message_id: int = json.loads(answer.body)["id"]
    return message_id


@contextmanager
def background_messages(server: Operator, ids: list[int]) -> Iterator[None]:
    """A channel posting a client message twice a second into the sessions `ids`."""
    stop = threading.Event()

    def post() -> None:
        i = 0
        while not stop.wait(0.5):
            post_message(server, ids[i % len(ids)], f"Background message {i}.")
            i += 1

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


def time_page(server: Operator, path: str, runs: int) -> list[float]:
    """Milliseconds of `runs` sequential GETs of the page (after 5 untimed)."""
    samples = []
    for i in range(runs + 5):
        started = time.perf_counter()
        status = call(server.port, ("GET", path, None, {"Cookie": server.cookie})).status
        if i >= 5:
            samples.append((time.perf_counter() - started) * 1000)
        assert status == 200, status
    return samples


def p(samples: list[float], percent: int) -> float:
    """The `percent`th percentile."""
    return statistics.quantiles(samples, n=100, method="inclusive")[percent - 1]


def run(postgres: bool, streams: int, pages: int, messages: int, rounds: int) -> None:
    """The three page phases and the latency phase; prints the table."""
    with database(postgres) as engine:
        token, ids = seed(engine, 12)
        if postgres:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("CHECKPOINT"))
        url = engine.url.render_as_string(hide_password=False)
        page_session, stream_session, others = ids[0], ids[1], ids[2:]
        with gunicorn(url) as port:
            server = Operator(port, log_in(port), token)
            page = f"/sessions/{page_session}"
            with background_messages(server, others):
                time_page(server, page, 20)  # warm-up: code loaded, threads started
                without: list[float] = []
                loaded: list[float] = []
                opened = 0.0
                for _round in range(rounds):  # alternating, so both meet the same drift
                    without += time_page(server, page, pages // rounds)
                    live = Streams(port, server.cookie)
                    began = time.monotonic()
                    live.open(streams, stream_session)
                    opened = max(opened, time.monotonic() - began)
                    time.sleep(1.0)
                    loaded += time_page(server, page, pages // rounds)
                    live.close()
                    time.sleep(2.0)  # the server notices the hang-ups within a second
            live = Streams(port, server.cookie)
            live.open(streams, stream_session)
            time.sleep(1.0)
            latencies, complete = [], 0
            sent: dict[int, float] = {}
            for i in range(messages):
                started = time.monotonic()
                sent[post_message(server, stream_session, f"Timed message {i}.")] = started
                time.sleep(0.25)
            time.sleep(2.0)
            live.close()
            for message_id, started in sent.items():
                arrivals = live.arrivals.get(message_id, [])
                complete += len(arrivals) == streams
                latencies += [(arrived - started) * 1000 for arrived in arrivals]
    name = "PostgreSQL" if postgres else "SQLite"
    print(f"\n{name}, gunicorn {WORKERS} gthread workers x {THREADS} threads, 127.0.0.1")
    print(f"{streams} streams opened in {opened:.2f} s at most; {rounds} rounds\n")
    print(f"{'GET ' + page:<44} {'p50':>9} {'p95':>9}")
    for label, samples in [("no streams", without), (f"{streams} streams open", loaded)]:
        print(f"  {label:<42} {statistics.median(samples):>7.2f}ms {p(samples, 95):>7.2f}ms")
    ratio = statistics.median(loaded) / statistics.median(without)
    print(f"  ratio p50 with streams / without: {ratio:.2f}x (target at most 1.5x)\n")
    expected = messages * streams
    print(f"update latency, {messages} messages x {streams} streams: {len(latencies)} "
          f"arrivals (expected {expected}), {complete} messages reached every stream")  # fmt: skip
    print(f"  p50 {statistics.median(latencies):.0f} ms, p95 {p(latencies, 95):.0f} ms, "
          f"max {max(latencies):.0f} ms (target p95 under 1000 ms)")  # fmt: skip
    assert len(latencies) == expected, "an update was lost"


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", action="store_true", help="use the local PostgreSQL")
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--pages", type=int, default=150, help="timed page loads per phase")
    parser.add_argument("--messages", type=int, default=40, help="timed messages")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the page phases")
    args = parser.parse_args()
    run(args.postgres, args.streams, args.pages, args.messages, args.rounds)


if __name__ == "__main__":
    main()
