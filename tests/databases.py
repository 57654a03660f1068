"""Test databases: a migrated scratch database per test, on SQLite or on the local PostgreSQL."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from bpm_livechat.desk.users import system_user
from bpm_livechat.models import metadata
from bpm_livechat.persistence.engines import make_engine
from bpm_livechat.persistence.transactions import session_factory, unit_of_work

PG_ADMIN_URL = os.environ.get(
    "BPM_LIVECHAT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pg_reachable() -> str | None:
    try:
        probe = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with probe.connect() as conn:
            conn.execute(text("SELECT 1"))
        probe.dispose()
        return None
    except Exception as exc:  # any failure means: no usable server
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}"


def truncate_all(engine: Engine) -> None:
    """Empty every table as a fresh migration leaves it (the `system` account, which the
    migrations create, is made again)."""
    # DELETE plus a sequence reset: on tables this small it is ~20x faster than TRUNCATE, which
    # PostgreSQL implements by creating new files for every table (0.2 s per test).
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
        for table in metadata.sorted_tables:
            if "id" in table.c:
                conn.execute(
                    text("SELECT setval(pg_get_serial_sequence(:t, 'id'), 1, false)"),
                    {"t": f'"{table.name}"'},
                )
    with unit_of_work(session_factory(engine)) as db:
        system_user(db)


def fresh_engine(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[Engine]:
    """The body of the `engine` fixtures: `request.param` names the database."""
    if request.param == "sqlite":
        path = tmp_path / "db.sqlite3"
        shutil.copyfile(sqlite_template, path)
        sqlite_engine = make_engine(f"sqlite:///{path}")
        yield sqlite_engine
        sqlite_engine.dispose()
    else:
        pg: Engine = request.getfixturevalue("pg_engine")
        truncate_all(pg)
        yield pg
