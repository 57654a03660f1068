"""The product as the chaos run starts it: gunicorn (several web workers) and the job workers, on
loopback, with what the faults need (their pids) and the graceful stop it checks."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.chaos.plan import Plan

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


class Service:
    """Gunicorn and the job workers, started on the proxy's address."""

    def __init__(self, plan: Plan, url: str, folder: Path, log: Path) -> None:
        self.plan = plan
        self.env = {
            **os.environ,
            "BPM_LIVECHAT_DATABASE_URL": url,
            "BPM_LIVECHAT_INSTANCE_PATH": str(folder),
            "BPM_LIVECHAT_SECRET_KEY": "chaos-only",
            "BPM_LIVECHAT_WEB_SCRIPT_WORKERS": "1",
            "BPM_LIVECHAT_WEBHOOK_ALLOW": HOST,
            "BPM_LIVECHAT_DB_POOL_TIMEOUT_SECONDS": "5",
            "BPM_LIVECHAT_DB_STATEMENT_TIMEOUT_MS": "15000",
            "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
        }
        (folder / "metrics").mkdir()
        self.log_path = log
        self.log = log.open("ab")
        self.killed_jobs: set[int] = set()  # pids of job workers killed with -9
        self.stop_seconds: dict[str, float] = {}
        self.unstopped: list[str] = []  # processes that needed a kill after SIGTERM
        with socket_port() as port:
            self.port = port
        self.web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
             "--workers", str(plan.web_workers), "--threads", str(plan.threads),
             "--bind", f"{HOST}:{self.port}", "--timeout", "30", "web:create_app()"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=self.log,
        )  # fmt: skip
        # Started with gunicorn, not after it: started later, they would boot into the faults
        # and run few jobs before the stop (their check would have little to see).
        self.jobs = [self._job_worker() for _ in range(plan.job_workers)]

    def _job_worker(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-c", "from bpm_livechat.cli import main; main()", "worker"]
        return subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=self.log, stderr=self.log)

    def web_workers(self) -> list[int]:
        """The pids of gunicorn's worker processes."""
        return children(self.web.pid)

    def _logged(self, pattern: re.Pattern[str]) -> set[int]:
        """The pids that `pattern`'s group names in the service log so far."""
        self.log.flush()
        return {int(pid) for pid in pattern.findall(self.log_path.read_text("utf-8", "replace"))}

    def wait_jobs_running(self, seconds: float) -> None:
        """Wait until every job worker has started its loop (its "worker ... running" line)."""
        deadline = time.monotonic() + seconds
        while not self._logged(_RUNNING).issuperset(job.pid for job in self.jobs):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the job workers did not all start within {seconds:.0f} s")
            time.sleep(0.1)

    def wait_booted(self, seconds: float) -> None:
        """Wait until every web worker has loaded the app (its "Worker ready" line in the log):
        a sandbox killed while its web worker boots makes that worker fail to boot, and gunicorn
        then stops altogether (the product's choice for a pool that cannot start)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready = self._logged(_READY)
            workers = self.web_workers()
            if len(workers) == self.plan.web_workers and ready.issuperset(workers):
                return
            time.sleep(0.1)
        raise RuntimeError(f"the web workers did not all boot within {seconds:.0f} s")

    def sandbox_workers(self) -> list[int]:
        """The pids of the sandbox workers of every web worker."""
        return [pid for worker in self.web_workers() for pid in children(worker)]

    def restart_job_worker(self, index: int) -> None:
        """kill -9 one job worker and start another, as a service manager would."""
        victim = self.jobs[index]
        self.killed_jobs.add(victim.pid)
        victim.kill()
        victim.wait()
        self.jobs[index] = self._job_worker()

    def stop(self) -> None:
        """SIGTERM everything and wait (graceful shutdown), then kill what is left; note how
        long each took (`stop_seconds`) and which needed the kill (`unstopped`)."""
        named = {
            "gunicorn": self.web,
            **{f"job worker {i + 1}": p for i, p in enumerate(self.jobs)},
        }
        began = time.monotonic()
        for process in named.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        left = dict(named)
        while left and time.monotonic() - began < self.plan.stop_seconds:
            for name, process in list(left.items()):
                if process.poll() is not None:
                    self.stop_seconds[name] = time.monotonic() - began
                    del left[name]
            time.sleep(0.02)
        for name, process in left.items():
            process.kill()
            process.wait()
            self.unstopped.append(name)
        self.log.close()


_READY = re.compile(r"Worker ready \(pid: (\d+)\)")  # gunicorn.conf.py's post_worker_init
_RUNNING = re.compile(r"worker [^\s:]+:(\d+):\w+ running")  # `bpm-livechat worker` at its start


@contextmanager
def socket_port() -> Iterator[int]:
    """A free loopback port."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        yield probe.getsockname()[1]


def children(pid: int) -> list[int]:
    """Direct child processes of `pid` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found
