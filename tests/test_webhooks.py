"""Outbound webhooks end to end: a local receiver that checks every signature, the exact body of
an operator's message, retries with backoff, a delivery that fails for good and is delivered
again from the admin page, the guard against link-local and metadata targets, and the API."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.automation.fan_out import WEBHOOK_TRIES
from bpm_livechat.clock import SYSTEM_CLOCK
from bpm_livechat.desk.users import get_user
from bpm_livechat.desk.webhooks import (
    ALLOW_ENV,
    WebhookTargetRefused,
    add_webhook,
    check_target,
    set_active,
)
from bpm_livechat.jobs.worker import Worker
from bpm_livechat.models import Job, LiveChat, Message, SupportSession, User, WebhookSubscription
from bpm_livechat.persistence.transactions import unit_of_work
from bpm_livechat.processes.deployments import deploy
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.instances import start_process
from bpm_livechat.sessions.ingest import take_message
from bpm_livechat.sessions.lifecycle import get_session
from tests.api.support import bearer, make_app
from tests.support import Desk, MovingClock, flows, new_session, process_bpmn, run_ok
from tests.web.support import Browser
from web import create_app


@dataclass
class Received:
    """One request the receiver got, and whether its signature matched the secret."""

    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    answered: int


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1: answers with `statuses` in turn (then 200)."""

    statuses: list[int] = field(default_factory=list)
    secret: str = ""
    requests: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        headers = dict(handler.headers.items())
        stamp = headers.get("X-BpmLivechat-Timestamp", "")
        digest = hmac.new(self.secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        given = headers.get("X-BpmLivechat-Signature", "")
        verified = hmac.compare_digest(f"v1={digest.hexdigest()}", given)
        status = self.statuses.pop(0) if self.statuses else 200
        self.requests.append(Received(handler.path, headers, body, verified, status))
        handler.send_response(status)
        handler.send_header("Content-Length", "2")
        handler.end_headers()
        handler.wfile.write(b"ok")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver serving from a thread for the test."""
    found = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            found.handle(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _subscribe(
    factory: sessionmaker[Session], url: str, events: tuple[str, ...] = ("message",)
) -> str:
    """A webhook for every channel; its secret."""
    with unit_of_work(factory) as db:
        return add_webhook(db, "CRM", url, events=events).secret


def _say(factory: sessionmaker[Session], clock: MovingClock, session_id: int, text: str) -> int:
    """An operator's message (Olga's); its id."""
    with unit_of_work(factory) as db:
        taken = take_message(db, clock, session_id, get_user(db, "olga"), text, "operator")
        assert taken.event_recorded
        return taken.message.id


def _webhook_job(factory: sessionmaker[Session]) -> Job:
    with factory() as db:
        return db.scalars(select(Job).where(Job.kind == "webhook")).one()


def _compact(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def test_an_operator_message_is_posted_signed_with_its_exact_body(
    factory: sessionmaker[Session],
    db_session: Session,
    desk: Desk,
    timed_worker: Worker,
    clock: MovingClock,
    receiver: Receiver,
) -> None:
    session_id = new_session(db_session, desk).id
    receiver.secret = _subscribe(factory, f"{receiver.url}/hooks?source=desk")
    message_id = _say(factory, clock, session_id, "We shipped it — “today”")
    assert receiver.requests == []  # sent by a worker, after the commit
    assert timed_worker.run_due() == 2  # the event fanned out, then the POST
    assert timed_worker.run_due() == 0
    job = _webhook_job(factory)
    assert (job.status, job.attempts, job.last_error) == ("done", 1, None)
    [got] = receiver.requests
    with factory() as db:
        event_id = db.scalars(select(Job.id).where(Job.kind == "session_event")).one()
        session = db.get_one(SupportSession, session_id)
        created_at, message = session.created_at, db.get_one(Message, message_id)
    expected = {
        "id": event_id,
        "event": "message.created",
        "occurred_at": clock.now().isoformat(),
        "session": {
            "id": session_id,
            "live_chat": "Support",
            "channel": "Website",
            "client": "Jane Doe",
            "client_email": None,
            "operator": "Olga Operator",
            "priority": "normal",
            "status": "active",
            "subject": "Help",
            "name": "Jane Doe — Help",
            "created_at": created_at.isoformat(),
            "closed_at": None,
        },
        "messages": [
            {
                "id": message_id,
                "author_kind": "operator",
                "author_name": "Olga Operator",
                "text": "We shipped it — “today”",
                "sent_at": clock.now().isoformat(),
            }
        ],
    }
    assert message.sent_at == clock.now()
    assert json.loads(got.body) == expected
    assert got.body == _compact(expected)  # compact, keys sorted, UTF-8
    assert got.path == "/hooks?source=desk"
    assert got.verified
    assert {k: v for k, v in got.headers.items() if k.startswith(("X-", "Content-", "User-"))} == {
        "Content-Type": "application/json",
        "Content-Length": str(len(got.body)),
        "User-Agent": "bpm-livechat-webhooks",
        "X-BpmLivechat-Event": "message.created",
        "X-BpmLivechat-Delivery": str(job.id),
        "X-BpmLivechat-Timestamp": str(int(clock.now().timestamp())),
        "X-BpmLivechat-Signature": got.headers["X-BpmLivechat-Signature"],
    }
    assert got.headers["Host"] == f"127.0.0.1:{receiver.port}"


def test_a_webhook_for_another_channel_or_event_gets_nothing(
    factory: sessionmaker[Session],
    db_session: Session,
    desk: Desk,
    timed_worker: Worker,
    clock: MovingClock,
    receiver: Receiver,
) -> None:
    session_id = new_session(db_session, desk).id
    with unit_of_work(factory) as db:
        telegram = next(
            c for c in db.get_one(LiveChat, desk.support.id).channels if c.name == "Telegram"
        )
        add_webhook(db, "Telegram only", receiver.url, channel=telegram, events=["message"])
        add_webhook(db, "Closings", receiver.url, events=["closed"])
    _say(factory, clock, session_id, "Hello")  # recorded: some webhook wants messages...
    assert timed_worker.run_due() == 1  # ...but not of this channel: the fan-out sends nothing
    assert receiver.requests == []


def test_a_delivery_written_before_its_webhook_was_paused_is_not_sent(
    factory: sessionmaker[Session],
    db_session: Session,
    desk: Desk,
    timed_worker: Worker,
    clock: MovingClock,
    receiver: Receiver,
) -> None:
    session_id = new_session(db_session, desk).id
    _subscribe(factory, receiver.url)
    _say(factory, clock, session_id, "Hello")
    assert timed_worker.run_due(limit=1) == 1  # the event fans out into a delivery...
    with unit_of_work(factory) as db:  # ...then the admin pauses the webhook
        set_active(db, db.scalars(select(WebhookSubscription.id)).one(), False)
    assert timed_worker.run_due() == 1
    job = _webhook_job(factory)
    assert (job.status, job.attempts, receiver.requests) == ("done", 1, [])


def test_a_refused_delivery_is_retried_after_its_backoff_and_delivered_once(
    factory: sessionmaker[Session],
    db_session: Session,
    desk: Desk,
    timed_worker: Worker,
    clock: MovingClock,
    receiver: Receiver,
) -> None:
    session_id = new_session(db_session, desk).id
    receiver.secret = _subscribe(factory, f"{receiver.url}/hooks")
    receiver.statuses = [500, 503]
    _say(factory, clock, session_id, "Your refund is on its way")
    assert timed_worker.run_due() == 2
    first_try = clock.now()
    for tries, backoff, status in ((1, 1, 500), (2, 2, 503)):
        job = _webhook_job(factory)
        assert (job.status, job.attempts, job.last_error) == (
            "pending",
            tries,
            f"{receiver.url}/hooks answered {status}",
        )
        assert job.due_at == clock.now() + timedelta(seconds=backoff)
        assert timed_worker.run_due() == 0
        clock.advance(seconds=backoff)
        assert timed_worker.run_due() == 1
    job = _webhook_job(factory)
    assert (job.status, job.attempts) == ("done", 3)
    clock.advance(hours=1)
    assert timed_worker.run_due() == 0
    requests = receiver.requests
    assert [r.answered for r in requests] == [500, 503, 200]  # one delivery arrived
    assert all(r.verified for r in requests)
    assert {r.headers["X-BpmLivechat-Delivery"] for r in requests} == {str(job.id)}
    assert {r.body for r in requests} == {requests[0].body}  # the same bytes on every try
    stamps = [
        int(r.headers["X-BpmLivechat-Timestamp"]) - int(first_try.timestamp()) for r in requests
    ]
    assert stamps == [0, 1, 3]


@pytest.fixture
def web_app(engine: Engine, tmp_path: Path, process_engine: ProcessEngine) -> Iterator[Flask]:
    """The web app (pages and API) on the test database."""
    app = create_app(
        {
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "SECRET_KEY": "test-secret",
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
        },
        processes=process_engine,
    )
    yield app
    app.extensions["bpm_livechat.engine"].dispose()


def test_a_receiver_down_for_every_try_fails_the_delivery_and_an_admin_delivers_it_again(
    factory: sessionmaker[Session],
    db_session: Session,
    desk: Desk,
    timed_worker: Worker,
    clock: MovingClock,
    web_app: Flask,
) -> None:
    session_id = new_session(db_session, desk).id
    url = f"http://127.0.0.1:{closed_port()}/hooks"
    _subscribe(factory, url)
    _say(factory, clock, session_id, "Anyone there?")
    assert timed_worker.run_due() == 2
    delays = []
    while (job := _webhook_job(factory)).status == "pending":
        delays.append(int((job.due_at - clock.now()).total_seconds()))
        clock.at = job.due_at
        assert timed_worker.run_due() == 1
    assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]  # capped at 5 minutes
    error = f"{url}: ConnectionRefusedError: [Errno 111] Connection refused"
    assert (job.status, job.attempts, job.max_attempts, job.last_error) == (
        "failed",
        WEBHOOK_TRIES,
        WEBHOOK_TRIES,
        error,
    )
    admin = Browser(web_app.test_client()).login("admin")
    page = admin.get("/admin/webhooks").get_data(as_text=True)
    assert 'Failed deliveries <span class="count">1</span>' in page
    assert f"<td>{job.id}</td><td>message.created</td>" in page
    assert f"<td>{WEBHOOK_TRIES}/{WEBHOOK_TRIES}</td>" in page
    assert error in page
    action = f"/admin/webhooks/deliveries/{job.id}/redeliver"
    assert f'action="{action}"' in page and "Deliver again" in page
    answer = admin.post(action)
    assert (answer.status_code, answer.headers["Location"]) == (303, "/admin/webhooks")
    job = _webhook_job(factory)
    assert (job.status, job.attempts, job.finished_at) == ("pending", 0, None)
    page = admin.get("/admin/webhooks").get_data(as_text=True)
    assert 'Failed deliveries <span class="count">0</span>' in page
    assert f"Delivery {job.id} is due again." in page
    operator = Browser(web_app.test_client()).login("olga")
    assert operator.post(action).status_code == 403


REFUSED = [
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 resolves to 169.254.169.254, a cloud metadata address", "169.254.169.254"),
    ("http://[fd00:ec2::254]/", "fd00:ec2::254 resolves to fd00:ec2::254, a cloud metadata address", "fd00:ec2::254"),
    ("http://100.100.100.200/", "100.100.100.200 resolves to 100.100.100.200, a cloud metadata address", "100.100.100.200/32"),
    ("http://169.254.10.20:8080/hook", "169.254.10.20 resolves to 169.254.10.20, a link-local address", "169.254.0.0/16"),
    ("http://[fe80::1]:8080/hook", "fe80::1 resolves to fe80::1, a link-local address", "fe80::/10"),
    ("http://0.0.0.0/", "0.0.0.0 resolves to 0.0.0.0, not an address a webhook can reach", "0.0.0.0"),
]  # fmt: skip


@pytest.mark.parametrize(("url", "problem", "allow"), REFUSED)
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_the_guard_refuses_link_local_and_metadata_targets_unless_allowed(
    db_session: Session, monkeypatch: pytest.MonkeyPatch, url: str, problem: str, allow: str
) -> None:
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    message = f"{problem}; name it in BPM_LIVECHAT_WEBHOOK_ALLOW to allow it"
    with pytest.raises(WebhookTargetRefused) as caught:
        add_webhook(db_session, "Sneaky", url)
    assert (caught.value.message, caught.value.fields) == (message, {"url": message})
    monkeypatch.setenv(ALLOW_ENV, f"10.0.0.0/8, {allow}")
    webhook = add_webhook(db_session, "Allowed", url)
    assert webhook.url == url
    target = check_target(url)
    assert target.address == problem.split()[0]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "not a web address: 'ftp://example.com/x' (use http:// or https://)"),
        ("http://user:secret@127.0.0.1/", "put no user name or password in the URL; use the secret"),
        ("http://no-such-host.invalid/", "the host 'no-such-host.invalid' cannot be resolved"),
    ],
)  # fmt: skip
def test_other_targets_refused(url: str, message: str) -> None:
    with pytest.raises(WebhookTargetRefused) as caught:
        check_target(url, ["0.0.0.0/0", "::/0"])
    assert (caught.value.message, caught.value.fields) == (message, {"url": message})


def test_the_guard_runs_again_before_each_delivery(
    factory: sessionmaker[Session],
    db_session: Session,
    desk: Desk,
    timed_worker: Worker,
    clock: MovingClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    session_id = new_session(db_session, desk).id
    monkeypatch.setenv(ALLOW_ENV, "169.254.169.254")
    _subscribe(factory, "http://169.254.169.254/hook")
    monkeypatch.delenv(ALLOW_ENV)  # allowed when saved, no longer
    _say(factory, clock, session_id, "Hello")
    assert timed_worker.run_due() == 2
    job = _webhook_job(factory)
    assert (job.status, job.attempts, job.last_error) == (
        "pending",
        1,
        "169.254.169.254 resolves to 169.254.169.254, a cloud metadata address; name it in "
        "BPM_LIVECHAT_WEBHOOK_ALLOW to allow it",
    )


def test_a_process_reply_is_posted_with_its_message(
    factory: sessionmaker[Session],
    db_session: Session,
    desk: Desk,
    params: None,
    timed_engine: ProcessEngine,
    timed_worker: Worker,
    clock: MovingClock,
    receiver: Receiver,
) -> None:
    session_id = new_session(db_session, desk).id
    receiver.secret = _subscribe(factory, receiver.url)
    body = (
        '<bpmn:startEvent id="start" /><bpmn:scriptTask id="greet" name="Greet">'
        '<bpmn:script>session.reply("Hello from the bot")</bpmn:script></bpmn:scriptTask>'
        '<bpmn:endEvent id="end" />' + flows("start", "greet", "end")
    )
    with unit_of_work(factory) as db:
        admin, chat = db.get_one(User, desk.admin.id), db.get_one(LiveChat, desk.support.id)
        deploy(db, timed_engine.scripts, process_bpmn(body, "greeter", "Greeter"), admin, [chat])

    def start(db: Session) -> Any:
        session = get_session(db, session_id)
        return start_process(db, timed_engine, session, "greeter", {}, get_user(db, "olga"))

    run_ok(factory, start)
    assert timed_worker.run_due() == 2
    [got] = receiver.requests
    assert got.verified
    sent = json.loads(got.body)
    assert sent["event"] == "message.created"
    assert [(m["author_kind"], m["author_name"], m["text"]) for m in sent["messages"]] == [
        ("process", "Greeter", "Hello from the bot")
    ]


# -- the API ----------------------------------------------------------------------------------


@pytest.fixture
def api(engine: Engine, process_engine: ProcessEngine) -> Iterator[Flask]:
    app = make_app(engine, process_engine)
    yield app
    app.extensions["bpm_livechat.engine"].dispose()


def test_webhooks_and_jobs_through_the_api(
    api: Flask,
    db_session: Session,
    desk: Desk,
    factory: sessionmaker[Session],
    receiver: Receiver,
) -> None:
    admin, operator = bearer(db_session, desk.admin), bearer(db_session, desk.operator)
    db_session.commit()
    client = api.test_client()
    body = {
        "name": "CRM", "url": f"{receiver.url}/in", "live_chat": "Support", "channel": "Website",
        "events": ["message", "closed"],
    }  # fmt: skip
    for method, path in [
        ("GET", "/api/v1/webhooks"),
        ("POST", "/api/v1/webhooks"),
        ("GET", "/api/v1/jobs"),
        ("POST", "/api/v1/jobs/1/retry"),
        ("POST", "/api/v1/jobs/1/cancel"),
        ("POST", "/api/v1/webhooks/1/pause"),
    ]:
        refused = client.open(
            path, method=method, json=body if method == "POST" else None, headers=operator
        )
        assert (refused.status_code, refused.get_json()["error"]["message"]) == (
            403,
            "jobs and webhooks are for admins",
        ), path
    created = client.post("/api/v1/webhooks", json=body, headers=admin)
    assert created.status_code == 201, created.get_json()
    out = created.get_json()
    secret = out.pop("secret")
    assert len(secret) >= 40
    assert out == {
        "id": out["id"], "name": "CRM", "url": f"{receiver.url}/in", "channel": "Support/Website",
        "events": ["message", "closed"], "active": True,
    }  # fmt: skip
    with factory() as db:
        assert db.scalars(select(Job)).all() == []
        assert db.get_one(WebhookSubscription, out["id"]).secret == secret
    listed = client.get("/api/v1/webhooks", headers=admin).get_json()["items"]
    assert listed == [out]  # the secret is shown once only
    paused = client.post(f"/api/v1/webhooks/{out['id']}/pause", headers=admin).get_json()
    assert paused["active"] is False
    resumed = client.post(f"/api/v1/webhooks/{out['id']}/resume", headers=admin).get_json()
    assert resumed["active"] is True
    bad = client.post(
        "/api/v1/webhooks", json={"name": "Meta", "url": "http://169.254.169.254/"}, headers=admin
    )
    assert bad.status_code == 422
    assert bad.get_json()["error"]["fields"] == {
        "url": "169.254.169.254 resolves to 169.254.169.254, a cloud metadata address; name it "
        "in BPM_LIVECHAT_WEBHOOK_ALLOW to allow it"
    }
    unknown = client.post(
        "/api/v1/webhooks", json={**body, "channel": "Fax"}, headers=admin
    ).get_json()
    assert unknown["error"]["fields"] == {"channel": "unknown"}

    session_id = new_session(db_session, desk).id
    with unit_of_work(factory) as db:
        take_message(db, SYSTEM_CLOCK, session_id, get_user(db, "olga"), "Hi", "operator")
    jobs = client.get("/api/v1/jobs", headers=admin).get_json()["items"]
    assert [(j["kind"], j["status"], j["session_id"], j["attempts"]) for j in jobs] == [
        ("session_event", "pending", session_id, 0)
    ]
    job_id = jobs[0]["id"]
    assert client.get("/api/v1/jobs?status=done", headers=admin).get_json()["items"] == []
    assert client.get("/api/v1/jobs?status=stuck", headers=admin).status_code == 422
    again = client.post(f"/api/v1/jobs/{job_id}/retry", headers=admin)
    assert again.status_code == 409
    assert again.get_json()["error"]["message"] == (
        f"job {job_id} is pending; only failed or cancelled jobs retry"
    )
    cancelled = client.post(f"/api/v1/jobs/{job_id}/cancel", headers=admin)
    assert (cancelled.status_code, cancelled.get_json()["status"]) == (200, "cancelled")
    retried = client.post(f"/api/v1/jobs/{job_id}/retry", headers=admin)
    assert (retried.status_code, retried.get_json()["status"], retried.get_json()["attempts"]) == (
        200,
        "pending",
        0,
    )
    assert client.post("/api/v1/jobs/999999/retry", headers=admin).status_code == 404
