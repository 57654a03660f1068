"""Authentication and hostile input: every refusal is JSON with the right status, never a 500."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bpm_livechat.desk.tokens import revoke_token
from bpm_livechat.models import ApiToken, SupportSession
from tests.api.support import Tokens
from tests.support import Desk

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
NEW = {"live_chat": "Support", "client": {"name": "Jane"}, "subject": "Hi"}


def error_of(response: object) -> dict[str, object]:
    body = response.get_json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "unauthenticated"),
        ({"Authorization": "Basic YWxhZGRpbjpvcGVuc2VzYW1l"}, "unauthenticated"),
        ({"Authorization": "Bearer "}, "unauthenticated"),
        ({"Authorization": "Bearer bpm_not-a-real-token"}, "invalid_token"),
        ({"Authorization": "Bearer " + "x" * 5000}, "invalid_token"),
    ],
)
def test_missing_or_wrong_token_is_401(
    client: FlaskClient, tokens: Tokens, headers: dict[str, str], code: str
) -> None:
    response = client.get("/api/v1/sessions", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert error_of(response)["code"] == code


def test_revoked_token_stops_working_at_once(
    client: FlaskClient, tokens: Tokens, desk: Desk, db_session: Session
) -> None:
    assert client.get("/api/v1/sessions", headers=tokens.operator).status_code == 200
    token = db_session.scalars(select(ApiToken).where(ApiToken.user_id == desk.operator.id)).one()
    revoke_token(db_session, token.id, desk.operator)
    db_session.commit()
    response = client.get("/api/v1/sessions", headers=tokens.operator)
    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_token"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b'{"live_chat": "Support",', "malformed_json"),
        (b"", "malformed_json"),
        (b'{"subject": "\xff\xfe"}', "malformed_json"),
        (b'{"subject": "\\ud800"}', "malformed_json"),
        (b"[" * 100_000 + b"]" * 100_000, "malformed_json"),
        (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "malformed_json"),
    ],
)
def test_malformed_bodies_are_400(
    client: FlaskClient, tokens: Tokens, db_session: Session, data: bytes, code: str
) -> None:
    response = client.post(
        "/api/v1/sessions",
        data=data,
        headers={**tokens.operator, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == code
    assert db_session.scalar(select(func.count()).select_from(SupportSession)) == 0


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ([1, 2], ["body"]),
        ("text", ["body"]),
        ({**NEW, "subject": 5}, ["subject"]),
        ({**NEW, "client": "Jane"}, ["client"]),
        ({**NEW, "client": {"name": ""}}, ["client.name"]),
        ({**NEW, "subject": "x" * 256}, ["subject"]),
        ({**NEW, "unexpected": True}, ["unexpected"]),
        ({"client": {"name": "J"}}, ["live_chat"]),
    ],
)
def test_wrong_types_are_422_naming_the_fields(
    client: FlaskClient, tokens: Tokens, body: object, fields: list[str]
) -> None:
    response = client.post("/api/v1/sessions", json=body, headers=tokens.operator)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert sorted(error["fields"]) == fields  # type: ignore[call-overload]


def test_huge_body_is_413_before_it_is_read(client: FlaskClient, tokens: Tokens) -> None:
    big = b'{"text": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = client.post(
        "/api/v1/sessions/1/messages",
        data=big,
        headers={**tokens.operator, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_body_limit_is_configurable(app: Flask, tokens: Tokens) -> None:
    app.config["API_MAX_CONTENT_LENGTH"] = 100
    response = app.test_client().post(
        "/api/v1/sessions", json={**NEW, "subject": "x" * 200}, headers=tokens.operator
    )
    assert response.status_code == 413


def test_unknown_endpoint_is_json_404_and_unknown_method_json_405(
    client: FlaskClient, tokens: Tokens
) -> None:
    for method, path in [
        ("GET", "/api/v1/nothing/here"),
        ("GET", "/api/v1/sessions/abc"),
        ("GET", "/api/v1/sessions/-1"),
    ]:
        response = client.open(path, method=method, headers=tokens.operator)
        assert response.status_code == 404, path
        assert error_of(response)["code"] == "not_found"
    response = client.delete("/api/v1/sessions", headers=tokens.operator)
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_admin_only_operations_are_403_for_others(client: FlaskClient, tokens: Tokens) -> None:
    body = {"key": "segment", "type": "string", "label": "Segment"}
    response = client.post("/api/v1/parameters", json=body, headers=tokens.supervisor)
    assert response.status_code == 403
    assert error_of(response) == {
        "code": "forbidden",
        "message": "only admins change the parameter catalogue",
        "fields": {},
    }


def test_unroutable_api_paths_are_json_too(client: FlaskClient, tokens: Tokens) -> None:
    response = client.post(
        "/api/v1/instances/1/tasks/%0A/complete", json={}, headers=tokens.operator
    )
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
