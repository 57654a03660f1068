"""Failed steps lose nothing: rollback, the failure recorded apart, retry after the fix, cancel."""

from __future__ import annotations

from functools import partial

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.desk.users import get_user
from bpm_livechat.errors import AccessDeniedError, ConflictError
from bpm_livechat.models import ParamHistory, ProcessInstance
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.catalogue import archive_parameter, restore_parameter, update_parameter
from bpm_livechat.params.values import get_parameters, parameter_history, set_parameters
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.instances import (
    StepOutcome,
    complete_task,
    get_instance,
    session_instances,
    start_process,
)
from bpm_livechat.processes.supervision import cancel_instance, failed_instances, retry_instance
from bpm_livechat.processes.tasks import my_tasks
from bpm_livechat.sessions.lifecycle import get_session
from tests.support import Desk, count, new_session, run_failing, run_ok


def _start(
    engine: ProcessEngine,
    session_id: int,
    process_id: str,
    form: dict[str, object],
    db: Session,
) -> StepOutcome:
    user = get_user(db, "olga")
    return start_process(db, engine, get_session(db, session_id), process_id, form, user)


def _session_with_segment(factory: sessionmaker[Session], desk: Desk) -> int:
    with factory() as db:
        session = new_session(db, desk)
        set_parameters(db, session, {"segment": "vip"}, user_actor(get_user(db, "olga")))
        db.commit()
        return session.id


def test_script_error_rolls_back_and_is_recorded_then_retried_after_the_fix(
    factory: sessionmaker[Session], deployed: Desk, process_engine: ProcessEngine
) -> None:
    session_id = _session_with_segment(factory, deployed)
    failure = run_failing(
        factory, partial(_start, process_engine, session_id, "fragile", {"mode": "crash"})
    )
    assert failure.message == "runtime error at check: KeyError: 'summary'"
    with factory() as db:
        # The first script's write and the second's are both gone; only the failure remains.
        assert get_parameters(db, session_id) == {"segment": "vip"}
        assert count(db, ParamHistory) == 1
        assert count(db, ProcessInstance) == 1
        instance = get_instance(db, failure.instance.id)
        assert (instance.status, instance.workflow_json) == ("failed", None)
        assert instance.error == {
            "kind": "runtime",
            "message": "KeyError: 'summary'",
            "line": 5,
            "element_id": "check",
            "element_name": "Check",
            "parameter_key": None,
        }
        assert instance.pending == {
            "step": "start",
            "task_id": None,
            "data": {"mode": "crash"},
            "user_id": get_user(db, "olga").id,
        }
        with pytest.raises(AccessDeniedError):
            retry_instance(db, process_engine, instance, get_user(db, "olga"))
        assert failed_instances(db, get_user(db, "sam")) == [instance]
        assert failed_instances(db, get_user(db, "olga")) == []
        assert session_instances(db, session_id) == [instance]
        # The cause is fixed: the session gets the summary the script needs.
        set_parameters(
            db, get_session(db, session_id), {"summary": "known"}, user_actor(get_user(db, "olga"))
        )
        db.commit()

    def retry(db: Session) -> StepOutcome:
        return retry_instance(
            db, process_engine, get_instance(db, instance.id), get_user(db, "sam")
        )

    outcome = run_ok(factory, retry)
    assert (outcome.instance.id, outcome.instance.status) == (instance.id, "completed")
    assert (outcome.instance.error, outcome.instance.pending) == (None, None)
    with factory() as db:
        assert get_parameters(db, session_id) == {
            "segment": "standard",
            "summary": "known",
            "outcome": "resolved",
        }
        with pytest.raises(ConflictError):
            retry_instance(
                db,
                process_engine,
                get_instance(db, instance.id),
                get_user(db, "sam"),
            )


def test_invalid_parameter_value_fails_the_step_naming_the_key_then_retry_after_new_option(
    factory: sessionmaker[Session], deployed: Desk, process_engine: ProcessEngine
) -> None:
    session_id = _session_with_segment(factory, deployed)
    caught = run_failing(
        factory, partial(_start, process_engine, session_id, "fragile", {"mode": "invalid"})
    )
    with factory() as db:
        assert get_parameters(db, session_id) == {"segment": "vip"}
        assert count(db, ParamHistory) == 1
        instance = get_instance(db, caught.instance.id)
        assert instance.status == "failed"
        assert instance.error is not None
        assert (instance.error["kind"], instance.error["element_id"]) == ("changeset", "check")
        assert instance.error["parameter_key"] == "segment"
        assert "platinum" in instance.error["message"]
        update_parameter(db, "segment", options=["vip", "standard", "platinum"])
        db.commit()
    outcome = run_ok(
        factory,
        lambda db: retry_instance(
            db, process_engine, get_instance(db, instance.id), get_user(db, "admin")
        ),
    )
    assert outcome.instance.status == "completed"
    with factory() as db:
        assert get_parameters(db, session_id) == {"segment": "platinum", "outcome": "resolved"}


def test_failed_task_completion_keeps_the_waiting_state_and_retry_completes_it(
    factory: sessionmaker[Session], deployed: Desk, process_engine: ProcessEngine
) -> None:
    with factory() as db:
        session_id = new_session(db, deployed).id
    form = {"contact_email": "a@b.io", "amount": 5000}
    started = run_ok(factory, partial(_start, process_engine, session_id, "case_review", form))
    instance_id, task_id = started.instance.id, started.tasks[0].task_id
    with factory() as db:
        saved_json = get_instance(db, instance_id).workflow_json
        archive_parameter(db, "outcome")  # the review's script can no longer write it
        db.commit()

    def complete(db: Session) -> StepOutcome:
        review = {"summary": "A long story", "outcome": "resolved"}
        return complete_task(
            db, process_engine, get_instance(db, instance_id), task_id, review, get_user(db, "olga")
        )

    run_failing(factory, complete)
    with factory() as db:
        instance = get_instance(db, instance_id)
        assert instance.status == "failed"
        assert instance.workflow_json == saved_json
        assert instance.error == {
            "kind": "changeset",
            "message": "parameter 'outcome' is archived",
            "line": None,
            "element_id": "record",
            "element_name": "Record the review",
            "parameter_key": "outcome",
        }
        assert instance.pending is not None
        assert (instance.pending["step"], instance.pending["task_id"]) == ("complete", task_id)
        assert get_parameters(db, session_id) == {"contact_email": "a@b.io", "segment": "vip"}
        assert [t.state for t in instance.tasks] == ["ready"]
        restore_parameter(db, "outcome")
        db.commit()
    outcome = run_ok(
        factory,
        lambda db: retry_instance(
            db, process_engine, get_instance(db, instance_id), get_user(db, "sam")
        ),
    )
    assert (outcome.instance.status, outcome.tasks) == ("completed", [])
    with factory() as db:
        assert get_parameters(db, session_id)["summary"] == "A long story"
        last = parameter_history(db, session_id)[-1]
        # History names the operator who completed the task, not the supervisor who retried.
        assert (last.key, last.actor_user_id, last.task_id) == (
            "outcome",
            get_user(db, "olga").id,
            "record",
        )
        assert [t.state for t in get_instance(db, instance_id).tasks] == ["completed"]


def test_cancel_ends_a_waiting_instance_and_its_tasks(
    db_session: Session, deployed: Desk, process_engine: ProcessEngine
) -> None:
    db = db_session
    session = new_session(db, deployed)
    started = start_process(
        db,
        process_engine,
        session,
        "case_review",
        {"contact_email": "a@b.io", "amount": 5000},
        deployed.operator,
    )
    db.commit()
    with pytest.raises(AccessDeniedError):
        cancel_instance(db, process_engine, started.instance, deployed.operator)
    cancelled = cancel_instance(db, process_engine, started.instance, deployed.supervisor)
    db.commit()
    assert (cancelled.status, [t.state for t in cancelled.tasks]) == ("cancelled", ["cancelled"])
    assert cancelled.finished_at is not None
    assert my_tasks(db, deployed.operator) == []
    with pytest.raises(ConflictError):
        cancel_instance(db, process_engine, cancelled, deployed.supervisor)
