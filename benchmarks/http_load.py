"""What the HTTP benchmarks share: the product under gunicorn on 127.0.0.1, a raw-socket client
that also reads Retry-After, and a bounded load generator that times each request."""

from __future__ import annotations

import os
import queue
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

HOST = "127.0.0.1"
Request = tuple[str, str, bytes | None, dict[str, str]]  # method, path, body, headers
_RETRY_AFTER = b"\r\nretry-after:"


@dataclass(frozen=True)
class Answer:
    """A response: status, body, the seconds of its Retry-After header (0 when absent), and its
    header block as received (read only by `headers`, so the load generator parses no more)."""

    status: int
    body: bytes
    retry_after: float
    head: bytes

    def headers(self, name: str) -> list[str]:
        """The values of every header called `name` (in any case), in the order received."""
        wanted = name.lower()
        found = []
        for line in self.head.decode("latin-1").split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == wanted:
                found.append(value.strip())
        return found


@dataclass(frozen=True)
class Result:
    """Throughput and latency of one phase."""

    label: str
    requests: int
    errors: int
    seconds: float
    samples: tuple[float, ...]

    @property
    def p50(self) -> float:
        """Median latency in ms."""
        return statistics.median(self.samples)

    @property
    def p99(self) -> float:
        """99th percentile latency in ms."""
        return statistics.quantiles(self.samples, n=100, method="inclusive")[98]

    @property
    def per_second(self) -> float:
        """Requests per second over the phase's wall-clock time."""
        return self.requests / self.seconds


@dataclass(frozen=True)
class Server:
    """A running gunicorn: its port and its master's pid."""

    port: int
    pid: int


def free_port() -> int:
    """A free port on the loopback address."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def call(port: int, request: Request) -> Answer:
    """One request on a new connection (`Connection: close`).

    Plain socket I/O, not http.client: the load generator shares the two CPUs with the server,
    and with http.client it spent 0.45 to 0.63 ms of CPU per request, against 0.20 to 0.32 ms
    now. The server ends the response by closing, so the body is what follows the header block
    up to the end of the stream.
    """
    method, path, body, headers = request
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
    with socket.create_connection((HOST, port), timeout=30) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, payload = b"".join(chunks).partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or not status_line[1].isdigit():
        raise OSError(f"malformed response: {head[:80]!r}")
    return Answer(int(status_line[1]), payload, _retry_after(head), head)


def _retry_after(head: bytes) -> float:
    """The seconds of a Retry-After header in `head` (0 when absent or not a number)."""
    at = head.lower().find(_RETRY_AFTER)
    if at < 0:
        return 0.0
    value = head[at + len(_RETRY_AFTER) :].split(b"\r\n", 1)[0].strip()
    return float(value) if value.isdigit() else 0.0


def run_load(
    label: str, port: int, requests: list[Request], threads: int, expect: int
) -> tuple[Result, list[bytes]]:
    """Send every request once from `threads` threads; time each; count unexpected statuses."""
    work: queue.SimpleQueue[tuple[int, Request]] = queue.SimpleQueue()
    for item in enumerate(requests):
        work.put(item)
    samples = [0.0] * len(requests)
    bodies: list[bytes] = [b""] * len(requests)
    errors: list[str] = []

    def worker() -> None:
        while True:
            try:
                index, request = work.get_nowait()
            except queue.Empty:
                return
            started = time.perf_counter()
            try:
                answer = call(port, request)
            except OSError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            samples[index] = (time.perf_counter() - started) * 1000
            bodies[index] = answer.body
            if answer.status != expect:
                errors.append(f"{answer.status}: {answer.body[:200]!r}")

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        print(f"{label}: {len(errors)} errors, first: {errors[0]}", file=sys.stderr)
    return Result(label, len(requests), len(errors), seconds, tuple(samples)), bodies


@contextmanager
def gunicorn(
    url: str,
    options: Sequence[str],
    env: Mapping[str, str | None] | None = None,
    *,
    up_seconds: float = 30.0,
    stop_seconds: float = 30.0,
) -> Iterator[Server]:
    """web.create_app() under gunicorn with `options` (workers, worker class, threads...) on a
    free loopback port and database `url`, once its health endpoint answers; `env` adds to the
    environment (a None value removes a variable)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as instance:
        environment = {
            **os.environ,
            "BPM_LIVECHAT_DATABASE_URL": url,
            "BPM_LIVECHAT_INSTANCE_PATH": instance,
            "BPM_LIVECHAT_SECRET_KEY": "benchmark-only",
        }
        for name, value in (env or {}).items():
            if value is None:
                environment.pop(name, None)
            else:
                environment[name] = value
        command = [
            sys.executable, "-m", "gunicorn", *options, "--bind", f"{HOST}:{port}",
            "--log-level", "warning", "web:create_app()",
        ]  # fmt: skip
        server = subprocess.Popen(command, env=environment)
        try:
            _wait_until_up(port, server, up_seconds)
            yield Server(port, server.pid)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=stop_seconds)


def _wait_until_up(port: int, server: subprocess.Popen[bytes], seconds: float) -> None:
    """Wait for the health endpoint (each worker starts its sandbox pool first)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited before serving")
        try:
            if call(port, ("GET", "/api/v1/health", None, {})).status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {seconds:g} s")
