"""The CLI through click's runner on both databases: exit codes, one-line errors, JSON shapes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.cli import cli
from bpm_livechat.desk.users import authenticate
from bpm_livechat.models import ParamHistory, User
from tests.support import Desk

Run = Callable[..., Result]

PARAM_FIELDS = {
    "key",
    "label",
    "type",
    "system",
    "archived",
    "constraints",
    "option_labels",
    "description",
    "options",
    "position",
    "read_only",
    "required_to_close",
}
SUMMARY_FIELDS = {
    "id",
    "live_chat",
    "channel",
    "client",
    "operator",
    "priority",
    "status",
    "subject",
    "created_at",
    "closed_at",
    "name",
    "params",
}


@pytest.fixture
def run(engine: Engine) -> Run:
    """Invoke `bpm-livechat --database-url URL ARGS...` in-process; stdout and stderr kept apart."""
    url = engine.url.render_as_string(hide_password=False)

    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, ["--database-url", url, *args], input=input)

    return invoke


def ok_json(result: Result) -> Any:
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    return json.loads(result.stdout)


def ok(result: Result) -> str:
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    return result.stdout


def rejected(result: Result) -> str:
    """The one-line message of a rejected command (exit 1, nothing on stdout)."""
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    return result.stderr[len("error: ") : -1]


def test_init_twice_is_harmless(run: Run, engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=True)
    for _ in range(2):
        result = run("init")
        assert (result.exit_code, result.stdout) == (0, f"database ready: {url}\n")
    assert ok_json(run("init", "--json")) == {"ok": True, "database": url}


def test_param_list_json_fields(run: Run) -> None:
    rows = ok_json(run("param", "list", "--json"))
    assert [set(r) for r in rows] == [PARAM_FIELDS] * 10
    assert [r["key"] for r in rows][:3] == ["live_chat", "channel", "client"]
    assert all(r["system"] and not r["archived"] for r in rows)
    status = next(r for r in rows if r["key"] == "status")
    assert (status["type"], status["options"]) == ("choice", ["queued", "active", "closed"])

    ok_json(
        run(
            "param",
            "add",
            "segment",
            "--type",
            "choice",
            "--label",
            "Segment",
            "--option",
            "a",
            "--option",
            "b",
            "--json",
        )
    )
    rows = ok_json(run("param", "list", "--json"))
    assert rows[-1] == {
        "key": "segment",
        "label": "Segment",
        "type": "choice",
        "system": False,
        "archived": False,
        "description": "",
        "options": ["a", "b"],
        "option_labels": {},
        "constraints": {},
        "position": 1,
        "read_only": False,
        "required_to_close": False,
    }


def test_param_add_success_and_rejections(run: Run) -> None:
    added = ok_json(
        run(
            "param",
            "add",
            "contact_email",
            "--type",
            "email",
            "--label",
            "Contact email",
            "--read-only",
            "--required-to-close",
            "--json",
        )
    )
    assert (added["key"], added["type"], added["read_only"], added["required_to_close"]) == (
        "contact_email",
        "email",
        True,
        True,
    )
    plain = run("param", "add", "note", "--type", "string", "--label", "Note")
    assert (plain.exit_code, plain.stdout) == (0, "parameter 'note' added\n")

    for args, message in (
        (("status", "--type", "string"), "'status' is a system parameter and cannot be shadowed"),
        (("note", "--type", "text"), "parameter 'note' already exists"),
        (
            ("tier", "--type", "choice"),
            "invalid options for a choice parameter: at least one option is needed",
        ),
        (
            ("Bad-Key", "--type", "text"),
            "invalid key 'Bad-Key': use a lower-case identifier (letters, digits, '_'), "
            "up to 64 characters",
        ),
    ):
        assert rejected(run("param", "add", *args, "--label", "X")) == message
    assert rejected(run("param", "add", "colour", "--type", "colour", "--label", "X")).startswith(
        "unknown parameter type 'colour' (one of: string, text, integer,"
    )
    rows = ok_json(run("param", "list", "--json"))
    assert [r["key"] for r in rows if not r["system"]] == ["contact_email", "note"]


@pytest.mark.parametrize(
    "args",
    [
        ("param", "add", "note", "--label", "Note"),  # --type missing
        ("param", "add", "note", "--type", "string", "--label", "N", "--colour", "red"),
        ("session", "show", "abc"),
        ("session", "list", "--limit", "0"),
        ("user", "create", "bob", "--role", "wizard", "--password", "long-enough"),
        ("nonsense",),
    ],
)
def test_usage_errors_exit_2(run: Run, args: tuple[str, ...]) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Error:" in result.stderr


def test_param_update_archive_restore(run: Run, desk: Desk) -> None:
    ok(run("param", "add", "code", "--type", "string", "--label", "Code"))
    created = ok_json(
        run(
            "session",
            "create",
            "--live-chat",
            "Support",
            "--client-name",
            "Jane",
            "--subject",
            "Hi",
            "--json",
        )
    )
    ok_json(run("session", "set", str(created["id"]), "code=abc", "--as", "olga", "--json"))
    assert rejected(run("param", "update", "code", "--type", "integer")) == (
        "cannot change 'code' from string to integer: 1 of 1 stored values would not convert "
        "(e.g. 'abc')"
    )
    updated = ok_json(
        run("param", "update", "code", "--label", "Order code", "--type", "text", "--json")
    )
    assert (updated["label"], updated["type"]) == ("Order code", "text")
    assert ok_json(run("param", "archive", "code", "--json"))["archived"] is True
    assert "code" not in [r["key"] for r in ok_json(run("param", "list", "--active", "--json"))]
    assert rejected(run("session", "set", str(created["id"]), "code=x", "--as", "olga")) == (
        "parameter 'code' is archived"
    )
    assert ok_json(run("param", "restore", "code", "--json"))["archived"] is False
    shown = ok_json(run("session", "show", str(created["id"]), "--json"))
    assert shown["params"] == {"code": "abc"}
    assert rejected(run("param", "archive", "status")) == (
        "'status' is a system parameter and cannot be archived"
    )
    assert rejected(run("param", "restore", "missing")) == "parameter 'missing' not found"


def test_livechat_commands(run: Run) -> None:
    created = ok_json(
        run(
            "livechat",
            "create",
            "Billing",
            "--name-template",
            "{client.name}: {subject}",
            "--channel",
            "Mail:email",
            "--json",
        )
    )
    assert created == {
        "id": created["id"],
        "name": "Billing",
        "name_template": "{client.name}: {subject}",
        "channels": [{"name": "Mail", "kind": "email"}],
        "operators": [],
        "supervisors": [],
    }
    assert rejected(run("livechat", "create", "Billing")) == "live chat 'Billing' already exists"
    template = ("--name-template", "{client.name.__class__}")
    assert rejected(run("livechat", "update", "Billing", *template)) == (
        "attribute access is not allowed at position 12"
    )
    assert rejected(run("livechat", "update", "Nope", "--name-template", "{subject}")) == (
        "live chat 'Nope' not found"
    )
    updated = ok_json(
        run("livechat", "update", "Billing", "--name-template", "{subject}", "--json")
    )
    assert updated["name_template"] == "{subject}"
    assert [c["name"] for c in ok_json(run("livechat", "list", "--json"))] == ["Billing"]


def test_user_create_with_password_stdin(
    run: Run, desk: Desk, factory: sessionmaker[Session]
) -> None:
    created = ok_json(
        run(
            "user",
            "create",
            "nina",
            "--role",
            "operator",
            "--password-stdin",
            "--live-chat",
            "Sales",
            "--json",
            input="correct horse battery\n",
        )
    )
    assert created == {
        "id": created["id"],
        "username": "nina",
        "role": "operator",
        "live_chats": ["Sales"],
    }
    with factory() as db:
        user = authenticate(db, "nina", "correct horse battery")
        assert user is not None and user.id == created["id"]
        assert authenticate(db, "nina", "correct horse battery\n") is None
    listed = ok_json(run("session", "list", "--as", "nina", "--json"))
    assert listed == {"items": [], "total": 0}

    assert rejected(
        run("user", "create", "short", "--role", "user", "--password-stdin", input="abc\n")
    ) == ("password must have at least 8 characters")
    assert rejected(run("user", "create", "nopass", "--role", "user")) == (
        "a password is needed: --password or --password-stdin"
    )
    assert (
        rejected(
            run(
                "user",
                "create",
                "ghost",
                "--role",
                "operator",
                "--password",
                "long-enough",
                "--live-chat",
                "Nope",
            )
        )
        == "live chat 'Nope' not found"
    )
    assert rejected(
        run("user", "create", "nina", "--role", "user", "--password", "long-enough")
    ) == ("user 'nina' already exists")
    with factory() as db:
        names = set(db.scalars(select(User.username)))
    assert "ghost" not in names and "short" not in names and "nopass" not in names


def test_session_commands_json_shapes(run: Run, desk: Desk, factory: sessionmaker[Session]) -> None:
    ok(run("param", "add", "visits", "--type", "integer", "--label", "Visits"))
    ok(run("param", "add", "price", "--type", "money", "--label", "Price"))
    ok(run("param", "add", "due", "--type", "date", "--label", "Due"))
    ok(run("param", "add", "verified", "--type", "boolean", "--label", "Verified", "--read-only"))

    created = ok_json(
        run(
            "session",
            "create",
            "--live-chat",
            "Support",
            "--client-name",
            "Jane Doe",
            "--client-email",
            "jane@example.com",
            "--subject",
            "Refund",
            "--priority",
            "high",
            "--json",
        )
    )
    assert set(created) == SUMMARY_FIELDS | {"event_queued", "routing"}
    assert created["routing"] is None  # no routing rule
    assert created["event_queued"] is False  # no process, waiting instance or webhook cares
    sid = created["id"]
    assert {k: created[k] for k in SUMMARY_FIELDS - {"id", "created_at"}} == {
        "live_chat": "Support",
        "channel": "Website",
        "client": "Jane Doe",
        "operator": None,
        "priority": "high",
        "status": "queued",
        "subject": "Refund",
        "closed_at": None,
        "name": "Jane Doe — Refund",
        "params": {},
    }
    second = ok_json(
        run(
            "session",
            "create",
            "--live-chat",
            "Support",
            "--client-name",
            "Bob",
            "--subject",
            "Login",
            "--json",
        )
    )
    ok_json(
        run(
            "session",
            "create",
            "--live-chat",
            "Sales",
            "--client-name",
            "Max",
            "--subject",
            "Quote",
            "--json",
        )
    )

    changed = ok_json(
        run(
            "session",
            "set",
            str(sid),
            "visits=5",
            "price=12.50 eur",
            "due=2026-06-01",
            "--as",
            "olga",
            "--json",
        )
    )
    assert changed == {
        "changes": {
            "visits": {"old": None, "new": 5},
            "price": {"old": None, "new": {"amount": "12.50", "currency": "EUR"}},
            "due": {"old": None, "new": "2026-06-01"},
        }
    }
    assert ok_json(run("session", "set", str(sid), "visits=5", "--as", "olga", "--json")) == {
        "changes": {}
    }
    ok_json(run("session", "set", str(second["id"]), "visits=12", "--as", "admin", "--json"))
    assert rejected(run("session", "set", str(sid), "visits=7", "due=soon", "--as", "olga")) == (
        "parameter 'due' (date): not a date (YYYY-MM-DD): 'soon'"
    )
    assert rejected(run("session", "set", str(sid), "verified=yes", "--as", "olga")) == (
        "parameter 'verified' is read-only: only processes and admins set it"
    )
    assert rejected(run("session", "set", str(sid), "status=closed", "--as", "olga")) == (
        "'status' is a system parameter and cannot be changed"
    )
    assert rejected(run("session", "set", str(sid), "visits=1", "--as", "sven")) == (
        f"user 'sven' has no access to session {sid}"
    )
    assert rejected(run("session", "set", str(sid), "visits", "--as", "olga")) == (
        "invalid assignment 'visits': use KEY=VALUE"
    )
    assert ok_json(run("session", "set", str(sid), "verified=yes", "--as", "admin", "--json")) == {
        "changes": {"verified": {"old": None, "new": True}}
    }

    renamed = ok_json(run("session", "rename", str(sid), "VIP  refund", "--as", "sam", "--json"))
    assert renamed == {"id": sid, "name": "VIP  refund"}  # kept as sent
    assert rejected(run("session", "rename", str(sid), "Mine", "--as", "sales")) == (
        f"user 'sales' has no access to session {sid}"
    )

    shown = ok_json(run("session", "show", str(sid), "--json"))
    assert set(shown) == SUMMARY_FIELDS | {
        "name_is_manual",
        "client_email",
        "client_phone",
        "messages",
        "history",
    }
    assert shown["params"] == {
        "visits": 5,
        "price": {"amount": "12.50", "currency": "EUR"},
        "due": "2026-06-01",
        "verified": True,
    }
    assert (shown["name"], shown["name_is_manual"], shown["client_email"]) == (
        "VIP  refund",
        True,
        "jane@example.com",
    )
    assert shown["messages"] == []
    assert [(h["key"], h["old"], h["new"], h["user"]) for h in shown["history"]] == [
        ("visits", None, 5, "olga"),
        ("price", None, {"amount": "12.50", "currency": "EUR"}, "olga"),
        ("due", None, "2026-06-01", "olga"),
        ("verified", None, True, "admin"),
    ]
    assert set(shown["history"][0]) == {
        "key",
        "old",
        "new",
        "user",
        "instance_id",
        "process",
        "process_version",
        "task",
        "changed_at",
    }
    assert rejected(run("session", "show", "999")) == "session 999 not found"

    listed = ok_json(run("session", "list", "--json"))
    assert set(listed) == {"items", "total"}
    assert listed["total"] == 3
    assert all(set(i) == SUMMARY_FIELDS for i in listed["items"])
    by_visits = ok_json(run("session", "list", "--sort", "-visits", "--limit", "2", "--json"))
    assert ([i["id"] for i in by_visits["items"]], by_visits["total"]) == ([second["id"], sid], 3)
    filtered = ok_json(
        run(
            "session",
            "list",
            "--filter",
            "visits>=5",
            "--filter",
            "live_chat=Support",
            "--sort",
            "visits",
            "--json",
        )
    )
    assert [(i["id"], i["params"]["visits"]) for i in filtered["items"]] == [
        (sid, 5),
        (second["id"], 12),
    ]
    assert ok_json(run("session", "list", "--as", "sven", "--json"))["total"] == 1
    assert ok_json(run("session", "list", "--as", "sales", "--json")) == {"items": [], "total": 0}
    assert rejected(run("session", "list", "--filter", "visits~1")) == (
        "filter on 'visits': 'contains' needs a text parameter"
    )
    assert rejected(run("session", "list", "--filter", "nonsense")).startswith(
        "invalid filter 'nonsense'"
    )
    with factory() as db:
        assert db.scalar(select(func.count()).select_from(ParamHistory)) == 5
