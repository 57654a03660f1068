"""Fixtures for the engine tests: BPMN files on disk, a process engine with tight script limits."""

from __future__ import annotations

import pytest

from bpm_livechat.processes.engine.engine import ProcessEngine


@pytest.fixture(scope="session")
def engine(process_engine: ProcessEngine) -> ProcessEngine:
    """The run's process engine (here `engine` is the process engine, not a database)."""
    return process_engine
