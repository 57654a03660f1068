"""The webhook receiver of a chaos run, which shows a delivery that ran twice at the same time."""

from __future__ import annotations

import itertools
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.chaos.service import HOST


class Receiver:
    """A loopback webhook receiver that notes when each delivery arrived and left."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.visits: dict[str, list[tuple[float, float]]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                began = time.monotonic()
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(0.02)  # a window in which a second, concurrent run would show
                delivery = self.headers.get("X-BpmLivechat-Delivery", "?")
                self.send_response(204)
                self.end_headers()
                with receiver.lock:
                    receiver.visits.setdefault(delivery, []).append((began, time.monotonic()))

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def concurrent(self) -> list[str]:
        """Deliveries whose two runs overlapped in time."""
        found = []
        with self.lock:
            for delivery, spans in self.visits.items():
                ordered = sorted(spans)
                if any(b[0] < a[1] for a, b in itertools.pairwise(ordered)):
                    found.append(delivery)
        return found
