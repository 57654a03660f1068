"""Contract tests: deploying processes, starting instances, tasks, retry and cancel via the API."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.values import set_parameters
from tests.api.support import Tokens
from tests.support import Desk, new_session, read_bpmn

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


def test_deploy_list_versions_and_bindings(
    client: FlaskClient, tokens: Tokens, params: None
) -> None:
    bpmn = read_bpmn("case_review.bpmn").decode()
    body = {"bpmn": bpmn, "live_chats": ["Support"]}
    first = client.post("/api/v1/processes", json=body, headers=tokens.admin)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["processes"] == [
        {"id": "case_review", "name": first.get_json()["processes"][0]["name"], "version": 1,
         "created": True}
    ]  # fmt: skip
    again = client.post("/api/v1/processes", json=body, headers=tokens.admin)
    assert again.get_json()["processes"][0]["created"] is False
    assert client.post("/api/v1/processes", json=body, headers=tokens.supervisor).status_code == 403
    broken = client.post(
        "/api/v1/processes", json={"bpmn": read_bpmn("broken.bpmn").decode()}, headers=tokens.admin
    )
    assert broken.status_code == 422
    assert broken.get_json()["error"]["message"].startswith("BPMN rejected")
    assert broken.get_json()["error"]["fields"]
    problems = broken.get_json()["error"]["problems"]  # each by element id, name and line
    assert [(p["element"], p["line"]) for p in problems] == [
        ("start", 10),
        ("bad_syntax", 18),
        ("groovy", 20),
    ]
    assert all(set(p) == {"element", "name", "line", "message"} for p in problems)
    not_xml = client.post("/api/v1/processes", json={"bpmn": "<oops"}, headers=tokens.admin)
    assert not_xml.status_code == 422
    assert list(not_xml.get_json()["error"]["fields"]) == ["document"]
    entity = "<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>"
    xxe = client.post("/api/v1/processes", json={"bpmn": entity}, headers=tokens.admin)
    assert "DOCTYPE declaration is not allowed" in xxe.get_json()["error"]["fields"]["document"]
    unknown_chat = client.post(
        "/api/v1/processes", json={**body, "live_chats": ["Nope"]}, headers=tokens.admin
    )
    assert unknown_chat.status_code == 422
    assert unknown_chat.get_json()["error"]["fields"] == {"live_chat": "unknown"}

    listed = client.get("/api/v1/processes", headers=tokens.operator).get_json()["items"]
    assert [(p["id"], p["latest_version"], p["live_chats"]) for p in listed] == [
        ("case_review", 1, ["Support"])
    ]
    versions = client.get("/api/v1/processes/case_review/versions", headers=tokens.operator)
    assert [(v["version"], v["deployed_by"]) for v in versions.get_json()["items"]] == [
        (1, "admin")
    ]
    assert client.get("/api/v1/processes/nope/versions", headers=tokens.admin).status_code == 404
    bound = client.post(
        "/api/v1/processes/case_review/bind", json={"live_chat": "Sales"}, headers=tokens.admin
    )
    assert sorted(bound.get_json()["live_chats"]) == ["Sales", "Support"]
    unbound = client.post(
        "/api/v1/processes/case_review/unbind", json={"live_chat": "Support"}, headers=tokens.admin
    )
    assert unbound.get_json()["live_chats"] == ["Sales"]
    refused = client.post(
        "/api/v1/processes/case_review/bind", json={"live_chat": "Sales"}, headers=tokens.operator
    )
    assert refused.status_code == 403


def test_start_review_complete_with_forms_and_my_tasks(
    client: FlaskClient, tokens: Tokens, deployed: Desk, db_session: Session
) -> None:
    session_id = new_session(db_session, deployed).id
    url = f"/api/v1/sessions/{session_id}/instances"
    bad = client.post(
        url,
        json={"process": "case_review", "data": {"contact_email": "nope", "amount": "-5"}},
        headers=tokens.operator,
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"contact_email", "amount"}
    form = {"contact_email": " Jane@Example.COM ", "amount": "2500"}
    started = client.post(
        url, json={"process": "case_review", "data": form}, headers=tokens.operator
    )
    assert started.status_code == 201, started.get_json()
    step = started.get_json()
    assert step["status"] == "waiting"
    assert step["changes"] == {
        "contact_email": {"old": None, "new": "Jane@example.com"},
        "segment": {"old": None, "new": "vip"},
    }
    [task] = step["tasks"]
    assert (task["element_id"], task["name"], task["assignee"]) == (
        "review",
        "Review the case",
        "olga",
    )
    instance_id = step["instance_id"]

    mine = client.get("/api/v1/tasks", headers=tokens.operator).get_json()["items"]
    assert [t["id"] for t in mine] == [task["id"]]
    assert client.get("/api/v1/tasks", headers=tokens.supervisor).get_json()["items"] == []
    got = client.get(f"/api/v1/instances/{instance_id}", headers=tokens.operator).get_json()
    assert (got["process"], got["version"], got["status"], got["session_id"]) == (
        "case_review",
        1,
        "waiting",
        session_id,
    )
    assert client.get(f"/api/v1/instances/{instance_id}", headers=tokens.seller).status_code == 403
    assert client.get("/api/v1/instances/999", headers=tokens.operator).status_code == 404

    complete = f"/api/v1/instances/{instance_id}/tasks/{task['id']}/complete"
    invalid = client.post(complete, json={"data": {"outcome": "maybe"}}, headers=tokens.operator)
    assert invalid.status_code == 422
    assert invalid.get_json()["error"]["fields"] == {
        "summary": "required",
        "outcome": "not one of: resolved, escalated",
    }
    done_form = {"data": {"summary": "Refund agreed", "outcome": "resolved"}}
    done = client.post(complete, json=done_form, headers=tokens.operator)
    assert done.status_code == 200
    assert (done.get_json()["status"], done.get_json()["tasks"]) == ("completed", [])
    twice = client.post(complete, json=done_form, headers=tokens.operator)
    assert twice.status_code == 409
    missing = client.post(
        f"/api/v1/instances/{instance_id}/tasks/nope/complete",
        json=done_form,
        headers=tokens.operator,
    )
    assert missing.status_code == 404
    values = client.get(f"/api/v1/sessions/{session_id}/parameters", headers=tokens.operator)
    assert values.get_json()["values"]["outcome"] == "resolved"
    not_offered = client.post(url, json={"process": "nope"}, headers=tokens.operator)
    assert not_offered.status_code == 404


def test_failed_step_is_recorded_then_retried_or_cancelled_by_a_supervisor(
    client: FlaskClient, tokens: Tokens, deployed: Desk, db_session: Session
) -> None:
    session = new_session(db_session, deployed)
    set_parameters(db_session, session, {"segment": "vip"}, user_actor(deployed.operator))
    db_session.commit()
    url = f"/api/v1/sessions/{session.id}/instances"
    failed = client.post(
        url, json={"process": "fragile", "data": {"mode": "invalid"}}, headers=tokens.operator
    )
    assert failed.status_code == 201
    step = failed.get_json()
    assert (step["status"], step["changes"], step["tasks"]) == ("failed", {}, [])
    assert (step["error"]["kind"], step["error"]["parameter_key"]) == ("changeset", "segment")
    instance_id = step["instance_id"]
    got = client.get(f"/api/v1/instances/{instance_id}", headers=tokens.operator).get_json()
    assert got["status"] == "failed" and got["error"]["element_id"] == "check"

    retry = f"/api/v1/instances/{instance_id}/retry"
    assert client.post(retry, headers=tokens.operator).status_code == 403
    client.patch(
        "/api/v1/parameters/segment",
        json={"options": ["vip", "standard", "platinum"]},
        headers=tokens.admin,
    )
    retried = client.post(retry, headers=tokens.supervisor)
    assert retried.status_code == 200
    assert retried.get_json()["status"] == "completed"
    assert client.post(retry, headers=tokens.supervisor).status_code == 409

    waiting = client.post(
        url,
        json={"process": "case_review", "data": {"contact_email": "a@b.io", "amount": 5000}},
        headers=tokens.operator,
    ).get_json()
    cancel = f"/api/v1/instances/{waiting['instance_id']}/cancel"
    assert client.post(cancel, headers=tokens.operator).status_code == 403
    cancelled = client.post(cancel, headers=tokens.supervisor)
    assert cancelled.status_code == 200
    assert (cancelled.get_json()["status"], cancelled.get_json()["tasks"]) == ("cancelled", [])
    assert client.post(cancel, headers=tokens.supervisor).status_code == 409
