"""The API inside the product's app (web.create_app): no CSRF for token calls, JSON errors kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine

from tests.api.support import Tokens
from web import create_app

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


@pytest.fixture
def product(engine: Engine, tmp_path: Path) -> Iterator[Flask]:
    """The whole web app (UI and API) on the test database, CSRF protection on."""
    made = create_app(
        {
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "test-secret",
        }
    )
    yield made
    made.extensions["bpm_livechat.engine"].dispose()


def test_token_calls_need_no_csrf_and_errors_stay_json(product: Flask, tokens: Tokens) -> None:
    client = product.test_client()
    body = {"live_chat": "Support", "client": {"name": "Jane"}, "subject": "Hi"}
    created = client.post("/api/v1/sessions", json=body, headers=tokens.operator)
    assert created.status_code == 201, created.get_data(as_text=True)
    for response, status in [
        (client.post("/api/v1/sessions", json=body), 401),
        (client.get("/api/v1/sessions/999", headers=tokens.operator), 404),
        (client.get("/api/v1/no/such/thing", headers=tokens.operator), 404),
        (client.post("/api/v1/sessions", data=b"{", headers=tokens.operator), 400),
    ]:
        assert response.status_code == status
        assert response.mimetype == "application/json"
        assert set(response.get_json()["error"]) == {"code", "message", "fields"}
    assert client.get("/api/v1/docs").status_code == 200
    assert client.get("/api/v1/openapi.json").get_json()["openapi"] == "3.1.0"
