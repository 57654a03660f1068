"""A script's `session.link_item(app, item_id)` links an app item, validated like a changeset."""

from __future__ import annotations

from textwrap import dedent

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.apps.links import linked_items
from bpm_livechat.demo.load import load_demo
from bpm_livechat.desk.livechats import get_live_chat
from bpm_livechat.desk.users import get_user
from bpm_livechat.models import App, AppItem, ProcessInstance, SupportSession
from bpm_livechat.params.values import get_parameters
from bpm_livechat.persistence.transactions import unit_of_work
from bpm_livechat.processes.deployments import deploy
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.instances import start_process
from bpm_livechat.processes.script_bench import dry_run
from bpm_livechat.sessions.lifecycle import get_session
from tests.support import run_failing, run_ok

LINKER = dedent(
    """\
    <?xml version="1.0" encoding="UTF-8"?>
    <bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                      xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                      id="linker_definitions" targetNamespace="http://example/tests">
      <bpmn:process id="link_client" name="Link client" isExecutable="true">
        <bpmn:startEvent id="ask">
          <bpmn:extensionElements><camunda:formData>
            <camunda:formField id="app" label="App" type="string" />
            <camunda:formField id="item" label="Item" type="long" />
          </camunda:formData></bpmn:extensionElements>
          <bpmn:outgoing>f1</bpmn:outgoing>
        </bpmn:startEvent>
        <bpmn:scriptTask id="link" name="Link the item" scriptFormat="python">
          <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
          <bpmn:script>session.params["summary"] = "linked " + app
    session.link_item(app, item)</bpmn:script>
        </bpmn:scriptTask>
        <bpmn:endEvent id="done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
        <bpmn:sequenceFlow id="f1" sourceRef="ask" targetRef="link" />
        <bpmn:sequenceFlow id="f2" sourceRef="link" targetRef="done" />
      </bpmn:process>
    </bpmn:definitions>
    """
)


@pytest.fixture
def setup(factory: sessionmaker[Session], process_engine: ProcessEngine) -> tuple[int, int, int]:
    """Demo data with the linker deployed; (session id, a Clients item, a Requests item)."""
    with unit_of_work(factory) as db:
        load_demo(db, process_engine.scripts, sessions_per_chat=3)
        chat = get_live_chat(db, "Customer Support")
        deploy(
            db,
            process_engine.scripts,
            LINKER.encode(),
            get_user(db, "admin"),
            [chat],
        )
        query = select(SupportSession.id).where(SupportSession.live_chat_id == chat.id)
        session_id = db.scalars(query.order_by(SupportSession.id)).all()[-1]

        def first_item(app: str) -> int:
            item = db.scalars(
                select(AppItem.id).join(App).where(App.name == app).order_by(AppItem.id.desc())
            ).first()
            assert item is not None
            return item

        return session_id, first_item("Clients"), first_item("Requests")


def _start(db: Session, engine: ProcessEngine, session_id: int, app: str, item: int) -> object:
    user = get_user(db, "operator")
    form = {"app": app, "item": item}
    return start_process(db, engine, get_session(db, session_id, user), "link_client", form, user)


def test_a_script_links_an_item_of_the_bound_app(
    factory: sessionmaker[Session], setup: tuple[int, int, int], process_engine: ProcessEngine
) -> None:
    session_id, client_item, _ = setup
    run_ok(factory, lambda db: _start(db, process_engine, session_id, "Clients", client_item))
    with unit_of_work(factory) as db:
        assert client_item in [item.id for item in linked_items(db, session_id)]


def test_a_link_to_another_app_fails_the_step_and_writes_nothing(
    factory: sessionmaker[Session], setup: tuple[int, int, int], process_engine: ProcessEngine
) -> None:
    session_id, _, request_item = setup
    with unit_of_work(factory) as db:
        before = [item.id for item in linked_items(db, session_id)]
        summary_before = get_parameters(db, session_id).get("summary")
    caught = run_failing(
        factory, lambda db: _start(db, process_engine, session_id, "Requests", request_item)
    )
    assert (caught.failed.cause.kind, caught.failed.cause.element_id) == ("changeset", "link")
    assert "'Requests' is not the app of live chat 'Customer Support'" in caught.failed.cause.reason
    with unit_of_work(factory) as db:
        assert [item.id for item in linked_items(db, session_id)] == before
        # the same step's parameter write was rolled back with it
        assert get_parameters(db, session_id).get("summary") == summary_before
        instance = db.get(ProcessInstance, caught.instance.id)
        assert instance is not None and instance.status == "failed"


def test_the_script_bench_judges_link_requests_without_linking(
    factory: sessionmaker[Session], setup: tuple[int, int, int], process_engine: ProcessEngine
) -> None:
    session_id, client_item, request_item = setup
    source = f'session.link_item("Clients", {client_item})\nsession.link_item("Requests", {request_item})'
    with unit_of_work(factory) as db:
        before = [item.id for item in linked_items(db, session_id)]
        result = dry_run(
            db,
            process_engine.scripts,
            source,
            session_id,
            get_user(db, "admin"),
        )
    assert [(link.app, link.item_id, link.valid) for link in result.links] == [
        ("Clients", client_item, True),
        ("Requests", request_item, False),
    ]
    assert (
        result.links[1].reason is not None
        and "is not the app of live chat" in result.links[1].reason
    )
    assert not result.ok
    with unit_of_work(factory) as db:
        assert [item.id for item in linked_items(db, session_id)] == before
