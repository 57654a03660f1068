"""Starting and completing processes from sessions, on the real engine and sandbox, both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.desk.users import get_user
from bpm_livechat.errors import AccessDeniedError, ConflictError, ValidationError
from bpm_livechat.models import ParamHistory, ProcessInstance, UserTask
from bpm_livechat.params.values import get_parameters, parameter_history
from bpm_livechat.processes.deployments import deploy
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.instances import complete_task, get_instance, start_process
from bpm_livechat.processes.start_forms import prefilled, start_form
from bpm_livechat.processes.tasks import my_tasks
from bpm_livechat.sessions.lifecycle import get_session
from bpm_livechat.sessions.messages import add_message
from tests.support import Desk, count, new_session, open_session, read_bpmn


def _history(db: Session, session_id: int) -> list[tuple[object, ...]]:
    return [
        (h.key, h.old_value, h.new_value, h.task_id, h.task_name)
        for h in parameter_history(db, session_id)
    ]


def _authors(db: Session, session_id: int) -> set[tuple[object, ...]]:
    return {
        (h.actor_user_id, h.process_id, h.process_version, h.instance_id)
        for h in parameter_history(db, session_id)
    }


def test_start_form_errors_are_all_reported_and_nothing_is_created(
    db_session: Session, deployed: Desk, process_engine: ProcessEngine
) -> None:
    db = db_session
    session = new_session(db, deployed)
    with pytest.raises(ValidationError) as caught:
        start_process(
            db,
            process_engine,
            session,
            "case_review",
            {"contact_email": "not-an-email", "amount": "-5"},
            deployed.operator,
        )
    db.commit()
    assert set(caught.value.fields) == {"contact_email", "amount"}
    assert caught.value.fields["amount"] == "less than the minimum 0"
    assert (count(db, ProcessInstance), count(db, ParamHistory)) == (0, 0)


def test_start_form_is_prefilled_from_the_session(
    db_session: Session, deployed: Desk, process_engine: ProcessEngine
) -> None:
    db = db_session
    session = new_session(db, deployed)
    form = start_form(db, process_engine, session, "case_review", deployed.operator)
    assert [f.id for f in form.fields] == ["contact_email", "amount"]
    assert prefilled(db, form) == {"contact_email": None, "amount": 0}


def test_start_waits_on_the_review_then_completion_finishes_with_history(
    factory: sessionmaker[Session], deployed: Desk, process_engine: ProcessEngine
) -> None:
    with factory() as db:
        session_id = new_session(db, deployed).id
        olga = get_user(db, "olga")
        outcome = start_process(
            db,
            process_engine,
            get_session(db, session_id),
            "case_review",
            {"contact_email": " Jane@Example.COM ", "amount": "2500"},
            olga,
        )
        db.commit()
        instance_id = outcome.instance.id
        assert outcome.instance.status == "waiting"
        assert {k: (c.old, c.new) for k, c in outcome.changes.items()} == {
            "contact_email": (None, "Jane@example.com"),
            "segment": (None, "vip"),
        }
        assert [(t.element_id, t.name, t.assignee_id) for t in outcome.tasks] == [
            ("review", "Review the case", olga.id)
        ]
        task_id = outcome.tasks[0].task_id
        assert [f["id"] for f in outcome.tasks[0].form] == ["summary", "outcome"]

    # A new database session: the workflow is restored from its saved JSON, on the specs of its
    # version's BPMN (they are not saved with each instance).
    with factory() as db:
        olga = get_user(db, "olga")
        assert [t.task_id for t in my_tasks(db, olga)] == [task_id]
        assert my_tasks(db, get_user(db, "sam")) == []
        instance = get_instance(db, instance_id, olga)
        assert instance.workflow_json is not None and '"spec"' not in instance.workflow_json
        with pytest.raises(ValidationError) as caught:
            complete_task(db, process_engine, instance, task_id, {"outcome": "maybe"}, olga)
        assert caught.value.fields == {
            "summary": "required",
            "outcome": "not one of: resolved, escalated",
        }
        done = complete_task(
            db,
            process_engine,
            instance,
            task_id,
            {"summary": "Refund agreed", "outcome": "resolved"},
            olga,
        )
        db.commit()
        assert done.instance.status == "completed"
        assert done.instance.finished_at is not None
        assert done.tasks == []

    with factory() as db:
        assert get_parameters(db, session_id) == {
            "contact_email": "Jane@example.com",
            "segment": "vip",
            "summary": "Refund agreed",
            "outcome": "resolved",
        }
        olga_id = get_user(db, "olga").id
        assert _history(db, session_id) == [
            ("contact_email", None, "Jane@example.com", "classify", "Classify case"),
            ("segment", None, "vip", "classify", "Classify case"),
            ("summary", None, "Refund agreed", "record", "Record the review"),
            ("outcome", None, "resolved", "record", "Record the review"),
        ]
        assert _authors(db, session_id) == {(olga_id, "case_review", 1, instance_id)}
        task = db.get(UserTask, 1)
        assert task is not None
        assert (task.state, task.completed_by_id) == ("completed", olga_id)
        assert my_tasks(db, get_user(db, "olga")) == []
        with pytest.raises(ConflictError):
            complete_task(
                db,
                process_engine,
                get_instance(db, instance_id),
                task_id,
                {"summary": "x", "outcome": "resolved"},
                get_user(db, "olga"),
            )


def test_gateway_skips_the_review_for_small_amounts(
    db_session: Session, deployed: Desk, process_engine: ProcessEngine
) -> None:
    db = db_session
    session = new_session(db, deployed)
    outcome = start_process(
        db, process_engine, session, "case_review", {"contact_email": "a@b.io"}, deployed.operator
    )
    db.commit()
    assert (outcome.instance.status, outcome.tasks) == ("completed", [])
    assert get_parameters(db, session.id) == {"contact_email": "a@b.io", "segment": "standard"}


def test_access_binding_and_assignment_are_checked(
    db_session: Session, deployed: Desk, process_engine: ProcessEngine
) -> None:
    db = db_session
    session = new_session(db, deployed)
    with pytest.raises(AccessDeniedError):
        start_process(
            db, process_engine, session, "case_review", {"contact_email": "a@b.io"}, deployed.seller
        )
    sales_session = open_session(db, deployed.sales, operator=deployed.seller)
    db.commit()
    with pytest.raises(ValidationError) as caught:
        start_process(
            db,
            process_engine,
            sales_session,
            "case_review",
            {"contact_email": "a@b.io"},
            deployed.seller,
        )
    assert caught.value.message == "process 'case_review' is not offered in live chat 'Sales'"
    outcome = start_process(
        db,
        process_engine,
        session,
        "case_review",
        {"contact_email": "a@b.io", "amount": 5000},
        deployed.operator,
    )
    db.commit()
    task_id = outcome.tasks[0].task_id
    # The app user reads the chat but works nothing; the supervisor may complete anyone's task.
    with pytest.raises(AccessDeniedError):
        complete_task(db, process_engine, outcome.instance, task_id, {}, deployed.app_user)
    done = complete_task(
        db,
        process_engine,
        outcome.instance,
        task_id,
        {"summary": "ok", "outcome": "escalated"},
        deployed.supervisor,
    )
    assert done.instance.status == "completed"


@pytest.mark.parametrize(
    ("attributes", "assignee", "roles", "sam_sees", "olga_sees"),
    [
        ('camunda:candidateGroups="supervisors"', None, ["supervisors"], True, False),
        ('camunda:assignee="sam"', "sam", [], True, False),
        ('camunda:assignee="nobody"', "olga", [], False, True),
    ],
)
def test_user_tasks_follow_assignee_and_candidate_groups(
    db_session: Session,
    deployed: Desk,
    attributes: str,
    assignee: str | None,
    roles: list[str],
    sam_sees: bool,
    olga_sees: bool,
    process_engine: ProcessEngine,
) -> None:
    db = db_session
    bpmn = read_bpmn("case_review.bpmn").replace(
        b'name="Review the case">', f'name="Review the case" {attributes}>'.encode()
    )
    deploy(db, process_engine.scripts, bpmn, deployed.admin)
    session = new_session(db, deployed)
    form = {"contact_email": "a@b.io", "amount": 5000}
    [task] = start_process(
        db, process_engine, session, "case_review", form, deployed.operator
    ).tasks
    db.commit()
    assert (task.assignee.username if task.assignee else None, task.candidate_roles) == (
        assignee,
        roles,
    )
    assert (my_tasks(db, deployed.supervisor) == [task]) is sam_sees
    assert (my_tasks(db, deployed.operator) == [task]) is olga_sees
    assert my_tasks(db, deployed.seller) == []
    if not olga_sees:
        with pytest.raises(AccessDeniedError):
            complete_task(db, process_engine, task.instance, task.task_id, {}, deployed.operator)


def test_a_task_of_a_session_without_operator_goes_to_whoever_made_the_step(
    db_session: Session, deployed: Desk, process_engine: ProcessEngine
) -> None:
    db = db_session
    session = open_session(db, deployed.support)
    db.commit()
    assert session.operator_id is None
    form = {"contact_email": "a@b.io", "amount": 5000}
    [task] = start_process(
        db, process_engine, session, "case_review", form, deployed.supervisor
    ).tasks
    db.commit()
    assert task.assignee_id == deployed.supervisor.id
    assert my_tasks(db, deployed.supervisor) == [task]
    assert my_tasks(db, deployed.operator) == []


def test_a_start_that_ends_reads_before_it_locks_and_writes_five_times(
    db_session: Session, deployed: Desk, process_engine: ProcessEngine
) -> None:
    """After the caller's own reads: the start check; phase 1 reads the parameter definitions
    with the session's values (on SQLite in a read transaction of its own); phase 2 locks the
    session (reading its version) and reads its values again, then writes the instance, the
    values, the history and the live event for open pages, and reads whether anyone listens to
    the session's parameter changes (a waiting instance or a webhook; nobody does, so no event
    is written). The recent messages are not read: no script of case_review names them."""
    db = db_session
    session = new_session(db, deployed)
    start_form(
        db, process_engine, session, "case_review", deployed.operator
    )  # the BPMN is parsed from now on
    db.commit()
    session = get_session(db, session.id, deployed.operator)
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement.split()[0])

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        outcome = start_process(
            db,
            process_engine,
            session,
            "case_review",
            {"contact_email": "a@b.io"},
            deployed.operator,
        )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    db.commit()
    assert outcome.instance.status == "completed"
    # SQLite: the caller's transaction ends; phase 1 reads in a deferred one, phase 2 writes in
    # an IMMEDIATE one (its lock statement is a plain read of the version: no row locks).
    # PostgreSQL: phase 1 first lets its transaction stay idle while scripts run (set_config).
    sqlite = db.get_bind().dialect.name == "sqlite"
    begin = ["BEGIN"] if sqlite else []
    phase_1 = ["BEGIN", "SELECT"] if sqlite else ["SELECT", "SELECT"]
    phase_2 = begin + ["SELECT"] * 2 + ["INSERT"] * 5 + ["SELECT"]
    assert statements == ["SELECT", *phase_1, *phase_2]
    assert get_parameters(db, session.id) == {"contact_email": "a@b.io", "segment": "standard"}


THREAD_DIGEST = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
                  targetNamespace="http://bpm-livechat.example/tests">
  <bpmn:process id="thread_digest" name="Thread digest" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="count" name="Count" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>n = 2</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:scriptTask id="digest" name="Digest" scriptFormat="python">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>lines = [m.author + ": " + m.text for m in session.messages[-n:]]
session.params["summary"] = " | ".join(lines)</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:scriptTask id="again" name="Again" scriptFormat="python">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>field = "{0.mess" + "ages[0].text}"
session.params["outcome"] = "resolved" if field.format(session) else "escalated"
first = field.format(session)</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="count" />
    <bpmn:sequenceFlow id="f2" sourceRef="count" targetRef="digest" />
    <bpmn:sequenceFlow id="f3" sourceRef="digest" targetRef="again" />
    <bpmn:sequenceFlow id="f4" sourceRef="again" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_scripts_that_name_session_messages_read_them_once_per_step(
    db_session: Session, deployed: Desk, process_engine: ProcessEngine
) -> None:
    db = db_session
    deploy(db, process_engine.scripts, THREAD_DIGEST, deployed.admin, [deployed.support])
    session = new_session(db, deployed)
    for text in ("My order is late", "Which order?", "Number 42"):
        add_message(db, session, text)
    db.commit()
    messages_read: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "FROM messages" in statement:
            messages_read.append(statement)

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        outcome = start_process(db, process_engine, session, "thread_digest", {}, deployed.operator)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    db.commit()
    assert outcome.instance.status == "completed"
    assert (
        get_parameters(db, session.id)["summary"] == "Jane Doe: Which order? | Jane Doe: Number 42"
    )
    assert len(messages_read) == 1  # for the first script that names them; none for `count`
    assert get_parameters(db, session.id)["outcome"] == "resolved"


def test_str_format_reaches_the_messages_without_naming_them(
    db_session: Session, deployed: Desk, process_engine: ProcessEngine
) -> None:
    # str.format looks attributes up by a field name built at run time ("{0.mess" + "ages}"):
    # a script that calls it gets the messages, though it never writes the word.
    db = db_session
    deploy(
        db,
        process_engine.scripts,
        THREAD_DIGEST.replace(b"session.messages[-n:]", b"[]"),
        deployed.admin,
        [deployed.support],
    )
    session = new_session(db, deployed)
    add_message(db, session, "My order is late")
    db.commit()
    start_process(db, process_engine, session, "thread_digest", {}, deployed.operator)
    db.commit()
    assert get_parameters(db, session.id)["outcome"] == "resolved"
