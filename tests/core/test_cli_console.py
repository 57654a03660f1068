"""`bpm-livechat session take / assign / release` and closed sessions on the CLI (both databases)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bpm_livechat.cli import cli
from bpm_livechat.desk.livechats import add_member
from bpm_livechat.desk.users import create_user
from bpm_livechat.models import MemberRole
from tests.core.test_cli import Run, ok, ok_json, rejected
from tests.support import Desk, open_session


@pytest.fixture
def run(engine: Engine) -> Run:
    """Invoke `bpm-livechat --database-url URL ARGS...` in-process."""
    url = engine.url.render_as_string(hide_password=False)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--database-url", url, *args])

    return invoke


def test_take_assign_release_and_a_lost_take_exits_1_naming_the_holder(
    run: Run, db_session: Session, desk: Desk
) -> None:
    oscar = create_user(db_session, "oscar", "operator", "oscar-pass-12", "Oscar Operator")
    add_member(db_session, desk.support, oscar, MemberRole.OPERATOR)
    session_id = open_session(db_session, desk.support).id
    db_session.commit()
    taken = ok_json(run("session", "take", str(session_id), "--as", "olga", "--json"))
    assert {k: taken[k] for k in ("id", "status", "operator", "operator_name")} == {
        "id": session_id, "status": "active", "operator": "olga", "operator_name": "Olga Operator"
    }  # fmt: skip
    lost = rejected(run("session", "take", str(session_id), "--as", "oscar"))
    assert lost == f"session {session_id} was already taken by Olga Operator (olga)"
    assert "only supervisors" in rejected(
        run("session", "assign", str(session_id), "oscar", "--as", "olga")
    )
    moved = ok(run("session", "assign", str(session_id), "oscar", "--as", "sam"))
    assert moved == f"session {session_id} assigned to oscar\n"
    released = ok_json(run("session", "release", str(session_id), "--as", "oscar", "--json"))
    assert (released["status"], released["operator"]) == ("queued", None)
    assert rejected(run("session", "take", "999999", "--as", "olga")) == "session 999999 not found"


def test_a_closed_session_is_read_only_on_the_cli(
    run: Run, db_session: Session, desk: Desk
) -> None:
    session_id = open_session(db_session, desk.support, operator=desk.operator).id
    db_session.commit()
    closed = ok_json(run("session", "close", str(session_id), "--as", "olga", "--json"))
    assert (closed["status"], closed["event_queued"]) == ("closed", False)
    for args in (
        ("rename", str(session_id), "New", "--as", "olga"),
        ("message", str(session_id), "Hi", "--author", "operator", "--as", "olga"),
        ("take", str(session_id), "--as", "olga"),
    ):
        message = rejected(run("session", *args))
        assert message.startswith(f"session {session_id} was closed on "), args
        assert message.endswith(" by Olga Operator and is read-only")
    again = json.loads(ok(run("session", "close", str(session_id), "--as", "olga", "--json")))
    assert again["event_queued"] is False


def test_user_presence_shown_and_set(run: Run, desk: Desk) -> None:
    shown = ok_json(run("user", "presence", "olga", "--json"))
    assert (shown["presence"], shown["chosen"]) == ("away", "online")  # never seen: Away
    assert ok(run("user", "presence", "olga", "offline")) == "olga is offline\n"
    assert (
        ok(run("user", "presence", "olga", "online")) == "olga is online\n"
    )  # setting is activity
    assert run("user", "presence", "olga", "busy").exit_code == 2
    assert rejected(run("user", "presence", "nobody")) == "user 'nobody' not found"
