"""Under gunicorn the default sandbox pool of each web worker is the cores divided among the
workers, counting a `-w` given on the command line (issue 18, item 5)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _children(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == parent:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_each_web_worker_gets_its_share_of_the_cores(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "BPM_LIVECHAT_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "BPM_LIVECHAT_INSTANCE_PATH": str(tmp_path),
        "BPM_LIVECHAT_SECRET_KEY": "test-only",
    }
    for name in ("BPM_LIVECHAT_SCRIPT_WORKERS", "BPM_LIVECHAT_WORKERS", "WEB_CONCURRENCY"):
        env.pop(name, None)
    command = [
        sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "-w", "3",
        "--bind", f"127.0.0.1:{_free_port()}", "--log-level", "warning", "web:create_app()",
    ]  # fmt: skip
    server = subprocess.Popen(command, env=env, cwd=ROOT)
    expected = max(1, (os.cpu_count() or 1) // 3)
    try:
        deadline = time.monotonic() + 120
        sizes: list[int] = []
        while time.monotonic() < deadline and server.poll() is None:
            workers = _children(server.pid)
            sizes = sorted(len(_children(worker)) for worker in workers)
            if len(workers) == 3 and all(size >= expected for size in sizes):
                break
            time.sleep(0.5)
        time.sleep(1.0)  # a pool larger than the rule would have started its extra workers now
        sizes = sorted(len(_children(worker)) for worker in _children(server.pid))
        assert sizes == [expected] * 3
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
