"""Fixtures for the engine tests: BPMN files on disk, a process engine with tight script limits."""

from __future__ import annotations

from pathlib import Path

import pytest

import script_runtime
from bpm_livechat.processes.engine.engine import EngineLimits, ProcessEngine
from bpm_livechat.processes.engine.script_environment import SandboxEnvironment

BPMN_DIR = Path(__file__).resolve().parent / "bpmn"
REALWORLD_DIR = Path(__file__).resolve().parents[3] / "shared" / "realworld-bpmn"


def bpmn_bytes(name: str) -> bytes:
    return (BPMN_DIR / name).read_bytes()


def line_containing(name: str, text: str) -> int:
    """The 1-based line of the first occurrence of `text` in a test BPMN file."""
    for number, line in enumerate((BPMN_DIR / name).read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {name}")


@pytest.fixture(scope="session")
def engine() -> ProcessEngine:
    limits = script_runtime.Limits(cpu_seconds=0.5, wall_seconds=2.0)
    return ProcessEngine(environment=SandboxEnvironment(limits), limits=EngineLimits())
