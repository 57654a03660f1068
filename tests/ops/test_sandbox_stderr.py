"""What a sandbox worker writes to stderr as it dies reaches the logs (issue 18, item 10)."""

from __future__ import annotations

import logging
import time

import pytest

from script_runtime.worker_process import Worker


def test_a_dying_workers_stderr_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="script_runtime.sandbox"):
        worker = Worker(b"this is not the policy")  # the worker cannot read it and dies
        worker.process.wait(timeout=30)
        deadline = time.monotonic() + 10
        while not caplog.records and time.monotonic() < deadline:
            time.sleep(0.05)
        worker.close_pipes()
    assert caplog.records, "nothing logged"
    record = caplog.records[0]
    assert record.name == "script_runtime.sandbox"
    assert f"sandbox worker {worker.process.pid} wrote: cannot start:" in record.getMessage()
    assert "JSONDecodeError" in "".join(r.getMessage() for r in caplog.records)
