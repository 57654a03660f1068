"""Processes started automatically on session events, through the job table, on both databases."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.cli import cli
from bpm_livechat.desk.livechats import get_live_chat
from bpm_livechat.desk.users import get_user, system_user
from bpm_livechat.errors import ValidationError
from bpm_livechat.jobs.worker import Worker
from bpm_livechat.models import Job, Message, ProcessInstance, SupportSession
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.values import get_parameters, parameter_history, set_parameters
from bpm_livechat.persistence.transactions import unit_of_work
from bpm_livechat.processes.autostart import bind_event
from bpm_livechat.processes.deployments import get_process
from bpm_livechat.sessions.events import SessionEvent, record_event
from bpm_livechat.sessions.lifecycle import close_session, get_session
from bpm_livechat.sessions.messages import add_message
from tests.support import AutostartDemo, MovingClock

FAILING = "\nsession.params['satisfaction'] = 'very'"


@pytest.fixture
def demo(autostart_demo: AutostartDemo) -> int:
    """The demo with the tagger bound to client messages; a Customer Support session's id."""
    return autostart_demo.session_id


def _message(
    factory: sessionmaker[Session], clock: MovingClock, session_id: int, text: str
) -> bool:
    """A client's message stored with its event, as a channel's ingest does; True if queued."""
    with unit_of_work(factory) as db:
        added = add_message(db, get_session(db, session_id), text)
        event = SessionEvent.MESSAGE_RECEIVED
        return record_event(db, clock, event, session_id, {"message_id": added.id})


def _jobs(db: Session, **where: object) -> list[tuple[str, str]]:
    query = select(Job.kind, Job.status).order_by(Job.id)
    for column, value in where.items():
        query = query.where(getattr(Job, column) == value)
    return [(kind, status) for kind, status in db.execute(query)]


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
        with pytest.raises(ValidationError, match="unknown session event 'parameter_changed'"):
            bind_event(db, process, "parameter_changed", admin, {})


def test_closing_a_session_registers_a_request(
    factory: sessionmaker[Session], demo: int, worker: Worker, clock: MovingClock
) -> None:
    with unit_of_work(factory) as db:
        operator = get_user(db, "operator")
        session = get_session(db, demo, operator)
        set_parameters(db, session, {"outcome": "escalated"}, user_actor(operator))
        close_session(db, session, operator)
        assert record_event(db, clock, SessionEvent.SESSION_CLOSED, demo)
        stamp = session.created_at.strftime("%Y%m%d")
    with unit_of_work(factory) as db:  # committed, nothing ran yet: the event waits for a worker
        assert "request_number" not in get_parameters(db, demo)
    assert worker.run_due() == 3  # the event fanned out; the request's and the survey's starts
    with unit_of_work(factory) as db:
        assert get_parameters(db, demo)["request_number"] == f"ESC-{stamp}-{demo:06d}"
        entry = parameter_history(db, demo, "request_number")[-1]
        assert entry.actor_user_id == system_user(db).id
        instances = db.scalars(
            select(ProcessInstance).where(ProcessInstance.session_id == demo).order_by("id")
        )
        started = [(i.status, i.started_by.username) for i in instances]
        assert started == [("completed", "system"), ("waiting", "system")]  # the survey waits
        assert _jobs(db, session_id=demo) == [
            ("session_event", "done"),
            ("start", "done"),
            ("start", "done"),
            ("timer", "pending"),  # the survey's 24 hours for an answer
        ]


def test_client_message_starts_a_process_with_mapped_variables(
    factory: sessionmaker[Session], demo: int, worker: Worker, clock: MovingClock
) -> None:
    assert _message(factory, clock, demo, "I want a Refund, please")
    assert worker.run_due() == 2
    with unit_of_work(factory) as db:
        client = get_session(db, demo).client.name
        params = get_parameters(db, demo)
        assert params["summary"] == f"{client} wrote: I want a Refund, please"
        assert params["topics"] == ["returns"]
    assert worker.run_due() == 0  # each job ran once


@pytest.mark.parametrize("autostart_demo", [FAILING], indirect=True)
def test_a_failing_start_is_retried_then_recorded_and_keeps_the_event(
    factory: sessionmaker[Session], demo: int, timed_worker: Worker, clock: MovingClock
) -> None:
    worker = timed_worker
    with unit_of_work(factory) as db:
        before = get_parameters(db, demo)
    assert _message(factory, clock, demo, "refund now")
    assert worker.run_due() == 2  # the fan-out, and the start's first try
    with unit_of_work(factory) as db:
        assert db.scalar(select(func.count()).select_from(ProcessInstance)) == 0
        [(attempts, error)] = db.execute(
            select(Job.attempts, Job.last_error).where(Job.kind == "start")
        )
        assert attempts == 1 and "satisfaction" in (error or "")
    clock.advance(seconds=10)  # the backoff after the first try
    assert worker.run_due() == 1
    clock.advance(seconds=20)
    assert worker.run_due() == 1  # the last try: the failure is recorded as an incident
    with unit_of_work(factory) as db:
        assert get_parameters(db, demo) == before  # nothing of the failed steps was applied
        count = select(func.count()).where(Message.session_id == demo, Message.text == "refund now")
        assert db.scalar(count) == 1  # the event itself is stored
        [instance] = db.scalars(select(ProcessInstance))
        assert instance.status == "failed"
        assert instance.error is not None
        assert (instance.error["kind"], instance.error["element_id"]) == ("changeset", "tag")
        assert instance.error["parameter_key"] == "satisfaction"
        assert instance.pending is not None
        assert instance.pending["variables"]["text"] == "refund now"
        assert ("start", "failed") in _jobs(db, session_id=demo)


def test_processes_not_offered_in_the_live_chat_do_not_start(
    factory: sessionmaker[Session], demo: int, worker: Worker, clock: MovingClock
) -> None:
    with unit_of_work(factory) as db:
        sales = get_live_chat(db, "Sales")
        query = select(SupportSession.id).where(SupportSession.live_chat_id == sales.id)
        other = db.scalars(query).first()
        assert other is not None
    assert _message(factory, clock, other, "refund")  # a process is bound to the event...
    assert worker.run_due() == 1  # ...but not offered in Sales: the fan-out starts nothing
    with unit_of_work(factory) as db:
        assert db.scalar(select(func.count()).select_from(ProcessInstance)) == 0


def test_cli_message_queues_its_event_and_the_worker_runs_it(engine: Engine, demo: int) -> None:
    runner = CliRunner()
    args = ["--database-url", engine.url.render_as_string(hide_password=False)]
    done = runner.invoke(cli, [*args, "session", "message", str(demo), "refund!", "--json"])
    assert done.exit_code == 0, done.output
    assert '"event_queued": true' in done.output
    ran = runner.invoke(cli, [*args, "worker", "--once", "--json"])
    assert ran.exit_code == 0, ran.output
    assert '"ran": 2' in ran.output
    listed = runner.invoke(cli, [*args, "jobs", "list", "--kind", "start", "--json"])
    assert '"status": "done"' in listed.output
    refused = runner.invoke(cli, [*args, "session", "close", str(demo), "--as", "operator"])
    assert refused.exit_code == 1
    assert "required parameters are empty: outcome" in refused.output
