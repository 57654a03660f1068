"""gunicorn.conf.py: workers, threads and timeouts from the environment (issue 18, item 10)."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _printed(env: dict[str, str]) -> dict[str, str]:
    command = [
        sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--print-config",
        "web:create_app()",
    ]  # fmt: skip
    done = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=True
    )
    settings = {}
    for line in done.stdout.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            settings[name.strip()] = value.strip()
    return settings


def test_the_defaults_are_production_ones() -> None:
    settings = _printed({})
    assert settings["worker_class"] == "gthread"
    assert (settings["workers"], settings["threads"]) == ("2", "256")
    assert (settings["timeout"], settings["graceful_timeout"]) == ("60", "30")
    assert settings["accesslog"] == "None"  # the app logs each request itself
    assert settings["control_socket_disable"] == "True"


def test_workers_threads_and_timeouts_come_from_the_environment() -> None:
    settings = _printed(
        {
            "BPM_LIVECHAT_WORKERS": "5",
            "BPM_LIVECHAT_THREADS": "7",
            "BPM_LIVECHAT_TIMEOUT": "90",
            "BPM_LIVECHAT_GRACEFUL_TIMEOUT": "12",
            "BPM_LIVECHAT_BIND": "127.0.0.1:9123",
        }
    )
    assert (settings["workers"], settings["threads"]) == ("5", "7")
    assert (settings["timeout"], settings["graceful_timeout"]) == ("90", "12")
    assert settings["bind"] == "['127.0.0.1:9123']"


def test_a_worker_says_when_it_is_ready_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    """post_worker_init logs "Worker ready" (what the chaos harness waits for before it kills a
    sandbox) and freezes the worker's startup heap; SIGTERM still ends gunicorn with status 0."""
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "BPM_LIVECHAT_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "BPM_LIVECHAT_INSTANCE_PATH": str(tmp_path),
        "BPM_LIVECHAT_SECRET_KEY": "test-only",
        "BPM_LIVECHAT_WEB_SCRIPT_WORKERS": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    command = [
        sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
        "--workers", "1", "--threads", "2", "--bind", "127.0.0.1:0", "web:create_app()",
    ]  # fmt: skip
    with log.open("wb") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
        try:
            for _ in range(1200):  # at most two minutes on a loaded machine
                if "Worker ready (pid:" in log.read_text() or server.poll() is not None:
                    break
                time.sleep(0.1)
            assert "Worker ready (pid:" in log.read_text(), log.read_text()[-2000:]
        finally:
            server.send_signal(signal.SIGTERM)
            status = server.wait(timeout=60)
    assert status == 0, log.read_text()[-2000:]


def test_freezing_the_startup_heap_hides_it_from_the_collector() -> None:
    from bpm_livechat.heap import freeze_startup_heap

    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
