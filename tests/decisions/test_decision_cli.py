"""The decision commands through click's runner: deploy, list, export, try, on both databases."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bpm_livechat.cli import cli
from tests.decisions.support import FILES, read_file, table
from tests.support import Desk, new_session


@pytest.fixture
def run(engine: Engine) -> Any:
    url = engine.url.render_as_string(hide_password=False)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--database-url", url, *args])

    return invoke


def _ok(result: Result) -> Any:
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    return json.loads(result.stdout)


def test_deploy_list_export_and_try(
    run: Any, desk: Desk, db_session: Session, tmp_path: Any
) -> None:
    dmn = str(FILES / "segment.dmn")
    assert _ok(run("decision", "deploy", dmn, "--json")) == {
        "decisions": [
            {
                "id": "segment",
                "name": "Segment",
                "version": 1,
                "hit_policy": "FIRST",
                "created": True,
            }
        ]
    }
    again = run("decision", "deploy", dmn)
    assert (again.exit_code, again.stdout) == (0, "segment v1 FIRST (unchanged)\n")
    listed = _ok(run("decision", "list", "--json"))["decisions"]
    assert [(d["id"], d["latest_version"], d["hit_policy"]) for d in listed] == [
        ("segment", 1, "FIRST")
    ]
    assert [v["version"] for v in listed[0]["versions"]] == [1]
    exported = run("decision", "export", "segment")
    assert exported.stdout_bytes == read_file("segment.dmn")
    session_id = new_session(db_session, desk).id
    tried = _ok(run("decision", "try", "segment", "--session", str(session_id),
                    "--data", '{"amount": 1200}', "--json"))  # fmt: skip
    assert tried["matched"] == [
        {"rule": 1, "id": "big_order", "description": "Big orders", "outputs": {"segment": "vip"}}
    ]
    assert tried["result"] == {"segment": "vip"}
    text = run(
        "decision", "try", "segment", "--session", str(session_id), "--data", '{"amount": 3}'
    )
    assert text.stdout == 'segment v1: rules matched: 3\nresult: {"segment": "standard"}\n'


def test_a_refused_file_answers_json_and_exit_1(run: Any, desk: Desk, tmp_path: Any) -> None:
    bad = tmp_path / "bad.dmn"
    bad.write_bytes(table("tier", "PRIORITY", "", ""))
    result = run("decision", "deploy", str(bad), "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["errors"] == [
        {
            "element": "tier",
            "name": "Tier",
            "line": 5,
            "message": "decision 'tier' (Tier): hit policy 'PRIORITY' is not supported; "
            "use UNIQUE, FIRST or COLLECT",
        }
    ]
    assert result.stderr.startswith("error: DMN rejected: decision 'tier' (Tier): hit policy")
    missing = run("decision", "try", "nope", "--session", "1", "--json")
    assert missing.exit_code == 1
    assert json.loads(missing.stdout) == {"error": "decision 'nope' not found"}


def test_a_process_with_a_business_rule_task_runs_from_the_command_line(
    run: Any, desk: Desk, params: None, db_session: Session
) -> None:
    _ok(run("decision", "deploy", str(FILES / "segment.dmn"), "--json"))
    _ok(run("process", "deploy", str(FILES / "triage.bpmn"), "--live-chat", "Support", "--json"))
    session_id = new_session(db_session, desk).id
    started = _ok(run("process", "start", "triage", "--session", str(session_id), "--as", "olga",
                      "--form", '{"amount": 2000}', "--json"))  # fmt: skip
    assert [t["name"] for t in started["tasks"]] == ["Confirm the segment"]
    done = _ok(run("task", "complete", str(started["instance_id"]), started["tasks"][0]["id"],
                   "--as", "olga", "--json"))  # fmt: skip
    assert (done["status"], done["changes"]) == (
        "completed",
        {"segment": {"old": None, "new": "vip"}},
    )


def test_a_deactivated_version_is_not_used(
    run: Any, desk: Desk, db_session: Session, tmp_path: Any
) -> None:
    run("decision", "deploy", str(FILES / "segment.dmn"))
    changed = tmp_path / "segment.dmn"
    changed.write_bytes(
        read_file("segment.dmn").replace(b'<text>"vip"</text>', b'<text>"gold"</text>', 1)
    )
    run("decision", "deploy", str(changed))
    session_id = str(new_session(db_session, desk).id)

    def answer() -> Any:
        tried = run(
            "decision",
            "try",
            "segment",
            "--session",
            session_id,
            "--data",
            '{"amount": 5000}',
            "--json",
        )
        return (tried.exit_code, json.loads(tried.stdout))

    assert answer()[1]["result"] == {"segment": "gold"}
    deactivated = run("decision", "deactivate", "segment", "--version", "2", "--as", "admin")
    assert (deactivated.exit_code, deactivated.stdout) == (0, "segment v2 is inactive\n")
    assert answer()[1]["result"] == {"segment": "vip"}
    run("decision", "deactivate", "segment", "--version", "1")
    assert answer() == (1, {"error": "active version of decision 'segment' not found"})
    refused = run("decision", "activate", "segment", "--version", "2", "--as", "olga")
    assert (refused.exit_code, refused.stderr) == (
        1,
        "error: user 'olga' may not manage processes\n",
    )
    assert run("decision", "activate", "segment", "--version", "9").stderr == (
        "error: decision version 'segment v9' not found\n"
    )
