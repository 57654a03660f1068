"""Login, logout, CSRF, security headers, throttling, the secret key and who may see what."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.web.support import PASSWORDS, Browser, World, csrf_token, session_row
from web import create_app


def _login(client: FlaskClient, username: str, password: str, **extra: str) -> object:
    token = csrf_token(client)
    data = {"username": username, "password": password, "csrf_token": token, **extra}
    return client.post("/login", data=data)


def test_login_page_has_labelled_inputs_and_a_log_in_button(client: FlaskClient) -> None:
    html = client.get("/login").get_data(as_text=True)
    assert '<label for="username">Username</label>' in html
    assert '<label for="password">Password</label>' in html
    assert ">Log in</button>" in html


def test_pages_need_a_login(client: FlaskClient) -> None:
    response = client.get("/sessions")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_wrong_password_is_refused_with_401(client: FlaskClient) -> None:
    response = _login(client, "olga", "not-her-password")
    assert response.status_code == 401
    assert "Wrong username or password." in response.get_data(as_text=True)
    assert client.get("/sessions").status_code == 302


def test_login_then_logout(client: FlaskClient) -> None:
    response = _login(client, "olga", PASSWORDS["olga"])
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/sessions").status_code == 200
    token = csrf_token(client, "/sessions")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.headers["Location"] == "/login"
    assert client.get("/sessions").status_code == 302


def test_login_redirects_only_to_this_site(app: Flask) -> None:
    response = _login(app.test_client(), "olga", PASSWORDS["olga"], next="//evil.example/x")
    assert response.headers["Location"] == "/"
    response = _login(app.test_client(), "olga", PASSWORDS["olga"], next="/sessions?q=a")
    assert response.headers["Location"] == "/sessions?q=a"


def test_session_cookie_is_httponly_and_samesite(client: FlaskClient) -> None:
    response = _login(client, "olga", PASSWORDS["olga"])
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_security_headers_on_every_page(client: FlaskClient) -> None:
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    html = response.get_data(as_text=True)
    assert "<script>" not in html and " style=" not in html  # nothing inline for the CSP to block


def test_form_without_csrf_token_is_rejected(client: FlaskClient) -> None:
    response = client.post("/login", data={"username": "olga", "password": PASSWORDS["olga"]})
    assert response.status_code == 400
    assert "The form expired" in response.get_data(as_text=True)
    assert client.get("/sessions").status_code == 302  # not logged in


def test_rename_without_csrf_token_changes_nothing(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    olga = browser_for("olga")
    before = session_row(db_session, world.first).name
    response = olga.client.post(f"/sessions/{world.first}/name", data={"name": "Hijacked"})
    assert response.status_code == 400
    assert session_row(db_session, world.first).name == before


def test_repeated_failures_lock_the_username_for_a_while(client: FlaskClient) -> None:
    for _ in range(3):
        assert _login(client, "olga", "wrong-password").status_code == 401
    assert _login(client, "olga", "wrong-password").status_code == 401  # 4th: locks 1 s
    response = _login(client, "olga", PASSWORDS["olga"])  # right password, still locked
    assert response.status_code == 429
    assert "Too many failed attempts. Try again in 1 seconds." in response.get_data(as_text=True)
    assert _login(client, "sam", PASSWORDS["sam"]).status_code == 302  # others are not locked


def test_secret_key_is_generated_once_in_the_instance_folder(
    app: Flask, tmp_path: Path, monkeypatch: object
) -> None:
    folder = tmp_path / "fresh-instance"
    config = {"DATABASE_URL": app.config["DATABASE_URL"], "INSTANCE_PATH": str(folder)}
    first = create_app(config)
    second = create_app(config)
    key = (folder / "secret_key").read_text()
    assert len(key) == 64
    assert first.secret_key == second.secret_key == key
    assert (folder / "secret_key").stat().st_mode & 0o077 == 0


def test_app_users_get_403_on_operator_pages(
    browser_for: Callable[[str], Browser], world: World
) -> None:
    sales = browser_for("sales")
    assert sales.get("/sessions").status_code == 403
    response = sales.get(f"/sessions/{world.sale}")
    assert response.status_code == 403
    assert "You do not have access to this page." in response.get_data(as_text=True)


def test_operator_cannot_open_another_live_chats_session(
    browser_for: Callable[[str], Browser], world: World
) -> None:
    olga = browser_for("olga")
    assert olga.get(f"/sessions/{world.sale}").status_code == 403
    assert olga.post(f"/sessions/{world.sale}/name", {"name": "x"}).status_code == 403
    assert olga.get(f"/sessions/{world.first}").status_code == 200


def test_missing_things_are_404(browser_for: Callable[[str], Browser], world: World) -> None:
    olga = browser_for("olga")
    response = olga.get("/sessions/999999")
    assert response.status_code == 404
    assert "The session you asked for does not exist." in response.get_data(as_text=True)
    assert olga.get("/no-such-page").status_code == 404
    assert olga.post(f"/sessions/{world.first}/params/nope", {"value": "1"}).status_code == 404


def test_odd_input_never_gives_a_500(browser_for: Callable[[str], Browser], world: World) -> None:
    olga = browser_for("olga")
    odd = [
        "/sessions?page=99999999999999&per_page=abc",
        "/sessions?sort=-",
        "/sessions?f.created_at.min=yesterday",
        "/sessions?f.priority=unheard-of",
        "/sessions?q=%00",
        f"/sessions/{world.first}?edit=nope&rename=2",
        "/sessions/-1",
        "/sessions/99999999999999999999",
    ]
    for path in odd:
        assert olga.get(path).status_code in {200, 404, 422}, path
    nul = olga.post(f"/sessions/{world.first}/name", {"name": "a\x00b"})
    assert nul.status_code == 422
    assert "NUL character" in nul.get_data(as_text=True)


def test_serve_runs_the_app_on_the_given_address(monkeypatch: object, app: Flask) -> None:
    import werkzeug.serving
    from click.testing import CliRunner

    from bpm_livechat.cli import CliState
    from web.cli import serve

    calls: list[tuple[str, int, bool]] = []

    def fake_run_simple(host: str, port: int, wsgi: Flask, **kwargs: object) -> None:
        calls.append((host, port, wsgi.config["DATABASE_URL"] == app.config["DATABASE_URL"]))

    monkeypatch.setattr(werkzeug.serving, "run_simple", fake_run_simple)  # type: ignore[attr-defined]
    state = CliState(url=app.config["DATABASE_URL"])
    result = CliRunner().invoke(serve, ["--host", "127.0.0.1", "--port", "5123"], obj=state)
    assert result.exit_code == 0, result.output
    assert calls == [("127.0.0.1", 5123, True)]
    assert "Serving on http://127.0.0.1:5123/" in result.output
