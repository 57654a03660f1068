"""`python -m script_runtime check|run`, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "script_runtime", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "task.py"
    path.write_text(
        "total = sum(i['amount'] for i in items)\n"
        "session.params['total'] = total\n"
        "print(f'{session.client.name}: {total}')\n"
    )
    return path


def test_check_ok(script: Path) -> None:
    done = _cli("check", str(script))
    assert done.returncode == 0
    assert done.stdout == f"{script}: no problems found\n"


def test_check_problems(tmp_path: Path) -> None:
    path = tmp_path / "bad.py"
    path.write_text("import os\nx = ().__class__\n")
    done = _cli("check", str(path))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f'{path}:1:0: policy: "os": importing this module is not allowed')
    assert (
        lines[1]
        == f'{path}:2:7: policy: "__class__" is an invalid attribute name because it starts with "_".'
    )


def test_run_success_prints_the_document(script: Path) -> None:
    data = json.dumps({"items": [{"amount": {"$decimal": "1.25"}}, {"amount": {"$decimal": "2"}}]})
    done = _cli("run", str(script), "--data", data, "--session", '{"client": {"name": "Ann"}}')
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert set(document) == {"ok", "data", "changes", "log", "duration_ms", "error"}
    assert document["ok"] is True
    assert document["error"] is None
    assert document["data"]["total"] == {"$decimal": "3.25"}
    assert document["changes"] == {"total": {"$decimal": "3.25"}}
    assert document["log"] == "Ann: 3.25\n"
    assert document["duration_ms"] >= 0


def test_run_failure_prints_the_error(tmp_path: Path) -> None:
    path = tmp_path / "fail.py"
    path.write_text("x = 1\ny = x / 0\n")
    done = _cli("run", str(path))
    assert done.returncode == 1
    document = json.loads(done.stdout)
    assert document["ok"] is False
    assert document["error"] == {
        "kind": "runtime",
        "type": "ZeroDivisionError",
        "message": "division by zero",
        "line": 2,
    }


def test_run_timeout_option(tmp_path: Path) -> None:
    path = tmp_path / "loop.py"
    path.write_text("while True:\n    pass\n")
    done = _cli("run", str(path), "--timeout", "0.5", "--memory-mb", "64")
    assert done.returncode == 1
    error = json.loads(done.stdout)["error"]
    assert (error["kind"], error["type"]) == ("limit", "ScriptLimitExceeded")
    assert error["message"].startswith("script exceeded the cpu_seconds limit (0.5)") or error[
        "message"
    ].startswith("script exceeded the wall_seconds limit (0.5)")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run", "/nonexistent/x.py"), "cannot read /nonexistent/x.py"),
        (("check", "/nonexistent/x.py"), "cannot read /nonexistent/x.py"),
        (("run", "SCRIPT", "--data", "{not json"), "--data is not valid JSON"),
        (("run", "SCRIPT", "--data", "[1]"), "--data must be a JSON object"),
        (("run", "SCRIPT", "--session", "3"), "--session must be a JSON object"),
        (("run", "SCRIPT", "--timeout", "9999"), "above the policy maximum"),
    ],
)
def test_usage_errors_exit_2(script: Path, args: tuple[str, ...], message: str) -> None:
    done = _cli(*(str(script) if a == "SCRIPT" else a for a in args))
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""


def test_missing_command_is_a_usage_error() -> None:
    assert _cli().returncode == 2
