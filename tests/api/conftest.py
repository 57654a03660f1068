"""The API on a minimal Flask app (per-request DB session as the UI sets it up) and tokens per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bpm_livechat.desk.tokens import create_token
from bpm_livechat.models import User
from tests.core.conftest import Desk, cheap_password_hashing, desk, open_session
from web import db as web_db
from web.api import init_api

__all__ = ["Desk", "Tokens", "cheap_password_hashing", "desk", "open_session"]


def make_app(engine: Engine) -> Flask:
    """A plain Flask app with the UI's per-request DB session and the API: what create_app adds."""
    app = Flask("api_test")
    app.config.update(TESTING=True, DATABASE_URL=engine.url.render_as_string(hide_password=False))
    web_db.init_app(app)
    init_api(app)
    return app


@pytest.fixture
def app(engine: Engine) -> Iterator[Flask]:
    """The app on the test database."""
    made = make_app(engine)
    yield made
    made.extensions["bpm_livechat.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the app."""
    return app.test_client()


@dataclass
class Tokens:
    """A bearer header for each desk user."""

    admin: dict[str, str]
    supervisor: dict[str, str]
    operator: dict[str, str]
    seller: dict[str, str]
    app_user: dict[str, str]


def bearer(db: Session, user: User) -> dict[str, str]:
    """The Authorization header of a fresh token of `user` (not committed)."""
    _token, plaintext = create_token(db, user, "test")
    return {"Authorization": f"Bearer {plaintext}"}


@pytest.fixture
def tokens(db_session: Session, desk: Desk) -> Tokens:
    """One committed token per desk user."""
    made = Tokens(
        admin=bearer(db_session, desk.admin),
        supervisor=bearer(db_session, desk.supervisor),
        operator=bearer(db_session, desk.operator),
        seller=bearer(db_session, desk.seller),
        app_user=bearer(db_session, desk.app_user),
    )
    db_session.commit()
    return made
