"""Loose ends of issue 18 (item 7) on the API: deep JSON is a 400 everywhere, never a 500; a
name is looked up exactly as sent."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.api.support import Tokens

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", "/api/v1/sessions"),
        ("POST", "/api/v1/sessions/1/messages"),
        ("PATCH", "/api/v1/sessions/1"),
        ("PATCH", "/api/v1/sessions/1/parameters"),
        ("POST", "/api/v1/sessions/1/instances"),
    ],
)
def test_deep_json_is_a_400(client: FlaskClient, tokens: Tokens, method: str, url: str) -> None:
    headers = {**tokens.admin, "Content-Type": "application/json"}
    response = client.open(url, method=method, data=DEEP, headers=headers)
    assert response.status_code == 400, response.get_data(as_text=True)[:200]
    assert response.get_json()["error"]["code"] == "malformed_json"


def test_a_channel_is_found_by_the_name_as_sent_only(client: FlaskClient, tokens: Tokens) -> None:
    body = {"live_chat": "Support", "client": {"name": "Jo"}}
    found = client.post(
        "/api/v1/sessions", json={**body, "channel": "Website"}, headers=tokens.widget
    )
    assert found.status_code == 201
    tabbed = client.post(
        "/api/v1/sessions", json={**body, "channel": "\tWebsite"}, headers=tokens.widget
    )
    assert tabbed.status_code == 422
    assert "channel" in tabbed.get_json()["error"]["fields"]
