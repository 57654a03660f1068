"""Processes on the web: start forms, failures and retry, tasks and conflicts, diagrams, escaping."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.demo.load import DEMO_PARAMETERS, PROCESSES
from bpm_livechat.models import ParamDefinition, ProcessInstance, SupportSession
from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.params.values import get_parameters
from bpm_livechat.processes.bpmn.diagram import read_diagram
from bpm_livechat.processes.deployments import deploy
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.progress import Progress
from tests.web.support import ON_POSTGRES, Browser, World
from web.diagram import diagram_svg

NEEDS_SUMMARY = Path(__file__).parents[1] / "browser" / "bpmn" / "needs_summary.bpmn"
HOSTILE = '<script>alert("bpmn")</script>'


@pytest.fixture
def deployed(db_session: Session, world: World, process_engine: ProcessEngine) -> World:
    """The demo parameters and processes, plus "Escalate with summary", offered in Support."""
    db = db_session
    have = set(db.scalars(select(ParamDefinition.key)))
    for key, type_name, label, options, read_only, required in DEMO_PARAMETERS:
        if key not in have:
            add_parameter(
                db,
                key,
                type_name,
                label,
                options=options,
                read_only=read_only,
                required_to_close=required,
            )
    for name in ("collect_contact_details.bpmn", "summarize_session.bpmn"):
        deploy(
            db,
            process_engine.scripts,
            (PROCESSES / name).read_bytes(),
            world.desk.admin,
            [world.desk.support],
        )
    deploy(
        db,
        process_engine.scripts,
        NEEDS_SUMMARY.read_bytes(),
        world.desk.admin,
        [world.desk.support],
    )
    db.commit()
    return world


def _instance(db: Session, session_id: int) -> ProcessInstance:
    db.expire_all()
    found = db.scalars(
        select(ProcessInstance)
        .where(ProcessInstance.session_id == session_id)
        .order_by(ProcessInstance.id.desc())
    ).first()
    assert found is not None
    db.expunge(found)
    db.rollback()  # end the read transaction: on SQLite the app's writers wait for it
    return found


def test_session_page_offers_the_bound_processes(
    browser_for: Callable[[str], Browser], deployed: World
) -> None:
    html = browser_for("olga").get(f"/sessions/{deployed.first}").get_data(as_text=True)
    assert "Start process: Collect contact details</a>" in html
    assert "Start process: Escalate with summary</a>" in html
    sven_html = browser_for("admin").get(f"/sessions/{deployed.sale}").get_data(as_text=True)
    assert "No process is offered in this live chat." in sven_html


def test_start_form_is_prefilled_and_labelled(
    browser_for: Callable[[str], Browser], deployed: World, db_session: Session
) -> None:
    session = db_session.get(SupportSession, deployed.first)
    assert session is not None
    session.client.email = "prefill@example.org"
    db_session.commit()
    olga = browser_for("olga")
    olga.post(f"/sessions/{deployed.first}/params/preferred_contact_time", {"value": "morning"})
    html = olga.get(f"/sessions/{deployed.first}/start/collect_contact_details").get_data(
        as_text=True
    )
    assert (
        '<label for="start-contact_email">Email <span class="req">(required)</span></label>' in html
    )
    assert '<option value="morning" selected>Morning</option>' in html  # from the session
    # The bundled process fills Email from the client's (camunda:property name="prefill").
    assert re.search(r'id="start-contact_email"[^>]*value="prefill@example.org"', html)
    assert ">Start process</button>" in html


def test_invalid_start_form_is_422_with_values_kept_and_nothing_created(
    browser_for: Callable[[str], Browser], deployed: World, db_session: Session
) -> None:
    olga = browser_for("olga")
    response = olga.post(
        f"/sessions/{deployed.first}/start/collect_contact_details",
        {
            "contact_email": "not an email",
            "contact_phone": "12",
            "preferred_contact_time": "evening",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert (
        '<p class="field-error" id="start-contact_email-error">not a valid email address</p>'
        in html
    )
    assert 'value="not an email"' in html
    assert '<option value="evening" selected>Evening</option>' in html
    assert db_session.scalars(select(ProcessInstance)).first() is None


def test_start_shows_changed_parameters_highlighted_and_the_instance(
    browser_for: Callable[[str], Browser], deployed: World, db_session: Session
) -> None:
    olga = browser_for("olga")
    response = olga.post(
        f"/sessions/{deployed.first}/start/collect_contact_details",
        {
            "contact_email": "Jane@Example.COM",
            "contact_phone": "",
            "preferred_contact_time": "evening",
        },
    )
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith(
        f"/sessions/{deployed.first}?changed=contact_email,contact_summary,preferred_contact_time"
    )
    assert get_parameters(db_session, deployed.first)["contact_email"] == "jane@example.com"
    db_session.rollback()
    html = olga.get(location).get_data(as_text=True)
    assert "Collect contact details is complete. Changed: 3 parameter(s)." in html
    assert 'class="param changed" id="param-contact_email"' in html
    assert '<span class="badge badge-instance-completed">completed</span>' in html
    assert html.count('class="bpmn-shape bpmn-task is-done"') == 1
    assert 'class="bpmn-shape bpmn-end is-done"' in html
    history = "process collect_contact_details v1, task “Normalise and store details” (started by Olga Operator)"
    assert history in html


def test_failure_is_recorded_shown_in_plain_words_and_retried_by_a_supervisor(
    browser_for: Callable[[str], Browser], deployed: World, db_session: Session
) -> None:
    olga, sam = browser_for("olga"), browser_for("sam")
    response = olga.post(f"/sessions/{deployed.first}/start/needs_summary", {"reason": "angry"})
    assert response.status_code == 303
    instance = _instance(db_session, deployed.first)
    assert instance.status == "failed"
    html = olga.get(response.headers["Location"]).get_data(as_text=True)
    assert "Escalate with summary failed; nothing was changed." in html
    problem = (
        "The script stopped with an error in “Copy the summary” (script line 1): "
        "KeyError: &#39;summary&#39;."
    )
    assert problem in html
    assert ">Retry</button>" not in html  # operators do not retry
    assert olga.post(f"/instances/{instance.id}/retry").status_code == 403
    sam_html = sam.get(f"/sessions/{deployed.first}").get_data(as_text=True)
    assert ">Retry</button>" in sam_html and ">Cancel process</button>" in sam_html
    assert 'class="bpmn-shape bpmn-task is-failed"' in sam_html
    sam.post(f"/sessions/{deployed.first}/params/summary", {"value": "Call back"})
    retried = sam.post(f"/instances/{instance.id}/retry")
    assert retried.status_code == 303
    assert "changed=contact_summary" in retried.headers["Location"]
    assert _instance(db_session, deployed.first).status == "completed"
    assert get_parameters(db_session, deployed.first)["contact_summary"] == "CALL BACK"
    db_session.rollback()
    again = sam.post(f"/instances/{instance.id}/retry")
    assert again.status_code == 409
    assert "is completed, not failed" in again.get_data(as_text=True)


def test_a_failed_retry_is_recorded_again_and_cancel_stops_it(
    browser_for: Callable[[str], Browser], deployed: World, db_session: Session
) -> None:
    olga, sam = browser_for("olga"), browser_for("sam")
    olga.post(f"/sessions/{deployed.first}/start/needs_summary", {"reason": "x"})
    instance = _instance(db_session, deployed.first)
    assert sam.post(f"/instances/{instance.id}/retry").status_code == 303
    assert _instance(db_session, deployed.first).status == "failed"
    asked = sam.post(f"/instances/{instance.id}/cancel")
    assert asked.status_code == 200 and "Cancel the process" in asked.get_data(as_text=True)
    assert _instance(db_session, deployed.first).status == "failed"
    assert olga.post(f"/instances/{instance.id}/cancel").status_code == 403  # not asked first
    confirmed = sam.post(f"/instances/{instance.id}/cancel", {"confirm": "yes"})
    assert confirmed.status_code == 303
    assert _instance(db_session, deployed.first).status == "cancelled"
    html = sam.get(f"/sessions/{deployed.first}").get_data(as_text=True)
    assert "Escalate with summary was cancelled." in html


def test_task_form_my_tasks_and_a_conflict_when_completed_twice(
    browser_for: Callable[[str], Browser], deployed: World, db_session: Session
) -> None:
    olga = browser_for("olga")
    started = olga.post(f"/sessions/{deployed.first}/start/summarize_session", {})
    assert started.status_code == 303
    html = olga.get(started.headers["Location"]).get_data(as_text=True)
    assert "<h4>Next task: Write the summary</h4>" in html
    tasks = olga.get("/tasks").get_data(as_text=True)
    link = re.search(r'href="(/instances/\d+/tasks/[^"]+)"', tasks)
    assert link, tasks
    form = olga.get(link.group(1)).get_data(as_text=True)
    assert ">Submit</button>" in form
    bad = olga.post(link.group(1), {"summary": "", "outcome": "resolved"})
    assert bad.status_code == 422
    assert 'id="task-summary-error">required</p>' in bad.get_data(as_text=True)
    done = olga.post(
        link.group(1),
        {"summary": "All good, resolved.", "outcome": "resolved", "follow_up_date": ""},
    )
    assert done.status_code == 303, done.get_data(as_text=True)
    assert get_parameters(db_session, deployed.first)["summary"] == "All good, resolved."
    db_session.rollback()
    twice = olga.post(link.group(1), {"summary": "Again and again", "outcome": "resolved"})
    assert twice.status_code == 409
    assert "No tasks are waiting for you." in olga.get("/tasks").get_data(as_text=True)
    assert olga.get("/instances/999/tasks/nope").status_code == 404


def test_bpmn_names_are_escaped_in_the_diagram(
    browser_for: Callable[[str], Browser],
    deployed: World,
    db_session: Session,
    process_engine: ProcessEngine,
) -> None:
    hostile_xml = HOSTILE.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    bpmn = (
        NEEDS_SUMMARY.read_text()
        .replace('name="Copy the summary"', f'name="{hostile_xml}"')
        .replace('id="needs_summary"', 'id="hostile_names"')
        .replace('bpmnElement="needs_summary"', 'bpmnElement="hostile_names"')
        .replace('name="Escalate with summary"', f'name="Evil {hostile_xml}"')
    )
    deploy(
        db_session,
        process_engine.scripts,
        bpmn.encode(),
        deployed.desk.admin,
        [deployed.desk.support],
    )
    db_session.commit()
    olga = browser_for("olga")
    olga.post(f"/sessions/{deployed.first}/start/hostile_names", {"reason": "x"})
    html = olga.get(f"/sessions/{deployed.first}").get_data(as_text=True)
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&#34;bpmn&#34;)&lt;/script&gt;" in html
    assert "<title>&lt;script&gt;alert(&#34;bpmn&#34;)&lt;/script&gt; (failed here)</title>" in html


def test_diagram_svg_draws_shapes_edges_and_marks_states() -> None:
    diagram = read_diagram((PROCESSES / "summarize_session.bpmn").read_bytes())
    assert diagram is not None
    progress = Progress(
        completed=frozenset({"summary_requested"}), current=frozenset({"write_summary"})
    )
    svg = str(diagram_svg(diagram, progress, "Diagram", "7"))
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" class="bpmn" role="img"')
    assert svg.count("<polyline") == 3 and svg.count("<rect") == 2 and svg.count("<circle") == 2
    assert (
        '<g class="bpmn-shape bpmn-start is-done"><title>Summary requested (completed)</title>'
        in svg
    )
    assert (
        '<g class="bpmn-shape bpmn-task is-current"><title>Write the summary (current step)</title>'
        in svg
    )
    assert svg.count('class="bpmn-edge is-done"') == 1  # start -> current task
    assert 'marker-end="url(#arrow-7)"' in svg
    assert (
        read_diagram(NEEDS_SUMMARY.read_bytes().replace(b"bpmndi:BPMNPlane", b"bpmndi:Other"))
        is None
    )


@ON_POSTGRES
def test_start_and_retry_on_postgresql(
    browser_for: Callable[[str], Browser], deployed: World, db_session: Session
) -> None:
    olga, sam = browser_for("olga"), browser_for("sam")
    bad = olga.post(
        f"/sessions/{deployed.first}/start/collect_contact_details", {"contact_email": "x"}
    )
    assert bad.status_code == 422
    olga.post(f"/sessions/{deployed.first}/start/needs_summary", {"reason": "x"})
    instance = _instance(db_session, deployed.first)
    assert instance.status == "failed"
    sam.post(f"/sessions/{deployed.first}/params/summary", {"value": "pg"})
    assert sam.post(f"/instances/{instance.id}/retry").status_code == 303
    assert _instance(db_session, deployed.first).status == "completed"
