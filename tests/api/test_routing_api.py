"""Routing over the API (both databases): teams and rules (admins), validation naming the
field, routing on creation and on the first client message, the tester and Route again."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from bpm_livechat.params.catalogue import add_parameter
from tests.api.support import Tokens
from tests.routing.support import operator
from tests.support import Desk

RULE = {
    "name": "Enterprise",
    "live_chat": "Support",
    "conditions": [{"key": "segment", "op": "equals", "value": "enterprise"}],
    "team": "Enterprise",
    "strategy": "least-busy",
}


def _setup(client: FlaskClient, tokens: Tokens, db: Session, desk: Desk) -> None:
    add_parameter(db, "segment", "choice", "Segment", options=["enterprise", "smb"])
    operator(db, "Ivan", desk.support)
    db.commit()
    team = {"name": "Enterprise", "members": [{"username": "ivan", "capacity": 2}]}
    made = client.post("/api/v1/teams", json=team, headers=tokens.admin)
    assert made.status_code == 201, made.json
    assert made.json == {
        "id": made.json["id"],
        "name": "Enterprise",
        "members": [{"username": "ivan", "name": "Ivan", "capacity": 2}],
    }


def test_rules_are_admins_and_validated_naming_the_field(
    client: FlaskClient, tokens: Tokens, db_session: Session, desk: Desk
) -> None:
    _setup(client, tokens, db_session, desk)
    refused = client.post("/api/v1/routing/rules", json=RULE, headers=tokens.supervisor)
    assert refused.status_code == 403
    bad_option = {**RULE, "conditions": [{"key": "segment", "op": "equals", "value": "startup"}]}
    answer = client.post("/api/v1/routing/rules", json=bad_option, headers=tokens.admin)
    assert answer.status_code == 422
    assert list(answer.json["error"]["fields"]) == ["conditions.0.value"]
    assert "'segment' (choice)" in answer.json["error"]["message"]
    unknown = {**RULE, "conditions": [{"key": "segmnt", "op": "empty"}]}
    answer = client.post("/api/v1/routing/rules", json=unknown, headers=tokens.admin)
    assert answer.json["error"]["fields"] == {"conditions.0.key": "unknown parameter"}
    made = client.post("/api/v1/routing/rules", json=RULE, headers=tokens.admin)
    assert made.status_code == 201
    assert made.json["described"] == ["segment equals 'enterprise'"]
    listed = client.get("/api/v1/routing/rules", headers=tokens.operator).json["items"]
    assert [r["name"] for r in listed] == ["Enterprise"]
    gone = client.delete(f"/api/v1/routing/rules/{made.json['id']}", headers=tokens.admin)
    assert gone.status_code == 200
    assert client.get("/api/v1/routing/rules", headers=tokens.admin).json["items"] == []


def test_first_message_routes_and_the_tester_explains(
    client: FlaskClient, tokens: Tokens, db_session: Session, desk: Desk
) -> None:
    _setup(client, tokens, db_session, desk)
    rule = {**RULE, "conditions": [{"key": "channel", "op": "equals", "value": "Website"}]}
    assert client.post("/api/v1/routing/rules", json=rule, headers=tokens.admin).status_code == 201
    body = {
        "live_chat": "Support",
        "client": {"name": "Ann"},
        "subject": "Hi",
        "channel": "Telegram",
    }
    created = client.post("/api/v1/sessions", json=body, headers=tokens.widget).json
    assert created["operator"] is None
    tested = client.get(f"/api/v1/sessions/{created['id']}/routing", headers=tokens.supervisor).json
    assert tested["rule"] is None
    assert tested["checks"] == [
        {
            "rule_id": tested["checks"][0]["rule_id"],
            "rule": "Enterprise",
            "matched": False,
            "reasons": ["channel equals 'Website' failed: channel is 'Telegram'"],
        }
    ]
    web = {**body, "channel": "Website"}
    second = client.post("/api/v1/sessions", json=web, headers=tokens.widget).json
    assert second["operator"] == "Ivan"
    # a session created without a message and without a matching operator then: the first
    # client message routes it once Ivan is back
    db_session.execute(text("UPDATE users SET presence = 'away' WHERE username = 'ivan'"))
    db_session.commit()
    third = client.post("/api/v1/sessions", json=web, headers=tokens.widget).json
    assert third["operator"] is None
    db_session.execute(text("UPDATE users SET presence = 'online' WHERE username = 'ivan'"))
    db_session.commit()
    sent = client.post(
        f"/api/v1/sessions/{third['id']}/messages", json={"text": "hello?"}, headers=tokens.widget
    )
    assert sent.status_code == 201
    shown = client.get(f"/api/v1/sessions/{third['id']}", headers=tokens.admin).json
    assert shown["operator"] == "Ivan"
    again = client.post(f"/api/v1/sessions/{third['id']}/route-again", headers=tokens.supervisor)
    assert again.status_code == 422
    assert again.json["error"]["message"].endswith("return it to the queue to route it again")


def test_route_again_is_for_supervisors(
    client: FlaskClient, tokens: Tokens, db_session: Session, desk: Desk
) -> None:
    _setup(client, tokens, db_session, desk)
    body = {"live_chat": "Support", "client": {"name": "Ann"}, "subject": "Hi"}
    created = client.post("/api/v1/sessions", json=body, headers=tokens.widget).json
    assert (
        client.post(
            "/api/v1/routing/rules", json={**RULE, "conditions": []}, headers=tokens.admin
        ).status_code
        == 201
    )
    denied = client.post(f"/api/v1/sessions/{created['id']}/route-again", headers=tokens.operator)
    assert denied.status_code == 403
    routed = client.post(f"/api/v1/sessions/{created['id']}/route-again", headers=tokens.supervisor)
    assert routed.status_code == 200
    assert routed.json["explanation"] == (
        "rule Enterprise -> team Enterprise, least busy: Ivan 0/2; assigned to Ivan"
    )
    assert routed.json["chosen"] == "ivan"
