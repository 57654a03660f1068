"""A round trip through the API on both databases: sessions, values, close, a process start."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.api.support import Tokens
from tests.support import Desk

pytestmark = pytest.mark.parametrize(
    "engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


def test_session_life_and_a_process_step(
    client: FlaskClient, tokens: Tokens, deployed: Desk, db_session: Session
) -> None:
    body = {
        "live_chat": "Support",
        "client": {"name": "Jane", "email": "jane@example.com"},
        "subject": "Broken",
        "message": "It broke",
    }
    created = client.post("/api/v1/sessions", json=body, headers=tokens.operator)
    assert created.status_code == 201
    session_id = created.get_json()["id"]
    listed = client.get("/api/v1/sessions?filter=client~jan&sort=-id", headers=tokens.supervisor)
    assert [s["id"] for s in listed.get_json()["items"]] == [session_id]
    patched = client.patch(
        f"/api/v1/sessions/{session_id}/parameters",
        json={"values": {"segment": "standard", "summary": "Fixed"}},
        headers=tokens.operator,
    )
    assert patched.get_json()["changed"] == ["segment", "summary"]
    started = client.post(
        f"/api/v1/sessions/{session_id}/instances",
        json={
            "process": "case_review",
            "data": {"contact_email": "jane@example.com", "amount": 50},
        },
        headers=tokens.operator,
    )
    assert started.status_code == 201
    assert started.get_json()["status"] in {"completed", "waiting"}
    url = f"/api/v1/sessions/{session_id}/messages"
    plain = client.post(url, json={"text": "Still broken"}, headers=tokens.widget)
    assert plain.status_code == 201
    assert plain.get_json()["author_name"] == "Jane"
    reply = {"text": "On it", "author_kind": "operator"}
    assert client.post(url, json=reply, headers=tokens.operator).status_code == 201
    denied = client.post(url, json={"text": "Let me in"}, headers=tokens.seller)
    assert denied.status_code == 403
    closed = client.post(f"/api/v1/sessions/{session_id}/close", headers=tokens.operator)
    assert closed.get_json()["status"] == "closed"
    thread = client.get(url, headers=tokens.operator)
    assert [m["text"] for m in thread.get_json()["items"]] == ["It broke", "Still broken", "On it"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/api/v1/sessions",
            {"live_chat": "Support", "client": {"name": "A\x00"}, "subject": "s"},
            "client.name",
        ),
        ("/api/v1/sessions/{id}/messages", {"text": "a\x00b"}, "text"),
        ("/api/v1/sessions/{id}/parameters", {"values": {"summary": "x\x00"}}, "values.summary"),
        ("/api/v1/sessions/{id}/parameters", {"values": {"s\x00": "x"}}, "values.s\x00"),
    ],
)
def test_nul_in_a_json_body_is_a_422_naming_the_field(
    client: FlaskClient,
    tokens: Tokens,
    deployed: Desk,
    db_session: Session,
    path: str,
    body: dict[str, object],
    field: str,
) -> None:
    new = {"live_chat": "Support", "client": {"name": "Jane"}, "subject": "Hi"}
    session_id = client.post("/api/v1/sessions", json=new, headers=tokens.operator).get_json()["id"]
    method = client.patch if path.endswith("parameters") else client.post
    response = method(path.format(id=session_id), json=body, headers=tokens.operator)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["fields"] == {field: "contains a NUL character"}
    # An escaped backslash before "u0000" is ordinary text, not a NUL character.
    text = client.post(
        f"/api/v1/sessions/{session_id}/messages",
        json={"text": "C:\\u0000"},
        headers=tokens.operator,
    )
    assert text.status_code == 201 and text.get_json()["text"] == "C:\\u0000"
