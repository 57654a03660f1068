"""Secret key, CSRF protection and security headers for every response."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import MethodNotAllowed, UnprocessableEntity
from werkzeug.middleware.proxy_fix import ProxyFix

SECRET_ENV = "BPM_LIVECHAT_SECRET_KEY"
SECRET_FILE = "secret_key"
CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    """Set the secret key, turn on CSRF checks for every form and add the security headers."""
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ.get(SECRET_ENV) or stored_secret(
            Path(app.instance_path)
        )
    app.session_interface = CookieSessions()
    csrf.init_app(app)
    app.before_request(_reject_nul)
    app.after_request(_security_headers)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:  # behind N proxies: take the client address and scheme from X-Forwarded-*
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions; a request without the cookie (every API call) skips the signer.

    Flask builds the signing serializer before it looks for the cookie, on every request.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """A new empty session when the request carries no session cookie, else Flask's own."""
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def stored_secret(folder: Path) -> str:
    """The instance folder's secret key, generated once (several workers may race: first wins)."""
    path = folder / SECRET_FILE
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        draft = folder / f".{SECRET_FILE}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(draft, path)  # atomic: readers never see a half-written key
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def allowed_methods() -> list[str]:
    """The methods this request's URL answers to (for a 405's `Allow` header)."""
    exc = request.routing_exception
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        return sorted(exc.valid_methods)
    rule = request.url_rule
    return sorted(rule.methods) if rule is not None and rule.methods else []


_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def _reject_nul() -> None:
    """NUL characters are never meaningful input, and PostgreSQL cannot store them."""
    # The form is looked at only when the body is one: asking a JSON request (the API's) for
    # its form costs a tenth of a millisecond for nothing. JSON bodies are checked where parsed.
    parts = [request.args] + ([request.form] if request.mimetype in _FORM_TYPES else [])
    values = [value for part in parts for _key, items in part.lists() for value in items]
    values.append(request.path)
    if any("\x00" in value for value in values):
        raise UnprocessableEntity("The input contains a NUL character; remove it and try again.")


def _security_headers(response: Response) -> Response:
    headers = response.headers
    if response.status_code == 405 and "Allow" not in headers:
        allowed = allowed_methods()
        if allowed:
            headers["Allow"] = ", ".join(allowed)
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if response.mimetype == "text/html":
        headers.setdefault("Cache-Control", "no-store")
    return response
