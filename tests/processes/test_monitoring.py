"""Monitoring in the core: the step log (who or which job moved an instance, when, what ran),
a process's instances filtered and paged as the caller may see them, and where an instance
stands on its diagram (nothing once it ended), on both databases."""

from __future__ import annotations

from functools import partial

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.demo.load import load_demo
from bpm_livechat.desk.livechats import get_live_chat
from bpm_livechat.desk.users import get_user
from bpm_livechat.errors import ValidationError
from bpm_livechat.jobs.worker import Worker
from bpm_livechat.models import Job, LiveEvent, ProcessInstance
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.values import set_parameters
from bpm_livechat.persistence.transactions import unit_of_work
from bpm_livechat.processes.deployments import get_process
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.instances import complete_task, get_instance, start_process
from bpm_livechat.processes.monitoring import (
    InstanceFilter,
    instance_changes,
    parse_instance_filter,
    process_instances,
)
from bpm_livechat.processes.progress import instance_progress
from bpm_livechat.processes.step_log import instance_steps
from bpm_livechat.processes.steps import StepOutcome
from bpm_livechat.processes.supervision import cancel_instance, retry_instance
from bpm_livechat.sessions.events import SessionEvent, record_event
from bpm_livechat.sessions.lifecycle import create_session, get_session
from tests.support import Desk, MovingClock, new_session, run_failing, run_ok


def _start(
    engine: ProcessEngine, session_id: int, process_id: str, form: dict[str, object], db: Session
) -> StepOutcome:
    user = get_user(db, "olga")
    return start_process(db, engine, get_session(db, session_id), process_id, form, user)


def _review(factory: sessionmaker[Session], desk: Desk, engine: ProcessEngine) -> int:
    """A case_review instance waiting at its review task; its id."""
    with factory() as db:
        session_id = new_session(db, desk).id
    form = {"contact_email": "a@b.io", "amount": 5000}
    return run_ok(factory, partial(_start, engine, session_id, "case_review", form)).instance.id


def _ids(elements: list[dict[str, str]]) -> list[str]:
    return [e["id"] for e in elements]


def test_each_step_is_logged_with_who_when_and_the_elements_it_ran(
    factory: sessionmaker[Session], deployed: Desk, process_engine: ProcessEngine
) -> None:
    instance_id = _review(factory, deployed, process_engine)
    with factory() as db:
        instance = get_instance(db, instance_id)
        [task] = instance.tasks
        assert instance_progress(process_engine, instance).current == {"review"}

    def complete(db: Session) -> StepOutcome:
        found = get_instance(db, instance_id)
        form = {"summary": "Checked", "outcome": "resolved"}
        return complete_task(db, process_engine, found, task.task_id, form, get_user(db, "olga"))

    run_ok(factory, complete)
    with factory() as db:
        started, completed = instance_steps(db, instance_id)
        assert (started.kind, started.username, started.by, started.job_id, started.status) == (
            "start", "olga", "Olga Operator", None, "waiting",
        )  # fmt: skip
        assert _ids(started.elements) == ["start", "classify", "review_needed"]
        assert started.elements[1] == {
            "id": "classify", "name": "Classify case", "type": "ScriptTask",
        }  # fmt: skip
        assert (completed.kind, completed.username, completed.status) == (
            "complete", "olga", "completed",
        )  # fmt: skip
        assert _ids(completed.elements) == ["review", "record", "reviewed"]
        assert started.at <= completed.at
        changes = instance_changes(db, get_instance(db, instance_id))
        assert [(c.key, c.new_value, c.task_id) for c in changes] == [
            ("contact_email", "a@b.io", "classify"),
            ("segment", "vip", "classify"),
            ("summary", "Checked", "record"),
            ("outcome", "resolved", "record"),
        ]
        done = get_instance(db, instance_id)
        progress = instance_progress(process_engine, done)
        assert progress.current == frozenset()  # completed: it stands nowhere
        assert {"review", "record", "reviewed"} <= progress.completed


def test_failure_retry_and_cancel_are_logged_and_a_cancelled_instance_stands_nowhere(
    factory: sessionmaker[Session], deployed: Desk, process_engine: ProcessEngine
) -> None:
    with factory() as db:
        session = new_session(db, deployed)
        set_parameters(db, session, {"segment": "vip"}, user_actor(get_user(db, "olga")))
        db.commit()
        session_id = session.id
    failure = run_failing(
        factory, partial(_start, process_engine, session_id, "fragile", {"mode": "crash"})
    )
    instance_id = failure.instance.id

    def retry(db: Session) -> StepOutcome:
        found = get_instance(db, instance_id)
        return retry_instance(db, process_engine, found, get_user(db, "sam"))

    run_failing(factory, retry)  # the cause is not fixed: it fails again
    with factory() as db:
        failed, again = instance_steps(db, instance_id)
        assert (failed.kind, failed.username, failed.status) == ("failed", "olga", "failed")
        assert (failed.detail["element_id"], failed.detail["message"], failed.detail["step"]) == (
            "check", "KeyError: 'summary'", "start",
        )  # fmt: skip
        # The retry itself rolled back with the step; the failure it ended in is logged.
        assert (again.kind, again.username) == ("failed", "olga")
        cancel_instance(db, process_engine, get_instance(db, instance_id), get_user(db, "sam"))
        db.commit()
        *_, cancelled = instance_steps(db, instance_id)
        assert (cancelled.kind, cancelled.username, cancelled.by, cancelled.status) == (
            "cancel", "sam", "Sam Supervisor", "cancelled",
        )  # fmt: skip
        progress = instance_progress(process_engine, get_instance(db, instance_id))
        assert progress.current == frozenset()


def test_a_successful_retry_logs_who_retried_and_the_step_it_ran(
    factory: sessionmaker[Session], deployed: Desk, process_engine: ProcessEngine
) -> None:
    with factory() as db:
        session_id = new_session(db, deployed).id
    failure = run_failing(
        factory, partial(_start, process_engine, session_id, "fragile", {"mode": "crash"})
    )
    with factory() as db:  # the cause fixed: the check script reads the summary
        session = get_session(db, session_id)
        set_parameters(db, session, {"summary": "ok"}, user_actor(get_user(db, "olga")))
        db.commit()

    def retry(db: Session) -> StepOutcome:
        found = get_instance(db, failure.instance.id)
        return retry_instance(db, process_engine, found, get_user(db, "sam"))

    outcome = run_ok(factory, retry)
    with factory() as db:
        kinds = [(s.kind, s.username) for s in instance_steps(db, outcome.instance.id)]
        assert kinds == [("failed", "olga"), ("retry", "sam"), ("start", "olga")]
        *_, ran = instance_steps(db, outcome.instance.id)
        assert _ids(ran.elements) == ["start", "tag", "check", "end"]
        assert ran.status == "completed"


def test_a_cancelled_waiting_instance_marks_no_current_step(
    factory: sessionmaker[Session], deployed: Desk, process_engine: ProcessEngine
) -> None:
    instance_id = _review(factory, deployed, process_engine)
    with factory() as db:
        cancel_instance(db, process_engine, get_instance(db, instance_id), get_user(db, "sam"))
        db.commit()
        progress = instance_progress(process_engine, get_instance(db, instance_id))
        assert progress.current == frozenset()
        assert "classify" in progress.completed


def test_a_process_s_instances_filtered_paged_and_limited_to_the_caller_s_live_chats(
    factory: sessionmaker[Session], deployed: Desk, process_engine: ProcessEngine
) -> None:
    waiting = _review(factory, deployed, process_engine)
    cancelled = _review(factory, deployed, process_engine)
    with factory() as db:
        session_id = new_session(db, deployed).id
        cancel_instance(db, process_engine, get_instance(db, cancelled), get_user(db, "sam"))
        db.commit()
    form = {"contact_email": "c@d.io", "amount": 5}
    done = run_ok(factory, partial(_start, process_engine, session_id, "case_review", form))
    with factory() as db:
        process = get_process(db, "case_review")
        olga, sven, admin = get_user(db, "olga"), get_user(db, "sven"), get_user(db, "admin")

        def ids(user: object = olga, **wanted: object) -> list[int]:
            page = process_instances(db, user, process, InstanceFilter(**wanted))  # type: ignore[arg-type]
            return [row.instance_id for row in page.items]

        every = [done.instance.id, cancelled, waiting]
        assert ids() == every and ids(admin) == every
        assert ids(sven) == []  # an operator of another live chat sees none of them
        assert ids(status="waiting") == [waiting]
        assert ids(status="cancelled") == [cancelled]
        assert ids(version=1) == every
        assert ids(session_id=session_id) == [done.instance.id]
        page = process_instances(db, olga, process, InstanceFilter(page=2, per_page=2))
        assert ([r.instance_id for r in page.items], page.total, page.pages) == ([waiting], 3, 2)
        [row] = process_instances(db, olga, process, InstanceFilter(status="waiting")).items
        assert (row.current, row.started_by, row.live_chat) == (
            ["Review the case"], "olga", "Support",
        )  # fmt: skip
        with pytest.raises(ValidationError) as missing:
            process_instances(db, olga, process, InstanceFilter(version=9))
        assert missing.value.fields == {"version": "no such version"}


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"status": "sleeping"}, "status"),
        ({"version": "two"}, "version"),
        ({"session": "-3"}, "session"),
        ({"page": "0"}, "page"),
        ({"per_page": "1000"}, "per_page"),
    ],
)
def test_a_bad_filter_names_its_field(args: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_instance_filter(args)
    assert list(refused.value.fields) == [field]


def test_a_filter_round_trips_through_the_url() -> None:
    wanted = parse_instance_filter({"status": "Failed", "version": "2", "session": "7"})
    assert wanted == InstanceFilter("failed", 2, 7)
    assert wanted.to_args(3) == {"status": "failed", "version": "2", "session": "7", "page": "3"}
    assert parse_instance_filter(wanted.to_args(3)).page == 3


def test_every_logged_step_is_announced_on_the_live_feed(
    factory: sessionmaker[Session], deployed: Desk, process_engine: ProcessEngine
) -> None:
    """By the step log's trigger, also for steps that change no parameter (a cancel)."""
    instance_id = _review(factory, deployed, process_engine)
    with factory() as db:
        instance = get_instance(db, instance_id)
        session_id, chat_id = instance.session_id, instance.session.live_chat_id
        cancel_instance(db, process_engine, instance, get_user(db, "sam"))
        db.commit()
        query = select(LiveEvent).where(LiveEvent.kind == "process_step").order_by(LiveEvent.id)
        events = [(e.session_id, e.live_chat_id, e.data) for e in db.scalars(query)]
        assert events == [
            (session_id, chat_id, {"instance_id": instance_id, "step": "start", "status": "waiting"}),
            (session_id, chat_id, {"instance_id": instance_id, "step": "cancel", "status": "cancelled"}),
        ]  # fmt: skip


def test_a_timer_step_names_the_job_that_ran_it(
    factory: sessionmaker[Session],
    process_engine: ProcessEngine,
    timed_worker: Worker,
    clock: MovingClock,
) -> None:
    """The bundled SLA escalation: started automatically, then its timer fires from a job."""
    with unit_of_work(factory) as db:
        load_demo(db, process_engine.scripts, sessions_per_chat=1)
        chat = get_live_chat(db, "Customer Support")
        session = create_session(db, chat, client_name="Tim Timer", subject="Late")
        assert record_event(db, clock, SessionEvent.SESSION_CREATED, session.id)
        session_id = session.id
    timed_worker.run_due()  # the event fans out; the escalation starts and waits 5 minutes
    clock.advance(minutes=5, seconds=1)
    assert timed_worker.run_due() == 1
    with factory() as db:
        query = select(ProcessInstance).where(ProcessInstance.session_id == session_id)
        [instance] = [
            i for i in db.scalars(query) if i.process_version.process.bpmn_id == "sla_escalation"
        ]
        started, fired = instance_steps(db, instance.id)
        assert (started.kind, started.username, started.by) == ("start", "system", "Automation")
        assert (fired.kind, fired.username, fired.status) == ("timer", "system", "waiting")
        job = db.get(Job, fired.job_id)
        assert job is not None and (job.kind, job.instance_id) == ("timer", instance.id)
        assert {"sla_breached", "raise_priority"} <= set(_ids(fired.elements))
