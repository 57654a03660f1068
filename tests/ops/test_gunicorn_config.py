"""gunicorn.conf.py: workers, threads and timeouts from the environment (issue 18, item 10)."""

from __future__ import annotations

import os
import subprocess
import sys
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
