"""Web tests: the Flask app on a migrated database with a small support desk, and a logged-in client."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from bpm_livechat.models import AuthorKind, SupportSession, utcnow
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.params.values import set_parameters
from bpm_livechat.sessions.lifecycle import create_session
from bpm_livechat.sessions.messages import add_message
from tests.conftest import fresh_engine
from tests.core.conftest import Desk, cheap_password_hashing, desk
from web import create_app

__all__ = ["Desk", "cheap_password_hashing", "desk"]

PASSWORDS = {
    "admin": "admin-pass-1",
    "sam": "sam-pass-12",
    "olga": "olga-pass-12",
    "sven": "sven-pass-12",
    "sales": "sales-pass-1",
}
HOSTILE_NAME = '<script>alert("x")</script> Evil & Co'
HOSTILE_MESSAGE = '<img src=x onerror=alert(1)> "quoted" & done'
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(params=["sqlite"])
def engine(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[Engine]:
    """SQLite by default; a test asks for PostgreSQL with an indirect `engine` parameter."""
    yield from fresh_engine(request, tmp_path, sqlite_template)


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


@pytest.fixture
def world(db_session: Session, desk: Desk) -> World:
    """Custom parameters and 23 Support sessions plus 2 Sales ones, committed."""
    db = db_session
    add_parameter(db, "segment", "choice", "Segment", options=["consumer", "smb", "enterprise"])
    add_parameter(db, "order_value", "money", "Order value")
    add_parameter(db, "satisfaction", "integer", "Satisfaction")
    add_parameter(db, "contact_email", "email", "Contact email", read_only=True)
    add_parameter(db, "topics", "multichoice", "Topics", options=["billing", "delivery"])
    add_parameter(db, "callback_at", "datetime", "Callback at")
    start = utcnow() - timedelta(days=30)
    ids = []
    for i in range(22):
        s = create_session(
            db,
            desk.support,
            client_name=f"Client {i:02d}",
            subject=f"Question {i:02d}",
            operator=desk.operator if i % 2 == 0 else None,
            priority=["low", "normal", "high", "urgent"][i % 4],
            created_at=start + timedelta(hours=i),
        )
        values: dict[str, object] = {"segment": ["consumer", "smb", "enterprise"][i % 3]}
        if i % 2 == 0:
            values["order_value"] = f"{100 + i * 50}.50 EUR"
        set_parameters(db, s, values, user_actor(desk.admin))
        ids.append(s.id)
    evil = create_session(
        db, desk.support, client_name=HOSTILE_NAME, subject="<b>bold</b>", created_at=utcnow()
    )
    add_message(db, evil, "first message", AuthorKind.CLIENT.value, sent_at=utcnow())
    add_message(
        db, evil, HOSTILE_MESSAGE, AuthorKind.CLIENT.value, sent_at=utcnow() + timedelta(minutes=1)
    )
    sale = create_session(db, desk.sales, client_name="Buyer", subject="Quote")
    create_session(db, desk.sales, client_name="Buyer Two", subject="Quote 2")
    db.commit()
    return World(desk, ids[0], evil.id, sale.id)


@pytest.fixture
def app(engine: Engine, world: World, tmp_path: Path) -> Iterator[Flask]:
    """The web app on the test database, with CSRF checks on (tests send the token)."""
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "test-secret",
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SESSIONS_PER_PAGE": 10,
        }
    )
    yield app
    app.extensions["bpm_livechat.engine"].dispose()


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
        self.token = csrf_token(self.client, "/sessions") if username != "sales" else ""
        return self

    def get(self, path: str) -> TestResponse:
        return self.client.get(path)

    def post(self, path: str, data: dict[str, object] | None = None) -> TestResponse:
        return self.client.post(path, data={**(data or {}), "csrf_token": self.token})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A plain test client (not logged in)."""
    return app.test_client()


@pytest.fixture
def browser_for(app: Flask) -> Callable[[str], Browser]:
    """`browser_for("olga")`: a logged-in client for that user."""

    def make(username: str) -> Browser:
        return Browser(app.test_client()).login(username)

    return make


def session_row(db: Session, session_id: int) -> SupportSession:
    """The session as stored now; the read transaction ends at once (SQLite: writers may go on)."""
    db.expire_all()
    found = db.get(SupportSession, session_id)
    assert found is not None
    db.expunge(found)
    db.rollback()
    return found
