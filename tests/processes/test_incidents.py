"""Incidents across sessions: who sees which, filters, bulk retry and cancel with one transaction
per instance (one failing again does not undo the others); the team's tasks and reassign."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.desk.livechats import members
from bpm_livechat.desk.users import get_user
from bpm_livechat.errors import AccessDeniedError, ConflictError, ValidationError
from bpm_livechat.models import MemberRole
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.values import set_parameters
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.incidents import (
    BulkAction,
    IncidentFilter,
    act_on_incidents,
    list_incidents,
    parse_filter,
    parse_ids,
)
from bpm_livechat.processes.instances import get_instance, start_process
from bpm_livechat.processes.team_tasks import (
    UNASSIGNED,
    TaskFilter,
    reassign_task,
    team_tasks,
)
from bpm_livechat.sessions.lifecycle import get_session
from tests.support import Desk, new_session, run_failing


def _crash(engine: ProcessEngine, session_id: int, db: Session) -> object:
    user = get_user(db, "olga")
    session = get_session(db, session_id)
    return start_process(db, engine, session, "fragile", {"mode": "crash"}, user)


def _failed(factory: sessionmaker[Session], desk: Desk, engine: ProcessEngine) -> int:
    with factory() as db:
        session_id = new_session(db, desk).id
    return run_failing(factory, partial(_crash, engine, session_id)).instance.id


def test_supervisors_see_failures_of_their_chats_with_the_element_and_message(
    factory: sessionmaker[Session], deployed: Desk, process_engine: ProcessEngine
) -> None:
    first = _failed(factory, deployed, process_engine)
    with factory() as db:
        [incident] = list_incidents(db, get_user(db, "sam"))
        assert (incident.instance_id, incident.element_id, incident.kind) == (
            first,
            "check",
            "runtime",
        )
        assert incident.message == "KeyError: 'summary'"
        assert (incident.process, incident.live_chat) == ("fragile", "Support")
        assert list_incidents(db, get_user(db, "admin")) == [incident]
        with pytest.raises(AccessDeniedError):
            list_incidents(db, get_user(db, "olga"))  # operators have no incidents view
        chat = incident_chat = get_session(db, incident.session_id).live_chat_id
        assert list_incidents(db, get_user(db, "sam"), IncidentFilter(live_chat_id=chat + 99)) == []
        assert list_incidents(db, get_user(db, "sam"), IncidentFilter(live_chat_id=incident_chat))
        assert list_incidents(db, get_user(db, "sam"), IncidentFilter(process="case_review")) == []
        assert list_incidents(db, get_user(db, "sam"), IncidentFilter(text="keyerror"))
        assert list_incidents(db, get_user(db, "sam"), IncidentFilter(text="CHECK"))
        assert list_incidents(db, get_user(db, "sam"), IncidentFilter(text="timeout")) == []
        later = datetime.now(UTC) + timedelta(minutes=5)
        assert list_incidents(db, get_user(db, "sam"), IncidentFilter(since=later)) == []
        assert list_incidents(db, get_user(db, "sam"), IncidentFilter(until=later))


def test_filters_are_parsed_with_errors_naming_the_field() -> None:
    wanted = parse_filter({"since": "2026-12-01", "until": "2026-12-01", "process": " fragile "})
    assert wanted.since == datetime(2026, 12, 1, tzinfo=UTC)
    assert wanted.until == datetime(2026, 12, 2, tzinfo=UTC)  # the whole day
    assert wanted.process == "fragile"
    with pytest.raises(ValidationError) as caught:
        parse_filter({"since": "yesterday"})
    assert caught.value.fields == {"since": "not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)"}
    with pytest.raises(ValidationError) as caught:
        parse_filter({"since": "2026-12-02", "until": "2026-12-01"})
    assert caught.value.fields == {"until": "not after since"}
    with pytest.raises(ValidationError) as caught:
        parse_filter({"live_chat": "x"})
    assert set(caught.value.fields) == {"live_chat"}
    assert parse_ids(["3", "1", "3"]) == [3, 1]
    for bad in ([], ["x"], ["0"]):
        with pytest.raises(ValidationError):
            parse_ids(bad)


def test_bulk_retry_runs_each_instance_in_its_own_transaction(
    factory: sessionmaker[Session], deployed: Desk, process_engine: ProcessEngine
) -> None:
    fixed, broken = (
        _failed(factory, deployed, process_engine),
        _failed(factory, deployed, process_engine),
    )
    with factory() as db:
        session = get_instance(db, fixed).session
        set_parameters(db, session, {"summary": "now here"}, user_actor(get_user(db, "sam")))
        db.commit()
        sam = get_user(db, "sam")
    outcomes = act_on_incidents(
        factory, process_engine, sam.id, [fixed, broken, 999], BulkAction.RETRY
    )
    assert [(o.instance_id, o.ok, o.status) for o in outcomes] == [
        (fixed, True, "completed"),
        (broken, False, "failed"),
        (999, False, None),
    ]
    assert outcomes[1].message == "Fragile tagging failed again: KeyError: 'summary'"
    assert outcomes[2].message == "Process instance 999 not found"
    with factory() as db:
        assert get_instance(db, fixed).status == "completed"
        assert get_instance(db, broken).status == "failed"
        assert [i.instance_id for i in list_incidents(db, sam)] == [broken]


def test_bulk_cancel_and_who_may(
    factory: sessionmaker[Session], deployed: Desk, process_engine: ProcessEngine
) -> None:
    one, two = (
        _failed(factory, deployed, process_engine),
        _failed(factory, deployed, process_engine),
    )
    with factory() as db:
        olga, sam = get_user(db, "olga"), get_user(db, "sam")
    refused = act_on_incidents(factory, process_engine, olga.id, [one], BulkAction.CANCEL)
    assert [(o.ok, o.message) for o in refused] == [
        (False, "User 'olga' may not retry or cancel process instance " + str(one))
    ]
    done = act_on_incidents(factory, process_engine, sam.id, [one, two, one], BulkAction.CANCEL)
    assert [(o.ok, o.status) for o in done] == [
        (True, "cancelled"),
        (True, "cancelled"),
        (False, None),
    ]
    assert done[2].message == f"Process instance {one} is already cancelled"
    with factory() as db:
        assert list_incidents(db, sam) == []


def test_team_tasks_and_reassign(
    db_session: Session, deployed: Desk, process_engine: ProcessEngine
) -> None:
    db = db_session
    session = new_session(db, deployed)
    form = {"contact_email": "a@b.io", "amount": 5000}
    [task] = start_process(
        db, process_engine, session, "case_review", form, deployed.operator
    ).tasks
    db.commit()
    sam = deployed.supervisor
    [row] = team_tasks(db, sam)
    assert (row.task.id, row.live_chat.name, row.task.assignee_id) == (
        task.id,
        "Support",
        deployed.operator.id,
    )
    assert team_tasks(db, sam, TaskFilter(assignee=UNASSIGNED)) == []
    assert len(team_tasks(db, sam, TaskFilter(assignee="olga"))) == 1
    assert team_tasks(db, sam, TaskFilter(process="fragile")) == []
    assert len(team_tasks(db, sam, TaskFilter(text="REVIEW"))) == 1
    assert len(team_tasks(db, deployed.admin)) == 1
    with pytest.raises(AccessDeniedError):
        team_tasks(db, deployed.operator)
    assert [u.username for u in members(db, deployed.support.id, MemberRole.OPERATOR)] == ["olga"]
    with pytest.raises(ValidationError) as caught:
        reassign_task(db, sam, task.instance_id, task.task_id, "sven", deployed.operator.id)
    assert caught.value.fields == {"assignee": "not an operator of this live chat"}
    db.rollback()
    with pytest.raises(AccessDeniedError):
        reassign_task(
            db, deployed.operator, task.instance_id, task.task_id, "olga", deployed.operator.id
        )
    db.rollback()
    with pytest.raises(ConflictError) as conflict:  # the supervisor saw it unassigned: stale
        reassign_task(db, sam, task.instance_id, task.task_id, "olga", None)
    assert (
        conflict.value.message
        == "task 'Review the case' was reassigned meanwhile; it is now olga's"
    )
    db.rollback()
    moved = reassign_task(db, sam, task.instance_id, task.task_id, "olga", deployed.operator.id)
    db.commit()
    assert moved.assignee is not None and moved.assignee.username == "olga"
