"""The sandbox under limits the host imposes (`ulimit -v`, `ulimit -t`): scripts run, or the pool
says at once which limit stops it; it never starts workers in a loop.

Each case runs a real subprocess whose hard limits are set in `preexec_fn`, as a shell's
`ulimit` or a service manager would set them.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from script_runtime import ScriptPool

MIB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]


def _hard(which: int, value: int) -> Callable[[], None]:
    def limit() -> None:
        resource.setrlimit(which, (value, value))

    return limit


def _under(limit: Callable[[], None], *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python *args` under the limit; a hang fails the test by its timeout."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        preexec_fn=limit,
    )


@pytest.fixture
def one_line(tmp_path: Path) -> Path:
    path = tmp_path / "one.py"
    path.write_text("x = 1\n")
    return path


def test_a_script_runs_under_a_hard_address_space_limit(one_line: Path) -> None:
    done = _under(
        _hard(resource.RLIMIT_AS, 1024 * MIB), "-m", "script_runtime", "run", str(one_line)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["data"] == {"x": 1}


def test_memory_limit_still_holds_under_a_hard_address_space_limit(tmp_path: Path) -> None:
    hungry = tmp_path / "hungry.py"
    hungry.write_text(
        "blobs = []\nfor i in range(40):\n    blobs.append('a' * (15 * 1024 * 1024) + str(i))\n"
    )
    done = _under(
        _hard(resource.RLIMIT_AS, 1024 * MIB),
        *("-m", "script_runtime", "run", str(hungry), "--timeout", "30"),  # a loaded machine
    )
    assert done.returncode == 1, done.stdout + done.stderr
    error = json.loads(done.stdout)["error"]
    assert (error["kind"], error["type"]) == ("limit", "ScriptLimitExceeded")
    assert "memory_mb" in error["message"]


def test_a_script_runs_under_a_hard_cpu_limit(one_line: Path) -> None:
    done = _under(_hard(resource.RLIMIT_CPU, 120), "-m", "script_runtime", "run", str(one_line))
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["data"] == {"x": 1}


def test_too_small_an_address_space_fails_fast_naming_the_limit(one_line: Path) -> None:
    done = _under(
        _hard(resource.RLIMIT_AS, 200 * MIB), "-m", "script_runtime", "run", str(one_line)
    )
    assert done.returncode == 1, done.stdout + done.stderr
    error = json.loads(done.stdout)["error"]
    assert (error["kind"], error["type"]) == ("capacity", "ScriptPoolUnavailable")
    assert "RLIMIT_AS" in error["message"]
    assert "200 MiB" in error["message"]
    assert "ulimit -v" in error["message"]


POOL_PROBE = """
import json
import os
from script_runtime import ScriptPool, ScriptPoolUnavailable
pool = ScriptPool(2, retry_seconds=60)
outcomes = []
for _ in range(5):
    try:
        pool.run("x = 1", data={})
        outcomes.append("ran")
    except ScriptPoolUnavailable as exc:
        outcomes.append(exc.reason[:38])
started = pool.stats["workers_started"]
try:
    pool.wait_started()
    startup = "started"
except ScriptPoolUnavailable as exc:
    startup = "unavailable: " + exc.reason
pool.close()
print(json.dumps({"outcomes": outcomes, "started": started, "startup": startup}))
"""


def test_a_pool_that_cannot_start_workers_stops_trying() -> None:
    done = _under(_hard(resource.RLIMIT_AS, 200 * MIB), "-c", POOL_PROBE)
    assert done.returncode == 0, done.stdout + done.stderr
    probe = json.loads(done.stdout)
    reason = "the hard address-space limit RLIMIT_AS"
    assert probe["outcomes"] == [reason] * 5
    assert probe["started"] == 2  # the two first workers; none after they failed
    assert probe["startup"].startswith(f"unavailable: {reason}")


def test_workers_killed_while_starting_do_not_make_the_pool_unavailable() -> None:
    with ScriptPool(2) as pool:
        for worker in list(pool._checkout.running):  # kill -9 while they import (or just after)
            os.kill(worker.process.pid, signal.SIGKILL)
        pool.wait_started()
        assert pool.run("result = 1 + 1", data={}).data["result"] == 2
