"""A round trip through the API on both databases: sessions, values, close, a process start."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.processes.conftest import deployed, params

from .conftest import Desk, Tokens

__all__ = ["deployed", "params"]
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
    closed = client.post(f"/api/v1/sessions/{session_id}/close", headers=tokens.operator)
    assert closed.get_json()["status"] == "closed"
    thread = client.get(f"/api/v1/sessions/{session_id}/messages", headers=tokens.operator)
    assert [m["text"] for m in thread.get_json()["items"]] == ["It broke"]
