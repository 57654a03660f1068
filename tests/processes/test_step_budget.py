"""A step over its wall-clock budget rolls back and records its incident. (That no lock is held
while its scripts run at all is shown in test_unlocked_steps.)"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.desk.users import get_user
from bpm_livechat.models import SupportSession
from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.params.values import get_parameters
from bpm_livechat.processes.deployments import deploy
from bpm_livechat.processes.engine.engine import EngineLimits, ProcessEngine
from bpm_livechat.processes.engine.script_environment import SandboxEnvironment
from bpm_livechat.processes.instances import start_process
from script_runtime import Limits, ScriptPool
from tests.support import Desk, new_session, run_failing

SLOW_WRITE = (Path(__file__).parent / "bpmn" / "slow_write.bpmn").read_bytes()
# Scripts may run for half a minute; only the step's budget of one second stops them.
ROOMY = Limits(cpu_seconds=30.0, wall_seconds=30.0)


@pytest.fixture
def budgeted(script_pool: ScriptPool) -> ProcessEngine:
    return ProcessEngine(
        SandboxEnvironment(script_pool, ROOMY), limits=EngineLimits(step_seconds=1.0)
    )


@pytest.fixture
def session_id(db_session: Session, desk: Desk, budgeted: ProcessEngine) -> int:
    add_parameter(db_session, "segment", "text", "Segment")
    deploy(db_session, budgeted.scripts, SLOW_WRITE, desk.admin, [desk.support])
    db_session.commit()
    return new_session(db_session, desk).id


def _start(engine: ProcessEngine, session_id: int, seconds: float) -> Callable[[Session], object]:
    def step(db: Session) -> object:
        session = db.get_one(SupportSession, session_id)
        user = get_user(db, "olga")
        return start_process(
            db, engine, session, "slow_write", {}, user, variables={"seconds": seconds}
        )

    return step


def test_a_step_over_budget_rolls_back_and_records_its_incident(
    factory: sessionmaker[Session], budgeted: ProcessEngine, session_id: int
) -> None:
    failure = run_failing(factory, _start(budgeted, session_id, 20))
    assert failure.instance.status == "failed"
    assert failure.error == {
        "kind": "cap",
        "message": "the step ran longer than its budget of 1 s",
        "line": None,
        "element_id": "dawdle",
        "element_name": "Dawdle",
        "parameter_key": None,
    }
    with factory() as db:
        assert get_parameters(db, session_id).get("segment") is None  # the first write is gone


def _write_waiting_at_most(engine: Engine, session_id: int, seconds: int) -> None:
    """Lock the session as a writer would, waiting at most `seconds`; raise if that is not enough."""
    if engine.dialect.name == "sqlite":
        writer = sqlite3.connect(str(engine.url.database), timeout=seconds)
        try:
            writer.execute("BEGIN IMMEDIATE")
            writer.execute("ROLLBACK")
        finally:
            writer.close()
        return
    with engine.connect() as conn:
        conn.execute(text(f"SET LOCAL lock_timeout = '{seconds}s'"))
        conn.execute(text("SELECT id FROM sessions WHERE id = :id FOR UPDATE"), {"id": session_id})
        conn.rollback()
