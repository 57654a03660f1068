"""Timers, asynchronous continuations and what the session page says an instance waits for:
small processes deployed in the test, started on the test's clock and moved on by the timed
worker when the test moves the clock, on both databases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.desk.users import get_user, system_user
from bpm_livechat.jobs.worker import Worker
from bpm_livechat.models import (
    InstanceWait,
    Job,
    LiveChat,
    Message,
    ProcessInstance,
    User,
    UserTask,
)
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.values import get_parameters, parameter_history, set_parameters
from bpm_livechat.persistence.transactions import unit_of_work
from bpm_livechat.processes.deployments import deploy
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.instances import complete_task, start_process
from bpm_livechat.processes.step_log import instance_steps
from bpm_livechat.processes.supervision import retry_instance
from bpm_livechat.sessions.lifecycle import get_session
from tests.support import Desk, MovingClock, flows, new_session, process_bpmn, run_ok
from web.sessions.process_view import relative, waiting_for

START = '<bpmn:startEvent id="start" name="Start" />'
END = '<bpmn:endEvent id="end" name="End" />'


def script(element_id: str, name: str, code: str, extra: str = "") -> str:
    """A Python script task."""
    return (
        f'<bpmn:scriptTask id="{element_id}" name="{name}" scriptFormat="python"{extra}>'
        f"<bpmn:script>{code}</bpmn:script></bpmn:scriptTask>"
    )


def timer(kind: str, text: str) -> str:
    """A timer event definition."""
    return (
        f"<bpmn:timerEventDefinition><bpmn:{kind}>{text}</bpmn:{kind}></bpmn:timerEventDefinition>"
    )


def catch(element_id: str, name: str, kind: str, text: str) -> str:
    """An intermediate timer catch event."""
    return (
        f'<bpmn:intermediateCatchEvent id="{element_id}" name="{name}">'
        f"{timer(kind, text)}</bpmn:intermediateCatchEvent>"
    )


def user_task(element_id: str = "answer", name: str = "Answer the client") -> str:
    return f'<bpmn:userTask id="{element_id}" name="{name}" />'


def boundary(element_id: str, name: str, on: str, kind: str, text: str, cancel: bool) -> str:
    flag = "" if cancel else ' cancelActivity="false"'
    return (
        f'<bpmn:boundaryEvent id="{element_id}" name="{name}" attachedToRef="{on}"{flag}>'
        f"{timer(kind, text)}</bpmn:boundaryEvent>"
    )


@dataclass
class Run:
    """One test's process: deployed, started in a Support session, moved on by the worker."""

    factory: sessionmaker[Session]
    engine: ProcessEngine
    worker: Worker
    clock: MovingClock
    desk: Desk
    session_id: int = 0
    instance_id: int = 0

    def start(self, body: str, form: dict[str, object] | None = None, **bpmn: Any) -> Run:
        with unit_of_work(self.factory) as db:
            admin, chat = (
                db.get_one(User, self.desk.admin.id),
                db.get_one(LiveChat, self.desk.support.id),
            )
            deploy(db, self.engine.scripts, process_bpmn(body, **bpmn), admin, [chat])
        with unit_of_work(self.factory) as db:
            self.session_id = new_session(db, self.desk).id
        process_id = bpmn.get("process_id", "timed")

        def step(db: Session) -> Any:
            session = get_session(db, self.session_id)
            return start_process(
                db, self.engine, session, process_id, form or {}, get_user(db, "olga")
            )

        self.instance_id = run_ok(self.factory, step).instance.id
        return self

    def instance(self) -> ProcessInstance:
        with self.factory() as db:
            return db.get_one(ProcessInstance, self.instance_id)

    def params(self) -> dict[str, object]:
        with self.factory() as db:
            return get_parameters(db, self.session_id)

    def jobs(self) -> list[tuple[str, str, datetime]]:
        with self.factory() as db:
            rows = db.execute(select(Job.kind, Job.status, Job.due_at).order_by(Job.id))
            return [(kind, status, due) for kind, status, due in rows]

    def tasks(self) -> list[tuple[str, str]]:
        with self.factory() as db:
            rows = db.execute(
                select(UserTask.element_id, UserTask.state)
                .where(UserTask.instance_id == self.instance_id)
                .order_by(UserTask.id)
            )
            return [(element_id, state) for element_id, state in rows]

    def replies(self) -> list[str]:
        with self.factory() as db:
            query = select(Message.text).where(
                Message.session_id == self.session_id, Message.author_kind == "process"
            )
            return list(db.scalars(query.order_by(Message.id)))

    def complete(self, element_id: str) -> None:
        def step(db: Session) -> Any:
            instance = db.get_one(ProcessInstance, self.instance_id)
            task_id = db.scalars(
                select(UserTask.task_id).where(
                    UserTask.instance_id == instance.id, UserTask.element_id == element_id
                )
            ).one()
            return complete_task(db, self.engine, instance, task_id, {}, get_user(db, "olga"))

        run_ok(self.factory, step)


@pytest.fixture
def run(
    factory: sessionmaker[Session],
    timed_engine: ProcessEngine,
    timed_worker: Worker,
    clock: MovingClock,
    desk: Desk,
    params: None,
) -> Run:
    """A process run on the test's clock (Support's custom parameters exist)."""
    clock.at = clock.at.replace(microsecond=0)  # whole seconds, as a modeler writes dates
    return Run(factory, timed_engine, timed_worker, clock, desk)


def _wait(element_id: str, name: str, due: datetime, kind: str = "timer") -> dict[str, Any]:
    return {"kind": kind, "element_id": element_id, "name": name, "label": name,
            "due": due.isoformat()}  # fmt: skip


MARK = script("mark", "Mark", 'session.params["summary"] = "fired"')
FORM = (
    '<bpmn:startEvent id="start" name="Start"><bpmn:extensionElements><camunda:formData>'
    '<camunda:formField id="minutes" label="Minutes" type="long" />'
    "</camunda:formData></bpmn:extensionElements></bpmn:startEvent>"
)
DECIDE = script("decide", "Decide", "minutes = 3 * 4")


@pytest.mark.parametrize(
    ("start", "kind", "text", "form", "due_after"),
    [
        (START, "timeDuration", "PT15M", {}, timedelta(minutes=15)),
        (START, "timeDuration", "P1DT2H", {}, timedelta(days=1, hours=2)),
        (START, "timeDate", "{in_2h}", {}, timedelta(hours=2)),
        (FORM, "timeDuration", 'f"PT{minutes}M"', {"minutes": 7}, timedelta(minutes=7)),
        (START + DECIDE, "timeDuration", 'f"PT{minutes}M"', {}, timedelta(minutes=12)),
        (START, "timeDate", '"{in_2h}"', {}, timedelta(hours=2)),  # an expression giving a date
    ],
    ids=["duration", "days", "date", "form-expression", "script-expression", "date-expression"],
)
def test_an_intermediate_timer_fires_once_when_due(
    run: Run, start: str, kind: str, text: str, form: dict[str, object], due_after: timedelta
) -> None:
    started = run.clock.now()
    due = started + due_after
    text = text.replace("{in_2h}", due.strftime("%Y-%m-%dT%H:%M:%SZ"))
    path = (
        ("start", "decide", "wait", "mark", "end")
        if "decide" in start
        else ("start", "wait", "mark", "end")
    )
    run.start(start + catch("wait", "Wait a while", kind, text) + MARK + END + flows(*path), form)
    instance = run.instance()
    assert (instance.status, instance.waiting_for) == (
        "waiting",
        [_wait("wait", "Wait a while", due)],
    )
    assert run.jobs() == [("timer", "pending", due)]
    run.clock.advance(seconds=(due_after - timedelta(seconds=1)).total_seconds())
    assert run.worker.run_due() == 0  # one second early: nothing runs
    assert "summary" not in run.params()
    run.clock.advance(seconds=2)
    assert run.worker.run_due() == 1
    assert run.worker.run_due() == 0  # exactly once
    run.clock.advance(days=2)
    assert run.worker.run_due() == 0
    instance = run.instance()
    assert (instance.status, instance.waiting_for) == ("completed", [])
    assert run.params()["summary"] == "fired"
    with run.factory() as db:
        [entry] = parameter_history(db, run.session_id, "summary")
        assert entry.actor_user_id == system_user(db).id
        assert db.scalars(select(InstanceWait)).all() == []
    assert run.jobs() == [("timer", "done", due)]


TIMEOUT_PATH = script("note_timeout", "Note the timeout", 'session.params["summary"] = "timed out"')


@pytest.mark.parametrize("answered", [False, True], ids=["timed-out", "answered-in-time"])
def test_an_interrupting_boundary_timer_cancels_the_user_task(run: Run, answered: bool) -> None:
    body = (
        START + user_task() + END
        + boundary("timeout", "Time out", "answer", "timeDuration", "PT10M", cancel=True)
        + TIMEOUT_PATH + '<bpmn:endEvent id="late" />'
        + flows("start", "answer", "end") + flows("timeout", "note_timeout", "late")
    )  # fmt: skip
    run.start(body)
    due = run.clock.now() + timedelta(minutes=10)
    assert run.tasks() == [("answer", "ready")]
    assert run.instance().waiting_for == [_wait("timeout", "Time out", due)]
    run.clock.advance(minutes=9, seconds=59)
    assert run.worker.run_due() == 0
    if answered:
        run.complete("answer")
        assert run.jobs() == [("timer", "cancelled", due)]  # its timer went with the task
    run.clock.advance(seconds=2)
    assert run.worker.run_due() == (0 if answered else 1)
    instance = run.instance()
    assert (instance.status, instance.waiting_for) == ("completed", [])
    assert run.tasks() == [("answer", "completed" if answered else "cancelled")]
    assert run.params().get("summary") == (None if answered else "timed out")
    assert run.jobs() == [("timer", "cancelled" if answered else "done", due)]


def test_a_non_interrupting_cycle_runs_its_path_three_times_and_the_task_stays(run: Run) -> None:
    body = (
        START + user_task() + END
        + boundary("remind", "Remind", "answer", "timeCycle", "R3/PT1H", cancel=False)
        + script("nudge", "Nudge", 'session.reply("Are you still there?")')
        + '<bpmn:endEvent id="nudged" />'
        + flows("start", "answer", "end") + flows("remind", "nudge", "nudged")
    )  # fmt: skip
    run.start(body)
    started = run.clock.now()
    for hour in (1, 2, 3):
        due = started + timedelta(hours=hour)
        assert run.instance().waiting_for == [_wait("remind", "Remind", due)]
        run.clock.advance(minutes=59, seconds=59)
        assert run.worker.run_due() == 0
        run.clock.advance(seconds=1)
        assert run.worker.run_due() == 1
        assert run.replies() == ["Are you still there?"] * hour
        assert run.tasks() == [("answer", "ready")]
    instance = run.instance()
    assert (instance.status, instance.waiting_for) == ("waiting", [])  # every repetition fired
    run.clock.advance(hours=5)
    assert run.worker.run_due() == 0
    assert len(run.replies()) == 3
    assert [status for kind, status, _due in run.jobs()] == ["done"] * 3
    run.complete("answer")
    assert run.instance().status == "completed"


def test_async_before_stops_the_step_before_the_task_and_a_continue_job_runs_it(
    run: Run,
) -> None:
    work = script(
        "work", "Work", 'session.params["summary"] = "worked"', ' camunda:asyncBefore="true"'
    )
    run.start(START + work + END + flows("start", "work", "end"))
    started = run.clock.now()
    instance = run.instance()
    assert (instance.status, instance.waiting_for) == (
        "waiting",
        [_wait("work", "Work", started, kind="continue")],
    )
    assert waiting_for(instance, started) == ["Work: continues in the background"]
    assert "summary" not in run.params()  # the start step stopped before the script
    assert run.jobs() == [("continue", "pending", started)]
    assert run.worker.run_due() == 1
    instance = run.instance()
    assert (instance.status, instance.waiting_for) == ("completed", [])
    assert run.params()["summary"] == "worked"
    assert run.jobs() == [("continue", "done", started)]


def test_async_after_runs_the_task_and_holds_what_follows(run: Run) -> None:
    first = script(
        "first", "First", 'session.params["summary"] = "first"', ' camunda:asyncAfter="true"'
    )
    second = script("second", "Second", 'session.params["segment"] = "vip"')
    run.start(START + first + second + END + flows("start", "first", "second", "end"))
    started = run.clock.now()
    instance = run.instance()
    assert (instance.status, instance.waiting_for) == (
        "waiting",
        [_wait("second", "Second", started, kind="continue")],
    )
    assert run.params() == {"summary": "first"}
    assert run.worker.run_due() == 1
    assert run.instance().status == "completed"
    assert run.params() == {"summary": "first", "segment": "vip"}


PARALLEL = (
    START + '<bpmn:parallelGateway id="fork" />'
    + '<bpmn:receiveTask id="rating" name="Wait for the rating" messageRef="client_message" />'
    + catch("escalate", "Escalate", "timeDuration", "PT5M")
    + script("work", "Work", "done = True", ' camunda:asyncBefore="true"')
    + '<bpmn:endEvent id="e1" /><bpmn:endEvent id="e2" /><bpmn:endEvent id="e3" />'
    + flows("start", "fork") + flows("fork", "rating", "e1") + flows("fork", "escalate", "e2")
    + flows("fork", "work", "e3")
)  # fmt: skip


def test_the_session_page_says_what_an_instance_waits_for(run: Run) -> None:
    run.start(PARALLEL, messages=("client_message",))
    started = run.clock.now()
    instance = run.instance()
    assert instance.waiting_for == [
        _wait("work", "Work", started, kind="continue"),
        {
            "kind": "message",
            "element_id": "rating",
            "name": "client_message",
            "label": "Wait for the rating",
            "due": None,
        },
        _wait("escalate", "Escalate", started + timedelta(minutes=5)),
    ]
    lines = waiting_for(instance, started + timedelta(minutes=1))
    assert (lines[0], lines[2]) == ("Work: continues in the background", "Escalate: in 4 min")
    assert waiting_for(instance, started + timedelta(minutes=4, seconds=45))[2] == "Escalate: now"
    instance.status = "completed"
    assert waiting_for(instance, started) == []


def test_a_message_wait_is_named_after_its_element(run: Run) -> None:
    run.start(PARALLEL, messages=("client_message",))
    lines = waiting_for(run.instance(), run.clock.now())
    assert lines[1] == "Wait for the rating: the client's next message"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-600, "now"),
        (0, "now"),
        (30, "now"),
        (31, "in 1 min"),
        (60, "in 1 min"),
        (61, "in 2 min"),
        (240, "in 4 min"),
        (241, "in 5 min"),
        (59 * 60, "in 59 min"),
        (59 * 60 + 1, "in 1 h"),
        (3600, "in 1 h"),
        (3601, "in 1 h 1 min"),
        (2 * 3600, "in 2 h"),
        (23 * 3600 + 59 * 60, "in 23 h 59 min"),
        (47 * 3600 + 59 * 60, "in 47 h 59 min"),
        (48 * 3600, "in 2 days"),
        (71 * 3600, "in 2 days"),
        (72 * 3600, "in 3 days"),
    ],
)
def test_relative_due_times(seconds: int, text: str) -> None:
    now = datetime(2026, 1, 1, 12, 0)
    assert relative(now + timedelta(seconds=seconds), now) == text


FRAGILE = (
    START + catch("wait", "Wait a minute", "timeDuration", "PT1M")
    + script("classify", "Classify", 'session.params["segment"] = "vip" if session.params["summary"] else "standard"')
    + END + flows("start", "wait", "classify", "end")
)  # fmt: skip


def test_a_failing_timer_step_is_retried_then_failed_and_a_supervisor_retries_it(
    run: Run,
) -> None:
    run.start(FRAGILE)
    due = run.clock.now() + timedelta(minutes=1)
    run.clock.advance(minutes=1)
    assert run.worker.run_due() == 1  # first try: the script fails, the step rolls back
    for backoff in (10, 20):
        [(kind, status, due_at)] = run.jobs()
        assert (kind, status, due_at) == (
            "timer",
            "pending",
            run.clock.now() + timedelta(seconds=backoff),
        )
        assert run.instance().status == "waiting"
        run.clock.advance(seconds=backoff)
        assert run.worker.run_due() == 1
    with run.factory() as db:
        job = db.scalars(select(Job)).one()
        assert (job.status, job.attempts) == ("failed", 3)
        assert "summary" in (job.last_error or "")
        instance = db.get_one(ProcessInstance, run.instance_id)
        assert instance.status == "failed"
        # What a retry runs again, and (for the step log) which job ran the failed step.
        assert instance.pending == {"step": "timer", "user_id": system_user(db).id,
                                    "job_id": job.id}  # fmt: skip
        *_, logged = instance_steps(db, instance.id)
        assert (logged.kind, logged.job_id, logged.username) == ("failed", job.id, "system")
        assert instance.error is not None
        assert (instance.error["kind"], instance.error["element_id"]) == ("runtime", "classify")
    assert run.params() == {}
    with unit_of_work(run.factory) as db:  # the cause is fixed: Summary is set
        session = get_session(db, run.session_id)
        set_parameters(db, session, {"summary": "a parcel"}, user_actor(get_user(db, "sam")))

    def retry(db: Session) -> Any:
        instance = db.get_one(ProcessInstance, run.instance_id)
        return retry_instance(db, run.engine, instance, get_user(db, "sam"))

    run_ok(run.factory, retry)
    instance = run.instance()
    assert (instance.status, instance.waiting_for, instance.pending) == ("completed", [], None)
    assert run.params() == {"summary": "a parcel", "segment": "vip"}
    assert run.jobs() == [("timer", "failed", due + timedelta(seconds=30))]  # its last try
    with run.factory() as db:
        [entry] = parameter_history(db, run.session_id, "segment")
        assert entry.actor_user_id == system_user(db).id  # the step was the system's
        assert db.scalars(select(InstanceWait)).all() == []
