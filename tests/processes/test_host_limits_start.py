"""Under a hard address-space limit (`ulimit -v`) too small for a sandbox worker, a process
start fails at once naming the limit, and releases the session's lock; the web app refuses to
start with the same reason instead of hanging on its first script."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bpm_livechat.processes.deployments import deploy
from bpm_livechat.processes.engine.engine import ProcessEngine
from tests.processes.test_step_budget import SLOW_WRITE, _write_waiting_at_most
from tests.support import Desk, new_session

ROOT = Path(__file__).resolve().parents[2]
TOO_SMALL = 200 * 1024 * 1024  # room for the product, not for a worker's 256 MiB of scripts


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (TOO_SMALL, TOO_SMALL))


def _python(engine: Engine, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    url = engine.url.render_as_string(hide_password=False)
    env = {"PATH": "/usr/bin:/bin", "BPM_LIVECHAT_INSTANCE_PATH": str(tmp_path / "instance")}
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=90,  # a hang (the old behaviour) fails here
        check=False,
        cwd=ROOT,
        env={**env, "BPM_LIVECHAT_DATABASE_URL": url},
        preexec_fn=_limited,
    )


@pytest.fixture
def session_id(db_session: Session, desk: Desk, process_engine: ProcessEngine) -> int:
    from bpm_livechat.params.catalogue import add_parameter

    add_parameter(db_session, "segment", "text", "Segment")
    deploy(db_session, process_engine.scripts, SLOW_WRITE, desk.admin, [desk.support])
    db_session.commit()
    return new_session(db_session, desk).id


def test_a_start_fails_fast_naming_the_limit_and_keeps_no_lock(
    engine: Engine, tmp_path: Path, session_id: int
) -> None:
    cli = "from bpm_livechat.cli import main; main()"
    done = _python(
        engine, tmp_path, "-c", cli, "process", "start", "slow_write",
        "--session", str(session_id), "--as", "olga",
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "the script sandbox cannot start a worker" in done.stderr
    assert "RLIMIT_AS" in done.stderr and "200 MiB" in done.stderr
    _write_waiting_at_most(engine, session_id, 5)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_the_web_app_refuses_to_start_naming_the_limit(engine: Engine, tmp_path: Path) -> None:
    app = "from web import create_app; create_app({'SECRET_KEY': 'x'})"
    done = _python(engine, tmp_path, "-c", app)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "ScriptPoolUnavailable: the script sandbox cannot start a worker" in done.stderr
    assert "RLIMIT_AS" in done.stderr
