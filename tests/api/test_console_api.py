"""The console on the API: take (409 already_taken naming the holder), assign and transfer,
release, closed sessions and Offline callers refused with 409, presence, the OpenAPI entries."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from bpm_livechat.desk.livechats import add_member
from bpm_livechat.desk.users import create_user
from bpm_livechat.models import MemberRole
from tests.api.support import Tokens, bearer
from tests.api.test_sessions import create
from tests.support import Desk

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


@pytest.fixture
def oscar(db_session: Session, desk: Desk) -> dict[str, str]:
    """A second operator of Support, and his bearer header."""
    user = create_user(db_session, "oscar", "operator", "oscar-pass-12", "Oscar Operator")
    add_member(db_session, desk.support, user, MemberRole.OPERATOR)
    headers = bearer(db_session, user)
    db_session.commit()
    return headers


def _post(http: FlaskClient, path: str, headers: dict[str, str], body: Any = None) -> Any:
    return http.post(f"/api/v1{path}", json=body, headers=headers)


def test_take_then_a_second_take_is_409_naming_who_has_it(
    client: FlaskClient, tokens: Tokens, oscar: dict[str, str]
) -> None:
    session_id = create(client, tokens.operator)["id"]
    taken = _post(client, f"/sessions/{session_id}/take", tokens.operator)
    assert taken.status_code == 200
    body = taken.get_json()
    assert (body["status"], body["operator"], body["operator_username"]) == (
        "active", "Olga Operator", "olga"
    )  # fmt: skip
    lost = _post(client, f"/sessions/{session_id}/take", oscar)
    assert lost.status_code == 409
    assert lost.get_json()["error"] == {
        "code": "already_taken",
        "message": f"session {session_id} was already taken by Olga Operator (olga)",
        "fields": {"operator": "olga"},
    }
    assert _post(client, f"/sessions/{session_id}/take", tokens.supervisor).status_code == 403


def test_assign_transfer_and_release(
    client: FlaskClient, tokens: Tokens, oscar: dict[str, str]
) -> None:
    session_id = create(client, tokens.operator)["id"]
    path = f"/sessions/{session_id}/assign"
    assert _post(client, path, tokens.operator, {"operator": "oscar"}).status_code == 403
    unknown = _post(client, path, tokens.supervisor, {"operator": "nobody"})
    assert (unknown.status_code, unknown.get_json()["error"]["fields"]) == (
        422, {"operator": "unknown user"}
    )  # fmt: skip
    missing = _post(client, path, tokens.supervisor, {})
    assert missing.status_code == 422 and "operator" in missing.get_json()["error"]["fields"]
    outsider = _post(client, path, tokens.supervisor, {"operator": "sven"})
    assert outsider.get_json()["error"]["fields"] == {
        "operator": "not an operator of this live chat"
    }
    assigned = _post(client, path, tokens.supervisor, {"operator": "olga"})
    assert assigned.get_json()["operator_username"] == "olga"
    moved = _post(client, path, tokens.admin, {"operator": "oscar"})
    assert moved.get_json()["operator_username"] == "oscar"
    released = _post(client, f"/sessions/{session_id}/release", oscar)
    assert (released.get_json()["status"], released.get_json()["operator"]) == ("queued", None)


def test_a_closed_session_is_409_session_closed(client: FlaskClient, tokens: Tokens) -> None:
    session_id = create(client, tokens.operator)["id"]
    assert _post(client, f"/sessions/{session_id}/close", tokens.operator).status_code == 200
    refusals = [
        client.patch(f"/api/v1/sessions/{session_id}", json={"name": "X"}, headers=tokens.operator),
        client.patch(f"/api/v1/sessions/{session_id}/parameters", json={"values": {}},
                     headers=tokens.operator),
        _post(client, f"/sessions/{session_id}/take", tokens.operator),
        _post(client, f"/sessions/{session_id}/messages", tokens.operator,
              {"text": "Hello", "author_kind": "operator"}),
    ]  # fmt: skip
    for response in refusals:
        assert response.status_code == 409, response.get_json()
        error = response.get_json()["error"]
        assert error["code"] == "session_closed"
        assert error["message"].startswith(f"session {session_id} was closed on ")
        assert error["message"].endswith(" by Olga Operator and is read-only")


def test_presence_get_put_and_offline_is_409(client: FlaskClient, tokens: Tokens) -> None:
    session_id = create(client, tokens.operator)["id"]
    mine = client.get("/api/v1/me/presence", headers=tokens.operator).get_json()
    assert (mine["username"], mine["presence"], mine["chosen"]) == ("olga", "online", "online")
    assert mine["away_after_minutes"] == 10 and mine["last_seen_at"] is not None
    put = client.put("/api/v1/me/presence", json={"presence": "offline"}, headers=tokens.operator)
    assert (put.status_code, put.get_json()["presence"]) == (200, "offline")
    edit = client.patch(f"/api/v1/sessions/{session_id}/parameters", json={"values": {}},
                        headers=tokens.operator)  # fmt: skip
    assert edit.status_code == 409
    assert edit.get_json()["error"] == {
        "code": "offline",
        "message": "You are Offline: set yourself Online to edit parameters",
        "fields": {},
    }
    assert _post(client, f"/sessions/{session_id}/take", tokens.operator).status_code == 409
    bad = client.put("/api/v1/me/presence", json={"presence": "busy"}, headers=tokens.operator)
    assert bad.status_code == 422 and list(bad.get_json()["error"]["fields"]) == ["presence"]


def test_openapi_documents_the_console(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    take = paths["/sessions/{session_id}/take"]["post"]
    assert "409" in take["responses"]
    assign = paths["/sessions/{session_id}/assign"]["post"]
    assert assign["requestBody"]["content"]["application/json"]["schema"]
    assert set(paths["/me/presence"]) == {"get", "put"}
