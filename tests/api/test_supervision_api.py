"""Supervisor endpoints: incidents with filters, the team's tasks, reassigning a task."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.api.support import Tokens
from tests.support import Desk, new_session

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


def test_incidents_list_with_filters(
    client: FlaskClient, tokens: Tokens, deployed: Desk, db_session: Session
) -> None:
    session = new_session(db_session, deployed)
    url = f"/api/v1/sessions/{session.id}/instances"
    step = client.post(
        url, json={"process": "fragile", "data": {"mode": "crash"}}, headers=tokens.operator
    ).get_json()
    assert step["status"] == "failed"
    listed = client.get("/api/v1/incidents", headers=tokens.supervisor)
    assert listed.status_code == 200
    [item] = listed.get_json()["items"]
    assert (item["instance_id"], item["session_id"]) == (step["instance_id"], session.id)
    assert (item["process"], item["element_id"], item["message"]) == (
        "fragile",
        "check",
        "KeyError: 'summary'",
    )
    assert client.get("/api/v1/incidents?q=keyerror", headers=tokens.admin).get_json()["items"]
    empty = client.get("/api/v1/incidents?process=case_review", headers=tokens.supervisor)
    assert empty.get_json()["items"] == []
    later = client.get(
        "/api/v1/incidents?since=2999-01-01T00:00:00Z", headers=tokens.supervisor
    ).get_json()
    assert later["items"] == []
    bad = client.get("/api/v1/incidents?since=soon", headers=tokens.supervisor)
    assert bad.status_code == 422
    assert "since" in bad.get_json()["error"]["fields"]
    assert client.get("/api/v1/incidents", headers=tokens.operator).status_code == 403
    twice = client.get("/api/v1/incidents?q=a&q=b", headers=tokens.supervisor)
    assert twice.status_code == 422  # one value expected: two are ambiguous, not the first
    assert "q" in twice.get_json()["error"]["fields"]


def test_team_tasks_and_reassign(
    client: FlaskClient, tokens: Tokens, deployed: Desk, db_session: Session
) -> None:
    session = new_session(db_session, deployed)
    url = f"/api/v1/sessions/{session.id}/instances"
    form = {"contact_email": "a@b.io", "amount": 5000}
    step = client.post(
        url, json={"process": "case_review", "data": form}, headers=tokens.operator
    ).get_json()
    [task] = step["tasks"]
    listed = client.get("/api/v1/team-tasks", headers=tokens.supervisor).get_json()["items"]
    assert [(t["task_id"], t["assignee"], t["live_chat"]) for t in listed] == [
        (task["id"], "olga", "Support")
    ]
    assert client.get("/api/v1/team-tasks?assignee=-", headers=tokens.supervisor).get_json() == {
        "items": []
    }
    reassign = f"/api/v1/instances/{step['instance_id']}/tasks/{task['id']}/reassign"
    stale = client.post(
        reassign, json={"assignee": "olga", "expected_assignee": None}, headers=tokens.supervisor
    )
    assert stale.status_code == 409
    wrong = client.post(reassign, json={"assignee": "sven"}, headers=tokens.supervisor)
    assert wrong.status_code == 422
    assert wrong.get_json()["error"]["fields"] == {"assignee": "not an operator of this live chat"}
    assert (
        client.post(reassign, json={"assignee": "olga"}, headers=tokens.operator).status_code == 403
    )
    done = client.post(
        reassign, json={"assignee": "olga", "expected_assignee": "olga"}, headers=tokens.supervisor
    )
    assert done.status_code == 200
    assert done.get_json()["assignee"] == "olga"
