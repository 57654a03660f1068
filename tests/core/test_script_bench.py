"""The script bench: check by line and column, dry runs that validate each change and store nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bpm_livechat.cli import cli
from bpm_livechat.errors import AccessDeniedError, NotFoundError
from bpm_livechat.models import ParamHistory, ParamValue, SupportSession
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.params.values import get_parameters, set_parameters
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.script_bench import check_script, dry_run
from tests.support import Desk, open_session

Run = Callable[..., Result]

WRITES = """\
print("hello", name)
session.params["segment"] = "smb"
session.params["satisfaction"] = "lots"
session.params["nope"] = 1
result = name.upper()
"""


@pytest.fixture
def session_id(db_session: Session, desk: Desk) -> int:
    """A Support session with a segment set, and three parameters defined; committed."""
    db = db_session
    add_parameter(db, "segment", "choice", "Segment", options=["consumer", "smb"])
    add_parameter(db, "satisfaction", "integer", "Satisfaction")
    add_parameter(db, "contact_email", "email", "Contact email", read_only=True)
    session = open_session(db, desk.support, client="Jane Doe")
    set_parameters(db, session, {"segment": "consumer"}, user_actor(desk.admin))
    db.commit()
    return session.id


def _stored(db: Session) -> tuple[int, int, str]:
    db.expire_all()
    history = db.scalar(select(func.count()).select_from(ParamHistory)) or 0
    values = db.scalar(select(func.count()).select_from(ParamValue)) or 0
    versions = ",".join(str(v) for v in db.scalars(select(SupportSession.version)))
    db.rollback()  # end the read transaction: SQLite writers may go on
    return history, values, versions


def test_check_reports_every_problem_at_line_and_one_based_column(
    process_engine: ProcessEngine,
) -> None:
    problems = check_script(process_engine.scripts, "x = 1\nimport os\ny = (\n")
    assert [(p.line, p.kind) for p in problems][:1] in ([(2, "policy")], [(3, "compile")])
    assert all(p.line is not None and p.column is not None and p.column >= 1 for p in problems)
    assert check_script(process_engine.scripts, "x = 1\n") == []


def test_check_finds_a_syntax_error_at_its_line(process_engine: ProcessEngine) -> None:
    [problem] = check_script(process_engine.scripts, "a = 1\nb = (1 +\n")
    assert (problem.kind, problem.line) == ("compile", 2)


def test_dry_run_validates_each_change_and_stores_nothing(
    db_session: Session, desk: Desk, session_id: int, process_engine: ProcessEngine
) -> None:
    db = db_session
    before = _stored(db)
    result = dry_run(db, process_engine.scripts, WRITES, session_id, desk.admin, {"name": "ada"})
    db.commit()  # even a caller that commits afterwards finds nothing to store
    assert _stored(db) == before
    assert get_parameters(db, session_id)["segment"] == "consumer"
    assert result.failure is None and not result.ok
    assert result.data == {"name": "ada", "result": "ADA"}
    assert result.log == "hello ada\n"
    assert result.duration_ms > 0
    by_key = {c.key: c for c in result.changes}
    assert (by_key["segment"].old, by_key["segment"].new, by_key["segment"].valid) == (
        "consumer",
        "smb",
        True,
    )
    assert by_key["satisfaction"].valid is False
    assert by_key["satisfaction"].reason is not None
    assert "satisfaction" in by_key["satisfaction"].reason
    assert (by_key["nope"].valid, by_key["nope"].reason) == (False, "unknown parameter 'nope'")


def test_dry_run_may_write_read_only_parameters_like_a_process(
    db_session: Session, desk: Desk, session_id: int, process_engine: ProcessEngine
) -> None:
    source = 'session.params["contact_email"] = "jane@example.com"\n'
    result = dry_run(db_session, process_engine.scripts, source, session_id, desk.admin)
    assert result.ok
    assert [(c.key, c.new, c.valid) for c in result.changes] == [
        ("contact_email", "jane@example.com", True)
    ]


def test_dry_run_sees_the_session_snapshot(
    db_session: Session, desk: Desk, session_id: int, process_engine: ProcessEngine
) -> None:
    source = 'who = session.client.name\nseg = session.params["segment"]\n'
    result = dry_run(db_session, process_engine.scripts, source, session_id, desk.admin)
    assert (result.data["who"], result.data["seg"]) == ("Jane Doe", "consumer")


def test_a_failing_script_reports_kind_line_and_log(
    db_session: Session, desk: Desk, session_id: int, process_engine: ProcessEngine
) -> None:
    source = 'print("before")\nx = 1\nraise ValueError("boom")\n'
    result = dry_run(db_session, process_engine.scripts, source, session_id, desk.admin)
    assert result.failure is not None
    assert (result.failure.kind, result.failure.line) == ("runtime", 3)
    assert "boom" in result.failure.message
    assert result.log == "before\n"
    assert not result.ok and result.changes == []


def test_dry_run_shows_values_as_read_priority_replies_and_the_session(
    db_session: Session, desk: Desk, session_id: int, process_engine: ProcessEngine
) -> None:
    add_parameter(db_session, "quote", "money", "Quote")
    db_session.commit()
    source = (
        'session.params["quote"] = {"amount": "199.9", "currency": "eur"}\n'
        'session.set_priority("high")\n'
        'session.reply("We are on it")\n'
    )
    result = dry_run(db_session, process_engine.scripts, source, session_id, desk.admin)
    assert result.ok, result
    [quote] = result.changes
    assert (quote.old_text, quote.new_text) == ("", "199.90 EUR")
    assert result.priority is not None
    assert (result.priority.old_text, result.priority.new_text, result.priority.valid) == (
        "normal",
        "high",
        True,
    )
    assert result.replies == ["We are on it"]
    assert result.seen["session.priority"] == "normal"
    assert result.seen["session.client.name"] == "Jane Doe"
    assert result.cpu_ms is not None and result.duration_ms is not None

    refused = dry_run(
        db_session, process_engine.scripts, 'session.set_priority("asap")\n', session_id, desk.admin
    )
    assert refused.failure is not None and "priority" in refused.failure.message


def test_a_run_stopped_at_its_cpu_limit_reports_its_real_times(
    db_session: Session, desk: Desk, session_id: int, process_engine: ProcessEngine
) -> None:
    result = dry_run(
        db_session, process_engine.scripts, "while True:\n    pass\n", session_id, desk.admin
    )
    assert result.failure is not None and result.failure.kind == "limit"
    assert "cpu_seconds" in result.failure.message
    cpu_limit_ms = process_engine.scripts.policy.defaults.cpu_seconds * 1000
    assert result.cpu_ms is not None and result.cpu_ms >= cpu_limit_ms * 0.9
    assert result.duration_ms is not None and result.duration_ms >= result.cpu_ms * 0.9


def test_helper_variables_that_are_not_task_data_are_left_out_and_noted(
    db_session: Session, desk: Desk, session_id: int, process_engine: ProcessEngine
) -> None:
    source = "by_id = {o['id']: o for o in orders}\nbiggest = max(by_id)\n"
    orders = [{"id": 3}, {"id": 9}]
    result = dry_run(
        db_session, process_engine.scripts, source, session_id, desk.admin, {"orders": orders}
    )
    assert result.ok
    assert result.data == {"orders": orders, "biggest": 9}
    assert "[left out of task data] variable 'by_id' holds a dict with a key of type int" in (
        result.log
    )


def test_a_script_that_does_not_compile_lists_its_problems(
    db_session: Session, desk: Desk, session_id: int, process_engine: ProcessEngine
) -> None:
    result = dry_run(db_session, process_engine.scripts, "import os\n", session_id, desk.admin)
    assert result.failure is not None
    assert result.failure.kind in {"policy", "compile"}
    assert result.failure.line == 1


def test_only_admins_use_the_bench(
    db_session: Session, desk: Desk, session_id: int, process_engine: ProcessEngine
) -> None:
    with pytest.raises(AccessDeniedError):
        dry_run(db_session, process_engine.scripts, "x = 1\n", session_id, desk.supervisor)
    with pytest.raises(NotFoundError):
        dry_run(db_session, process_engine.scripts, "x = 1\n", 999_999, desk.admin)


# The CLI


@pytest.fixture
def run(engine: Engine) -> Run:
    url = engine.url.render_as_string(hide_password=False)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--database-url", url, *args])

    return invoke


def _file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "script.py"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_cli_check(run: Run, tmp_path: Path) -> None:
    good = run("script", "check", _file(tmp_path, "x = 1\n"), "--json")
    assert good.exit_code == 0, good.output
    assert json.loads(good.stdout) == {"ok": True, "problems": []}
    bad = run("script", "check", _file(tmp_path, "a = 1\nb = (1 +\n"))
    assert bad.exit_code == 1
    assert bad.stdout.startswith(f"{tmp_path / 'script.py'}:2:")
    missing = run("script", "check", str(tmp_path / "missing.py"))
    assert missing.exit_code == 2


def test_cli_dry_run_json_and_nothing_stored(
    run: Run, tmp_path: Path, db_session: Session, session_id: int
) -> None:
    before = _stored(db_session)
    args = ("script", "run", _file(tmp_path, WRITES), "--session", str(session_id))
    done = run(*args, "--data", '{"name": "ada"}', "--dry-run", "--json")
    assert done.exit_code == 1, done.output  # two changes are invalid
    out = json.loads(done.stdout)
    assert (out["ok"], out["data"], out["log"], out["failure"]) == (
        False,
        {"name": "ada", "result": "ADA"},
        "hello ada\n",
        None,
    )
    assert [(c["key"], c["valid"]) for c in out["changes"]] == [
        ("segment", True),
        ("satisfaction", False),
        ("nope", False),
    ]
    assert _stored(db_session) == before
    valid = run("script", "run", _file(tmp_path, 'session.params["segment"] = "smb"\n'),
                "--session", str(session_id), "--dry-run")  # fmt: skip
    assert valid.exit_code == 0, valid.output
    assert "segment: 'consumer' -> 'smb' [ok]" in valid.stdout


def test_cli_run_usage_and_rejections(run: Run, tmp_path: Path, session_id: int) -> None:
    script = _file(tmp_path, "x = 1\n")
    assert run("script", "run", script, "--session", str(session_id)).exit_code == 2
    assert run("script", "run", script, "--dry-run").exit_code == 2
    bad_json = run(
        "script", "run", script, "--session", str(session_id), "--data", "{", "--dry-run"
    )
    assert bad_json.exit_code == 1
    assert bad_json.stderr.startswith("error: --data is not valid JSON")
    not_object = run(
        "script", "run", script, "--session", str(session_id), "--data", "[1]", "--dry-run"
    )
    assert (not_object.exit_code, not_object.stderr) == (1, "error: --data must be a JSON object\n")
    gone = run("script", "run", script, "--session", "999999", "--dry-run")
    assert gone.exit_code == 1
    assert (
        run("script", "run", script, "--session", "1", "--dry-run", "--as", "olga").exit_code == 1
    )
