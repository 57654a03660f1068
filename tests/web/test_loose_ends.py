"""Loose ends of issue 18 (item 7) on pages: line breaks in redirect targets, deep JSON, `Allow`
on 405, no version banner from the built-in server, names kept as sent or refused."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from tests.web.support import PASSWORDS, Browser, World, csrf_token
from web.serving import QuietRequestHandler

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("target", ["/sessions\r\nSet-Cookie: x=1", "/sessions\nX: y", "/a\x7f"])
def test_a_line_break_in_next_is_no_500(client: FlaskClient, target: str) -> None:
    data = {
        "username": "olga",
        "password": PASSWORDS["olga"],
        "csrf_token": csrf_token(client),
        "next": target,
    }
    response = client.post("/login", data=data)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/me/presence", {"presence": "away"}),
        ("/sessions/view", {"view": "tiles"}),
    ],
)
def test_a_line_break_in_back_is_no_500(
    browser_for: Callable[[str], Browser], path: str, extra: dict[str, str]
) -> None:
    olga = browser_for("olga")
    response = olga.post(path, {**extra, "back": "/sessions\r\nSet-Cookie: evil=1"})
    assert response.status_code in (302, 303), response.status_code
    assert "\n" not in response.headers["Location"]
    assert response.headers["Location"] == "/sessions"


def test_a_line_break_in_the_consoles_back_is_no_500(
    browser_for: Callable[[str], Browser], world: World
) -> None:
    olga = browser_for("olga")
    url = f"/sessions/{world.evil}/take"
    response = olga.post(url, {"back": "/sessions\nX: y"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/sessions/{world.evil}"


def test_deep_json_in_the_script_bench_is_a_field_error(
    browser_for: Callable[[str], Browser], world: World
) -> None:
    admin = browser_for("admin")
    form = {"source": "x = 1\n", "action": "run", "session_id": str(world.first)}
    for data in (DEEP, '{"a": ' + "[" * 100 + "]" * 100 + "}"):
        response = admin.post("/admin/script-bench", {**form, "data": data})
        assert response.status_code == 422
        assert "The data is nested deeper than 64 levels" in response.text


def test_405_pages_say_what_is_allowed(client: FlaskClient) -> None:
    response = client.get("/logout")
    assert response.status_code == 405
    assert response.headers["Allow"] == "OPTIONS, POST"


def test_405_api_answers_say_what_is_allowed(client: FlaskClient) -> None:
    response = client.delete("/api/v1/sessions/1")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, PATCH"
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert client.put("/api/v1/openapi.json").headers["Allow"] == "GET, HEAD"
    assert client.get("/api/v1/nothing-here").status_code == 404


def test_the_built_in_server_names_no_versions(app: Flask) -> None:
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        connection.request("GET", "/login")
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        assert response.getheader("Server") == "bpm-livechat"
        connection.close()
    finally:
        server.shutdown()


@pytest.mark.parametrize("name", ["\tWeb", "Web\n", " Web", "Web\x00x"])
def test_channel_names_are_kept_or_refused(
    browser_for: Callable[[str], Browser], world: World, name: str
) -> None:
    admin = browser_for("admin")
    chat = world.desk.support.id
    response = admin.post(
        f"/admin/livechats/{chat}/channels", {"channel_name": name, "kind": "web"}
    )
    assert response.status_code in (400, 422), response.status_code
    if "\x00" not in name:  # NUL is refused before any view, for every form
        reasons = ("must not contain tabs, line breaks", "must not begin or end with a space")
        assert any(reason in response.text for reason in reasons)
    kept = admin.post(f"/admin/livechats/{chat}/channels", {"channel_name": "Web", "kind": "web"})
    assert kept.status_code == 303
