"""A database outage answers clean 503s with Retry-After, logs one line per failed request, and
costs no request once the database is back (issue 18, item 6)."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.chaos.proxy import FaultyProxy

pytestmark = pytest.mark.postgres


def _logged_in(app: Flask) -> FlaskClient:
    client = app.test_client()
    response = client.post("/login", data={"username": "olga", "password": "olga-pass-12"})
    assert response.status_code == 302
    return client


def test_pages_answer_a_styled_503_without_the_database(app: Flask, proxy: FaultyProxy) -> None:
    client = _logged_in(app)
    assert client.get("/sessions").status_code == 200
    proxy.cut()
    response = client.get("/sessions?page=2")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    page = response.get_data(as_text=True)
    assert "<h1>Back in a moment</h1>" in page
    assert "/static/app.css" in page
    assert 'href="/sessions?page=2"' in page
    # A form post too: its link goes home (a GET of the post's URL would be a 405).
    posted = client.post("/sessions/1/name", data={"name": "x"})
    assert posted.status_code == 503
    assert 'href="/"' in posted.get_data(as_text=True)
    # An error page of another kind needs the user too: it becomes the outage page.
    missing = client.get("/no-such-page")
    assert missing.status_code == 503
    assert "<h1>Back in a moment</h1>" in missing.get_data(as_text=True)


def test_api_503s_carry_retry_after_and_health_says_503(
    app: Flask, proxy: FaultyProxy, operator_token: dict[str, str]
) -> None:
    client = app.test_client()
    assert client.get("/api/v1/health").status_code == 200
    proxy.cut()
    listed = client.get("/api/v1/sessions", headers=operator_token)
    assert listed.status_code == 503
    assert listed.headers["Retry-After"] == "5"
    assert listed.get_json()["error"]["code"] == "unavailable"
    health = client.get("/api/v1/health")
    assert (health.status_code, health.headers["Retry-After"]) == (503, "5")
    assert health.get_json()["error"]["code"] == "unavailable"


def test_each_failed_request_logs_one_line_without_a_traceback(
    app: Flask,
    proxy: FaultyProxy,
    operator_token: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = _logged_in(app)
    client.get("/sessions")
    client.get("/api/v1/sessions", headers=operator_token)
    proxy.cut()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        for _ in range(5):
            assert client.get("/sessions").status_code == 503
            assert client.get("/api/v1/sessions", headers=operator_token).status_code == 503
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 10, [r.getMessage() for r in warnings]
    assert all(r.exc_info is None and r.exc_text is None for r in caplog.records)
    assert all("database" in r.getMessage() for r in warnings)


def test_after_a_restart_no_request_fails_on_a_stale_connection(
    app: Flask, proxy: FaultyProxy, operator_token: dict[str, str]
) -> None:
    client = _logged_in(app)
    for _ in range(3):
        assert client.get("/sessions").status_code == 200
        assert client.get("/api/v1/sessions", headers=operator_token).status_code == 200
    proxy.reset()  # every pooled connection dies, as in a server restart
    assert client.get("/sessions").status_code == 200
    assert client.get("/api/v1/sessions", headers=operator_token).status_code == 200


def test_the_service_recovers_by_itself_after_an_outage(
    app: Flask, proxy: FaultyProxy, operator_token: dict[str, str]
) -> None:
    client = _logged_in(app)
    assert client.get("/sessions").status_code == 200
    proxy.cut()
    assert client.get("/sessions").status_code == 503
    assert client.get("/api/v1/sessions", headers=operator_token).status_code == 503
    proxy.heal()
    assert client.get("/sessions").status_code == 200
    assert client.get("/api/v1/sessions", headers=operator_token).status_code == 200
