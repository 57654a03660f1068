"""The session's conversation and a process: a waiting process resumed by the client's next
message (exactly once, however often a channel retries its post), and a process talking back
with `session.reply`, a `client_reply` message, and `session.set_priority`, atomically with
its step. On both databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.desk.users import get_user
from bpm_livechat.desk.webhooks import add_webhook
from bpm_livechat.jobs.worker import Worker
from bpm_livechat.models import (
    InstanceWait,
    Job,
    LiveChat,
    Message,
    ProcessInstance,
    SessionHistory,
    User,
)
from bpm_livechat.params.values import get_parameters, parameter_history
from bpm_livechat.persistence.transactions import unit_of_work
from bpm_livechat.processes.deployments import deploy
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.failures import StepFailure
from bpm_livechat.processes.instances import start_process
from bpm_livechat.processes.steps import StepOutcome
from bpm_livechat.sessions.ingest import take_message
from bpm_livechat.sessions.lifecycle import get_session
from tests.api.support import bearer, make_app
from tests.support import Desk, MovingClock, flows, new_session, process_bpmn, run_step

START, END = '<bpmn:startEvent id="start" />', '<bpmn:endEvent id="end" />'
MESSAGES = ("client_message", "client_reply")
HEAR = '<bpmn:receiveTask id="hear" name="Wait for the client" messageRef="client_message" />'
NOTE = (
    '<bpmn:scriptTask id="note" name="Note it" scriptFormat="python">'
    '<bpmn:script>session.params["summary"] = message_text</bpmn:script></bpmn:scriptTask>'
)
LISTENER = START + HEAR + NOTE + END + flows("start", "hear", "note", "end")


def script(element_id: str, name: str, code: str) -> str:
    return (
        f'<bpmn:scriptTask id="{element_id}" name="{name}" scriptFormat="python">'
        f"<bpmn:script>{code}</bpmn:script></bpmn:scriptTask>"
    )


def _deploy(factory: sessionmaker[Session], scripts: Any, desk: Desk, body: str, name: str) -> None:
    with unit_of_work(factory) as db:
        admin = db.get_one(User, desk.admin.id)
        chat = db.get_one(LiveChat, desk.support.id)
        deploy(db, scripts, process_bpmn(body, "talker", name, MESSAGES), admin, [chat])


def _start(
    factory: sessionmaker[Session], engine: ProcessEngine, session_id: int
) -> StepOutcome | StepFailure:
    def step(db: Session) -> StepOutcome:
        session = get_session(db, session_id)
        return start_process(db, engine, session, "talker", {}, get_user(db, "olga"))

    return run_step(factory, step)


def _session(factory: sessionmaker[Session], desk: Desk) -> int:
    with unit_of_work(factory) as db:
        return new_session(db, desk).id


def _thread(factory: sessionmaker[Session], session_id: int) -> list[tuple[str, str, str]]:
    with factory() as db:
        query = select(Message.author_kind, Message.author_name, Message.text)
        rows = db.execute(query.where(Message.session_id == session_id).order_by(Message.id))
        return [(kind, name, text) for kind, name, text in rows]


def _jobs(factory: sessionmaker[Session]) -> list[tuple[str, str, dict[str, Any]]]:
    with factory() as db:
        rows = db.execute(select(Job.kind, Job.status, Job.payload).order_by(Job.id))
        return [(kind, status, payload) for kind, status, payload in rows]


@pytest.fixture
def talk(
    factory: sessionmaker[Session], timed_engine: ProcessEngine, desk: Desk, params: None
) -> tuple[sessionmaker[Session], ProcessEngine, Desk]:
    """What the tests here share: the database, the engine on the test's clock, the desk."""
    return factory, timed_engine, desk


def test_a_receive_task_is_resumed_by_the_next_client_message(
    talk: tuple[sessionmaker[Session], ProcessEngine, Desk],
    timed_worker: Worker,
    clock: MovingClock,
) -> None:
    factory, engine, desk = talk
    _deploy(factory, engine.scripts, desk, LISTENER, "Listener")
    session_id = _session(factory, desk)
    with unit_of_work(factory) as db:  # nobody waits yet: the message is no event
        taken = take_message(db, clock, session_id, get_user(db, "olga"), "too early")
        assert not taken.event_recorded
    outcome = _start(factory, engine, session_id)
    assert isinstance(outcome, StepOutcome)
    instance_id = outcome.instance.id
    with factory() as db:
        wait = db.scalars(select(InstanceWait)).one()
        assert (wait.instance_id, wait.session_id, wait.kind, wait.name, wait.element_id) == (
            instance_id,
            session_id,
            "message",
            "client_message",
            "hear",
        )
    with unit_of_work(factory) as db:  # an operator's message is not what it waits for
        olga = get_user(db, "olga")
        assert not take_message(db, clock, session_id, olga, "On it", "operator").event_recorded
        taken = take_message(db, clock, session_id, olga, "My order is #12")
        assert taken.event_recorded
    assert timed_worker.run_due() == 2  # the event, its delivery
    assert timed_worker.run_due() == 0
    with factory() as db:
        instance = db.get_one(ProcessInstance, instance_id)
        assert (instance.status, instance.waiting_for) == ("completed", [])
        assert get_parameters(db, session_id)["summary"] == "My order is #12"
        assert db.scalars(select(InstanceWait)).all() == []
    assert [(kind, status) for kind, status, _payload in _jobs(factory)] == [
        ("session_event", "done"),
        ("deliver", "done"),
    ]
    assert _jobs(factory)[1][2] == {
        "message": "client_message",
        "data": {"message_text": "My order is #12"},
    }
    with unit_of_work(factory) as db:  # the next message finds nobody waiting
        olga = get_user(db, "olga")
        assert not take_message(db, clock, session_id, olga, "Hello?").event_recorded


@pytest.fixture
def api(engine: Engine, process_engine: ProcessEngine) -> Iterator[Flask]:
    """The REST API on the test database (the run's process engine, the system's clock)."""
    app = make_app(engine, process_engine)
    yield app
    app.extensions["bpm_livechat.engine"].dispose()


def test_a_retried_client_post_resumes_the_waiting_process_exactly_once(
    api: Flask,
    factory: sessionmaker[Session],
    db_session: Session,
    process_engine: ProcessEngine,
    desk: Desk,
    params: None,
    worker: Worker,
) -> None:
    _deploy(factory, process_engine.scripts, desk, LISTENER, "Listener")
    session_id = _session(factory, desk)
    started = _start(factory, process_engine, session_id)
    assert isinstance(started, StepOutcome)
    headers = {**bearer(db_session, desk.widget), "Idempotency-Key": "widget-7-msg-1"}
    db_session.commit()
    client: FlaskClient = api.test_client()
    url = f"/api/v1/sessions/{session_id}/messages"
    body = {"text": "Where is parcel 7?", "author_kind": "client"}
    answers = [client.post(url, json=body, headers=headers) for _ in range(2)]
    assert worker.run_due() == 2  # one event, one delivery
    answers.append(client.post(url, json=body, headers=headers))  # a retry after it ran
    assert worker.run_due() == 0
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert [a.headers.get("Idempotent-Replayed") for a in answers] == [None, "true", "true"]
    assert answers[1].get_json() == answers[0].get_json() == answers[2].get_json()
    assert _thread(factory, session_id) == [("client", "Jane Doe", "Where is parcel 7?")]
    assert [(kind, status) for kind, status, _payload in _jobs(factory)] == [
        ("session_event", "done"),
        ("deliver", "done"),
    ]
    with factory() as db:
        instance = db.get_one(ProcessInstance, started.instance.id)
        assert instance.status == "completed"
        assert [h.new_value for h in parameter_history(db, session_id, "summary")] == [
            "Where is parcel 7?"
        ]


GREET = script("greet", "Greet", 'session.reply("Hello " + session.client.name + "!")')
FAIL = script("check", "Check", "total = 1 / 0")


@pytest.mark.parametrize("fails", [False, True], ids=["succeeds", "fails-after-replying"])
def test_session_reply_is_stored_and_announced_only_with_its_step(
    talk: tuple[sessionmaker[Session], ProcessEngine, Desk], fails: bool
) -> None:
    factory, engine, desk = talk
    with unit_of_work(factory) as db:
        add_webhook(db, "CRM", "http://127.0.0.1:9/hooks", events=["message"])
    body = START + GREET + FAIL + END + flows("start", "greet", "check", "end")
    if not fails:
        body = START + GREET + END + flows("start", "greet", "end")
    _deploy(factory, engine.scripts, desk, body, "Greeter")
    session_id = _session(factory, desk)
    outcome = _start(factory, engine, session_id)
    if fails:
        assert isinstance(outcome, StepFailure)
        assert outcome.error["element_id"] == "check"
        assert outcome.instance.status == "failed"
        assert (_thread(factory, session_id), _jobs(factory)) == ([], [])
        return
    assert isinstance(outcome, StepOutcome)
    assert _thread(factory, session_id) == [("process", "Greeter", "Hello Jane Doe!")]
    with factory() as db:
        message = db.scalars(select(Message)).one()
        assert message.author_user_id is None
    assert _jobs(factory) == [
        (
            "session_event",
            "pending",
            {
                "event": "process_message",
                "instance_id": outcome.instance.id,
                "message_ids": [message.id],
            },
        )
    ]


@pytest.mark.parametrize(
    ("level", "priority", "history"),
    [
        ("urgent", "urgent", ["Priority normal -> urgent, set by Prioritizer (Raise it)"]),
        ("normal", "normal", []),  # unchanged: nothing to record
    ],
)
def test_set_priority_changes_the_priority_with_a_history_entry(
    talk: tuple[sessionmaker[Session], ProcessEngine, Desk],
    level: str,
    priority: str,
    history: list[str],
) -> None:
    factory, engine, desk = talk
    body = START + script("raise", "Raise it", f'session.set_priority("{level}")') + END
    _deploy(factory, engine.scripts, desk, body + flows("start", "raise", "end"), "Prioritizer")
    session_id = _session(factory, desk)
    outcome = _start(factory, engine, session_id)
    assert isinstance(outcome, StepOutcome)
    with factory() as db:
        assert get_session(db, session_id).priority == priority
        entries = db.scalars(select(SessionHistory).where(SessionHistory.session_id == session_id))
        found = [(e.kind, e.summary, e.detail, e.actor_user_id, e.instance_id) for e in entries]
    assert found == [
        ("priority", text, {"old": "normal", "new": "urgent", "element_id": "raise"},
         desk.operator.id, outcome.instance.id)
        for text in history
    ]  # fmt: skip


def test_an_unknown_priority_fails_the_step(
    talk: tuple[sessionmaker[Session], ProcessEngine, Desk],
) -> None:
    factory, engine, desk = talk
    body = START + script("raise", "Raise it", 'session.set_priority("critical")') + END
    _deploy(factory, engine.scripts, desk, body + flows("start", "raise", "end"), "Prioritizer")
    session_id = _session(factory, desk)
    outcome = _start(factory, engine, session_id)
    assert isinstance(outcome, StepFailure)
    assert (outcome.error["kind"], outcome.error["element_id"], outcome.error["message"]) == (
        "runtime",
        "raise",
        "ValueError: set_priority: the level must be one of low, normal, high, urgent, got "
        "'critical'",
    )
    with factory() as db:
        assert get_session(db, session_id).priority == "normal"


def text_input(text: str) -> str:
    return (
        "<bpmn:extensionElements><camunda:inputOutput>"
        f'<camunda:inputParameter name="text">{text}</camunda:inputParameter>'
        "</camunda:inputOutput></bpmn:extensionElements>"
    )


def send_task(text: str | None) -> str:
    io = "" if text is None else text_input(text)
    return f'<bpmn:sendTask id="tell" name="Tell" messageRef="client_reply">{io}</bpmn:sendTask>'


def thrown(tag: str, text: str) -> str:
    return (
        f'<bpmn:{tag} id="tell" name="Tell">{text_input(text)}'
        f'<bpmn:messageEventDefinition messageRef="client_reply" /></bpmn:{tag}>'
    )


PREPARE = script("prepare", "Prepare", 'ticket = "T-42"\nwho = session.client.name.split(" ")[0]')
PREPARE_TEXT = script("prepare", "Prepare", 'reply_text = "Plain text from task data"')


@pytest.mark.parametrize(
    ("prepare", "tell", "text"),
    [
        (PREPARE, send_task("Your ticket {ticket} is open, {who}."), "Your ticket T-42 is open, Jane."),
        (PREPARE, thrown("intermediateThrowEvent", "Thanks {who}, ticket {ticket}"), "Thanks Jane, ticket T-42"),
        (PREPARE, thrown("endEvent", "Bye {who}!"), "Bye Jane!"),
        (PREPARE, send_task("{{literal}} braces for {who}"), "{literal} braces for Jane"),
        (PREPARE_TEXT, send_task(None), "Plain text from task data"),
    ],
    ids=["send-task", "throw-event", "end-event", "escaped-braces", "reply-text-variable"],
)  # fmt: skip
def test_client_reply_text_is_rendered_from_task_data(
    talk: tuple[sessionmaker[Session], ProcessEngine, Desk], prepare: str, tell: str, text: str
) -> None:
    factory, engine, desk = talk
    ends = 'id="tell"' in tell and "endEvent" in tell
    body = START + prepare + tell + ("" if ends else END)
    path = ("start", "prepare", "tell") if ends else ("start", "prepare", "tell", "end")
    _deploy(factory, engine.scripts, desk, body + flows(*path), "Helpdesk bot")
    session_id = _session(factory, desk)
    outcome = _start(factory, engine, session_id)
    assert isinstance(outcome, StepOutcome)
    assert outcome.instance.status == "completed"
    assert _thread(factory, session_id) == [("process", "Helpdesk bot", text)]


@pytest.mark.parametrize(
    ("prepare", "tell", "message"),
    [
        (PREPARE, send_task("Ticket {missing}"), "the reply text names {missing}, which is not in task data"),
        (script("prepare", "Prepare", "x = 1"), send_task(None),
         "client_reply needs a 'text' input parameter or text in task data 'reply_text'"),
        (script("prepare", "Prepare", 'blank = "  "'), send_task("{blank}"), "client_reply text is empty"),
    ],
    ids=["unknown-placeholder", "no-text", "empty-text"],
)  # fmt: skip
def test_a_client_reply_that_cannot_be_rendered_fails_its_step(
    talk: tuple[sessionmaker[Session], ProcessEngine, Desk], prepare: str, tell: str, message: str
) -> None:
    factory, engine, desk = talk
    body = START + prepare + tell + END + flows("start", "prepare", "tell", "end")
    _deploy(factory, engine.scripts, desk, body, "Helpdesk bot")
    session_id = _session(factory, desk)
    outcome = _start(factory, engine, session_id)
    assert isinstance(outcome, StepFailure)
    assert (outcome.error["kind"], outcome.error["element_id"], outcome.error["message"]) == (
        "changeset",
        "tell",
        message,
    )
    assert _thread(factory, session_id) == []
