"""Monitoring through the API: a process's instances with status / version / session filters
and pages, and an instance's history (steps and parameter changes), with the access rules of
the instance's live chat."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.api.support import Tokens
from tests.support import Desk, new_session


def _start(client: FlaskClient, tokens: Tokens, session_id: int, amount: int) -> dict:
    body = {"process": "case_review", "data": {"contact_email": "a@b.io", "amount": amount}}
    url = f"/api/v1/sessions/{session_id}/instances"
    response = client.post(url, json=body, headers=tokens.operator)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_process_s_instances_with_filters_and_pages(
    client: FlaskClient, tokens: Tokens, deployed: Desk, db_session: Session
) -> None:
    first, second = new_session(db_session, deployed), new_session(db_session, deployed)
    waiting = _start(client, tokens, first.id, 5000)["instance_id"]
    done = _start(client, tokens, second.id, 5)["instance_id"]
    url = "/api/v1/processes/case_review/instances"
    listed = client.get(url, headers=tokens.operator).get_json()
    assert [i["id"] for i in listed["items"]] == [done, waiting]
    assert listed["page"] == {"total": 2, "page": 1, "per_page": 25}
    assert listed["items"][1]["current"] == ["Review the case"]
    assert listed["items"][1]["status"] == "waiting"
    one = client.get(f"{url}?status=completed", headers=tokens.operator).get_json()
    assert [i["id"] for i in one["items"]] == [done]
    by_session = client.get(f"{url}?session={first.id}&version=1", headers=tokens.admin)
    assert [i["id"] for i in by_session.get_json()["items"]] == [waiting]
    paged = client.get(f"{url}?per_page=1&page=2", headers=tokens.operator).get_json()
    assert ([i["id"] for i in paged["items"]], paged["page"]["total"]) == ([waiting], 2)
    other_chat = client.get(url, headers=tokens.seller).get_json()
    assert (other_chat["items"], other_chat["page"]["total"]) == ([], 0)
    bad_version = client.get(f"{url}?version=4", headers=tokens.operator)
    assert bad_version.status_code == 422
    assert bad_version.get_json()["error"]["fields"] == {"version": "no such version"}
    bad_status = client.get(f"{url}?status=asleep", headers=tokens.operator)
    assert bad_status.status_code == 422 and "status" in bad_status.get_json()["error"]["fields"]
    typo = client.get(f"{url}?stauts=waiting", headers=tokens.operator)
    assert typo.status_code == 422
    unknown = client.get("/api/v1/processes/nope/instances", headers=tokens.operator)
    assert unknown.status_code == 404


def test_an_instance_s_history_follows_the_live_chat_s_access(
    client: FlaskClient, tokens: Tokens, deployed: Desk, db_session: Session
) -> None:
    session = new_session(db_session, deployed)
    step = _start(client, tokens, session.id, 5000)
    [task] = step["tasks"]
    instance_id = step["instance_id"]
    complete = f"/api/v1/instances/{instance_id}/tasks/{task['id']}/complete"
    form = {"summary": "Checked", "outcome": "escalated"}
    assert client.post(complete, json={"data": form}, headers=tokens.operator).status_code == 200
    url = f"/api/v1/instances/{instance_id}/history"
    history = client.get(url, headers=tokens.operator)
    assert history.status_code == 200
    data = history.get_json()
    assert [(s["kind"], s["username"], s["status"]) for s in data["steps"]] == [
        ("start", "olga", "waiting"),
        ("complete", "olga", "completed"),
    ]
    assert [e["id"] for e in data["steps"][1]["elements"]] == ["review", "record", "reviewed"]
    assert [(c["key"], c["new"], c["task"]) for c in data["changes"]] == [
        ("contact_email", "a@b.io", "Classify case"),
        ("segment", "vip", "Classify case"),
        ("summary", "Checked", "Record the review"),
        ("outcome", "escalated", "Record the review"),
    ]
    assert client.get(url, headers=tokens.supervisor).status_code == 200
    assert client.get(url, headers=tokens.admin).status_code == 200
    refused = client.get(url, headers=tokens.seller)  # an operator of Sales only
    assert refused.status_code == 403
    assert client.get("/api/v1/instances/999999/history", headers=tokens.admin).status_code == 404


def test_the_openapi_document_describes_the_monitoring_operations(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    listing = paths["/processes/{process_id}/instances"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"process_id", "status", "version", "session", "page", "per_page"} <= names
    assert "get" in paths["/instances/{instance_id}/history"]
