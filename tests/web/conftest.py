"""Web tests: the Flask app on a migrated database with a small support desk, and a logged-in client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bpm_livechat.models import AuthorKind, utcnow
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.params.values import set_parameters
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.sessions.lifecycle import create_session
from bpm_livechat.sessions.messages import add_message
from tests.databases import fresh_engine
from tests.support import Desk
from tests.web.support import (
    HOSTILE_MESSAGE,
    HOSTILE_NAME,
    Browser,
    World,
)
from web import create_app


@pytest.fixture(params=["sqlite"])
def engine(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[Engine]:
    """SQLite by default; a test asks for PostgreSQL with an indirect `engine` parameter."""
    yield from fresh_engine(request, tmp_path, sqlite_template)


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
def app(
    engine: Engine, world: World, tmp_path: Path, process_engine: ProcessEngine
) -> Iterator[Flask]:
    """The web app on the test database, with CSRF checks on (tests send the token), on the
    run's process engine."""
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "test-secret",
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SESSIONS_PER_PAGE": 10,
        },
        processes=process_engine,
    )
    yield app
    app.extensions["bpm_livechat.engine"].dispose()


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
