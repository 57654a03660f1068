"""The demo's SLA escalation and satisfaction survey, end to end through the REST API (issue 15)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.demo.load import load_demo
from bpm_livechat.desk.tokens import create_token
from bpm_livechat.desk.users import get_user
from bpm_livechat.desk.webhooks import add_webhook
from bpm_livechat.jobs.worker import Worker
from bpm_livechat.models import Job
from bpm_livechat.persistence.transactions import unit_of_work
from bpm_livechat.processes.engine.engine import ProcessEngine
from tests.support import MovingClock


@pytest.fixture
def headers(factory: sessionmaker[Session], process_engine: ProcessEngine) -> dict[str, str]:
    """The demo (its processes deployed and bound) and an operator's token."""
    with unit_of_work(factory) as db:
        load_demo(db, process_engine.scripts, sessions_per_chat=1)
        _token, plaintext = create_token(db, get_user(db, "operator"))
    return {"Authorization": f"Bearer {plaintext}"}


@pytest.fixture
def channel(headers: dict[str, str], factory: sessionmaker[Session]) -> dict[str, str]:
    """The demo's channel account token (after `headers` loaded the demo): the client's side."""
    with unit_of_work(factory) as db:
        _token, plaintext = create_token(db, get_user(db, "widget"))
    return {"Authorization": f"Bearer {plaintext}"}


def _create(client: FlaskClient, headers: dict[str, str]) -> int:
    body = {"live_chat": "Customer Support", "client": {"name": "Zoe"}, "subject": "Parcel"}
    created = client.post("/api/v1/sessions", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    return int(created.get_json()["id"])


def _say(
    client: FlaskClient, headers: dict[str, str], session_id: int, text: str, kind: str
) -> None:
    url = f"/api/v1/sessions/{session_id}/messages"
    said = client.post(url, json={"text": text, "author_kind": kind}, headers=headers)
    assert said.status_code == 201, said.get_json()


def test_an_unanswered_session_created_through_the_api_is_escalated(
    client: FlaskClient, headers: dict[str, str], timed_worker: Worker, clock: MovingClock
) -> None:
    session_id = _create(client, headers)
    clock.advance(seconds=1)  # past the system time the API stamped its event with
    assert timed_worker.run_due() == 2  # the creation's event; the escalation's start
    clock.advance(minutes=4)
    assert timed_worker.run_due() == 0
    clock.advance(minutes=2)
    assert timed_worker.run_due() == 1  # the 5 minutes are up
    got = client.get(f"/api/v1/sessions/{session_id}", headers=headers).get_json()
    assert (got["priority"], got["params"]["sla_breached"]) == ("high", True)


def test_the_survey_asks_after_a_close_through_the_api_and_reads_the_answer(
    client: FlaskClient,
    headers: dict[str, str],
    channel: dict[str, str],
    timed_worker: Worker,
    clock: MovingClock,
) -> None:
    session_id = _create(client, headers)
    clock.advance(seconds=1)
    timed_worker.run_due()
    _say(client, headers, session_id, "On it!", "operator")  # ends the SLA escalation
    clock.advance(seconds=1)
    assert timed_worker.run_due() == 2  # the reply's event; its delivery
    patch = {"values": {"outcome": "resolved"}}
    url = f"/api/v1/sessions/{session_id}"
    assert client.patch(f"{url}/parameters", json=patch, headers=headers).status_code == 200
    assert client.post(f"{url}/close", headers=headers).status_code == 200
    clock.advance(seconds=1)
    assert timed_worker.run_due() == 3  # the close's event; the survey's and the request's starts
    thread = client.get(f"{url}/messages", headers=headers).get_json()["items"]
    asked = thread[-1]
    assert (asked["author_kind"], asked["author_name"]) == ("process", "Satisfaction survey")
    assert asked["text"].startswith("Thank you for contacting us, Zoe! How satisfied were you?")
    _say(client, channel, session_id, "4, thanks", "client")
    clock.advance(seconds=1)
    assert timed_worker.run_due() == 2  # the answer's event; its delivery to the survey
    values = client.get(f"{url}/parameters", headers=headers).get_json()["values"]
    assert (values["satisfaction"], values["survey_status"]) == (4, "rated")


def test_a_parameter_changed_through_the_api_is_an_event_for_subscribers(
    client: FlaskClient, headers: dict[str, str], factory: sessionmaker[Session]
) -> None:
    session_id = _create(client, headers)
    url = f"/api/v1/sessions/{session_id}/parameters"
    with unit_of_work(factory) as db:
        add_webhook(db, "CRM", "http://127.0.0.1:9/hooks", events=["parameter_changed"])
    patch = {"values": {"outcome": "resolved", "segment": "smb"}}
    assert client.patch(url, json=patch, headers=headers).status_code == 200
    assert client.patch(url, json=patch, headers=headers).status_code == 200  # no change
    with unit_of_work(factory) as db:
        payloads = db.scalars(select(Job.payload).where(Job.kind == "session_event")).all()
    changes = [p for p in payloads if p["event"] == "parameter_changed"]
    assert changes == [{"event": "parameter_changed", "keys": ["outcome", "segment"]}]


def test_a_reply_before_the_escalation_began_waiting_is_not_escalated(
    client: FlaskClient, headers: dict[str, str], timed_worker: Worker, clock: MovingClock
) -> None:
    session_id = _create(client, headers)
    _say(client, headers, session_id, "On it!", "operator")  # before any worker ran
    clock.advance(seconds=1)
    assert timed_worker.run_due() == 2  # the creation's event; the escalation's start
    clock.advance(minutes=6)
    assert timed_worker.run_due() == 1  # the timer finds the reply in the recent messages
    got = client.get(f"/api/v1/sessions/{session_id}", headers=headers).get_json()
    assert (got["priority"], got["params"].get("sla_breached")) == ("normal", None)
