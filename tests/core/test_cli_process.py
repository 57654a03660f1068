"""The installed `bpm-livechat` command as a real process on a temporary SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

COMMAND = Path(sys.executable).with_name("bpm-livechat")


class Cli:
    """Runs the console script with BPM_LIVECHAT_DATABASE_URL pointing at one SQLite file."""

    def __init__(self, folder: Path) -> None:
        self.url = f"sqlite:///{folder / 'cli.sqlite3'}"
        self.env = {**os.environ, "BPM_LIVECHAT_DATABASE_URL": self.url}
        self.env.pop("BPM_LIVECHAT_INSTANCE_PATH", None)
        self.folder = folder

    def __call__(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(COMMAND), *args],
            env=self.env,
            cwd=self.folder,
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def json(self, *args: str, input: str | None = None) -> Any:
        done = self(*args, "--json", input=input)
        assert (done.returncode, done.stderr) == (0, ""), done.stderr
        return json.loads(done.stdout)


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """A database made by `init` run twice."""
    runner = Cli(tmp_path_factory.mktemp("cli"))
    assert COMMAND.exists(), f"{COMMAND} is not installed"
    for _ in range(2):
        done = runner("init")
        assert (done.returncode, done.stdout, done.stderr) == (
            0,
            f"database ready: {runner.url}\n",
            "",
        )
    return runner


def test_demo_twice_is_idempotent_with_its_counts_and_logins(cli: Cli) -> None:
    first = cli.json("demo")
    assert (first["live_chats"], first["sessions"], first["parameters"]) == (2, 64, 20)
    assert [(u["username"], u["role"]) for u in first["users"]] == [
        ("admin", "admin"),
        ("supervisor", "supervisor"),
        ("operator", "operator"),
        ("sales", "user"),
        ("widget", "channel"),
    ]
    again = cli("demo")
    assert (again.returncode, again.stderr) == (0, "")
    assert again.stdout.splitlines() == [
        "demo ready: 2 live chats, 64 sessions, 20 custom parameters, "
        "processes: Collect contact details, Summarize session, Register a request, "
        "SLA escalation, Satisfaction survey",
        "demo logins (username / password):",
        *(f"  {u['username']:<11} {u['password']:<22} ({u['role']})" for u in first["users"]),
    ]


def test_param_list_and_add(cli: Cli) -> None:
    rows = cli.json("param", "list")
    assert all({"key", "label", "type", "system", "archived"} <= set(r) for r in rows)
    assert [r["key"] for r in rows if r["system"]][-3:] == ["created_at", "closed_at", "name"]
    added = cli.json(
        "param", "add", "loyalty_tier", "--type", "choice", "--label", "Tier",
        "--option", "gold", "--option", "silver",
    )  # fmt: skip
    assert (added["key"], added["options"], added["system"], added["archived"]) == (
        "loyalty_tier",
        ["gold", "silver"],
        False,
        False,
    )
    done = cli("param", "add", "subject", "--type", "string", "--label", "Subject")
    assert (done.returncode, done.stdout, done.stderr) == (
        1,
        "",
        "error: 'subject' is a system parameter and cannot be shadowed\n",
    )


def test_usage_error_exits_2(cli: Cli) -> None:
    done = cli("param", "add", "x_key", "--label", "No type")
    assert (done.returncode, done.stdout) == (2, "")
    assert "Error: Missing option '--type'." in done.stderr


def test_user_and_session_commands(cli: Cli) -> None:
    user = cli.json(
        "user", "create", "nina", "--role", "operator", "--password-stdin",
        "--live-chat", "Sales", input="nina-secret-pass\n",
    )  # fmt: skip
    # Users 1 to 6: the built-in `system` account and the five demo users.
    assert user == {"id": 7, "username": "nina", "role": "operator", "live_chats": ["Sales"]}

    created = cli.json(
        "session", "create", "--live-chat", "Sales", "--client-name", "Zed Zero",
        "--subject", "Broken zipper",
    )  # fmt: skip
    sid = created["id"]
    assert (created["channel"], created["status"], created["params"]) == ("Email", "queued", {})
    changes = cli.json("session", "set", str(sid), "satisfaction=4", "segment=smb", "--as", "nina")
    assert changes == {
        "changes": {
            "satisfaction": {"old": None, "new": 4},
            "segment": {"old": None, "new": "smb"},
        }
    }
    found = cli.json("session", "list", "--filter", "client~zed", "--sort", "-id", "--as", "nina")
    assert set(found) == {"items", "total"}
    assert [(i["id"], i["params"]) for i in found["items"]] == [
        (sid, {"segment": "smb", "satisfaction": 4})
    ]
    assert found["total"] == 1
