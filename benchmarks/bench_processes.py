"""Process benchmark: 1,000 instances of *Collect contact details* through the product, next to raw
SpiffWorkflow on the same BPMN in the same run.

Run: .venv/bin/python -m benchmarks.bench_processes [--postgres] [--instances N]

The product path is what an operator's "Start process" does: one transaction per instance with
access checks, start-form validation, the script in the sandbox's worker pool, the changeset
validated and applied with history, the workflow serialized and stored. The baseline parses the
BPMN once with SpiffWorkflow's own parser and, per instance, creates the workflow, runs it with
SpiffWorkflow's in-process script engine (plain `exec`, no sandbox, no database) and serializes
it to JSON. The two are timed in alternating blocks of 100 instances, so both see the same
machine: its speed drifts by several percent within a run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bpm_livechat.desk.livechats import add_channel, add_member, create_live_chat
from bpm_livechat.desk.users import create_user, get_user
from bpm_livechat.models import LiveChat, MemberRole, User
from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.persistence.transactions import session_factory, unit_of_work
from bpm_livechat.processes.deployments import deploy
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.engine.script_environment import SandboxEnvironment
from bpm_livechat.processes.failures import StepFailure, run_or_record
from bpm_livechat.processes.instances import start_process
from bpm_livechat.sessions.lifecycle import create_session, get_session
from script_runtime import ScriptChecker, ScriptPool

from .bench_sessions import database

BPMN = Path(__file__).resolve().parents[1] / "processes" / "collect_contact_details.bpmn"
PROCESS_ID = "collect_contact_details"
FORM = {
    "contact_email": " Ann.Lee@Example.com ",
    "contact_phone": "+49 30 1234-5678",
    "preferred_contact_time": "morning",
}


def offer_collect_contact_details(
    db: Session, scripts: ScriptChecker, chat: LiveChat, admin: User
) -> None:
    """The parameters *Collect contact details* writes, and the process deployed and bound to `chat`."""
    add_parameter(db, "contact_email", "email", "Email", read_only=True)
    add_parameter(db, "contact_phone", "phone", "Phone", read_only=True)
    options = ("morning", "afternoon", "evening")
    add_parameter(db, "preferred_contact_time", "choice", "Time", options=options)
    add_parameter(db, "contact_summary", "string", "Summary", read_only=True)
    deploy(db, scripts, BPMN.read_bytes(), admin, [chat])


def prepare(engine: Engine, scripts: ScriptChecker, instances: int) -> list[int]:
    """Users, a live chat, the parameters, the deployed process and one session per instance."""
    with unit_of_work(session_factory(engine)) as db:
        admin = create_user(db, "admin", "admin", "bench-password")
        operator = create_user(db, "operator", "operator", "bench-password")
        chat = create_live_chat(db, "Bench", "{client.name}: {subject}")
        add_channel(db, chat, "Web", "web")
        add_member(db, chat, operator, MemberRole.OPERATOR)
        offer_collect_contact_details(db, scripts, chat, admin)
        sessions = [
            create_session(db, chat, client_name=f"Client {i}", subject="Call me back")
            for i in range(instances)
        ]
        return [s.id for s in sessions]


def product(engine: Engine, processes: ProcessEngine, session_ids: list[int]) -> list[float]:
    """Seconds per instance started through the product, each in its own transaction."""
    factory = session_factory(engine)
    samples = []
    for session_id in session_ids:
        started = time.perf_counter()
        with unit_of_work(factory) as db:

            def step(db: Session = db, sid: int = session_id) -> Any:
                user = get_user(db, "operator")
                session = get_session(db, sid, user)
                return start_process(db, processes, session, PROCESS_ID, FORM, user)

            outcome = run_or_record(db, step)
        samples.append(time.perf_counter() - started)
        assert not isinstance(outcome, StepFailure), outcome.error
        assert outcome.instance.status == "completed"
    return samples


class RawSpiff:
    """The baseline: the BPMN parsed once; per instance create, run (plain exec), serialize."""

    def __init__(self) -> None:
        parser = BpmnParser()
        parser.add_bpmn_file(str(BPMN))
        self.spec = parser.get_spec(PROCESS_ID)
        self.serializer = BpmnWorkflowSerializer()
        self.done = 0

    def run(self, instances: int) -> list[float]:
        """Seconds per instance for `instances` more instances."""
        samples = []
        for _ in range(instances):
            self.done += 1
            started = time.perf_counter()
            client = SimpleNamespace(name=f"Client {self.done}")
            session = SimpleNamespace(params={}, client=client)
            environment = TaskDataEnvironment({"session": session})
            workflow = BpmnWorkflow(
                self.spec, script_engine=PythonScriptEngine(environment=environment)
            )
            workflow.task_tree.data.update(FORM)
            workflow.do_engine_steps()
            self.serializer.serialize_json(workflow)
            samples.append(time.perf_counter() - started)
            assert workflow.is_completed()
            assert session.params["contact_email"] == "ann.lee@example.com"
        return samples


def interleaved(
    engine: Engine, processes: ProcessEngine, session_ids: list[int], block: int
) -> tuple[list[float], list[float]]:
    """Product and baseline samples, timed in alternating blocks of `block` instances.

    The machine's speed drifts by several percent over the seconds a run takes; alternating
    puts both sides under the same drift, so the ratio compares like with like.
    """
    raw = RawSpiff()
    raw.run(20)  # warm up
    ours: list[float] = []
    theirs: list[float] = []
    for start in range(0, len(session_ids), block):
        chunk = session_ids[start : start + block]
        ours += product(engine, processes, chunk)
        theirs += raw.run(len(chunk))
    return ours, theirs


def main() -> None:
    """Parse arguments, run both, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", action="store_true", help="use the local PostgreSQL")
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--block", type=int, default=100, help="instances per alternating block")
    args = parser.parse_args()
    with database(args.postgres) as engine, ScriptPool(2) as pool:
        processes = ProcessEngine(SandboxEnvironment(pool))
        ids = prepare(engine, pool, args.instances)
        product(engine, processes, ids[:20])  # warm up: worker pool, parser cache
        rest = ids[20:] if len(ids) > 20 else ids
        ours, raw = interleaved(engine, processes, rest, args.block)
        dialect = engine.dialect.name
    ours_p50, raw_p50 = statistics.median(ours) * 1000, statistics.median(raw) * 1000
    print(f"\n{len(ours)} instances of {PROCESS_ID} ({dialect})")
    print(f"{'':<22} {'per second':>11} {'p50':>9}")
    print(f"{'product':<22} {len(ours) / sum(ours):>11.1f} {ours_p50:>7.2f}ms")
    print(f"{'raw SpiffWorkflow':<22} {len(raw) / sum(raw):>11.1f} {raw_p50:>7.2f}ms")
    print(f"ratio p50 (target <= 4x on SQLite): {ours_p50 / raw_p50:.2f}x")


if __name__ == "__main__":
    main()
