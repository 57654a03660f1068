"""/livez, /readyz, /metrics, request ids and JSON request logs (issue 18, item 10)."""

from __future__ import annotations

import json
import logging
import logging.config

import pytest
from flask import Flask

from tests.chaos.proxy import FaultyProxy
from web.logs import JsonFormatter, logging_config

pytestmark = pytest.mark.postgres


def test_livez_needs_nothing_and_readyz_checks_database_and_sandbox(
    app: Flask, proxy: FaultyProxy
) -> None:
    client = app.test_client()
    assert (client.get("/livez").status_code, client.get("/livez").text) == (200, "ok\n")
    ready = client.get("/readyz")
    assert (ready.status_code, ready.text) == (200, "ready\n")
    proxy.cut()
    assert client.get("/livez").status_code == 200
    down = client.get("/readyz")
    assert down.status_code == 503
    assert down.headers["Retry-After"] == "5"
    assert down.text.startswith("not ready\ndatabase: ")
    proxy.heal()
    assert client.get("/readyz").status_code == 200


def test_metrics_count_requests_by_route_and_status_and_read_jobs(
    app: Flask, operator_token: dict[str, str]
) -> None:
    client = app.test_client()
    for _ in range(3):
        client.get("/api/v1/sessions", headers=operator_token)
    client.get("/api/v1/sessions")  # no token: 401
    text = client.get("/metrics").text
    assert (
        'bpm_livechat_http_requests_total{method="GET",route="api.list_sessions_api",status="200"} 3.0'
        in text
    )
    assert (
        'bpm_livechat_http_requests_total{method="GET",route="api.list_sessions_api",status="401"} 1.0'
        in text
    )
    assert (
        'bpm_livechat_http_request_seconds_count{method="GET",route="api.list_sessions_api"} 4.0'
        in text
    )
    assert "bpm_livechat_database_up 1.0" in text
    assert "# TYPE bpm_livechat_jobs gauge" in text
    assert "# TYPE bpm_livechat_process_step_seconds histogram" in text
    assert "# TYPE bpm_livechat_script_runs_total counter" in text


def test_a_request_id_is_taken_or_made_and_returned(app: Flask) -> None:
    client = app.test_client()
    given = client.get("/livez", headers={"X-Request-Id": "abc-123"})
    assert given.headers["X-Request-Id"] == "abc-123"
    made = client.get("/livez", headers={"X-Request-Id": "bad id with spaces"})
    assert len(made.headers["X-Request-Id"]) == 32
    assert made.headers["X-Request-Id"] != client.get("/livez").headers["X-Request-Id"]


def test_each_request_is_one_json_line_with_id_user_status_and_latency(
    app: Flask, operator_token: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    client = app.test_client()
    client.post("/login", data={"username": "olga", "password": "olga-pass-12"})
    formatter = JsonFormatter()
    lines: list[dict[str, object]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(formatter.format(record)))

    keep = Keep(logging.INFO)
    requests_log = logging.getLogger("bpm_livechat.requests")
    requests_log.addHandler(keep)
    old_level = requests_log.level
    requests_log.setLevel(logging.INFO)
    try:
        client.get("/sessions", headers={"X-Request-Id": "page-1"})
        client.get("/api/v1/sessions", headers={**operator_token, "X-Request-Id": "api-1"})
    finally:
        requests_log.removeHandler(keep)
        requests_log.setLevel(old_level)
    page, api = lines
    assert page["request_id"] == "page-1"
    assert page["user"] == "olga"
    assert (page["method"], page["path"], page["status"]) == ("GET", "/sessions", 200)
    assert isinstance(page["latency_ms"], float)
    assert page["message"].startswith("GET /sessions 200 ")  # type: ignore[union-attr]
    assert (api["request_id"], api["status"], api["user"]) == ("api-1", 200, "olga")


def test_the_logging_config_is_valid_and_writes_json() -> None:
    config = logging_config("INFO")
    logging.config.dictConfig(config)  # type: ignore[attr-defined]
    try:
        handler = logging.getLogger().handlers[0]
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom %s", ("here",), None)
        assert json.loads(handler.format(record))["message"] == "boom here"
    finally:
        logging.getLogger().handlers.clear()
