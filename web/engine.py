"""The process engine the app was assembled with (built once in `create_app`, or handed in)."""

from __future__ import annotations

import os

from flask import Flask, current_app

from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.engine.script_environment import SandboxEnvironment
from script_runtime import ScriptPool

_KEY = "bpm_livechat.process_engine"


def init_app(app: Flask, engine: ProcessEngine | None) -> None:
    """Keep `engine`, or build one on a pool of SCRIPT_WORKERS sandbox workers."""
    if engine is None:
        size = int(app.config.get("SCRIPT_WORKERS") or os.cpu_count() or 2)
        engine = ProcessEngine(SandboxEnvironment(ScriptPool(size)))
    app.extensions[_KEY] = engine


def process_engine() -> ProcessEngine:
    """The app's process engine."""
    engine: ProcessEngine = current_app.extensions[_KEY]
    return engine
