"""Migrations from an empty database: upgrade twice is harmless, the schema matches the models."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text

from bpm_livechat.models import metadata
from bpm_livechat.persistence.engines import alembic_config, make_engine, upgrade
from tests.databases import IN_CI, PG_ADMIN_URL, pg_reachable


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database with no tables at all: a new SQLite file or a new PostgreSQL database."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
        yield engine
        engine.dispose()
        return
    problem = pg_reachable()
    if problem:
        if IN_CI:
            pytest.fail(problem)
        pytest.skip(problem)
    name = f"bpm_livechat_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _head() -> str:
    head = ScriptDirectory.from_config(
        alembic_config(create_engine("sqlite://"))
    ).get_current_head()
    assert head is not None
    return head


def test_upgrade_from_empty_twice_and_schema_matches_models(empty_engine: Engine) -> None:
    assert inspect(empty_engine).get_table_names() == []
    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        first = MigrationContext.configure(conn).get_current_revision()
    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert context.get_current_revision() == first == _head()
        assert compare_metadata(context, metadata) == []
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    assert versions == [(first,)]
    tables = set(inspect(empty_engine).get_table_names())
    assert tables == {t.name for t in metadata.sorted_tables} | {"alembic_version"}


def test_upgrade_keeps_data(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO clients (name, email, phone) VALUES ('Jane', 'jane@example.com', NULL)"
            )
        )
    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT name, email FROM clients")).all() == [
            ("Jane", "jane@example.com")
        ]
