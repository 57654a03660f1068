"""`bpm-livechat team` and `bpm-livechat routing` (both databases): rules validated naming the
field, listed in order, tested on a session, removed; sessions routed when created."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bpm_livechat.cli import cli
from bpm_livechat.params.catalogue import add_parameter
from tests.core.test_cli import Run, ok, ok_json, rejected
from tests.routing.support import operator
from tests.support import Desk


@pytest.fixture
def run(engine: Engine) -> Run:
    """Invoke `bpm-livechat --database-url URL ARGS...` in-process."""
    url = engine.url.render_as_string(hide_password=False)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--database-url", url, *args])

    return invoke


def test_team_rules_test_and_routing_on_creation(run: Run, db_session: Session, desk: Desk) -> None:
    add_parameter(db_session, "seats", "integer", "Seats")
    operator(db_session, "Ivan", desk.support)
    db_session.commit()
    made = ok_json(
        run("team", "create", "Enterprise", "--member", "ivan:3", "--member", "olga", "--json")
    )
    assert made["members"] == [
        {"username": "olga", "name": "Olga Operator", "capacity": 5},
        {"username": "ivan", "name": "Ivan", "capacity": 3},
    ]
    assert (
        rejected(run("team", "create", "X", "--member", "ghost")) == "member: unknown user 'ghost'"
    )
    assert rejected(run("team", "create", "X", "--member", "ivan:lots")).startswith(
        "--member 'ivan:lots'"
    )
    assert "unknown parameter 'seat'" in rejected(
        run(
            "routing",
            "add",
            "Big",
            "--live-chat",
            "Support",
            "--if",
            "seat=100..",
            "--to-team",
            "Enterprise",
        )
    )
    assert "'seats' (integer)" in rejected(
        run(
            "routing",
            "add",
            "Big",
            "--live-chat",
            "Support",
            "--if",
            "seats=many",
            "--to-team",
            "Enterprise",
        )
    )
    assert "'priority' (choice)" in rejected(
        run("routing", "add", "Big", "--if", "priority=asap", "--to-team", "Enterprise")
    )
    assert (
        rejected(run("routing", "add", "Big", "--to-team", "Nobody"))
        == "team: unknown team 'Nobody'"
    )
    big = ok_json(
        run(
            "routing", "add", "Big", "--live-chat", "Support", "--if", "seats=100..",
            "--if", "priority=high|urgent", "--to-team", "Enterprise", "--strategy", "least-busy", "--json",
        )
    )  # fmt: skip
    assert big["described"] == ["seats in 100..…", "priority one of ['high', 'urgent']"]
    ok(run("routing", "add", "Urgent", "--if", "priority=urgent", "--to-team", "Enterprise"))
    listed = ok_json(run("routing", "list", "--json"))
    assert [r["name"] for r in listed] == ["Big", "Urgent"]
    assert (
        "[global #1] Urgent: all of: priority equals 'urgent' -> team Enterprise, round-robin"
        in ok(run("routing", "list"))
    )
    assert ok(run("user", "presence", "olga", "online")) == "olga is online\n"
    created = ok_json(
        run(
            "session", "create", "--live-chat", "Support", "--client-name", "Ann",
            "--subject", "Down", "--priority", "urgent", "--json",
        )
    )  # fmt: skip
    assert (created["operator"], created["status"]) == ("Olga Operator", "active")
    assert created["routing"] == (
        "rule Urgent -> team Enterprise, round robin: Olga Operator 0/5, Ivan 0/3; "
        "assigned to Olga Operator"
    )
    tested = ok_json(run("routing", "test", str(created["id"]), "--json"))
    assert tested["checks"][0]["reasons"] == ["seats in 100..… failed: seats is empty"]
    assert tested["rule"] == "Urgent"
    text = ok(run("routing", "test", str(created["id"])))
    assert text.splitlines()[:2] == [
        "no     Big: seats in 100..… failed: seats is empty",
        "MATCH  Urgent",
    ]
    again = rejected(run("routing", "again", str(created["id"])))
    assert (
        again
        == f"session {created['id']} is Olga Operator's: return it to the queue to route it again"
    )
    removed = ok_json(run("routing", "remove", "Big", "--json"))
    assert removed["name"] == "Big"
    assert [r["name"] for r in ok_json(run("routing", "list", "--json"))] == ["Urgent"]
    assert rejected(run("routing", "remove", "Big")) == "routing rule 'Big' not found"
