"""Logins that end (issue 18 item 1), kept as rows on the server: logout ends that browser's
login (and every copy of its cookie) while the user's other browsers stay signed in; a new
password, deactivation and "sign out everywhere" end the others; idle and absolute lifetimes
on the app's clock; nothing of the password hash in the cookie. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bpm_livechat.cli import cli
from bpm_livechat.desk.tokens import create_token
from bpm_livechat.desk.users import get_user
from bpm_livechat.models import Login, User
from bpm_livechat.processes.engine.engine import ProcessEngine
from tests.support import MovingClock
from tests.web.support import PASSWORDS, Browser, World, csrf_token, session_row
from web import create_app

pytestmark = pytest.mark.parametrize(
    "engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


def _copy(source: FlaskClient, app: Flask) -> FlaskClient:
    """Another client (an attacker's, or another worker's) carrying a copy of the cookie."""
    cookie = source.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def _reads(client: FlaskClient, world: World) -> bool:
    return client.get(f"/sessions/{world.first}").status_code == 200


def _signed_in(browser: Browser) -> bool:
    response = browser.get("/sessions")
    assert response.status_code in (200, 302)
    return response.status_code == 200 and not response.headers.get("Location")


def _logins(engine: Engine, username: str = "olga") -> list[Login]:
    """The user's login rows as committed now (read in a session of its own)."""
    with Session(engine) as db:
        query = select(Login).join(User).where(User.username == username).order_by(Login.id)
        rows = list(db.scalars(query))
        db.expunge_all()
    return rows


def test_logout_ends_that_browser_only(
    app: Flask,
    engine: Engine,
    browser_for: Callable[[str], Browser],
    world: World,
    db_session: Session,
) -> None:
    laptop = browser_for("olga")
    tablet = browser_for("olga")
    thief = _copy(laptop.client, app)
    assert _reads(thief, world)
    assert len(_logins(engine)) == 2
    token = laptop.token
    assert laptop.post("/logout").status_code == 302
    response = thief.get(f"/sessions/{world.first}")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    # A write with the copied cookie (and the CSRF token it had) is refused as well.
    renamed = thief.post(
        f"/sessions/{world.first}/name", data={"name": "stolen", "csrf_token": token}
    )
    assert renamed.status_code in (302, 400)
    assert renamed.headers.get("Location", "/login").startswith("/login")
    assert session_row(db_session, world.first).name != "stolen"
    db_session.rollback()
    # The tablet is still signed in, and can write.
    assert _reads(tablet.client, world)
    renamed = tablet.post(f"/sessions/{world.first}/name", {"name": "From the tablet"})
    assert renamed.status_code in (302, 303)
    assert session_row(db_session, world.first).name == "From the tablet"
    db_session.rollback()
    assert len(_logins(engine)) == 1


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


def test_the_cookie_carries_a_secret_whose_hash_alone_is_stored(
    engine: Engine, browser_for: Callable[[str], Browser], db_session: Session, world: World
) -> None:
    olga = browser_for("olga")
    cookie = olga.client.get_cookie("session")
    assert cookie is not None
    payload = cookie.value.split(".")[1 if cookie.value.startswith(".") else 0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    data = json.loads(zlib.decompress(raw) if cookie.value.startswith(".") else raw)
    olga_user = get_user(db_session, "olga")
    stored_hash, olga_id = olga_user.password_hash, olga_user.id
    db_session.rollback()
    assert stored_hash[-12:] not in json.dumps(data)
    secret = data["_user_id"]
    assert len(secret) >= 40 and str(olga_id) != secret
    (login,) = _logins(engine)
    assert login.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in login.secret_hash


def test_admin_sign_out_everywhere_ends_every_login(
    app: Flask, browser_for: Callable[[str], Browser], world: World
) -> None:
    olga = browser_for("olga")
    tablet = browser_for("olga")
    thief = _copy(olga.client, app)
    admin = browser_for("admin")
    user_id = world.desk.operator.id
    response = admin.post(f"/admin/users/{user_id}/sign-out")
    assert response.status_code == 303
    assert "olga is signed out everywhere." in admin.get(response.headers["Location"]).text
    assert not _signed_in(olga) and not _signed_in(tablet)
    assert thief.get("/sessions").status_code == 302
    assert _signed_in(admin)  # nobody else's login ended
    assert _signed_in(browser_for("olga"))  # a new login works


def test_a_password_reset_ends_the_users_logins(
    app: Flask, browser_for: Callable[[str], Browser], world: World
) -> None:
    olga, tablet = browser_for("olga"), browser_for("olga")
    admin = browser_for("admin")
    admin.post(f"/admin/users/{world.desk.operator.id}/password", {"password": "new-pass-123"})
    assert not _signed_in(olga) and not _signed_in(tablet)
    assert _signed_in(admin)


def test_setting_ones_own_password_keeps_that_login_and_ends_the_others(
    app: Flask, browser_for: Callable[[str], Browser], world: World
) -> None:
    admin, other_browser = browser_for("admin"), browser_for("admin")
    response = admin.post(
        f"/admin/users/{world.desk.admin.id}/password", {"password": "new-pw-456"}
    )
    assert response.status_code == 303
    assert _signed_in(admin)
    assert not _signed_in(other_browser)


def test_deactivation_ends_logins_refuses_login_and_tokens(
    app: Flask,
    engine: Engine,
    browser_for: Callable[[str], Browser],
    world: World,
    db_session: Session,
) -> None:
    _token, plaintext = create_token(db_session, get_user(db_session, "olga"))
    db_session.commit()
    bearer = {"Authorization": f"Bearer {plaintext}"}
    client = app.test_client()
    assert client.get("/api/v1/sessions", headers=bearer).status_code == 200
    olga, tablet = browser_for("olga"), browser_for("olga")
    admin = browser_for("admin")
    response = admin.post(f"/admin/users/{world.desk.operator.id}/active", {"active": "no"})
    assert response.status_code == 303
    assert "olga is deactivated." in admin.get(response.headers["Location"]).text
    assert not _signed_in(olga) and not _signed_in(tablet)
    assert _logins(engine) == []
    assert client.get("/api/v1/sessions", headers=bearer).status_code == 401
    fresh = app.test_client()
    data = {"username": "olga", "password": PASSWORDS["olga"], "csrf_token": csrf_token(fresh)}
    assert fresh.post("/login", data=data).status_code == 401
    admin.post(f"/admin/users/{world.desk.operator.id}/active", {"active": "yes"})
    assert client.get("/api/v1/sessions", headers=bearer).status_code == 200
    assert not _signed_in(olga)  # activating again does not bring old logins back
    assert _signed_in(browser_for("olga"))


def test_cli_signs_out_everywhere_and_deactivates(
    engine: Engine, browser_for: Callable[[str], Browser], world: World
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    olga, tablet = browser_for("olga"), browser_for("olga")
    args = ["--database-url", url, "user", "signout-all", "olga", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"username": "olga", "logins_ended": 2}
    assert not _signed_in(olga) and not _signed_in(tablet)
    olga = browser_for("olga")
    result = CliRunner().invoke(cli, ["--database-url", url, "user", "signout-all", "olga"])
    assert "olga is signed out everywhere" in result.output
    olga = browser_for("olga")
    result = CliRunner().invoke(cli, ["--database-url", url, "user", "deactivate", "olga"])
    assert result.exit_code == 0 and "olga is deactivated" in result.output
    assert not _signed_in(olga)
    result = CliRunner().invoke(cli, ["--database-url", url, "user", "signout-all", "nobody"])
    assert result.exit_code == 1


# Lifetimes, on the app's clock (the process engine's, which the test moves).


@pytest.fixture
def clocked(
    engine: Engine, world: World, tmp_path: Path, timed_engine: ProcessEngine
) -> Iterator[Flask]:
    """The web app on the test database, reading the time from the test's moving clock."""
    app = create_app(
        {
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "SECRET_KEY": "test-secret",
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "clocked"),
        },
        processes=timed_engine,
    )
    yield app
    app.extensions["bpm_livechat.engine"].dispose()


def _seen(engine: Engine) -> datetime:
    (login,) = _logins(engine)
    return login.last_seen_at


def test_a_login_ends_when_idle_too_long(
    clocked: Flask, clock: MovingClock, world: World, engine: Engine
) -> None:
    olga = Browser(clocked.test_client()).login("olga")
    clock.advance(hours=7, minutes=59)
    assert _signed_in(olga)  # used within the 8 idle hours: renewed
    clock.advance(hours=7, minutes=59)
    assert _signed_in(olga)
    tablet = Browser(clocked.test_client()).login("olga")
    clock.advance(hours=8, minutes=1)
    assert not _signed_in(olga) and not _signed_in(tablet)
    assert _logins(engine) == []  # expired rows are removed


def test_a_login_ends_after_its_absolute_lifetime(clocked: Flask, clock: MovingClock) -> None:
    olga = Browser(clocked.test_client()).login("olga")
    for _hour in range(6):  # used every 4 hours: never idle, but 24 hours pass
        clock.advance(hours=4)
        assert _signed_in(olga)
    clock.advance(minutes=1)
    assert not _signed_in(olga)
    assert _signed_in(Browser(clocked.test_client()).login("olga"))


def test_lifetimes_are_configurable(clocked: Flask, clock: MovingClock) -> None:
    olga = Browser(clocked.test_client()).login("olga")
    clock.advance(minutes=2)
    assert _signed_in(olga)  # 2 minutes idle: within the default
    clocked.config["LOGIN_IDLE_MINUTES"] = 1
    clock.advance(minutes=2)
    assert not _signed_in(olga)
    clocked.config["LOGIN_MAX_HOURS"] = 1
    olga = Browser(clocked.test_client()).login("olga")
    clock.advance(minutes=50)
    clocked.config["LOGIN_IDLE_MINUTES"] = 60
    assert _signed_in(olga)
    clock.advance(minutes=11)
    assert not _signed_in(olga)


def test_last_seen_is_written_at_most_once_a_minute(
    clocked: Flask, clock: MovingClock, world: World, engine: Engine
) -> None:
    olga = Browser(clocked.test_client()).login("olga")
    started = _seen(engine)
    clock.advance(seconds=30)
    assert _signed_in(olga)
    assert _seen(engine) == started  # not written: under a minute
    clock.advance(seconds=31)
    assert _signed_in(olga)
    assert _seen(engine) == clock.now()


def test_requests_a_page_makes_by_itself_do_not_keep_a_login_alive(
    clocked: Flask, clock: MovingClock, world: World, engine: Engine
) -> None:
    clocked.config["LOGIN_IDLE_MINUTES"] = 5
    olga = Browser(clocked.test_client()).login("olga")
    started = _seen(engine)
    clock.advance(minutes=4)
    assert olga.get("/sessions/counts").status_code == 200  # the tabs' counts, polled
    assert olga.client.get("/sessions", headers={"X-Live-Refresh": "1"}).status_code == 200
    assert _seen(engine) == started  # not renewed
    clock.advance(minutes=2)
    assert not _signed_in(olga)  # 6 minutes since the person last did something
    olga = Browser(clocked.test_client()).login("olga")
    clock.advance(minutes=4)
    assert _signed_in(olga)  # a page the person opens renews it
    clock.advance(minutes=4)
    assert _signed_in(olga)
