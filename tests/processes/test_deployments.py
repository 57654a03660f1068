"""Deployment: validation first with every problem listed, versions, idempotence, bindings."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from bpm_livechat.errors import AccessDeniedError, NotFoundError
from bpm_livechat.models import Process
from bpm_livechat.processes.deployments import (
    DeploymentRejected,
    VersionInfo,
    bind,
    deactivate,
    deploy,
    get_process,
    list_processes,
    process_details,
    startable_processes,
    unbind,
    version_to_start,
)
from bpm_livechat.processes.engine.engine import ProcessEngine
from tests.support import Desk, read_bpmn


def test_deploy_creates_version_one_and_warns_about_unknown_form_fields(
    db_session: Session, desk: Desk, params: None, process_engine: ProcessEngine
) -> None:
    result = deploy(
        db_session,
        process_engine.scripts,
        read_bpmn("case_review.bpmn"),
        desk.admin,
        [desk.support],
    )
    db_session.commit()
    assert [(p.id, p.name, p.version, p.created) for p in result.processes] == [
        ("case_review", "Case review", 1, True)
    ]
    assert [(w.element, w.line, w.message) for w in result.warnings] == [
        (
            "start",
            16,
            "form field 'amount' matches no custom parameter; its value stays in the process data",
        )
    ]
    process = get_process(db_session, "case_review")
    assert process_details(db_session, process) | {"versions": None} == {
        "id": "case_review",
        "name": "Case review",
        "active": True,
        "latest_version": 1,
        "live_chats": ["Support"],
        "versions": None,
    }
    assert process.versions[0].bpmn == read_bpmn("case_review.bpmn")
    assert process.versions[0].deployed_by_id == desk.admin.id


def test_identical_content_keeps_the_version_and_changed_content_makes_the_next(
    db_session: Session, desk: Desk, params: None, process_engine: ProcessEngine
) -> None:
    bpmn = read_bpmn("case_review.bpmn")
    first = deploy(db_session, process_engine.scripts, bpmn, desk.admin)
    again = deploy(db_session, process_engine.scripts, bpmn, desk.admin)
    changed = deploy(
        db_session,
        process_engine.scripts,
        bpmn.replace(b'name="Case review"', b'name="Case review 2"'),
        desk.admin,
    )
    db_session.commit()
    assert [
        (p.version, p.created) for p in first.processes + again.processes + changed.processes
    ] == [
        (1, True),
        (1, False),
        (2, True),
    ]
    process = get_process(db_session, "case_review")
    assert process.name == "Case review 2"
    assert [(v.number, v.name, v.active) for v in process.versions] == [
        (1, "Case review", True),
        (2, "Case review 2", True),
    ]


def test_rejection_lists_every_problem_and_stores_nothing(
    db_session: Session, desk: Desk, params: None, process_engine: ProcessEngine
) -> None:
    with pytest.raises(DeploymentRejected) as caught:
        deploy(db_session, process_engine.scripts, read_bpmn("broken.bpmn"), desk.admin)
    assert [(p.element, p.line, p.message) for p in caught.value.problems] == [
        ("start", 10, "form field 'choice': enum field without camunda:value options"),
        ("bad_syntax", 18, "script line 1: SyntaxError: '(' was never closed"),
        ("groovy", 20, "script format 'groovy' is not supported; scripts must be Python"),
    ]
    assert caught.value.message == (
        "BPMN rejected: form field 'choice': enum field without camunda:value options"
        " (start, line 10) and 2 more problem(s)"
    )
    assert list_processes(db_session) == []


def test_unsafe_xml_is_rejected_before_anything_is_read(
    db_session: Session, desk: Desk, params: None, process_engine: ProcessEngine
) -> None:
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'
    )
    with pytest.raises(DeploymentRejected) as caught:
        deploy(db_session, process_engine.scripts, hostile, desk.admin)
    assert [(p.element, p.line, p.message) for p in caught.value.problems] == [
        (None, 1, "a DOCTYPE declaration is not allowed (DTDs and entities are refused)")
    ]


def test_only_admins_deploy(
    db_session: Session, desk: Desk, params: None, process_engine: ProcessEngine
) -> None:
    with pytest.raises(AccessDeniedError):
        deploy(db_session, process_engine.scripts, read_bpmn("case_review.bpmn"), desk.supervisor)


def test_deactivate_bind_and_unbind_shape_the_start_menu(
    db_session: Session, desk: Desk, params: None, process_engine: ProcessEngine
) -> None:
    db = db_session
    deploy(db, process_engine.scripts, read_bpmn("case_review.bpmn"), desk.admin, [desk.support])
    deploy(db, process_engine.scripts, read_bpmn("fragile.bpmn"), desk.admin)
    fragile = get_process(db, "fragile")
    review = get_process(db, "case_review")

    def menu(chat_id: int) -> list[str]:
        return [p.bpmn_id for p in startable_processes(db, chat_id)]

    assert menu(desk.support.id) == ["case_review"]
    bind(db, fragile, desk.support, desk.admin)
    bind(db, fragile, desk.sales, desk.admin)
    bind(db, fragile, desk.sales, desk.admin)
    assert menu(desk.support.id) == ["case_review", "fragile"]
    assert [c.name for c in fragile.live_chats] == ["Sales", "Support"]
    unbind(db, fragile, desk.support, desk.admin)
    assert menu(desk.support.id) == ["case_review"]
    assert menu(desk.sales.id) == ["fragile"]
    deactivate(db, fragile, desk.admin, 1)
    assert menu(desk.sales.id) == []
    deactivate(db, review, desk.admin)
    assert menu(desk.support.id) == []
    assert db.get(Process, review.id) is not None
    # Deploying the same content again brings the process back.
    deploy(db, process_engine.scripts, read_bpmn("case_review.bpmn"), desk.admin)
    assert menu(desk.support.id) == ["case_review"]


def test_the_start_check_finds_the_newest_active_version_and_the_binding(
    db_session: Session, desk: Desk, params: None, process_engine: ProcessEngine
) -> None:
    db = db_session
    first = read_bpmn("case_review.bpmn")
    deploy(db, process_engine.scripts, first, desk.admin, [desk.support])
    deploy(
        db,
        process_engine.scripts,
        first.replace(b'name="Case review"', b'name="Case review, again"'),
        desk.admin,
    )
    review = get_process(db, "case_review")
    one, two = (VersionInfo.of(v) for v in review.versions)
    assert (one.number, two.number, two.process_id) == (1, 2, "case_review")
    assert version_to_start(db, "case_review", desk.support.id) == (two, True)
    assert version_to_start(db, "case_review", desk.sales.id) == (two, False)
    deactivate(db, review, desk.admin, 2)
    assert version_to_start(db, "case_review", desk.support.id) == (one, True)
    deactivate(db, review, desk.admin)
    assert version_to_start(db, "case_review", desk.support.id) == (None, True)
    with pytest.raises(NotFoundError):
        version_to_start(db, "no_such_process", desk.support.id)
