"""Retrying a failed instance after deploying a fixed version moves it to that version."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.desk.users import get_user
from bpm_livechat.params.values import get_parameters, parameter_history
from bpm_livechat.processes.deployments import deploy
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.instances import StepOutcome, complete_task, get_instance, start_process
from bpm_livechat.processes.supervision import retry_instance
from bpm_livechat.sessions.lifecycle import get_session
from tests.support import Desk, new_session, read_bpmn, run_failing, run_ok

GOOD_RECORD = b'session.params["outcome"] = outcome'
BAD_RECORD = b'session.params["outcome"] = outcome + 1'


def _retry(engine: ProcessEngine, instance_id: int) -> Callable[[Session], StepOutcome]:
    def retry(db: Session) -> StepOutcome:
        return retry_instance(db, engine, get_instance(db, instance_id), get_user(db, "sam"))

    return retry


def _deploy(factory: sessionmaker[Session], engine: ProcessEngine, bpmn: bytes) -> int:
    with factory() as db:
        result = deploy(db, engine.scripts, bpmn, get_user(db, "admin"))
        db.commit()
        return result.processes[0].version


def _review_failing_on_version_2(
    factory: sessionmaker[Session], engine: ProcessEngine, desk: Desk
) -> tuple[int, int]:
    """case_review v2 whose record script fails, started on a new session: (session, instance)."""
    broken = read_bpmn("case_review.bpmn").replace(GOOD_RECORD, BAD_RECORD)
    assert _deploy(factory, engine, broken) == 2
    with factory() as db:
        session = new_session(db, desk)
        form = {"contact_email": "a@b.io", "amount": 5000}
        started = start_process(db, engine, session, "case_review", form, get_user(db, "olga"))
        db.commit()
        return session.id, started.instance.id


def _complete_review(engine: ProcessEngine, instance_id: int) -> Callable[[Session], StepOutcome]:
    """Complete the instance's review task (the step whose record script may fail)."""

    def complete(db: Session) -> StepOutcome:
        instance = get_instance(db, instance_id)
        [task] = [t for t in instance.tasks if t.state == "ready"]
        review = {"summary": "Checked", "outcome": "resolved"}
        return complete_task(db, engine, instance, task.task_id, review, get_user(db, "olga"))

    return complete


def test_failed_start_retried_on_the_fixed_version(
    factory: sessionmaker[Session], deployed: Desk, process_engine: ProcessEngine
) -> None:
    with factory() as db:
        session_id = new_session(db, deployed).id

    def start(db: Session) -> StepOutcome:
        session = get_session(db, session_id)
        return start_process(
            db, process_engine, session, "fragile", {"mode": "crash"}, get_user(db, "olga")
        )

    caught = run_failing(factory, start)
    fixed = read_bpmn("fragile.bpmn").replace(
        b'label = session.params["summary"].upper()', b'label = "no summary needed"'
    )
    assert _deploy(factory, process_engine, fixed) == 2
    instance_id = caught.instance.id
    outcome = run_ok(factory, _retry(process_engine, instance_id))
    assert (outcome.instance.status, outcome.instance.process_version.number) == ("completed", 2)


def test_failed_task_completion_retried_on_the_fixed_version(
    factory: sessionmaker[Session], deployed: Desk, process_engine: ProcessEngine
) -> None:
    session_id, instance_id = _review_failing_on_version_2(factory, process_engine, deployed)
    caught = run_failing(factory, _complete_review(process_engine, instance_id))
    assert caught.error["kind"] == "runtime"
    assert (caught.error["element_id"], caught.error["line"]) == ("record", 2)
    assert _deploy(factory, process_engine, read_bpmn("case_review.bpmn")) == 3
    outcome = run_ok(factory, _retry(process_engine, instance_id))
    assert (outcome.instance.status, outcome.instance.process_version.number) == ("completed", 3)
    with factory() as db:
        assert get_parameters(db, session_id)["outcome"] == "resolved"
        last = parameter_history(db, session_id)[-1]
        assert (last.key, last.process_version, last.task_id) == ("outcome", 3, "record")


def test_a_version_without_the_failed_task_is_not_used(
    factory: sessionmaker[Session], deployed: Desk, process_engine: ProcessEngine
) -> None:
    _session_id, instance_id = _review_failing_on_version_2(factory, process_engine, deployed)
    run_failing(factory, _complete_review(process_engine, instance_id))
    renamed = read_bpmn("case_review.bpmn").replace(b'"review"', b'"second_look"')
    renamed = renamed.replace(b'targetRef="review"', b'targetRef="second_look"')
    renamed = renamed.replace(b'sourceRef="review"', b'sourceRef="second_look"')
    assert _deploy(factory, process_engine, renamed) == 3
    again = run_failing(factory, _retry(process_engine, instance_id))
    assert again.error["element_id"] == "record"
    with factory() as db:
        instance = get_instance(db, instance_id)
        assert (instance.status, instance.process_version.number) == ("failed", 2)
