"""Process libraries through the API: several files deployed together, run, deactivation refused."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.api.support import Tokens
from tests.processes.test_library import library_file
from tests.support import Desk, new_session

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


def _file(name: str, *replacements: tuple[str, str]) -> dict[str, str]:
    return {"name": name, "bpmn": library_file(name, *replacements).decode()}


def test_a_library_deploys_runs_and_protects_its_called_processes(
    client: FlaskClient, tokens: Tokens, deployed: Desk, db_session: Session
) -> None:
    post, admin = client.post, tokens.admin
    # The subprocesses deployed separately: credit_check v1, note_writer v1 and v2.
    for body in (
        {"bpmn": library_file("credit_check.bpmn").decode()},
        {"files": [_file("note_writer.bpmn")]},
        {"files": [_file("note_writer.bpmn", ("note v1", "note v2"))]},
    ):
        assert post("/api/v1/processes", json=body, headers=admin).status_code == 201
    missing = post(
        "/api/v1/processes",
        json={"files": [_file("order_parent.bpmn", ('"credit_check"', '"credit_checks"'))]},
        headers=admin,
    )
    assert missing.status_code == 422
    assert missing.get_json()["error"]["fields"] == {
        "call_check": "call activity 'call_check' (Check credit) calls process 'credit_checks', "
        "which is neither in the files deployed nor deployed already"
    }
    both = post(
        "/api/v1/processes",
        json={"bpmn": "x", "files": [_file("order_parent.bpmn")]},
        headers=admin,
    )
    assert both.status_code == 422
    parent = {"files": [_file("order_parent.bpmn")], "live_chats": ["Support"]}
    deployed_parent = post("/api/v1/processes", json=parent, headers=admin)
    assert deployed_parent.status_code == 201, deployed_parent.get_json()
    assert deployed_parent.get_json()["processes"] == [
        {"id": "order_parent", "name": "Order handling", "version": 1, "created": True}
    ]
    again = post("/api/v1/processes", json=parent, headers=admin)
    assert again.get_json()["processes"][0]["created"] is False  # same content, same calls

    session_id = new_session(db_session, deployed).id
    url = f"/api/v1/sessions/{session_id}/instances"
    started = post(url, json={"process": "order_parent", "data": {}}, headers=tokens.operator)
    assert started.status_code == 201, started.get_json()
    instance_id, [task] = started.get_json()["instance_id"], started.get_json()["tasks"]
    newer = {"files": [_file("credit_check.bpmn", ("credit ok v1", "credit ok v2"))]}
    assert post("/api/v1/processes", json=newer, headers=admin).status_code == 201
    complete = f"/api/v1/instances/{instance_id}/tasks/{task['id']}/complete"
    done = post(complete, json={"data": {}}, headers=tokens.operator)
    assert done.get_json()["status"] == "completed", done.get_json()
    assert done.get_json()["changes"] == {"summary": {"old": None, "new": "credit ok v1 / note v1"}}

    refused = post("/api/v1/processes/note_writer/deactivate", json={}, headers=admin)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["message"] == (
        "process 'note_writer' is called by active process 'order_parent' (version 1, "
        "call activity 'call_note' (Write the note)); deactivate the caller first"
    )
    unpinned = post("/api/v1/processes/note_writer/deactivate", json={"version": 2}, headers=admin)
    assert unpinned.status_code == 200, unpinned.get_json()
    caller = post("/api/v1/processes/order_parent/deactivate", json={}, headers=admin)
    assert caller.status_code == 200 and caller.get_json()["active"] is False
    assert (
        post("/api/v1/processes/note_writer/deactivate", json={}, headers=admin).status_code == 200
    )
