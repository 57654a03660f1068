"""Helpers of the web tests: the logins, a browser-like client, the world of sessions they run in."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from bpm_livechat.models import SupportSession
from tests.support import Desk

PASSWORDS = {
    "admin": "admin-pass-1",
    "sam": "sam-pass-12",
    "olga": "olga-pass-12",
    "sven": "sven-pass-12",
    "sales": "sales-pass-1",
    "widget": "widget-pass-1",
}


HOSTILE_NAME = '<script>alert("x")</script> Evil & Co'


HOSTILE_MESSAGE = '<img src=x onerror=alert(1)> "quoted" & done'


_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


ON_POSTGRES = pytest.mark.parametrize(
    "engine", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@dataclass
class World:
    """The desk plus sessions: `first` is Olga's, `evil` has a hostile client, `sale` is in Sales."""

    desk: Desk
    first: int
    evil: int
    sale: int


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token a page's forms carry for this client's session."""
    match = _TOKEN.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class Browser:
    """A test client that logs in and sends the CSRF token with every form, like a browser."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token = ""

    def login(self, username: str) -> Browser:
        token = csrf_token(self.client)
        response = self.client.post(
            "/login",
            data={"username": username, "password": PASSWORDS[username], "csrf_token": token},
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        home = {"sales": "", "widget": "/account/tokens"}.get(username, "/sessions")
        self.token = csrf_token(self.client, home) if home else ""
        return self

    def get(self, path: str) -> TestResponse:
        return self.client.get(path)

    def post(self, path: str, data: dict[str, object] | None = None) -> TestResponse:
        return self.client.post(path, data={**(data or {}), "csrf_token": self.token})


def session_row(db: Session, session_id: int) -> SupportSession:
    """The session as stored now; the read transaction ends at once (SQLite: writers may go on)."""
    db.expire_all()
    found = db.get(SupportSession, session_id)
    assert found is not None
    db.expunge(found)
    db.rollback()
    return found
