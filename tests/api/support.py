"""Helpers of the API tests: a minimal app with the API, and bearer headers per desk user."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bpm_livechat.desk.tokens import create_token
from bpm_livechat.models import User
from bpm_livechat.processes.engine.engine import ProcessEngine
from web import db as web_db
from web import engine as web_engine
from web.api import init_api


def make_app(engine: Engine, processes: ProcessEngine) -> Flask:
    """A plain Flask app with the UI's per-request DB session, the process engine and the API:
    what create_app adds for the API."""
    app = Flask("api_test")
    app.config.update(TESTING=True, DATABASE_URL=engine.url.render_as_string(hide_password=False))
    web_db.init_app(app)
    web_engine.init_app(app, processes)
    init_api(app)
    return app


@dataclass
class Tokens:
    """A bearer header for each desk user."""

    admin: dict[str, str]
    supervisor: dict[str, str]
    operator: dict[str, str]
    seller: dict[str, str]
    app_user: dict[str, str]
    widget: dict[str, str]  # the channel account's: the client's side


def bearer(db: Session, user: User) -> dict[str, str]:
    """The Authorization header of a fresh token of `user` (not committed)."""
    _token, plaintext = create_token(db, user, "test")
    return {"Authorization": f"Bearer {plaintext}"}
