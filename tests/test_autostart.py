"""Processes started automatically on session events, on both databases."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.cli import cli
from bpm_livechat.desk.livechats import get_live_chat
from bpm_livechat.desk.users import get_user
from bpm_livechat.errors import ValidationError
from bpm_livechat.models import Message, ProcessInstance, SupportSession
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.values import get_parameters, parameter_history, set_parameters
from bpm_livechat.persistence.transactions import unit_of_work
from bpm_livechat.processes.autostart import SessionEvent, bind_event, fire_event, system_user
from bpm_livechat.processes.deployments import get_process
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.sessions.lifecycle import close_session, get_session
from bpm_livechat.sessions.messages import add_message
from tests.support import AutostartDemo


@pytest.fixture
def demo(autostart_demo: AutostartDemo) -> int:
    """The demo with the tagger bound to client messages; a Customer Support session's id."""
    return autostart_demo.session_id


FAILING = "\nsession.params['satisfaction'] = 'very'"


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


def test_closing_a_session_registers_a_request(
    factory: sessionmaker[Session], demo: int, process_engine: ProcessEngine
) -> None:
    with unit_of_work(factory) as db:
        operator = get_user(db, "operator")
        session = get_session(db, demo, operator)
        set_parameters(db, session, {"outcome": "escalated"}, user_actor(operator))
        close_session(db, session, operator)
        stamp = session.created_at.strftime("%Y%m%d")
    [result] = fire_event(factory, process_engine, SessionEvent.SESSION_CLOSED, demo)
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
    factory: sessionmaker[Session], demo: int, process_engine: ProcessEngine
) -> None:
    with unit_of_work(factory) as db:
        session = get_session(db, demo)
        add_message(db, session, "I want a Refund, please")
        client = session.client.name
    [result] = fire_event(
        factory,
        process_engine,
        SessionEvent.MESSAGE_RECEIVED,
        demo,
        "I want a Refund, please",
    )
    assert result.status == "completed"
    with unit_of_work(factory) as db:
        params = get_parameters(db, demo)
        assert params["summary"] == f"{client} wrote: I want a Refund, please"
        assert params["topics"] == ["returns"]


@pytest.mark.parametrize("autostart_demo", [FAILING], indirect=True)
def test_a_failing_start_is_recorded_and_keeps_the_event(
    factory: sessionmaker[Session], demo: int, process_engine: ProcessEngine
) -> None:
    with unit_of_work(factory) as db:
        before = get_parameters(db, demo)
        add_message(db, get_session(db, demo), "refund now")
    [result] = fire_event(
        factory, process_engine, SessionEvent.MESSAGE_RECEIVED, demo, "refund now"
    )
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
    factory: sessionmaker[Session], demo: int, process_engine: ProcessEngine
) -> None:
    with unit_of_work(factory) as db:
        sales = get_live_chat(db, "Sales")
        query = select(SupportSession.id).where(SupportSession.live_chat_id == sales.id)
        other = db.scalars(query).first()
        assert other is not None
    assert fire_event(factory, process_engine, SessionEvent.MESSAGE_RECEIVED, other, "refund") == []


def test_cli_message_and_close_report_their_automatic_starts(engine: Engine, demo: int) -> None:
    runner = CliRunner()
    args = ["--database-url", engine.url.render_as_string(hide_password=False)]
    done = runner.invoke(cli, [*args, "session", "message", str(demo), "refund!", "--json"])
    assert done.exit_code == 0, done.output
    assert '"process_id": "tag_message"' in done.output
    assert '"status": "completed"' in done.output
    refused = runner.invoke(cli, [*args, "session", "close", str(demo), "--as", "operator"])
    assert refused.exit_code == 1
    assert "required parameters are empty: outcome" in refused.output
