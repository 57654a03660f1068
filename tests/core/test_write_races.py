"""Lost races on both databases (issue 18 item 4): a write whose row changed since it was
loaded is a ConflictError where it flushes (rename, close, assign), never a StaleDataError."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.cli import cli
from bpm_livechat.errors import ConflictError
from bpm_livechat.models import SupportSession, User
from bpm_livechat.sessions.lifecycle import close_session, create_session, rename_session
from bpm_livechat.sessions.stale import rename_seen
from tests.support import Desk

Write = Callable[[Session, SupportSession, User], object]
WRITES: dict[str, Write] = {
    "rename": lambda db, s, u: rename_session(db, s, f"Name by {u.username}", u),
    "close": lambda db, s, u: close_session(db, s, u),
}


def _loaded(factory: sessionmaker[Session], session_id: int) -> tuple[Session, SupportSession]:
    """A database session holding the support session as it was read now (its transaction
    ended, as a page or API request reads before it writes)."""
    db = factory()
    found = db.get(SupportSession, session_id)
    assert found is not None
    db.commit()
    return db, found


@pytest.mark.parametrize(
    ("first", "second"), [("rename", "rename"), ("close", "close"), ("rename", "close")]
)
def test_the_loser_of_a_race_gets_a_conflict_at_flush(
    factory: sessionmaker[Session], desk: Desk, db_session: Session, first: str, second: str
) -> None:
    target = create_session(db_session, desk.support, client_name="Race", subject="Two writers")
    db_session.commit()
    winner_db, winner_row = _loaded(factory, target.id)
    loser_db, loser_row = _loaded(factory, target.id)
    try:
        WRITES[first](winner_db, winner_row, winner_db.merge(desk.supervisor))
        winner_db.commit()
        with pytest.raises(ConflictError, match="someone else changed the same record first"):
            WRITES[second](loser_db, loser_row, loser_db.merge(desk.admin))
            loser_db.flush()
        loser_db.rollback()
    finally:
        winner_db.close()
        loser_db.close()
    db_session.expire_all()
    stored = db_session.get(SupportSession, target.id)
    assert stored is not None and stored.version == 2  # only the winner's write


def test_a_rename_from_a_stale_version_is_refused(
    factory: sessionmaker[Session], desk: Desk, db_session: Session
) -> None:
    target = create_session(db_session, desk.support, client_name="Race", subject="Seen")
    db_session.commit()
    seen = target.version
    rename_session(db_session, target, "First", desk.supervisor)
    db_session.commit()
    with pytest.raises(ConflictError):
        rename_seen(db_session, target, "Second", desk.admin, seen)
    db_session.rollback()
    db_session.expire_all()
    stored = db_session.get(SupportSession, target.id)
    assert stored is not None and stored.name == "First"


# On SQLite the CLI's transaction holds the single write lock from its first statement: no
# other writer can commit in between, so the race exists on PostgreSQL only.
@pytest.mark.parametrize(
    "engine", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_the_cli_answers_a_lost_race_with_exit_1(
    engine: Engine,
    factory: sessionmaker[Session],
    desk: Desk,
    db_session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The CLI's rename: a concurrent close commits between its read and its write (injected
    where the rename has checked the session and is about to change it)."""
    target = create_session(db_session, desk.support, client_name="Race", subject="CLI")
    db_session.commit()
    url = engine.url.render_as_string(hide_password=False)
    closer, row = _loaded(factory, target.id)
    from bpm_livechat.sessions import lifecycle

    original = lifecycle.require_writable

    def close_meanwhile(*args: object, **kwargs: object) -> None:
        original(*args, **kwargs)  # type: ignore[arg-type]
        if not row.closed_at:
            close_session(closer, row, closer.merge(desk.supervisor))
            closer.commit()

    monkeypatch.setattr(lifecycle, "require_writable", close_meanwhile)
    try:
        result = CliRunner().invoke(
            cli, ["--database-url", url, "session", "rename", str(target.id), "Late", "--as", "sam"]
        )
    finally:
        closer.close()
    assert result.exit_code == 1, result.output
    assert "someone else changed the same record first" in result.output
