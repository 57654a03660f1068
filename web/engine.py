"""The process engine the app was assembled with (built once in `create_app`, or handed in), and
the job worker `serve` runs beside it."""

from __future__ import annotations

import threading
from collections.abc import Callable

from flask import Flask, current_app

from bpm_livechat.automation.kinds import build_worker
from bpm_livechat.config import sandbox_settings
from bpm_livechat.jobs.wake import waker_for
from bpm_livechat.processes.engine.engine import EngineLimits, ProcessEngine
from bpm_livechat.processes.engine.script_environment import SandboxEnvironment
from script_runtime import ScriptPool
from web.db import session_maker

_KEY = "bpm_livechat.process_engine"


def init_app(app: Flask, engine: ProcessEngine | None) -> None:
    """Keep `engine`, or build one on a pool of SCRIPT_WORKERS sandbox workers (see
    `bpm_livechat.config.sandbox_settings`); a pool whose workers cannot start (a host limit)
    stops the app from starting, with the reason."""
    if engine is None:
        settings = sandbox_settings(app.config)
        # As many requests may wait for a sandbox worker as there are workers; more are refused
        # at once, so runaway starts cannot hold every request thread waiting.
        pool = ScriptPool(
            settings.workers, wait_seconds=settings.wait_seconds, max_waiting=settings.workers
        )
        pool.wait_started()
        limits = EngineLimits(step_seconds=settings.step_seconds)
        engine = ProcessEngine(SandboxEnvironment(pool), limits=limits)
    app.extensions[_KEY] = engine


def process_engine() -> ProcessEngine:
    """The app's process engine."""
    engine: ProcessEngine = current_app.extensions[_KEY]
    return engine


def start_background_worker(app: Flask, poll_seconds: float = 0.2) -> Callable[[], None]:
    """Run the job worker in a daemon thread of this process (the embedded default's `serve`);
    returns the function that stops it."""
    stop = threading.Event()
    with app.app_context():
        engine, factory = process_engine(), session_maker()
    database = app.extensions["bpm_livechat.engine"]
    worker = build_worker(
        factory, engine, waker=waker_for(database, stop), poll_seconds=poll_seconds
    )
    thread = threading.Thread(
        target=worker.run_forever, args=(stop,), name="bpm-livechat-jobs", daemon=True
    )
    thread.start()

    def stop_worker() -> None:
        stop.set()
        thread.join(timeout=10)

    return stop_worker
