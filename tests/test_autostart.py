"""Processes started automatically on session events, on both databases."""

from __future__ import annotations

from textwrap import dedent

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.cli import cli
from bpm_livechat.demo.load import load_demo
from bpm_livechat.desk.livechats import get_live_chat
from bpm_livechat.desk.users import get_user
from bpm_livechat.errors import ValidationError
from bpm_livechat.models import Message, ProcessInstance, SupportSession
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.values import get_parameters, parameter_history, set_parameters
from bpm_livechat.persistence.transactions import session_factory, unit_of_work
from bpm_livechat.processes.autostart import SessionEvent, bind_event, fire_event, system_user
from bpm_livechat.processes.deployments import deploy, get_process
from bpm_livechat.sessions.lifecycle import close_session, get_session
from bpm_livechat.sessions.messages import add_message

TAGGER = dedent(
    """\
    <?xml version="1.0" encoding="UTF-8"?>
    <bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                      id="tagger_definitions" targetNamespace="http://example/tests">
      <bpmn:process id="tag_message" name="Tag message" isExecutable="true">
        <bpmn:startEvent id="received"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
        <bpmn:scriptTask id="tag" name="Tag" scriptFormat="python">
          <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
          <bpmn:script>if "refund" in text.lower():
        session.params["topics"] = ["returns"]
    session.params["summary"] = who + " wrote: " + text{failure}</bpmn:script>
        </bpmn:scriptTask>
        <bpmn:endEvent id="done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
        <bpmn:sequenceFlow id="f1" sourceRef="received" targetRef="tag" />
        <bpmn:sequenceFlow id="f2" sourceRef="tag" targetRef="done" />
      </bpmn:process>
    </bpmn:definitions>
    """
)


@pytest.fixture
def demo(factory: sessionmaker[Session]) -> int:
    """Demo data; returns the id of a Customer Support session."""
    with unit_of_work(factory) as db:
        load_demo(db, sessions_per_chat=3)
        chat = get_live_chat(db, "Customer Support")
        query = select(SupportSession.id).where(SupportSession.live_chat_id == chat.id)
        return db.scalars(query.order_by(SupportSession.id)).all()[1]


def _deploy_tagger(factory: sessionmaker[Session], failure: str = "") -> None:
    with unit_of_work(factory) as db:
        admin = get_user(db, "admin")
        bpmn = TAGGER.format(failure=failure).encode()
        deploy(db, bpmn, admin, [get_live_chat(db, "Customer Support")])
        mapping = {"text": "message.text", "who": "client.name"}
        bind_event(db, get_process(db, "tag_message"), "message_received", admin, mapping)


def test_mapping_is_validated(factory: sessionmaker[Session], demo: int) -> None:
    with unit_of_work(factory) as db:
        admin = get_user(db, "admin")
        process = get_process(db, "register_request")
        with pytest.raises(ValidationError) as caught:
            bind_event(db, process, "session_closed", admin, {
                "text": "message.text", "class": "client.name", "x": "client.password",
                "tier": "param.no_such_key",
            })  # fmt: skip
        assert caught.value.fields == {
            "text": "message.text exists only for message_received",
            "class": "not a valid variable name",
            "x": "unknown source 'client.password'",
            "tier": "unknown parameter 'no_such_key'",
        }
        with pytest.raises(ValidationError, match="unknown session event 'closed'"):
            bind_event(db, process, "closed", admin, {})


def test_closing_a_session_registers_a_request(factory: sessionmaker[Session], demo: int) -> None:
    with unit_of_work(factory) as db:
        operator = get_user(db, "operator")
        session = get_session(db, demo, operator)
        set_parameters(db, session, {"outcome": "escalated"}, user_actor(operator))
        close_session(db, session, operator)
        stamp = session.created_at.strftime("%Y%m%d")
    [result] = fire_event(factory, SessionEvent.SESSION_CLOSED, demo)
    assert (result.process_id, result.status, result.error) == (
        "register_request",
        "completed",
        None,
    )
    with unit_of_work(factory) as db:
        assert get_parameters(db, demo)["request_number"] == f"ESC-{stamp}-{demo:06d}"
        entry = parameter_history(db, demo, "request_number")[-1]
        assert entry.actor_user_id == system_user(db).id
        instance = db.get(ProcessInstance, result.instance_id)
        assert instance is not None and instance.started_by is not None
        assert instance.started_by.username == "system"


def test_client_message_starts_a_process_with_mapped_variables(
    factory: sessionmaker[Session], demo: int
) -> None:
    _deploy_tagger(factory)
    with unit_of_work(factory) as db:
        session = get_session(db, demo)
        add_message(db, session, "I want a Refund, please")
        client = session.client.name
    [result] = fire_event(factory, SessionEvent.MESSAGE_RECEIVED, demo, "I want a Refund, please")
    assert result.status == "completed"
    with unit_of_work(factory) as db:
        params = get_parameters(db, demo)
        assert params["summary"] == f"{client} wrote: I want a Refund, please"
        assert params["topics"] == ["returns"]


def test_a_failing_start_is_recorded_and_keeps_the_event(
    factory: sessionmaker[Session], demo: int
) -> None:
    _deploy_tagger(factory, failure="\nsession.params['satisfaction'] = 'very'")
    with unit_of_work(factory) as db:
        before = get_parameters(db, demo)
        add_message(db, get_session(db, demo), "refund now")
    [result] = fire_event(factory, SessionEvent.MESSAGE_RECEIVED, demo, "refund now")
    assert result.status == "failed"
    assert result.error is not None
    assert (result.error["kind"], result.error["element_id"]) == ("changeset", "tag")
    assert result.error["parameter_key"] == "satisfaction"
    with unit_of_work(factory) as db:
        assert get_parameters(db, demo) == before  # nothing of the failed step was applied
        count = select(func.count()).where(Message.session_id == demo, Message.text == "refund now")
        assert db.scalar(count) == 1  # the event itself is stored
        instance = db.get(ProcessInstance, result.instance_id)
        assert instance is not None and instance.status == "failed"
        assert instance.pending is not None
        assert instance.pending["variables"]["text"] == "refund now"


def test_processes_not_offered_in_the_live_chat_do_not_start(
    factory: sessionmaker[Session], demo: int
) -> None:
    _deploy_tagger(factory)
    with unit_of_work(factory) as db:
        sales = get_live_chat(db, "Sales")
        query = select(SupportSession.id).where(SupportSession.live_chat_id == sales.id)
        other = db.scalars(query).first()
        assert other is not None
    assert fire_event(factory, SessionEvent.MESSAGE_RECEIVED, other, "refund") == []


def test_cli_message_and_close_report_their_automatic_starts(engine: Engine, demo: int) -> None:
    _deploy_tagger(session_factory(engine))
    runner = CliRunner()
    args = ["--database-url", engine.url.render_as_string(hide_password=False)]
    done = runner.invoke(cli, [*args, "session", "message", str(demo), "refund!", "--json"])
    assert done.exit_code == 0, done.output
    assert '"process_id": "tag_message"' in done.output
    assert '"status": "completed"' in done.output
    refused = runner.invoke(cli, [*args, "session", "close", str(demo), "--as", "operator"])
    assert refused.exit_code == 1
    assert "required parameters are empty: outcome" in refused.output
