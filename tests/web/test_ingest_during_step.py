"""Message ingest into a session, and a parameter write through the API, do not wait for a
process step of that session that is running a script, on SQLite and PostgreSQL: the step holds
no database lock (and no place in the API's SQLite writer queue) while its scripts run (issue
18, items 2 and 5)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.processes.deployments import deploy
from bpm_livechat.processes.engine.engine import EngineLimits, ProcessEngine
from bpm_livechat.processes.engine.script_environment import SandboxEnvironment
from script_runtime import ScriptPool
from tests.api.support import bearer
from tests.web.support import World
from web import create_app

pytestmark = pytest.mark.parametrize(
    "engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)

SPIN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
                  targetNamespace="http://bpm-livechat.example/tests">
  <bpmn:process id="spin" name="Spin" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:scriptTask id="loop" name="Loop"><bpmn:script>while True:
    pass</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="loop" />
    <bpmn:sequenceFlow id="f2" sourceRef="loop" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture(scope="module")
def pool() -> Iterator[ScriptPool]:
    """One sandbox worker."""
    with ScriptPool(1) as made:
        yield made


@pytest.fixture
def app(
    engine: Engine, world: World, tmp_path: Path, pool: ScriptPool, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Flask]:
    """The web app whose steps may run 4 s, and whose statements wait for a row lock at most
    1 s (so a request that would wait for the step's lock fails instead of waiting)."""
    monkeypatch.setenv("BPM_LIVECHAT_DB_LOCK_TIMEOUT_MS", "1000")
    processes = ProcessEngine(SandboxEnvironment(pool), limits=EngineLimits(step_seconds=4.0))
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


def test_ingest_into_a_session_answers_while_its_step_runs_a_script(
    app: Flask, client: FlaskClient, world: World, db_session: Session, pool: ScriptPool
) -> None:
    desk = world.desk
    add_parameter(db_session, "note", "text", "Note")
    deploy(db_session, pool, SPIN, desk.admin, [desk.support])
    operator, widget = bearer(db_session, desk.operator), bearer(db_session, desk.widget)
    db_session.commit()
    answers: list[int] = []

    def start() -> None:
        started = app.test_client().post(
            f"/api/v1/sessions/{world.first}/instances", json={"process": "spin"}, headers=operator
        )
        answers.append(started.status_code)

    step = threading.Thread(target=start, daemon=True)
    step.start()
    while pool.idle and step.is_alive():  # until the step's script holds the worker
        step.join(0.01)
    assert step.is_alive()
    ingest = client.post(
        f"/api/v1/sessions/{world.first}/messages", json={"text": "still there?"}, headers=widget
    )
    assert ingest.status_code == 201, ingest.get_json()
    patched = client.patch(
        f"/api/v1/sessions/{world.first}/parameters",
        json={"values": {"note": "meanwhile"}},
        headers=operator,
    )
    assert patched.status_code == 200, patched.get_json()
    assert step.is_alive() and pool.idle == 0  # both answered while the step's script ran
    step.join(30)
    assert answers and answers[0] != 503
