"""The web app on the run's PostgreSQL database reached through a proxy that can fail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bpm_livechat.processes.engine.engine import ProcessEngine
from tests.api.support import bearer
from tests.chaos.proxy import FaultyProxy
from tests.databases import truncate_all
from tests.support import Desk
from web import create_app


@pytest.fixture
def engine(pg_engine: Engine) -> Engine:
    """The run's PostgreSQL database, emptied (outages are a PostgreSQL matter here)."""
    truncate_all(pg_engine)
    return pg_engine


@pytest.fixture
def proxy(engine: Engine) -> Iterator[FaultyProxy]:
    """A proxy in front of the database server."""
    url = engine.url
    with FaultyProxy((url.host or "127.0.0.1", url.port or 5432)) as made:
        yield made


@pytest.fixture
def app(
    engine: Engine, proxy: FaultyProxy, desk: Desk, tmp_path: Path, process_engine: ProcessEngine
) -> Iterator[Flask]:
    """The app (as create_app builds it) whose database connections go through `proxy`."""
    direct = engine.url.render_as_string(hide_password=False)
    made = create_app(
        {
            "DATABASE_URL": proxy.url(direct),
            "SECRET_KEY": "test-secret",
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "INSTANCE_PATH": str(tmp_path / "instance"),
        },
        processes=process_engine,
    )
    yield made
    made.extensions["bpm_livechat.engine"].dispose()


@pytest.fixture
def operator_token(db_session: Session, desk: Desk) -> dict[str, str]:
    """An API token header of the operator, committed."""
    header = bearer(db_session, desk.operator)
    db_session.commit()
    return header
