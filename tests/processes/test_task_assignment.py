"""camunda:assignee, candidateUsers and candidateGroups on user tasks: resolved from the session
when the task is created (`${operator}`, `${starter}`, usernames, roles), refused at deploy when
they name nobody this product can resolve."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from bpm_livechat.errors import AccessDeniedError
from bpm_livechat.models import User
from bpm_livechat.processes.deployments import DeploymentRejected, deploy
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.instances import complete_task, start_process
from bpm_livechat.processes.tasks import may_work_task, my_tasks
from bpm_livechat.sessions.lifecycle import close_session
from tests.support import Desk, new_session, open_session

ASSIGNED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="defs_{pid}" targetNamespace="http://example/tests">
  <bpmn:process id="{pid}" name="Assigned {pid}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check" name="Check it" {attributes}>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check" />
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="done" />
  </bpmn:process>
</bpmn:definitions>
"""


def _bpmn(pid: str, attributes: str) -> bytes:
    return ASSIGNED.format(pid=pid, attributes=attributes).encode()


def _user(desk: Desk, name: str) -> User:
    return {
        "admin": desk.admin,
        "sam": desk.supervisor,
        "olga": desk.operator,
        "sven": desk.seller,
    }[name]


@pytest.mark.parametrize(
    ("attributes", "starter", "with_operator", "assignee", "candidates", "roles"),
    [
        ('camunda:assignee="${operator}"', "sam", True, "olga", [], []),
        ('camunda:assignee="${starter}"', "sam", True, "sam", [], []),
        ('camunda:assignee="admin"', "olga", True, "admin", [], []),
        ('camunda:assignee="Admin"', "olga", True, "admin", [], []),
        ('camunda:assignee="${initiator}"', "sam", True, "sam", [], []),
        # an assignee naming nobody now falls back: the session's operator, else the starter
        ('camunda:assignee="ghost"', "sam", True, "olga", [], []),
        ('camunda:assignee="${operator}"', "sam", False, "sam", [], []),
        # candidates: nobody is assigned; unknown names are skipped
        ('camunda:candidateUsers="olga, ghost, sven"', "sam", True, None, ["olga", "sven"], []),
        ('camunda:candidateUsers="${operator}"', "sam", True, None, ["olga"], []),
        ('camunda:candidateGroups="operators"', "sam", True, None, [], ["operators"]),
        # an assignee wins over candidates; a ghost assignee leaves the task to the candidates
        (
            'camunda:assignee="${starter}" camunda:candidateGroups="operators"',
            "olga",
            True,
            "olga",
            [],
            ["operators"],
        ),
        (
            'camunda:assignee="ghost" camunda:candidateUsers="olga"',
            "sam",
            True,
            None,
            ["olga"],
            [],
        ),
    ],
)
def test_each_attribute_resolves_when_the_task_is_created(
    db_session: Session,
    deployed: Desk,
    process_engine: ProcessEngine,
    attributes: str,
    starter: str,
    with_operator: bool,
    assignee: str | None,
    candidates: list[str],
    roles: list[str],
) -> None:
    db = db_session
    deploy(
        db,
        process_engine.scripts,
        _bpmn("assigned", attributes),
        deployed.admin,
        [deployed.support],
    )
    session = new_session(db, deployed) if with_operator else open_session(db, deployed.support)
    db.commit()
    outcome = start_process(db, process_engine, session, "assigned", {}, _user(deployed, starter))
    db.commit()
    [task] = outcome.tasks
    assert (task.assignee.username if task.assignee else None) == assignee
    ids = {_user(deployed, name).id: name for name in ("admin", "sam", "olga", "sven")}
    assert [ids[i] for i in task.candidate_user_ids] == candidates
    assert task.candidate_roles == roles


def test_candidate_users_who_work_the_chat_see_and_work_the_task(
    db_session: Session, deployed: Desk, process_engine: ProcessEngine
) -> None:
    db = db_session
    bpmn = _bpmn("offered", 'camunda:candidateUsers="olga, sven"')
    deploy(db, process_engine.scripts, bpmn, deployed.admin, [deployed.support])
    session = new_session(db, deployed)
    [task] = start_process(db, process_engine, session, "offered", {}, deployed.supervisor).tasks
    db.commit()
    assert my_tasks(db, deployed.operator) == [task]
    assert my_tasks(db, deployed.seller) == []  # named, but Sven works Sales only
    assert not may_work_task(db, deployed.seller, task, session)
    assert may_work_task(db, deployed.supervisor, task, session)  # supervisors work any task
    with pytest.raises(AccessDeniedError):
        complete_task(db, process_engine, task.instance, task.task_id, {}, deployed.seller)
    done = complete_task(db, process_engine, task.instance, task.task_id, {}, deployed.operator)
    assert done.instance.status == "completed"


def test_candidate_groups_offer_the_task_to_that_role_in_the_chat(
    db_session: Session, deployed: Desk, process_engine: ProcessEngine
) -> None:
    db = db_session
    deploy(
        db,
        process_engine.scripts,
        _bpmn("grouped", 'camunda:candidateGroups="operator"'),
        deployed.admin,
        [deployed.support],
    )
    session = new_session(db, deployed)
    [task] = start_process(db, process_engine, session, "grouped", {}, deployed.supervisor).tasks
    db.commit()
    assert my_tasks(db, deployed.operator) == [task]
    assert my_tasks(db, deployed.supervisor) == []
    assert my_tasks(db, deployed.seller) == []


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        (
            'camunda:assignee="${manager}"',
            "camunda:assignee: unknown expression '${manager}' (use ${operator}, ${starter})",
        ),
        (
            'camunda:assignee="#{boss}"',
            "camunda:assignee: '#{boss}' is not an expression this product evaluates",
        ),
        (
            'camunda:assignee="olga, sam"',
            "camunda:assignee names more than one person",
        ),
        (
            'camunda:candidateUsers="olga, Not A Name"',
            "camunda:candidateUsers: 'Not A Name' is not a username "
            "(letters, digits, '.', '_' or '-')",
        ),
        (
            'camunda:candidateGroups="${team}"',
            "camunda:candidateGroups: candidate group '${team}' cannot be an expression",
        ),
    ],
)
def test_bad_assignment_syntax_is_refused_at_deploy_with_the_element(
    db_session: Session,
    deployed: Desk,
    process_engine: ProcessEngine,
    attributes: str,
    message: str,
) -> None:
    with pytest.raises(DeploymentRejected) as caught:
        deploy(
            db_session,
            process_engine.scripts,
            _bpmn("bad", attributes),
            deployed.admin,
            [deployed.support],
        )
    [problem] = caught.value.problems
    assert (problem.element, problem.message) == ("check", message)


def test_a_closed_sessions_tasks_leave_my_tasks(
    db_session: Session, deployed: Desk, process_engine: ProcessEngine
) -> None:
    db = db_session
    bpmn = _bpmn("offered_then_closed", 'camunda:candidateUsers="olga"')
    deploy(db, process_engine.scripts, bpmn, deployed.admin, [deployed.support])
    session = new_session(db, deployed)
    [task] = start_process(
        db, process_engine, session, "offered_then_closed", {}, deployed.supervisor
    ).tasks
    db.commit()
    assert my_tasks(db, deployed.operator) == [task]
    close_session(db, session, deployed.supervisor)
    db.commit()
    assert my_tasks(db, deployed.operator) == []  # nobody may complete it any more
