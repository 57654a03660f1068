"""Sessions and client messages created through the API fire their automatic starts (issue 4)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.desk.tokens import create_token
from bpm_livechat.desk.users import get_user
from bpm_livechat.jobs.worker import Worker
from bpm_livechat.models import ProcessInstance
from bpm_livechat.params.values import get_parameters
from bpm_livechat.persistence.transactions import unit_of_work
from tests.support import AutostartDemo

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


@pytest.fixture
def operator_headers(autostart_demo: AutostartDemo) -> dict[str, str]:
    """The demo, the tagger bound to client messages in Customer Support; an operator token."""
    return autostart_demo.operator_headers


@pytest.fixture
def channel_headers(autostart_demo: AutostartDemo) -> dict[str, str]:
    """The same demo's channel account token: the clients' side of the conversation."""
    return autostart_demo.channel_headers


def test_first_and_later_client_messages_start_the_bound_process(
    client: FlaskClient,
    operator_headers: dict[str, str],
    channel_headers: dict[str, str],
    factory: sessionmaker[Session],
    worker: Worker,
) -> None:
    body = {
        "live_chat": "Customer Support",
        "client": {"name": "Zoe"},
        "subject": "Parcel",
        "message": "Where is my parcel?",
    }
    created = client.post("/api/v1/sessions", json=body, headers=channel_headers)
    assert created.status_code == 201, created.get_json()
    session_id = created.get_json()["id"]
    with unit_of_work(factory) as db:  # the API answered before any script ran
        assert "summary" not in get_parameters(db, session_id)
    # The creation's event and the start of the SLA escalation the demo binds to it; the first
    # message's event and the tagger's start.
    assert worker.run_due() == 4
    with unit_of_work(factory) as db:
        assert get_parameters(db, session_id)["summary"] == "Zoe wrote: Where is my parcel?"
    url = f"/api/v1/sessions/{session_id}/messages"
    client.post(url, json={"text": "Any news?"}, headers=channel_headers)
    client.post(url, json={"text": "Checking"}, headers=operator_headers)
    # The client's message starts the tagger again; the operator's reply starts nothing, but the
    # waiting SLA escalation receives it (its event and the delivery).
    assert worker.run_due() == 4
    with unit_of_work(factory) as db:
        assert get_parameters(db, session_id)["summary"] == "Zoe wrote: Any news?"
        started = db.scalars(
            select(ProcessInstance).where(ProcessInstance.session_id == session_id)
        ).all()
        processes = sorted(i.process_version.process.bpmn_id for i in started)
        assert processes == ["sla_escalation", "tag_message", "tag_message"]
        assert {i.status for i in started} == {"completed"}  # the reply ended the escalation
    got = client.get(f"/api/v1/sessions/{session_id}", headers=operator_headers).get_json()
    assert got["params"]["summary"] == "Zoe wrote: Any news?"


def test_event_bindings_through_the_api(
    client: FlaskClient,
    operator_headers: dict[str, str],
    factory: sessionmaker[Session],
    worker: Worker,
) -> None:
    with unit_of_work(factory) as db:
        _token, plaintext = create_token(db, get_user(db, "admin"))
    admin = {"Authorization": f"Bearer {plaintext}"}
    listed = client.get("/api/v1/event-bindings", headers=operator_headers).get_json()["items"]
    assert {"process": "tag_message", "event": "message_received",
            "input_mapping": {"text": "message.text", "who": "client.name"}} in listed  # fmt: skip
    url = "/api/v1/processes/tag_message/events"
    bad = client.post(
        url,
        json={"event": "session_created", "input_mapping": {"t": "message.text"}},
        headers=admin,
    )
    assert bad.status_code == 422
    assert bad.get_json()["error"]["fields"] == {
        "t": "message.text exists only for message_received"
    }
    body = {
        "event": "session_created",
        "input_mapping": {"who": "client.name", "text": "session.subject"},
    }
    assert client.post(url, json=body, headers=operator_headers).status_code == 403
    added = client.post(url, json=body, headers=admin)
    assert added.status_code == 200
    events = {b["event"] for b in added.get_json()["items"] if b["process"] == "tag_message"}
    assert events == {"message_received", "session_created"}
    removed = client.post(f"{url}/remove", json={"event": "message_received"}, headers=admin)
    events = {b["event"] for b in removed.get_json()["items"] if b["process"] == "tag_message"}
    assert events == {"session_created"}
    created = client.post(
        "/api/v1/sessions",
        json={
            "live_chat": "Customer Support",
            "client": {"name": "Ida"},
            "subject": "Hi",
            "message": "Hello there",
        },
        headers=operator_headers,
    )
    session_id = created.get_json()["id"]
    worker.run_due()
    with unit_of_work(factory) as db:
        summary = get_parameters(db, session_id)["summary"]
        started = db.scalars(
            select(ProcessInstance).where(ProcessInstance.session_id == session_id)
        ).all()
        processes = sorted(i.process_version.process.bpmn_id for i in started)
    assert summary == "Ida wrote: Hi"
    # Session created starts the tagger (and the demo's SLA escalation); its first message, no
    # longer bound, starts nothing.
    assert processes == ["sla_escalation", "tag_message"]
    assert client.post("/api/v1/processes/nope/events", json=body, headers=admin).status_code == 404
