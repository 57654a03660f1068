"""Process libraries: call activities of processes deployed from other files, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.desk.users import get_user
from bpm_livechat.models import ProcessInstance
from bpm_livechat.params.values import get_parameters
from bpm_livechat.processes.deployments import (
    BpmnFile,
    DeploymentRejected,
    deactivate,
    deploy,
    deploy_files,
    get_process,
    list_processes,
)
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.instances import complete_task, get_instance, start_process
from bpm_livechat.processes.library import ProcessInUseError
from bpm_livechat.sessions.lifecycle import get_session
from tests.support import PROCESS_BPMN, Desk, new_session, run_failing, run_ok

LIBRARY = PROCESS_BPMN / "library"


def library_file(name: str, *replacements: tuple[str, str]) -> bytes:
    """A file of tests/processes/bpmn/library, with text replaced (another version of it)."""
    text = (LIBRARY / name).read_text()
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    return text.encode()


def deploy_library(db: Session, desk: Desk, engine: ProcessEngine) -> None:
    """credit_check v1, note_writer v1 and v2 deployed one by one, then the parent, which calls
    credit_check (latest) and note_writer (pinned at version 1)."""
    scripts, admin = engine.scripts, desk.admin
    deploy(db, scripts, library_file("credit_check.bpmn"), admin)
    deploy(db, scripts, library_file("note_writer.bpmn"), admin)
    deploy(db, scripts, library_file("note_writer.bpmn", ("note v1", "note v2")), admin)
    result = deploy(db, scripts, library_file("order_parent.bpmn"), admin, [desk.support])
    assert [(p.id, p.version) for p in result.processes] == [("order_parent", 1)]
    db.commit()


def _start_and_confirm(
    factory: sessionmaker[Session], desk: Desk, engine: ProcessEngine, session_id: int
) -> int:
    def start(db: Session) -> int:
        session, user = get_session(db, session_id), get_user(db, "olga")
        outcome = start_process(db, engine, session, "order_parent", {}, user)
        return outcome.instance.id

    return run_ok(factory, start)


def _confirm(
    factory: sessionmaker[Session], desk: Desk, engine: ProcessEngine, instance_id: int
) -> None:
    def complete(db: Session) -> None:
        instance = get_instance(db, instance_id)
        task_id = instance.tasks[0].task_id
        complete_task(db, engine, instance, task_id, {}, get_user(db, "olga"))

    run_ok(factory, complete)


def test_a_library_runs_and_an_instance_keeps_the_versions_it_started_with(
    db_session: Session,
    factory: sessionmaker[Session],
    deployed: Desk,
    process_engine: ProcessEngine,
) -> None:
    db, desk = db_session, deployed
    deploy_library(db, desk, process_engine)
    session_id = new_session(db, desk).id
    first = _start_and_confirm(factory, desk, process_engine, session_id)
    instance = db.get(ProcessInstance, first)
    assert instance is not None and instance.status == "waiting"
    assert {k: v["number"] for k, v in instance.called_versions.items()} == {
        "credit_check": 1,
        "note_writer": 1,
    }
    # A newer credit_check while the first instance waits: it keeps version 1 (bound at start).
    newer = library_file("credit_check.bpmn", ("credit ok v1", "credit ok v2"))
    deploy(db, process_engine.scripts, newer, desk.admin)
    db.commit()
    _confirm(factory, desk, process_engine, first)
    db.expire_all()
    assert get_parameters(db, session_id)["summary"] == "credit ok v1 / note v1"
    assert db.get(ProcessInstance, first).status == "completed"  # type: ignore[union-attr]
    db.commit()
    # A new instance takes the latest credit_check, and note_writer still at its pinned v1.
    second = _start_and_confirm(factory, desk, process_engine, session_id)
    _confirm(factory, desk, process_engine, second)
    db.expire_all()
    assert get_parameters(db, session_id)["summary"] == "credit ok v2 / note v1"


def test_files_deployed_together_form_one_deployment_all_or_nothing(
    db_session: Session, deployed: Desk, process_engine: ProcessEngine
) -> None:
    db, desk = db_session, deployed
    parent = library_file(
        "order_parent.bpmn",
        ('camunda:calledElementBinding="version" camunda:calledElementVersion="1"', ""),
    )
    broken_note = library_file("note_writer.bpmn", ('note = "note v1"', "note = ("))
    files = [
        BpmnFile("order_parent.bpmn", parent),
        BpmnFile("credit_check.bpmn", library_file("credit_check.bpmn")),
        BpmnFile("note_writer.bpmn", broken_note),
    ]
    with pytest.raises(DeploymentRejected) as caught:
        deploy_files(db, process_engine.scripts, files, desk.admin)
    problem = caught.value.problems[0]
    assert (problem.file, problem.element, problem.line) == (
        "note_writer.bpmn",
        "note_writer_work",
        12,
    )
    assert caught.value.message.startswith("BPMN rejected: ")
    assert "(note_writer.bpmn, note_writer_work, line 12)" in caught.value.message
    db.rollback()
    assert [p.bpmn_id for p in list_processes(db)] == ["case_review", "fragile"]
    files[2] = BpmnFile("note_writer.bpmn", library_file("note_writer.bpmn"))
    result = deploy_files(db, process_engine.scripts, files, desk.admin, [desk.support])
    assert sorted((p.id, p.version) for p in result.processes) == [
        ("credit_check", 1),
        ("note_writer", 1),
        ("order_parent", 1),
    ]


def test_deploy_names_a_missing_called_process_and_a_missing_pinned_version(
    db_session: Session, deployed: Desk, process_engine: ProcessEngine
) -> None:
    db, desk = db_session, deployed
    with pytest.raises(DeploymentRejected) as caught:
        deploy(db, process_engine.scripts, library_file("order_parent.bpmn"), desk.admin)
    assert [p.to_dict() for p in caught.value.problems] == [
        {
            "element": "call_check",
            "name": "Check credit",
            "line": 14,
            "message": "call activity 'call_check' (Check credit) calls process 'credit_check', "
            "which is neither in the files deployed nor deployed already",
        },
        {
            "element": "call_note",
            "name": "Write the note",
            "line": 19,
            "message": "call activity 'call_note' (Write the note) calls process 'note_writer', "
            "which is neither in the files deployed nor deployed already",
        },
    ]
    db.rollback()
    deploy(db, process_engine.scripts, library_file("credit_check.bpmn"), desk.admin)
    deploy(db, process_engine.scripts, library_file("note_writer.bpmn"), desk.admin)
    pinned = library_file(
        "order_parent.bpmn", ('calledElementVersion="1"', 'calledElementVersion="3"')
    )
    with pytest.raises(DeploymentRejected) as caught:
        deploy(db, process_engine.scripts, pinned, desk.admin)
    assert [(p.element, p.line, p.message) for p in caught.value.problems] == [
        (
            "call_note",
            19,
            "call activity 'call_note' (Write the note) calls process 'note_writer' at version 3, "
            "which does not exist (latest is 1)",
        )
    ]
    bad_binding = library_file("order_parent.bpmn", ('Binding="version"', 'Binding="versionTag"'))
    with pytest.raises(DeploymentRejected) as caught:
        deploy(db, process_engine.scripts, bad_binding, desk.admin)
    assert [(p.element, p.line) for p in caught.value.problems] == [("call_note", 19)]
    assert "'versionTag' is not supported" in caught.value.problems[0].message


def test_binding_deployment_runs_the_version_deployed_together(
    db_session: Session,
    factory: sessionmaker[Session],
    deployed: Desk,
    process_engine: ProcessEngine,
) -> None:
    db, desk = db_session, deployed
    bound = ('Binding="version" camunda:calledElementVersion="1"', 'Binding="deployment"')
    parent = library_file("order_parent.bpmn", bound)
    deploy(db, process_engine.scripts, library_file("credit_check.bpmn"), desk.admin)
    together = [
        BpmnFile("order_parent.bpmn", parent),
        BpmnFile("note_writer.bpmn", library_file("note_writer.bpmn")),
    ]
    deploy_files(db, process_engine.scripts, together, desk.admin, [desk.support])
    # note_writer v2 deployed alone later: the parent still runs the v1 deployed with it.
    later = library_file("note_writer.bpmn", ("note v1", "note v2"))
    deploy(db, process_engine.scripts, later, desk.admin)
    db.commit()
    session_id = new_session(db, desk).id
    instance_id = _start_and_confirm(factory, desk, process_engine, session_id)
    _confirm(factory, desk, process_engine, instance_id)
    db.expire_all()
    assert get_parameters(db, session_id)["summary"] == "credit ok v1 / note v1"
    db.commit()
    # Deploying the pair again with the new note makes a new parent version bound to note v3.
    together[1] = BpmnFile("note_writer.bpmn", library_file("note_writer.bpmn", ("v1", "v3")))
    result = deploy_files(db, process_engine.scripts, together, desk.admin)
    assert sorted((p.id, p.version, p.created) for p in result.processes) == [
        ("note_writer", 3, True),
        ("order_parent", 2, True),
    ]
    with pytest.raises(DeploymentRejected) as caught:
        deploy_files(db, process_engine.scripts, [BpmnFile("p.bpmn", parent)], desk.admin)
    assert "with binding deployment, but that process is not deployed together" in (
        caught.value.problems[0].message
    )


def test_a_called_process_cannot_be_deactivated_while_an_active_process_calls_it(
    db_session: Session,
    factory: sessionmaker[Session],
    deployed: Desk,
    process_engine: ProcessEngine,
) -> None:
    db, desk = db_session, deployed
    deploy_library(db, desk, process_engine)
    note_writer = get_process(db, "note_writer")
    with pytest.raises(ProcessInUseError) as caught:
        deactivate(db, note_writer, desk.admin)
    assert caught.value.message == (
        "process 'note_writer' is called by active process 'order_parent' (version 1, "
        "call activity 'call_note' (Write the note)); deactivate the caller first"
    )
    with pytest.raises(ProcessInUseError):
        deactivate(db, note_writer, desk.admin, 1)  # pinned
    deactivate(db, note_writer, desk.admin, 2)  # nobody needs v2
    credit = get_process(db, "credit_check")
    with pytest.raises(ProcessInUseError):
        deactivate(db, credit, desk.admin, 1)  # the last active version of a "latest" call
    deactivate(db, get_process(db, "order_parent"), desk.admin)
    deactivate(db, note_writer, desk.admin)
    db.commit()
    assert not get_process(db, "note_writer").active


def test_a_start_fails_cleanly_when_the_called_process_is_gone(
    db_session: Session,
    factory: sessionmaker[Session],
    deployed: Desk,
    process_engine: ProcessEngine,
) -> None:
    db, desk = db_session, deployed
    deploy_library(db, desk, process_engine)
    parent = get_process(db, "order_parent")
    parent.active = False  # as an admin would, to deactivate credit_check ...
    deactivate(db, get_process(db, "credit_check"), desk.admin)
    parent.active = True  # ... then bring the caller back
    db.commit()
    session_id = new_session(db, desk).id

    def start(db: Session) -> object:
        session, user = get_session(db, session_id), get_user(db, "olga")
        return start_process(db, process_engine, session, "order_parent", {}, user)

    failure = run_failing(factory, start)
    assert failure.error["element_id"] == "call_check"
    assert (
        "calls process 'credit_check' (its latest active version), which is not"
        in (failure.error["message"])
    )


def test_one_instance_runs_one_version_of_each_process(
    db_session: Session,
    factory: sessionmaker[Session],
    deployed: Desk,
    process_engine: ProcessEngine,
) -> None:
    db, desk, scripts = db_session, deployed, process_engine.scripts
    deploy(db, scripts, library_file("note_writer.bpmn"), desk.admin)
    deploy(db, scripts, library_file("note_writer.bpmn", ("note v1", "note v2")), desk.admin)
    # call_check now calls note_writer at its latest (v2) while call_note pins v1.
    parent = library_file("order_parent.bpmn", ('"credit_check"', '"note_writer"'))
    deploy(db, scripts, parent, desk.admin, [desk.support])
    db.commit()
    session_id = new_session(db, desk).id

    def start(db: Session) -> object:
        session, user = get_session(db, session_id), get_user(db, "olga")
        return start_process(db, process_engine, session, "order_parent", {}, user)

    failure = run_failing(factory, start)
    assert failure.error["element_id"] == "call_note"
    assert (
        "process 'note_writer' is called at version 2 and at version 1 in one instance"
        in failure.error["message"]
    )
