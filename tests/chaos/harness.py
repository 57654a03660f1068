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
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.pool import NullPool

from bpm_livechat.desk.livechats import add_channel, add_member, create_live_chat
from bpm_livechat.desk.tokens import create_token
from bpm_livechat.desk.users import create_user
from bpm_livechat.desk.webhooks import add_webhook
from bpm_livechat.models import (
    Job,
    JobStatus,
    MemberRole,
    Message,
    ParamHistory,
    ProcessInstance,
    TaskState,
    UserTask,
)
from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.persistence.engines import make_engine, upgrade
from bpm_livechat.persistence.transactions import session_factory, unit_of_work
from bpm_livechat.processes.deployments import deploy
from bpm_livechat.sessions.lifecycle import create_session
from script_runtime import ScriptPool
from tests.chaos.proxy import FaultyProxy

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
PROCESS_ID = "chaos_check"
BPMN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="chaos_defs"
    targetNamespace="http://bpm-livechat.example/chaos">
  <bpmn:process id="{PROCESS_ID}" name="Chaos check" isExecutable="true">
    <bpmn:startEvent id="begin"><bpmn:extensionElements><camunda:formData>
      <camunda:formField id="ref" label="Ref" type="string" />
    </camunda:formData></bpmn:extensionElements><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="note_start" name="Note start" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>session.params["chaos_started"] = ref</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="confirm" name="Confirm"><bpmn:extensionElements><camunda:formData>
      <camunda:formField id="answer" label="Answer" type="string" />
    </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="note_answer" name="Note answer" scriptFormat="python">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>session.params["chaos_answer"] = answer</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="done"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="note_start" />
    <bpmn:sequenceFlow id="f2" sourceRef="note_start" targetRef="confirm" />
    <bpmn:sequenceFlow id="f3" sourceRef="confirm" targetRef="note_answer" />
    <bpmn:sequenceFlow id="f4" sourceRef="note_answer" targetRef="done" />
  </bpmn:process>
</bpmn:definitions>
""".encode()


@dataclass
class Plan:
    """How long, how hard, and which faults."""

    seconds: float = 45.0
    web_workers: int = 3
    threads: int = 4
    job_workers: int = 2
    clients: int = 6
    sessions: int = 12
    outage_seconds: float = 4.0
    slow_seconds: float = 4.0
    slow_delay: float = 0.05
    faults: tuple[str, ...] = ("web_kill", "job_kill", "sandbox_kill", "outage", "slow", "reset")
    pg_restart: bool = False
    stop_seconds: float = 40.0  # how long the graceful shutdown may take


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


@dataclass
class Report:
    """The outcome of one run."""

    plan: Plan
    requests: int
    statuses: dict[int, int]
    acknowledged: dict[str, int]
    problems: list[str]
    recovery_seconds: dict[str, float]
    deliveries: int
    duplicate_deliveries: int
    dropped: int
    replays: int
    stop_seconds: dict[str, float] = field(default_factory=dict)  # SIGTERM to exit, per process
    leased: int = 0  # jobs left to their lease by job workers that SIGTERM stopped
    lease_wait: float = 0.0  # how long the longest of them would still wait, in seconds

    def text(self) -> str:
        """A summary for people."""
        lines = [
            f"chaos run: {self.plan.seconds:.0f} s, {self.plan.web_workers} web workers x "
            f"{self.plan.threads} threads, {self.plan.job_workers} job workers, "
            f"{self.plan.clients} clients",
            f"requests: {self.requests}, statuses: {dict(sorted(self.statuses.items()))}, "
            f"dropped connections: {self.dropped}, idempotent replays: {self.replays}",
            "acknowledged: " + ", ".join(f"{k} {v}" for k, v in self.acknowledged.items()),
            f"webhook deliveries: {self.deliveries} (repeated after a kill, never concurrent: "
            f"{self.duplicate_deliveries})",
            "recovered after: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in self.recovery_seconds.items()),
            "stopped after SIGTERM in: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in self.stop_seconds.items())
            + f" (jobs they left to the lease: {self.leased}"
            + (f", waiting up to {self.lease_wait:.0f} s more)" if self.leased else ")"),
            "problems: " + ("none" if not self.problems else "; ".join(self.problems[:20])),
        ]
        return "\n".join(lines)


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


def seed(engine: Engine, hook_url: str, sessions: int) -> tuple[str, str, list[int]]:
    """Users, a live chat with its channel, parameters, the process, a webhook; two tokens."""
    with ScriptPool(1) as pool, unit_of_work(session_factory(engine)) as db:
        admin = create_user(db, "admin", "admin", "chaos-admin-pass")
        operator = create_user(db, "olga", "operator", "chaos-olga-pass")
        widget = create_user(db, "widget", "channel", "chaos-widget-pass")
        chat = create_live_chat(db, "Chaos", "{client.name}: {subject}")
        add_channel(db, chat, "Web", "web")
        add_member(db, chat, operator, MemberRole.OPERATOR)
        add_member(db, chat, widget, MemberRole.CHANNEL)
        for key in ("chaos_started", "chaos_answer", "chaos_note"):
            add_parameter(db, key, "string", key.replace("_", " ").title())
        deploy(db, pool, BPMN, admin, [chat])
        add_webhook(db, "chaos receiver", hook_url, events=("message", "parameter_changed"))
        ids = [
            create_session(db, chat, client_name=f"Client {i}", subject="Chaos").id
            for i in range(sessions)
        ]
        _, staff = create_token(db, operator, "chaos")
        _, channel = create_token(db, widget, "chaos")
    return staff, channel, ids


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """A new PostgreSQL database, migrated; dropped afterwards. Yields its URL."""
    name = f"bpm_livechat_chaos_{uuid.uuid4().hex[:10]}"
    # No pool: a connection kept across the run would not survive a PostgreSQL restart.
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Service:
    """Gunicorn and the job workers, started on the proxy's address."""

    def __init__(self, plan: Plan, url: str, folder: Path, log: Path) -> None:
        self.plan = plan
        self.env = {
            **os.environ,
            "BPM_LIVECHAT_DATABASE_URL": url,
            "BPM_LIVECHAT_INSTANCE_PATH": str(folder),
            "BPM_LIVECHAT_SECRET_KEY": "chaos-only",
            "BPM_LIVECHAT_WEB_SCRIPT_WORKERS": "1",
            "BPM_LIVECHAT_WEBHOOK_ALLOW": HOST,
            "BPM_LIVECHAT_DB_POOL_TIMEOUT_SECONDS": "5",
            "BPM_LIVECHAT_DB_STATEMENT_TIMEOUT_MS": "15000",
            "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
        }
        (folder / "metrics").mkdir()
        self.log_path = log
        self.log = log.open("ab")
        self.killed_jobs: set[int] = set()  # pids of job workers killed with -9
        self.stop_seconds: dict[str, float] = {}
        self.unstopped: list[str] = []  # processes that needed a kill after SIGTERM
        self.leased = 0  # jobs left claimed by job workers that SIGTERM stopped
        self.lease_wait = 0.0  # seconds until the last of their leases runs out
        with socket_port() as port:
            self.port = port
        self.web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
             "--workers", str(plan.web_workers), "--threads", str(plan.threads),
             "--bind", f"{HOST}:{self.port}", "--timeout", "30", "web:create_app()"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=self.log,
        )  # fmt: skip
        # Started with gunicorn, not after it: started later, they would boot into the faults
        # and run few jobs before the stop (their check would have little to see).
        self.jobs = [self._job_worker() for _ in range(plan.job_workers)]

    def _job_worker(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-c", "from bpm_livechat.cli import main; main()", "worker"]
        return subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=self.log, stderr=self.log)

    def web_workers(self) -> list[int]:
        """The pids of gunicorn's worker processes."""
        return children(self.web.pid)

    def _logged(self, pattern: re.Pattern[str]) -> set[int]:
        """The pids that `pattern`'s group names in the service log so far."""
        self.log.flush()
        return {int(pid) for pid in pattern.findall(self.log_path.read_text("utf-8", "replace"))}

    def wait_jobs_running(self, seconds: float) -> None:
        """Wait until every job worker has started its loop (its "worker ... running" line)."""
        deadline = time.monotonic() + seconds
        while not self._logged(_RUNNING).issuperset(job.pid for job in self.jobs):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the job workers did not all start within {seconds:.0f} s")
            time.sleep(0.1)

    def wait_booted(self, seconds: float) -> None:
        """Wait until every web worker has loaded the app (its "Worker ready" line in the log):
        a sandbox killed while its web worker boots makes that worker fail to boot, and gunicorn
        then stops altogether (the product's choice for a pool that cannot start)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready = self._logged(_READY)
            workers = self.web_workers()
            if len(workers) == self.plan.web_workers and ready.issuperset(workers):
                return
            time.sleep(0.1)
        raise RuntimeError(f"the web workers did not all boot within {seconds:.0f} s")

    def sandbox_workers(self) -> list[int]:
        """The pids of the sandbox workers of every web worker."""
        return [pid for worker in self.web_workers() for pid in children(worker)]

    def restart_job_worker(self, index: int) -> None:
        """kill -9 one job worker and start another, as a service manager would."""
        victim = self.jobs[index]
        self.killed_jobs.add(victim.pid)
        victim.kill()
        victim.wait()
        self.jobs[index] = self._job_worker()

    def stop(self) -> None:
        """SIGTERM everything and wait (graceful shutdown), then kill what is left; note how
        long each took (`stop_seconds`) and which needed the kill (`unstopped`)."""
        named = {
            "gunicorn": self.web,
            **{f"job worker {i + 1}": p for i, p in enumerate(self.jobs)},
        }
        began = time.monotonic()
        for process in named.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        left = dict(named)
        while left and time.monotonic() - began < self.plan.stop_seconds:
            for name, process in list(left.items()):
                if process.poll() is not None:
                    self.stop_seconds[name] = time.monotonic() - began
                    del left[name]
            time.sleep(0.02)
        for name, process in left.items():
            process.kill()
            process.wait()
            self.unstopped.append(name)
        self.log.close()


_READY = re.compile(r"Worker ready \(pid: (\d+)\)")  # gunicorn.conf.py's post_worker_init
_RUNNING = re.compile(r"worker [^\s:]+:(\d+):\w+ running")  # `bpm-livechat worker` at its start


@contextmanager
def socket_port() -> Iterator[int]:
    """A free loopback port."""
    import socket

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        yield probe.getsockname()[1]


def children(pid: int) -> list[int]:
    """Direct child processes of `pid` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def call(
    port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    """One request on its own connection; (status, lower-cased headers, JSON body or None)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        payload = None if body is None else json.dumps(body).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        connection.request(method, path, payload, sent)
        response = connection.getresponse()
        raw = response.read()
        answer = {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = None
    return response.status, answer, data


def wait_ready(port: int, seconds: float) -> float:
    """Seconds until /readyz answered 200 (raises after `seconds`)."""
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        try:
            if call(port, "GET", "/readyz")[0] == 200:
                return time.monotonic() - began
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the service was not ready within {seconds:.0f} s")


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


def inject(kind: str, plan: Plan, service: Service, proxy: FaultyProxy) -> None:
    """Cause one fault (returning when it is over: the outage and the slowdown last a while)."""
    if kind in ("web_kill", "sandbox_kill"):
        service.wait_booted(60)  # one fault at a time: not while a killed worker's heir boots
    if kind == "job_kill":
        service.wait_jobs_running(60)  # kill a worker at work, not one still importing
    if kind == "web_kill":
        os.kill(random.choice(service.web_workers()), signal.SIGKILL)
    elif kind == "job_kill":
        service.restart_job_worker(random.randrange(len(service.jobs)))
    elif kind == "sandbox_kill":
        for pid in service.sandbox_workers():
            os.kill(pid, signal.SIGKILL)
    elif kind == "outage":
        proxy.cut()
        time.sleep(plan.outage_seconds)
        proxy.heal()
    elif kind == "slow":
        proxy.delay(plan.slow_delay)
        time.sleep(plan.slow_seconds)
        proxy.heal()
    elif kind == "reset":
        proxy.reset()
    elif kind == "pg_restart":
        command = ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart"]
        subprocess.run(command, check=True, timeout=120)
    else:
        raise ValueError(f"unknown fault {kind!r}")


def check(engine: Engine, ledger: Ledger, receiver: Receiver, service: Service) -> list[str]:
    """Everything acknowledged stored exactly once; nothing half-done; nothing ran twice at once;
    every process stopped by SIGTERM in time."""
    problems: list[str] = [f"{name} did not stop after SIGTERM" for name in service.unstopped]
    with engine.connect() as db:
        held = db.execute(
            select(Job.locked_by, Job.locked_until).where(Job.status == JobStatus.RUNNING.value)
        ).all()
        texts = dict(
            db.execute(
                select(Message.text, func.count())
                .where(Message.text.like("m-%"))
                .group_by(Message.text)
            ).all()
        )
        history = db.execute(
            select(ParamHistory.key, ParamHistory.new_value, ParamHistory.instance_id)
        ).all()
        instances = db.execute(select(ProcessInstance.id, ProcessInstance.status)).all()
        open_tasks = dict(
            db.execute(
                select(UserTask.instance_id, func.count())
                .where(UserTask.state == TaskState.READY.value)
                .group_by(UserTask.instance_id)
            ).all()
        )
    for body in ledger.messages_acked:
        if texts.get(body, 0) != 1:
            problems.append(f"acknowledged message {body} stored {texts.get(body, 0)} times")
    for body in ledger.messages_tried:
        if texts.get(body, 0) > 1:
            problems.append(f"message {body} stored {texts[body]} times")
    problems += [f"a replay of {b} answered another message" for b in ledger.replays_differing]
    values: dict[tuple[str, Any], int] = {}
    for key, value, _instance in history:
        values[(key, value)] = values.get((key, value), 0) + 1
    for value in ledger.writes_acked:
        if values.get(("chaos_note", value), 0) != 1:
            problems.append(
                f"acknowledged write {value} stored {values.get(('chaos_note', value), 0)} times"
            )
    for ref in ledger.starts_acked:
        if values.get(("chaos_started", ref), 0) != 1:
            problems.append(
                f"acknowledged start {ref} stored {values.get(('chaos_started', ref), 0)} times"
            )
    for ref in ledger.starts_tried:
        if values.get(("chaos_started", ref), 0) > 1:
            problems.append(f"start {ref} ran {values[('chaos_started', ref)]} times")
    for answer in ledger.completions_acked:
        if values.get(("chaos_answer", answer), 0) != 1:
            problems.append(
                f"acknowledged completion {answer} stored {values.get(('chaos_answer', answer), 0)} times"
            )
    statuses = dict(instances)
    for instance_id, status in instances:
        if status == "running":
            problems.append(f"instance {instance_id} was left half-done (running)")
        if status == "waiting" and open_tasks.get(instance_id, 0) != 1:
            problems.append(
                f"waiting instance {instance_id} has {open_tasks.get(instance_id, 0)} open tasks"
            )
    for answer, instance_id in ledger.completions_acked.items():
        if statuses.get(instance_id) != "completed":
            problems.append(
                f"instance {instance_id} acknowledged complete ({answer}) is {statuses.get(instance_id)}"
            )
    # A job still claimed by a worker that SIGTERM stopped (not one killed with -9) waits for
    # its lease (5 min): a job worker hands back what it claimed but did not run, when it stops
    # and when a database fault cut its batch short, as soon as the database answers again.
    leases = [
        until
        for holder, until in held
        if until is not None and int(str(holder).split(":")[-2]) not in service.killed_jobs
    ]  # a worker's name is host:pid:random
    service.leased = len(leases)
    if leases:
        service.lease_wait = (max(leases) - datetime.now(UTC)).total_seconds()
        problems.append(
            f"{len(leases)} jobs left claimed by job workers stopped by SIGTERM (waiting up to "
            f"{service.lease_wait:.0f} s for their lease)"
        )
    problems += [f"webhook delivery {d} ran twice at the same time" for d in receiver.concurrent()]
    problems += [f"unclean error answer: {u}" for u in ledger.unclean[:10]]
    return problems


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
                clients = load.run(plan.clients)
                faults = [*plan.faults, *(("pg_restart",) if plan.pg_restart else ())]
                recovery = _faults(plan, faults, service, proxy)
                load.stop.set()
                for client in clients:
                    client.join(timeout=60)
                # No pause for the deliveries still due: SIGTERM while the job workers are busy
                # is the graceful shutdown to check (their jobs finished or released).
            finally:
                marks["stopping"] = time.monotonic()
                service.stop()
                marks["stopped"] = time.monotonic()
                log_tail = (Path(folder) / "service.log").read_bytes()[-4000:]
        problems = check(direct, load.ledger, receiver, service)
        direct.dispose()
    receiver.server.shutdown()
    marks["end"] = time.monotonic()
    print(
        "chaos phases: "
        + ", ".join(
            f"{b} {marks[b] - marks[a]:.1f} s" for a, b in zip(marks, list(marks)[1:], strict=False)
        ),
        file=sys.stderr,
    )
    if problems:
        problems.append("service log tail: " + log_tail.decode("utf-8", "replace"))
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
        problems=problems,
        recovery_seconds=recovery,
        deliveries=sum(len(v) for v in visits),
        duplicate_deliveries=sum(len(v) - 1 for v in visits if len(v) > 1),
        dropped=ledger.dropped,
        replays=ledger.replays,
        stop_seconds=service.stop_seconds,
        leased=service.leased,
        lease_wait=service.lease_wait,
    )


def _faults(
    plan: Plan, faults: list[str], service: Service, proxy: FaultyProxy
) -> dict[str, float]:
    """Spread the faults over the run; after each, how long until the service was ready."""
    gap = plan.seconds / (len(faults) + 1)
    began = time.monotonic()
    recovery: dict[str, float] = {}
    for index, kind in enumerate(faults, start=1):
        pause = began + index * gap - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        inject(kind, plan, service, proxy)
        took = wait_ready(service.port, 60)
        recovery[kind] = max(took, recovery.get(kind, 0.0))  # the slower of repeated faults
    rest = began + plan.seconds - time.monotonic()
    if rest > 0:
        time.sleep(rest)
    return recovery
