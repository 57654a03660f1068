"""A step's scripts run holding no database lock (issue 18, item 2): other writers of the same
session commit while the script still runs, on SQLite (one writer) and PostgreSQL (row locks).
The step then writes only if what it read is unchanged; otherwise it runs again on the new
values, and after three attempts it answers a ConflictError: another writer's value is never
silently overwritten.

Ordering, not time, is asserted: the test's sandbox pool has one worker, so "no worker idle"
means the step's script is running."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from bpm_livechat.config import DatabaseSettings
from bpm_livechat.desk.users import get_user
from bpm_livechat.errors import ConflictError
from bpm_livechat.models import Message, ParamHistory, ProcessInstance, SupportSession
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.params.values import get_parameters, set_parameters
from bpm_livechat.persistence.engines import make_engine
from bpm_livechat.persistence.transactions import session_factory, unit_of_work
from bpm_livechat.processes.deployments import deploy
from bpm_livechat.processes.engine.engine import EngineLimits, ProcessEngine
from bpm_livechat.processes.engine.script_environment import SandboxEnvironment
from bpm_livechat.processes.instances import start_process
from bpm_livechat.processes.step_phases import CHANGED
from bpm_livechat.processes.steps import StepOutcome
from bpm_livechat.sessions.lifecycle import rename_session
from bpm_livechat.sessions.messages import add_message
from script_runtime import Limits, ScriptPool
from tests.support import Desk, new_session, run_step

# Reads the segment, dawdles `seconds` (well inside its limits and the step's budget), then
# writes what it saw: the value it read comes back in `summary`, and `segment` is built on it.
SLOW_READ = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
                  targetNamespace="http://bpm-livechat.example/tests">
  <bpmn:process id="slow_read" name="Slow read" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:scriptTask id="think" name="Think"><bpmn:script>import datetime
seen = session.params.get("segment")
begin = datetime.datetime.now()
while (datetime.datetime.now() - begin).total_seconds() &lt; seconds:
    pass
session.params["summary"] = "saw " + str(seen)
session.params["segment"] = str(seen) + "+checked"</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="think" />
    <bpmn:sequenceFlow id="f2" sourceRef="think" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""
SECONDS = 3  # how long each run of the script lasts: the other writers commit inside it
ROOMY = Limits(cpu_seconds=30.0, wall_seconds=30.0)


@pytest.fixture
def one_worker() -> Iterator[ScriptPool]:
    with ScriptPool(1) as pool:
        yield pool


@pytest.fixture
def slow(one_worker: ScriptPool) -> ProcessEngine:
    limits = EngineLimits(step_seconds=60.0)
    return ProcessEngine(SandboxEnvironment(one_worker, ROOMY), limits=limits)


@pytest.fixture
def session_id(db_session: Session, desk: Desk, slow: ProcessEngine) -> int:
    add_parameter(db_session, "segment", "text", "Segment")
    add_parameter(db_session, "summary", "text", "Summary")
    add_parameter(db_session, "note", "text", "Note")
    deploy(db_session, slow.scripts, SLOW_READ, desk.admin, [desk.support])
    db_session.commit()
    return new_session(db_session, desk).id


def _start(engine: ProcessEngine, session_id: int) -> Callable[[Session], StepOutcome]:
    def step(db: Session) -> StepOutcome:
        session = db.get_one(SupportSession, session_id)
        user = get_user(db, "olga")
        return start_process(
            db, engine, session, "slow_read", {}, user, variables={"seconds": SECONDS}
        )

    return step


class Runner:
    """The step in a thread of its own; `outcome` is what it returned or raised."""

    def __init__(self, step: Callable[[], object]) -> None:
        self.outcome: list[object] = []
        self.thread = threading.Thread(target=self._run, args=(step,))
        self.thread.start()

    def _run(self, step: Callable[[], object]) -> None:
        try:
            self.outcome.append(step())
        except Exception as exc:  # handed to the test, which asserts what it is
            self.outcome.append(exc)

    def result(self) -> object:
        self.thread.join()
        return self.outcome[0]


def _wait_for_script(pool: ScriptPool, runner: Runner, finished: int | None = None) -> None:
    """Return once the step's script runs (the one worker is taken), after `finished` runs of
    the pool ended (the pool counts a run when it ends)."""
    deadline = time.monotonic() + 60  # a guard against a hang, not a measurement
    while pool.idle or (finished is not None and pool.stats["runs"] != finished):
        assert runner.thread.is_alive(), [getattr(o, "error", o) for o in runner.outcome]
        assert time.monotonic() < deadline, "the step's script never started"
        time.sleep(0.005)


def _set(factory: sessionmaker[Session], session_id: int, key: str, value: str) -> None:
    with unit_of_work(factory) as db:
        sam = get_user(db, "sam")
        session = db.get_one(SupportSession, session_id)
        set_parameters(db, session, {key: value}, user_actor(sam))


def test_writers_of_the_session_commit_while_its_script_runs(
    factory: sessionmaker[Session], one_worker: ScriptPool, slow: ProcessEngine, session_id: int
) -> None:
    runner = Runner(lambda: run_step(factory, _start(slow, session_id)))
    _wait_for_script(one_worker, runner)
    with unit_of_work(factory) as db:  # a supervisor renames the session
        session = db.get_one(SupportSession, session_id)
        rename_session(db, session, "Renamed meanwhile", get_user(db, "sam"))
    with unit_of_work(factory) as db:  # the client writes
        add_message(db, db.get_one(SupportSession, session_id), "are you there?")
    _set(factory, session_id, "note", "written meanwhile")  # and a parameter is set
    # Every write committed while the script ran: none of them waited for the step.
    assert one_worker.idle == 0 and runner.thread.is_alive()
    outcome = runner.result()
    assert isinstance(outcome, StepOutcome), outcome
    assert outcome.instance.status == "completed"
    with factory() as db:
        assert get_parameters(db, session_id) == {
            "note": "written meanwhile",
            "segment": "None+checked",
            "summary": "saw None",
        }
        assert db.get_one(SupportSession, session_id).name == "Renamed meanwhile"
        texts = db.scalars(select(Message.text).where(Message.session_id == session_id))
        assert list(texts) == ["are you there?"]


def test_a_value_changed_while_the_script_ran_runs_the_step_again_on_it(
    factory: sessionmaker[Session], one_worker: ScriptPool, slow: ProcessEngine, session_id: int
) -> None:
    runs = one_worker.stats["runs"]
    runner = Runner(lambda: run_step(factory, _start(slow, session_id)))
    _wait_for_script(one_worker, runner)
    _set(factory, session_id, "segment", "gold")
    assert one_worker.idle == 0 and runner.thread.is_alive()
    outcome = runner.result()
    assert isinstance(outcome, StepOutcome), outcome
    with factory() as db:
        # The first run read no segment: its writes were dropped, the second read "gold".
        assert get_parameters(db, session_id) == {"segment": "gold+checked", "summary": "saw gold"}
        history = db.execute(
            select(ParamHistory.old_value, ParamHistory.new_value, ParamHistory.process_id)
            .where(ParamHistory.session_id == session_id, ParamHistory.key == "segment")
            .order_by(ParamHistory.id)
        ).all()
        assert [tuple(row) for row in history] == [
            (None, "gold", None),
            ("gold", "gold+checked", "slow_read"),
        ]
        assert one_worker.stats["runs"] == runs + 2  # the script ran twice


def test_a_session_changed_during_every_attempt_is_a_conflict(
    factory: sessionmaker[Session], one_worker: ScriptPool, slow: ProcessEngine, session_id: int
) -> None:
    runs = one_worker.stats["runs"]
    runner = Runner(lambda: run_step(factory, _start(slow, session_id)))
    for attempt in range(3):
        _wait_for_script(one_worker, runner, finished=runs + attempt)
        _set(factory, session_id, "segment", f"change {attempt + 1}")
    outcome = runner.result()
    assert isinstance(outcome, ConflictError)
    assert outcome.message == CHANGED == "the session changed while the step ran; try again"
    with factory() as db:
        assert get_parameters(db, session_id) == {"segment": "change 3"}  # never overwritten
        assert db.scalars(select(ProcessInstance)).all() == []  # nothing of the step stayed


@pytest.mark.parametrize(
    "engine", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_a_step_outlives_postgresqls_idle_in_transaction_timeout_while_its_script_runs(
    engine: Engine, slow: ProcessEngine, session_id: int
) -> None:
    # Connections that end a transaction left idle for 1 s: the script runs 3 s, idle for the
    # database, inside the step's phase-1 transaction (a process may allow 300 s).
    impatient = make_engine(
        engine.url.render_as_string(hide_password=False),
        DatabaseSettings(idle_in_transaction_timeout_ms=1000),
        poolclass=NullPool,
    )
    try:
        outcome = run_step(session_factory(impatient), _start(slow, session_id))
    finally:
        impatient.dispose()
    assert isinstance(outcome, StepOutcome)
    assert outcome.instance.status == "completed"
    with session_factory(engine)() as db:
        assert get_parameters(db, session_id) == {"segment": "None+checked", "summary": "saw None"}
