"""The bundled processes that wait: SLA escalation and the satisfaction survey, end to end
through session events, the job worker and the test's clock, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.demo.load import load_demo
from bpm_livechat.desk.livechats import get_live_chat
from bpm_livechat.desk.users import get_user
from bpm_livechat.jobs.worker import Worker
from bpm_livechat.models import (
    InstanceWait,
    Message,
    ProcessInstance,
    SessionHistory,
    UserTask,
)
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.values import get_parameters, set_parameters
from bpm_livechat.persistence.transactions import unit_of_work
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.progress import instance_progress
from bpm_livechat.sessions.events import SessionEvent, record_event
from bpm_livechat.sessions.ingest import take_message
from bpm_livechat.sessions.lifecycle import close_session, create_session, get_session
from tests.support import MovingClock


@pytest.fixture
def demo(factory: sessionmaker[Session], process_engine: ProcessEngine) -> None:
    """The demo: its bundled processes deployed and bound to their session events."""
    with unit_of_work(factory) as db:
        load_demo(db, process_engine.scripts, sessions_per_chat=1)


def _new_session(
    factory: sessionmaker[Session], clock: MovingClock, priority: str = "normal"
) -> int:
    with unit_of_work(factory) as db:
        chat = get_live_chat(db, "Customer Support")
        session = create_session(
            db, chat, client_name="Zoe Park", subject="Parcel", priority=priority
        )
        assert record_event(db, clock, SessionEvent.SESSION_CREATED, session.id)
        return session.id


def _instance(db: Session, session_id: int, process: str) -> ProcessInstance:
    instances = db.scalars(select(ProcessInstance).where(ProcessInstance.session_id == session_id))
    [found] = [i for i in instances if i.process_version.process.bpmn_id == process]
    return found


def _say(
    factory: sessionmaker[Session], clock: MovingClock, session_id: int, text: str, kind: str
) -> None:
    with unit_of_work(factory) as db:
        take_message(db, clock, session_id, get_user(db, "admin"), text, kind)


@pytest.mark.usefixtures("demo")
def test_an_unanswered_session_is_escalated_when_its_timer_falls_due(
    factory: sessionmaker[Session], timed_worker: Worker, clock: MovingClock
) -> None:
    session_id = _new_session(factory, clock)
    assert timed_worker.run_due() == 2  # the event fanned out; the start waits 5 minutes
    with unit_of_work(factory) as db:
        instance = _instance(db, session_id, "sla_escalation")
        [wait] = [w for w in instance.waiting_for if w["kind"] == "timer"]
        assert (instance.status, wait["element_id"], wait["name"]) == (
            "waiting",
            "sla_breached",
            "Escalate",
        )
    clock.advance(minutes=4, seconds=59)
    assert timed_worker.run_due() == 0  # not due yet: nothing runs
    clock.advance(seconds=2)
    assert timed_worker.run_due() == 1  # the timer fires, exactly once
    assert timed_worker.run_due() == 0
    with unit_of_work(factory) as db:
        session = get_session(db, session_id)
        assert session.priority == "high"
        assert get_parameters(db, session_id)["sla_breached"] is True
        [entry] = db.scalars(select(SessionHistory).where(SessionHistory.session_id == session_id))
        assert (
            entry.summary == "Priority normal -> high, set by SLA escalation (Raise the priority)"
        )
        instance = _instance(db, session_id, "sla_escalation")
        assert instance.status == "waiting" and instance.waiting_for == []
        [task] = db.scalars(select(UserTask).where(UserTask.instance_id == instance.id))
        assert (task.element_id, task.candidate_roles) == ("review_unanswered", ["supervisor"])
        assert (
            db.scalar(select(InstanceWait.id).where(InstanceWait.instance_id == instance.id))
            is None
        )


@pytest.mark.usefixtures("demo")
def test_an_operator_reply_in_time_ends_the_escalation_and_its_timer(
    factory: sessionmaker[Session], timed_worker: Worker, clock: MovingClock
) -> None:
    session_id = _new_session(factory, clock, priority="low")
    timed_worker.run_due()
    clock.advance(minutes=2)
    _say(factory, clock, session_id, "Hello, I am looking into it.", "operator")
    assert timed_worker.run_due() == 2  # the reply's event, and its delivery
    clock.advance(minutes=10)
    assert timed_worker.run_due() == 0  # the timer job was cancelled with the wait
    with unit_of_work(factory) as db:
        instance = _instance(db, session_id, "sla_escalation")
        assert (instance.status, instance.waiting_for) == ("completed", [])
        assert get_session(db, session_id).priority == "low"


@pytest.mark.usefixtures("demo")
def test_a_session_closed_before_any_reply_ends_the_escalation(
    factory: sessionmaker[Session],
    timed_worker: Worker,
    clock: MovingClock,
    timed_engine: ProcessEngine,
) -> None:
    session_id = _new_session(factory, clock)
    timed_worker.run_due()
    clock.advance(minutes=1)
    with unit_of_work(factory) as db:
        admin, session = get_user(db, "admin"), get_session(db, session_id)
        set_parameters(db, session, {"outcome": "resolved"}, user_actor(admin))
        close_session(db, session, admin)
        assert record_event(db, clock, SessionEvent.SESSION_CLOSED, session_id)
    timed_worker.run_due()
    clock.advance(minutes=10)
    assert timed_worker.run_due() == 0  # no escalation of a closed session
    with unit_of_work(factory) as db:
        instance = _instance(db, session_id, "sla_escalation")
        assert (instance.status, instance.waiting_for) == ("completed", [])
        assert get_session(db, session_id).priority == "normal"
        assert "closed_unanswered" in instance_progress(timed_engine, instance).completed


def _closed_and_asked(factory: sessionmaker[Session], worker: Worker, clock: MovingClock) -> int:
    session_id = _new_session(factory, clock)
    assert worker.run_due() == 2  # the SLA escalation waits for the first reply...
    _say(factory, clock, session_id, "Hi! On it.", "operator")
    assert worker.run_due() == 2  # ...which ends it
    with unit_of_work(factory) as db:
        operator = get_user(db, "admin")
        session = get_session(db, session_id)
        set_parameters(db, session, {"outcome": "resolved"}, user_actor(operator))
        close_session(db, session, operator)
        assert record_event(db, clock, SessionEvent.SESSION_CLOSED, session_id)
    assert worker.run_due() == 3  # the event; the survey's and the request's starts
    return session_id


def _thread(db: Session, session_id: int) -> list[tuple[str, str, str]]:
    query = select(Message.author_kind, Message.author_name, Message.text).where(
        Message.session_id == session_id
    )
    return [tuple(row) for row in db.execute(query.order_by(Message.id))]  # type: ignore[misc]


QUESTION = (
    "process",
    "Satisfaction survey",
    "Thank you for contacting us, Zoe! How satisfied were you? Please answer with a number "
    "from 1 (poor) to 5 (excellent).",
)
AGAIN = (
    "process",
    "Satisfaction survey",
    "Sorry, I did not understand. Please answer with one number from 1 to 5.",
)


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize(
    ("answers", "satisfaction", "status", "asked_again"),
    [
        (["5 - great!"], 5, "rated", False),
        (["ten", "4"], 4, "rated", True),
        (["ten", "eleven"], None, "invalid", True),
    ],
)
def test_the_survey_asks_reads_and_asks_once_more(
    factory: sessionmaker[Session],
    timed_worker: Worker,
    clock: MovingClock,
    answers: list[str],
    satisfaction: int | None,
    status: str,
    asked_again: bool,
) -> None:
    session_id = _closed_and_asked(factory, timed_worker, clock)
    with unit_of_work(factory) as db:
        assert _thread(db, session_id)[-1] == QUESTION
    for answer in answers:
        clock.advance(minutes=3)
        _say(factory, clock, session_id, answer, "client")
        assert timed_worker.run_due() == 2  # the message's event, its delivery
    with unit_of_work(factory) as db:
        params = get_parameters(db, session_id)
        assert (params.get("satisfaction"), params["survey_status"]) == (satisfaction, status)
        thread = _thread(db, session_id)
        assert (AGAIN in thread) is asked_again
        assert _instance(db, session_id, "satisfaction_survey").status == "completed"


@pytest.mark.usefixtures("demo")
def test_no_answer_in_24_hours_is_marked(
    factory: sessionmaker[Session], timed_worker: Worker, clock: MovingClock
) -> None:
    session_id = _closed_and_asked(factory, timed_worker, clock)
    clock.advance(hours=23, minutes=59)
    assert timed_worker.run_due() == 0
    clock.advance(minutes=2)
    assert timed_worker.run_due() == 1
    _say(factory, clock, session_id, "5", "client")  # too late: nobody waits any more
    assert timed_worker.run_due() == 0
    with unit_of_work(factory) as db:
        params = get_parameters(db, session_id)
        assert (params.get("satisfaction"), params["survey_status"]) == (None, "no_answer")
