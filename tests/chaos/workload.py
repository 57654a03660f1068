"""The chaos run's workload: client threads sending a mix of API requests (messages with
idempotency keys and replays, process starts, task completions, parameter writes, reads), and the
`Ledger` of what they sent and what the server acknowledged."""

from __future__ import annotations

import http.client
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.chaos.client import call
from tests.chaos.seed import PROCESS_ID


@dataclass
class Ledger:
    """What the clients sent and what the server acknowledged."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    messages_acked: dict[str, int] = field(default_factory=dict)  # text -> message id
    messages_tried: set[str] = field(default_factory=set)
    replays: int = 0
    replays_differing: list[str] = field(default_factory=list)
    starts_acked: dict[str, int] = field(default_factory=dict)  # ref -> instance id
    starts_tried: set[str] = field(default_factory=set)
    completions_acked: dict[str, int] = field(default_factory=dict)  # answer -> instance id
    writes_acked: dict[str, int] = field(default_factory=dict)  # value -> session id
    writes_tried: set[str] = field(default_factory=set)
    reads_ok: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    unclean: list[str] = field(default_factory=list)  # 5xx that were not a 503 with Retry-After
    dropped: int = 0  # connections that ended without an answer (a killed worker)
    waiting: list[tuple[int, str]] = field(default_factory=list)  # (instance id, task id)

    def note(self, status: int, headers: dict[str, str], what: str) -> None:
        """Count a status; remember a 5xx that is not a clean 503."""
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status >= 500 and not (status == 503 and headers.get("retry-after")):
                self.unclean.append(f"{what}: {status}")


class Workload:
    """Client threads sending the mixed requests until told to stop."""

    def __init__(self, port: int, staff: str, channel: str, sessions: list[int]) -> None:
        self.port = port
        self.staff = {"Authorization": f"Bearer {staff}"}
        self.channel = {"Authorization": f"Bearer {channel}"}
        self.sessions = sessions
        self.ledger = Ledger()
        self.stop = threading.Event()
        self.requests = 0

    def run(self, clients: int) -> list[threading.Thread]:
        """Start the client threads."""
        threads = [
            threading.Thread(target=self._client, args=(random.Random(n),), daemon=True)
            for n in range(clients)
        ]
        for thread in threads:
            thread.start()
        return threads

    def _client(self, rnd: random.Random) -> None:
        actions = (
            (self._message, 4),
            (self._start, 2),
            (self._complete, 2),
            (self._write, 2),
            (self._read, 2),
        )
        choices = [a for a, weight in actions for _ in range(weight)]
        while not self.stop.is_set():
            action = rnd.choice(choices)
            try:
                action(rnd)
            except (OSError, http.client.HTTPException):
                with self.ledger.lock:
                    self.ledger.dropped += 1
                time.sleep(0.05)

    def _send(
        self, what: str, method: str, path: str, body: Any, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        self.requests += 1
        status, answer, data = call(self.port, method, path, body, headers)
        self.ledger.note(status, answer, what)
        if status == 503:
            time.sleep(0.2)
        return status, answer, data

    def _message(self, rnd: random.Random) -> None:
        session = rnd.choice(self.sessions)
        body = {"text": f"m-{uuid.uuid4().hex}"}
        headers = {**self.channel, "Idempotency-Key": f"k-{uuid.uuid4().hex}"}
        path = f"/api/v1/sessions/{session}/messages"
        with self.ledger.lock:
            self.ledger.messages_tried.add(body["text"])
        first: int | None = None
        for _ in range(3):  # the same key on every try: a retry must not write twice
            try:
                status, _, data = self._send("message", "POST", path, body, headers)
            except (OSError, http.client.HTTPException):
                with self.ledger.lock:
                    self.ledger.dropped += 1
                continue
            if status == 201:
                first = int(data["id"])
                break
        if first is None:
            return
        with self.ledger.lock:
            self.ledger.messages_acked[body["text"]] = first
        if rnd.random() < 0.3:  # a client that did not see the answer sends it again
            status, _, data = self._send("message replay", "POST", path, body, headers)
            if status == 201:
                with self.ledger.lock:
                    self.ledger.replays += 1
                    if int(data["id"]) != first:
                        self.ledger.replays_differing.append(body["text"])

    def _start(self, rnd: random.Random) -> None:
        session = rnd.choice(self.sessions)
        ref = f"s-{uuid.uuid4().hex[:16]}"
        body = {"process": PROCESS_ID, "data": {"ref": ref}}
        with self.ledger.lock:
            self.ledger.starts_tried.add(ref)
        path = f"/api/v1/sessions/{session}/instances"
        status, _, data = self._send("start", "POST", path, body, self.staff)
        if status in (200, 201) and data.get("instance_id") and data.get("tasks"):
            with self.ledger.lock:
                self.ledger.starts_acked[ref] = int(data["instance_id"])
                self.ledger.waiting.append((int(data["instance_id"]), data["tasks"][0]["id"]))

    def _complete(self, rnd: random.Random) -> None:
        with self.ledger.lock:
            if not self.ledger.waiting:
                return
            instance, task = self.ledger.waiting.pop(rnd.randrange(len(self.ledger.waiting)))
        answer = f"a-{uuid.uuid4().hex[:16]}"
        path = f"/api/v1/instances/{instance}/tasks/{task}/complete"
        status, _, data = self._send(
            "complete", "POST", path, {"data": {"answer": answer}}, self.staff
        )
        if status == 200 and data.get("status") == "completed":
            with self.ledger.lock:
                self.ledger.completions_acked[answer] = instance

    def _write(self, rnd: random.Random) -> None:
        session = rnd.choice(self.sessions)
        value = f"w-{uuid.uuid4().hex[:16]}"
        with self.ledger.lock:
            self.ledger.writes_tried.add(value)
        path = f"/api/v1/sessions/{session}/parameters"
        status, _, _ = self._send(
            "write", "PATCH", path, {"values": {"chaos_note": value}}, self.staff
        )
        if status == 200:
            with self.ledger.lock:
                self.ledger.writes_acked[value] = session

    def _read(self, rnd: random.Random) -> None:
        status, _, _ = self._send("read", "GET", "/api/v1/sessions?per_page=20", None, self.staff)
        if status == 200:
            with self.ledger.lock:
                self.ledger.reads_ok += 1
