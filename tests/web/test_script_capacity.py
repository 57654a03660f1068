"""Runaway scripts do not starve the rest: with every sandbox worker busy, a request that needs
one waits a short, configured time and answers 503 with Retry-After (API and pages), leaving
nothing behind, while message ingest and list reads, which run no script, still answer."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bpm_livechat.models import ProcessInstance
from bpm_livechat.processes.deployments import deploy
from bpm_livechat.processes.engine.engine import EngineLimits, ProcessEngine
from bpm_livechat.processes.engine.script_environment import SandboxEnvironment
from script_runtime import Limits, ScriptError, ScriptPool
from tests.api.support import bearer
from tests.web.support import Browser, World
from web import create_app

pytestmark = pytest.mark.parametrize(
    "engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)

QUICK_SCRIPT = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
                  targetNamespace="http://bpm-livechat.example/tests">
  <bpmn:process id="quick_script" name="Quick script" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:scriptTask id="compute" name="Compute"><bpmn:script>answer = 42</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute" />
    <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture(scope="module")
def one_worker() -> Iterator[ScriptPool]:
    """A pool of one sandbox worker whose callers wait at most 0.3 s for it."""
    with ScriptPool(1, wait_seconds=0.3) as pool:
        yield pool


@pytest.fixture
def app(engine: Engine, world: World, tmp_path: Path, one_worker: ScriptPool) -> Iterator[Flask]:
    """The web app on the one-worker pool."""
    processes = ProcessEngine(SandboxEnvironment(one_worker), limits=EngineLimits())
    made = create_app(
        {
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "SECRET_KEY": "test-secret",
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
        },
        processes=processes,
    )
    yield made
    made.extensions["bpm_livechat.engine"].dispose()


def _burn(pool: ScriptPool, seconds: float) -> threading.Thread:
    """Keep every worker of `pool` busy on a CPU-burning script for about `seconds` (its CPU
    limit; its wall-clock limit is one second more)."""

    def burn() -> None:
        with contextlib.suppress(ScriptError):  # stopped by its CPU limit, as intended
            pool.run("while True:\n    pass", data={}, limits=Limits(seconds, seconds + 1))

    thread = threading.Thread(target=burn, daemon=True)
    thread.start()
    while pool.idle:  # until the burner holds the worker
        thread.join(0.01)
    return thread


def _instances(db: Session, session_id: int) -> int:
    query = select(func.count()).where(ProcessInstance.session_id == session_id)
    count = db.scalar(query) or 0
    db.rollback()  # end the read: on SQLite an open transaction would hold the database
    return count


def test_busy_sandbox_answers_503_and_other_requests_still_answer(
    client: FlaskClient,
    browser_for: Callable[[str], Browser],
    world: World,
    db_session: Session,
    one_worker: ScriptPool,
) -> None:
    desk = world.desk
    deploy(db_session, one_worker, QUICK_SCRIPT, desk.admin, [desk.support])
    operator, widget = bearer(db_session, desk.operator), bearer(db_session, desk.widget)
    db_session.commit()
    olga = browser_for("olga")
    start_url = f"/api/v1/sessions/{world.first}/instances"

    before = time.monotonic()
    burner = _burn(one_worker, 3.0)  # a wall-clock limit of 4 s: the worker is free by then
    api = client.post(start_url, json={"process": "quick_script"}, headers=operator)
    page = olga.post(f"/sessions/{world.first}/start/quick_script")
    after = time.monotonic()
    assert api.status_code == 503, api.get_json()
    assert api.get_json()["error"]["code"] == "busy"
    # Retry-After is what is left of the burner's 4 s, however long the requests took: not 1.
    assert 4 - (after - before) <= int(api.headers["Retry-After"]) <= 4
    assert page.status_code == 503
    assert 4 - (after - before) <= int(page.headers["Retry-After"]) <= 4
    assert "Scripts are busy right now: nothing was done." in page.get_data(as_text=True)

    # Requests that run no script answer while the worker burns.
    ingest = client.post(
        f"/api/v1/sessions/{world.first}/messages", json={"text": "hello?"}, headers=widget
    )
    assert ingest.status_code == 201, ingest.get_json()
    assert client.get("/api/v1/sessions", headers=operator).status_code == 200
    assert olga.get("/sessions").status_code == 200
    assert burner.is_alive()  # all of this happened while the worker was busy
    db_session.expire_all()
    assert _instances(db_session, world.first) == 0  # no instance, no incident

    burner.join()
    started = client.post(start_url, json={"process": "quick_script"}, headers=operator)
    assert started.status_code == 201, started.get_json()
    assert started.get_json()["status"] == "completed"
