"""A TCP proxy on 127.0.0.1 between the product and PostgreSQL, which a test can cut (an outage),
slow down (a slow database) or reset (what a server restart does to open connections)."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from types import TracebackType


class FaultyProxy:
    """Forwards 127.0.0.1:<port> to `target`; `cut`, `delay`, `reset` and `heal` inject faults."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._down = False
        self._delay = 0.0
        self._closed = False
        self.accepted = 0
        self._thread = threading.Thread(target=self._accept, name="chaos-proxy", daemon=True)
        self._thread.start()

    def __enter__(self) -> FaultyProxy:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def url(self, database_url: str) -> str:
        """`database_url` (a postgresql URL on the target) pointed at this proxy instead."""
        host, port = self.target
        return database_url.replace(f"@{host}:{port}/", f"@127.0.0.1:{self.port}/")

    def cut(self) -> None:
        """An outage: drop every open connection and refuse new ones until `heal`."""
        with self._lock:
            self._down = True
        self.reset()

    def reset(self) -> None:
        """Drop every open connection (as a server restart does); new ones still go through."""
        with self._lock:
            pairs, self._pairs = self._pairs, set()
        for pair in pairs:
            for sock in pair:
                _close(sock)

    def delay(self, seconds: float) -> None:
        """A slow database: every chunk forwarded waits `seconds` first (0: no delay)."""
        self._delay = seconds

    def heal(self) -> None:
        """End the outage and the delay."""
        with self._lock:
            self._down = False
        self._delay = 0.0

    def close(self) -> None:
        """Stop accepting and drop everything."""
        self._closed = True
        _close(self._listener)
        self.reset()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                down = self._down
            if down:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            pair = (client, upstream)
            with self._lock:
                self._pairs.add(pair)
                self.accepted += 1
            threading.Thread(target=self._pump, args=(pair,), daemon=True).start()

    def _pump(self, pair: tuple[socket.socket, socket.socket]) -> None:
        client, upstream = pair
        other = {client: upstream, upstream: client}
        try:
            while True:
                readable, _, _ = select.select([client, upstream], [], [], 1.0)
                with self._lock:
                    if pair not in self._pairs:
                        return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if self._delay:
                        time.sleep(self._delay)
                    other[sock].sendall(data)
        except (OSError, ValueError):  # ValueError: a socket `reset` closed under select()
            return
        finally:
            with self._lock:
                self._pairs.discard(pair)
            _close(client)
            _close(upstream)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
