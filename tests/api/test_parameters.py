"""Contract tests: the parameter catalogue (admins) and a session's values and history."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from bpm_livechat.models import ParamHistory
from bpm_livechat.params.catalogue import add_parameter
from tests.api.support import Tokens
from tests.support import Desk, open_session

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


def test_catalogue_lists_system_then_custom_and_admins_manage_it(
    client: FlaskClient, tokens: Tokens
) -> None:
    body = {"key": "segment", "type": "choice", "label": "Segment", "options": ["vip", "standard"]}
    created = client.post("/api/v1/parameters", json=body, headers=tokens.admin)
    assert created.status_code == 201
    assert created.get_json() == {
        "key": "segment",
        "label": "Segment",
        "type": "choice",
        "system": False,
        "archived": False,
        "description": "",
        "options": ["vip", "standard"],
        "option_labels": {},
        "constraints": {},
        "position": 1,
        "read_only": False,
        "required_to_close": False,
    }
    listed = client.get("/api/v1/parameters", headers=tokens.operator).get_json()["items"]
    assert [p["key"] for p in listed][:3] == ["live_chat", "channel", "client"]
    assert listed[-1]["key"] == "segment"
    assert all(p["system"] for p in listed[:-1])

    updated = client.patch(
        "/api/v1/parameters/segment",
        json={"label": "Customer segment", "options": ["vip", "standard", "new"]},
        headers=tokens.admin,
    )
    assert updated.status_code == 200
    assert updated.get_json()["options"] == ["vip", "standard", "new"]
    archived = client.post("/api/v1/parameters/segment/archive", headers=tokens.admin)
    assert archived.get_json()["archived"] is True
    keys = [
        p["key"] for p in client.get("/api/v1/parameters", headers=tokens.admin).get_json()["items"]
    ]
    assert "segment" not in keys
    with_archived = client.get("/api/v1/parameters?include_archived=true", headers=tokens.admin)
    assert with_archived.get_json()["items"][-1]["key"] == "segment"
    restored = client.post("/api/v1/parameters/segment/restore", headers=tokens.admin)
    assert restored.get_json()["archived"] is False


def test_catalogue_refusals(client: FlaskClient, tokens: Tokens) -> None:
    client.post(
        "/api/v1/parameters",
        json={"key": "note", "type": "text", "label": "Note"},
        headers=tokens.admin,
    )
    cases = [
        ({"key": "note", "type": "text", "label": "Again"}, 422, {"key": "already exists"}),
        ({"key": "status", "type": "text", "label": "S"}, 422, {"status": "shadowed"}),
        ({"key": "Bad Key", "type": "text", "label": "S"}, 422, None),
        ({"key": "colour", "type": "rainbow", "label": "S"}, 422, None),
        ({"key": "pick", "type": "choice", "label": "P", "options": []}, 422, None),
    ]
    for body, status, fields in cases:
        response = client.post("/api/v1/parameters", json=body, headers=tokens.admin)
        assert response.status_code == status, body
        if fields is not None:
            assert response.get_json()["error"]["fields"] == fields
    assert (
        client.patch(
            "/api/v1/parameters/nosuch", json={"label": "x"}, headers=tokens.admin
        ).status_code
        == 404
    )
    assert client.post("/api/v1/parameters/status/archive", headers=tokens.admin).status_code == 422
    for call in (
        lambda h: client.patch("/api/v1/parameters/note", json={"label": "x"}, headers=h),
        lambda h: client.post("/api/v1/parameters/note/archive", headers=h),
        lambda h: client.post("/api/v1/parameters/note/restore", headers=h),
    ):
        assert call(tokens.operator).status_code == 403


def test_values_patch_is_all_or_nothing_with_history(
    client: FlaskClient, tokens: Tokens, desk: Desk, db_session: Session
) -> None:
    add_parameter(db_session, "order_no", "integer", "Order")
    add_parameter(db_session, "contact", "email", "Contact", read_only=True)
    add_parameter(db_session, "due", "date", "Due")
    session = open_session(db_session, desk.support)
    db_session.commit()
    url = f"/api/v1/sessions/{session.id}/parameters"
    refused = client.patch(
        url,
        json={"values": {"order_no": "12x", "due": "2026-02-30", "nosuch": 1, "contact": "a@b.co"}},
        headers=tokens.operator,
    )
    assert refused.status_code == 422
    assert refused.get_json()["error"]["fields"] == {
        "order_no": "not a whole number",
        "due": "not a valid calendar date",
        "nosuch": "unknown parameter",
        "contact": "read-only",
    }
    assert client.get(url, headers=tokens.operator).get_json() == {
        "session_id": session.id,
        "values": {},
        "seen": {},
    }
    ok = client.patch(
        url, json={"values": {"order_no": "42", "due": "2026-03-01"}}, headers=tokens.operator
    )
    assert ok.status_code == 200
    body = ok.get_json()
    assert set(body["seen"]) == {"due", "order_no"}
    assert {k: v for k, v in body.items() if k != "seen"} == {
        "session_id": session.id,
        "values": {"order_no": 42, "due": "2026-03-01"},
        "changed": ["due", "order_no"],
    }
    admin = client.patch(
        url, json={"values": {"contact": "A@B.co", "order_no": None}}, headers=tokens.admin
    )
    assert admin.get_json()["values"] == {"contact": "A@b.co", "due": "2026-03-01"}
    history = client.get(f"{url}/order_no/history", headers=tokens.supervisor)
    assert history.status_code == 200
    assert [(h["old"], h["new"], h["user"]) for h in history.get_json()["items"]] == [
        (None, 42, "olga"),
        (42, None, "admin"),
    ]
    assert db_session.query(ParamHistory).count() == 4
    db_session.rollback()  # end the read: SQLite writers would wait for it
    assert client.get(f"{url}/nosuch/history", headers=tokens.operator).status_code == 404
    assert client.get(url, headers=tokens.seller).status_code == 403
    assert client.patch(url, json={"values": {}}, headers=tokens.seller).status_code == 403
    assert client.patch(url, json={"values": []}, headers=tokens.operator).status_code == 422


def test_constraints_are_set_shown_and_enforced_on_values(
    client: FlaskClient, tokens: Tokens, desk: Desk, db_session: Session
) -> None:
    body = {"key": "satisfaction", "type": "integer", "label": "Satisfaction (1-5)"}
    created = client.post(
        "/api/v1/parameters",
        json={**body, "constraints": {"min": 1, "max": 5}},
        headers=tokens.admin,
    )
    assert created.status_code == 201 and created.get_json()["constraints"] == {"min": 1, "max": 5}
    wrong = client.patch(
        "/api/v1/parameters/satisfaction",
        json={"constraints": {"pattern": "x"}},
        headers=tokens.admin,
    )
    assert wrong.status_code == 422
    assert wrong.get_json()["error"]["fields"] == {
        "pattern": "only string parameters take a pattern, not integer"
    }
    session = open_session(db_session, desk.support)
    db_session.commit()
    url = f"/api/v1/sessions/{session.id}/parameters"
    refused = client.patch(url, json={"values": {"satisfaction": 9}}, headers=tokens.operator)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["fields"] == {"satisfaction": "must be at most 5"}
    saved = client.patch(url, json={"values": {"satisfaction": 5}}, headers=tokens.operator)
    assert saved.status_code == 200


def test_option_labels_round_trip_and_values_keep_keys(client: FlaskClient, tokens: Tokens) -> None:
    body = {"key": "tier", "type": "choice", "label": "Tier", "options": ["gold", "basic"]}
    created = client.post(
        "/api/v1/parameters",
        json={**body, "option_labels": {"gold": "Gold tier"}},
        headers=tokens.admin,
    )
    assert created.status_code == 201
    assert created.get_json()["option_labels"] == {"gold": "Gold tier"}
    wrong = client.patch(
        "/api/v1/parameters/tier", json={"option_labels": {"silver": "S"}}, headers=tokens.admin
    )
    assert wrong.status_code == 422
    assert wrong.get_json()["error"]["fields"] == {"options": "no option 'silver'"}
