"""Logins that end (issue 18 item 1): logout, a new password, deactivation and "sign out
everywhere" end every copy of the cookie at once, on every worker; lifetimes; no hash in it."""

from __future__ import annotations

import base64
import json
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bpm_livechat.cli import cli
from bpm_livechat.desk.tokens import create_token
from bpm_livechat.desk.users import get_user
from bpm_livechat.processes.engine.engine import ProcessEngine
from tests.web.support import PASSWORDS, Browser, World, csrf_token, session_row
from web import create_app


def _copy(source: FlaskClient, app: Flask) -> FlaskClient:
    """Another client (an attacker's, or another worker's) carrying a copy of the cookie."""
    cookie = source.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def _reads(client: FlaskClient, world: World) -> bool:
    return client.get(f"/sessions/{world.first}").status_code == 200


def test_a_cookie_copied_before_logout_fails_afterwards(
    app: Flask, browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    olga = browser_for("olga")
    thief = _copy(olga.client, app)
    assert _reads(thief, world)
    token = olga.token
    assert olga.post("/logout").status_code == 302
    response = thief.get(f"/sessions/{world.first}")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    # A write with the copied cookie (and the CSRF token it had) is refused as well.
    renamed = thief.post(
        f"/sessions/{world.first}/name", data={"name": "stolen", "csrf_token": token}
    )
    assert renamed.status_code in (302, 400)
    assert renamed.headers.get("Location", "/login").startswith("/login")
    assert session_row(db_session, world.first).name != "stolen"


@pytest.mark.parametrize(
    "engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_logout_on_one_worker_ends_the_cookie_on_another(
    app: Flask,
    engine: Engine,
    browser_for: Callable[[str], Browser],
    world: World,
    tmp_path: Path,
    process_engine: ProcessEngine,
) -> None:
    other = create_app(
        {
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "SECRET_KEY": "test-secret",
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "other"),
        },
        processes=process_engine,
    )
    try:
        olga = browser_for("olga")
        elsewhere = _copy(olga.client, other)
        assert _reads(elsewhere, world)
        olga.post("/logout")
        assert elsewhere.get("/sessions").status_code == 302
    finally:
        other.extensions["bpm_livechat.engine"].dispose()


def test_the_cookie_carries_nothing_of_the_password_hash(
    browser_for: Callable[[str], Browser], db_session: Session
) -> None:
    olga = browser_for("olga")
    cookie = olga.client.get_cookie("session")
    assert cookie is not None
    payload = cookie.value.split(".")[1 if cookie.value.startswith(".") else 0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    data = json.loads(zlib.decompress(raw) if cookie.value.startswith(".") else raw)
    stored_hash = get_user(db_session, "olga").password_hash
    db_session.rollback()
    assert stored_hash[-12:] not in json.dumps(data)
    assert data["_user_id"].split(":")[0].isdigit()


def test_admin_sign_out_everywhere_ends_every_cookie(
    app: Flask, browser_for: Callable[[str], Browser], world: World
) -> None:
    olga = browser_for("olga")
    thief = _copy(olga.client, app)
    admin = browser_for("admin")
    user_id = world.desk.operator.id
    response = admin.post(f"/admin/users/{user_id}/sign-out")
    assert response.status_code == 303
    assert "olga is signed out everywhere." in admin.get(response.headers["Location"]).text
    assert olga.get("/sessions").status_code == 302
    assert thief.get("/sessions").status_code == 302
    assert admin.get("/sessions").status_code == 200  # nobody else's login ended
    assert browser_for("olga").get("/sessions").status_code == 200  # a new login works


def test_a_password_reset_ends_the_logins(
    app: Flask, browser_for: Callable[[str], Browser], world: World
) -> None:
    olga = browser_for("olga")
    admin = browser_for("admin")
    admin.post(f"/admin/users/{world.desk.operator.id}/password", {"password": "new-pass-123"})
    assert olga.get("/sessions").status_code == 302


def test_deactivation_ends_logins_refuses_login_and_tokens(
    app: Flask, browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    _token, plaintext = create_token(db_session, get_user(db_session, "olga"))
    db_session.commit()
    bearer = {"Authorization": f"Bearer {plaintext}"}
    client = app.test_client()
    assert client.get("/api/v1/sessions", headers=bearer).status_code == 200
    olga = browser_for("olga")
    admin = browser_for("admin")
    response = admin.post(f"/admin/users/{world.desk.operator.id}/active", {"active": "no"})
    assert response.status_code == 303
    assert "olga is deactivated." in admin.get(response.headers["Location"]).text
    assert olga.get("/sessions").status_code == 302
    assert client.get("/api/v1/sessions", headers=bearer).status_code == 401
    fresh = app.test_client()
    data = {"username": "olga", "password": PASSWORDS["olga"], "csrf_token": csrf_token(fresh)}
    assert fresh.post("/login", data=data).status_code == 401
    admin.post(f"/admin/users/{world.desk.operator.id}/active", {"active": "yes"})
    assert client.get("/api/v1/sessions", headers=bearer).status_code == 200
    assert browser_for("olga").get("/sessions").status_code == 200


@pytest.mark.parametrize(
    ("key", "age"), [("login_at", 25 * 3600), ("seen_at", 9 * 3600)], ids=["absolute", "idle"]
)
def test_a_login_ends_after_its_lifetimes(
    browser_for: Callable[[str], Browser], key: str, age: int
) -> None:
    olga = browser_for("olga")
    assert olga.get("/sessions").status_code == 200
    with olga.client.session_transaction() as cookie:
        cookie[key] = int(time.time()) - age
    assert olga.get("/sessions").status_code == 302


def test_lifetimes_are_configurable(app: Flask, browser_for: Callable[[str], Browser]) -> None:
    olga = browser_for("olga")
    with olga.client.session_transaction() as cookie:
        cookie["seen_at"] = int(time.time()) - 120
    assert olga.get("/sessions").status_code == 200  # 2 minutes idle: within the default
    app.config["LOGIN_IDLE_MINUTES"] = 1
    with olga.client.session_transaction() as cookie:
        cookie["seen_at"] = int(time.time()) - 120
    assert olga.get("/sessions").status_code == 302


def test_cli_signs_out_everywhere_and_deactivates(
    engine: Engine, browser_for: Callable[[str], Browser], world: World
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    olga = browser_for("olga")
    result = CliRunner().invoke(cli, ["--database-url", url, "user", "signout-all", "olga"])
    assert result.exit_code == 0, result.output
    assert "olga is signed out everywhere" in result.output
    assert olga.get("/sessions").status_code == 302
    olga = browser_for("olga")
    result = CliRunner().invoke(cli, ["--database-url", url, "user", "deactivate", "olga"])
    assert result.exit_code == 0 and "olga is deactivated" in result.output
    assert olga.get("/sessions").status_code == 302
    result = CliRunner().invoke(cli, ["--database-url", url, "user", "signout-all", "nobody"])
    assert result.exit_code == 1


def test_requests_a_page_makes_by_itself_do_not_keep_a_login_alive(
    app: Flask, browser_for: Callable[[str], Browser]
) -> None:
    app.config["LOGIN_IDLE_MINUTES"] = 5
    olga = browser_for("olga")
    with olga.client.session_transaction() as cookie:
        cookie["seen_at"] = int(time.time()) - 4 * 60
    assert olga.get("/sessions/counts").status_code == 200  # the tabs' counts, polled
    assert olga.client.get("/sessions", headers={"X-Live-Refresh": "1"}).status_code == 200
    with olga.client.session_transaction() as cookie:
        assert cookie["seen_at"] < int(time.time()) - 3 * 60  # not renewed
        cookie["seen_at"] = int(time.time()) - 4 * 60
    assert olga.get("/sessions").status_code == 200  # a page the person opens renews it
    with olga.client.session_transaction() as cookie:
        assert cookie["seen_at"] >= int(time.time()) - 5
