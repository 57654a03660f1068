"""The API on a minimal Flask app (per-request DB session as the UI sets it up) and tokens per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bpm_livechat.processes.engine.engine import ProcessEngine
from tests.api.support import Tokens, bearer, make_app
from tests.support import Desk


@pytest.fixture
def app(engine: Engine, process_engine: ProcessEngine) -> Iterator[Flask]:
    """The app on the test database."""
    made = make_app(engine, process_engine)
    yield made
    made.extensions["bpm_livechat.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def tokens(db_session: Session, desk: Desk) -> Tokens:
    """One committed token per desk user."""
    made = Tokens(
        admin=bearer(db_session, desk.admin),
        supervisor=bearer(db_session, desk.supervisor),
        operator=bearer(db_session, desk.operator),
        seller=bearer(db_session, desk.seller),
        app_user=bearer(db_session, desk.app_user),
        widget=bearer(db_session, desk.widget),
    )
    db_session.commit()
    return made
