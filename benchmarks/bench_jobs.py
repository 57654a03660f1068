"""Issue 15's figures: timers among many waiting ones, a burst of due timers, the message ingest
with a bound process, and webhook deliveries (latency, and a receiver outage).

    .venv/bin/python -m benchmarks.bench_jobs timers   [--postgres] [--waiting 10000] [--due 200]
    .venv/bin/python -m benchmarks.bench_jobs burst    [--postgres] [--instances 1000]
    .venv/bin/python -m benchmarks.bench_jobs ingest   [--postgres] [--blocks 10] [--block 200]
    .venv/bin/python -m benchmarks.bench_jobs webhooks [--postgres] [--messages 200] [--outage 300]

Workers are real `bpm-livechat worker` processes (one on SQLite, like `serve`'s embedded one;
two on PostgreSQL), on the system clock. Every figure is printed next to its target and, where
the issue asks for one, a baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from sqlalchemy import Engine, Table, func, insert, select
from sqlalchemy.orm import Session

from bpm_livechat.desk.livechats import add_channel, add_member, create_live_chat, get_live_chat
from bpm_livechat.desk.users import create_user, get_user
from bpm_livechat.models import (
    InstanceWait,
    Job,
    LiveChat,
    MemberRole,
    ProcessInstance,
    UserTask,
)
from bpm_livechat.persistence.transactions import session_factory, unit_of_work
from bpm_livechat.processes.deployments import deploy
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.engine.script_environment import SandboxEnvironment
from bpm_livechat.processes.instances import complete_task, get_instance, start_process
from bpm_livechat.sessions.lifecycle import create_session
from script_runtime import ScriptPool

from .bench_sessions import database
from .common import progress

WORKER = Path(sys.executable).with_name("bpm-livechat")
PROCESSES = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="bench"
                  targetNamespace="http://bpm-livechat.example/bench">
  <bpmn:process id="bench_wait" name="Wait" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait" name="Wait">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>wait</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait" />
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="e" />
  </bpmn:process>
  <bpmn:process id="bench_at" name="At" isExecutable="true">
    <bpmn:startEvent id="s2"><bpmn:outgoing>g1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="at" name="At">
      <bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDate>at</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="e2"><bpmn:incoming>g2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="g1" sourceRef="s2" targetRef="at" />
    <bpmn:sequenceFlow id="g2" sourceRef="at" targetRef="e2" />
  </bpmn:process>
  <bpmn:process id="bench_task" name="Task" isExecutable="true">
    <bpmn:startEvent id="s3"><bpmn:outgoing>h1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="task" name="Task"><bpmn:incoming>h1</bpmn:incoming><bpmn:outgoing>h2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="e3"><bpmn:incoming>h2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="h1" sourceRef="s3" targetRef="task" />
    <bpmn:sequenceFlow id="h2" sourceRef="task" targetRef="e3" />
  </bpmn:process>
</bpmn:definitions>
"""


def percentile(samples: list[float], q: int) -> float:
    """The q-th percentile (inclusive method) of `samples`."""
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(sorted(samples), n=100, method="inclusive")[q - 1]


def seed(engine: Engine, processes: ProcessEngine) -> None:
    """A live chat, an admin and an operator, the benchmark's processes deployed and offered."""
    with unit_of_work(session_factory(engine)) as db:
        admin = create_user(db, "bench-admin", "admin", "bench-pass-1")
        operator = create_user(db, "bench", "operator", "bench-pass-1")
        chat = create_live_chat(db, "Bench", "{client.name}")
        add_channel(db, chat, "Web", "web")
        add_member(db, chat, operator, MemberRole.OPERATOR)
        deploy(db, processes.scripts, PROCESSES.encode(), admin, [chat])


def start_many(
    engine: Engine, processes: ProcessEngine, process_id: str, variables: list[dict[str, object]]
) -> list[int]:
    """Instances of `process_id` started through the core, one session each; their ids."""
    ids = []
    factory = session_factory(engine)
    for number, values in enumerate(variables, start=1):
        with unit_of_work(factory) as db:
            operator = get_user(db, "bench")
            session = create_session(
                db, bench_chat(db), client_name=f"Client {number}", subject="Bench"
            )
            outcome = start_process(
                db, processes, session, process_id, {}, operator, variables=values
            )
            ids.append(outcome.instance.id)
        if number % 100 == 0 or number == len(variables):
            progress(f"start {process_id}", number, len(variables))
    return ids


def bench_chat(db: Session) -> LiveChat:
    """The benchmark's live chat."""
    return get_live_chat(db, "Bench")


@contextmanager
def workers(engine: Engine, count: int) -> Iterator[None]:
    """`count` real `bpm-livechat worker` processes on the database, stopped afterwards."""
    url = engine.url.render_as_string(hide_password=False)
    running = [
        subprocess.Popen([str(WORKER), "--database-url", url, "worker"], stderr=subprocess.DEVNULL)
        for _ in range(count)
    ]
    try:
        time.sleep(1.5)  # imported and sleeping, with their sandbox pools started
        yield
    finally:
        for process in running:
            process.terminate()
        for process in running:
            process.wait(timeout=30)


def clone_waiting(engine: Engine, instance_id: int, copies: int) -> None:
    """`copies` more instances like `instance_id` (waiting on the same timer), with their waits
    and timer jobs: the background load of many waiting timers, written quickly."""
    instances = cast(Table, ProcessInstance.__table__)
    waits = cast(Table, InstanceWait.__table__)
    jobs = cast(Table, Job.__table__)
    with unit_of_work(session_factory(engine)) as db:
        row = dict(
            db.execute(select(instances).where(instances.c.id == instance_id)).mappings().one()
        )
        wait = dict(
            db.execute(select(waits).where(waits.c.instance_id == instance_id)).mappings().one()
        )
        job = dict(
            db.execute(select(jobs).where(jobs.c.instance_id == instance_id)).mappings().one()
        )
    for key in ("id",):
        row.pop(key)
        wait.pop(key)
        job.pop(key)
    done = 0
    while done < copies:
        chunk = min(1000, copies - done)
        with unit_of_work(session_factory(engine)) as db:
            new_ids = (
                db.execute(insert(instances).returning(instances.c.id), [row] * chunk)
                .scalars()
                .all()
            )
            db.execute(insert(waits), [{**wait, "instance_id": i} for i in new_ids])
            db.execute(
                insert(jobs),
                [{**job, "instance_id": i, "dedupe_key": f"bench:{i}"} for i in new_ids],
            )
        done += chunk
        progress("clone waiting timers", done, copies)


def run_timers(
    engine: Engine, processes: ProcessEngine, waiting: int, due: int, window: float
) -> None:
    """Many waiting timers far ahead, a few due soon: how late do the due ones fire?"""
    [far] = start_many(engine, processes, "bench_wait", [{"wait": "P1D"}])
    clone_waiting(engine, far, waiting - 1)
    lead = 5.0  # the first due timer falls due this long after the last one is started
    started_at = time.time()
    spaced = [lead + (window * i / due) + due * 0.006 for i in range(due)]
    ids = start_many(engine, processes, "bench_wait", [{"wait": f"PT{s:.3f}S"} for s in spaced])
    count = 1 if engine.dialect.name == "sqlite" else 2
    with workers(engine, count):
        deadline = started_at + lead + window + due * 0.006 + 60
        while time.time() < deadline and _completed(engine, ids) < len(ids):
            time.sleep(0.5)
    lateness = _lateness(engine, ids)
    print(f"\n{engine.dialect.name}: {waiting:,} timers waiting (due in a day), {due} falling due "
          f"over {window:.0f} s; {count} worker(s)")  # fmt: skip
    print(f"fired {len(lateness)} of {due}; late by p50 {percentile(lateness, 50) * 1000:.0f} ms, "
          f"p99 {percentile(lateness, 99) * 1000:.0f} ms, max {max(lateness) * 1000:.0f} ms "
          f"(target: p99 <= 1000 ms)")  # fmt: skip


def _completed(engine: Engine, ids: list[int]) -> int:
    with session_factory(engine)() as db:
        query = select(func.count()).where(
            ProcessInstance.id.in_(ids), ProcessInstance.status == "completed"
        )
        return db.scalar(query) or 0


def _lateness(engine: Engine, ids: list[int]) -> list[float]:
    """Seconds between each timer's due time and the commit of the step that fired it."""
    with session_factory(engine)() as db:
        rows = db.execute(
            select(Job.due_at, ProcessInstance.finished_at)
            .join(ProcessInstance, ProcessInstance.id == Job.instance_id)
            .where(Job.instance_id.in_(ids), Job.kind == "timer", Job.status == "done")
        ).all()
    return [max(0.0, (finished - due_at).total_seconds()) for due_at, finished in rows if finished]


def run_burst(engine: Engine, processes: ProcessEngine, instances: int) -> None:
    """`instances` timers due at one moment against completing as many user tasks in the core."""
    task_ids = start_many(engine, processes, "bench_task", [{}] * instances)
    factory = session_factory(engine)
    started = time.perf_counter()
    for number, instance_id in enumerate(task_ids, start=1):
        with unit_of_work(factory) as db:
            instance = get_instance(db, instance_id)
            task = db.scalars(select(UserTask).where(UserTask.instance_id == instance_id)).one()
            complete_task(db, processes, instance, task.task_id, {}, get_user(db, "bench"))
        if number % 100 == 0:
            progress("complete user tasks", number, instances)
    completions = instances / (time.perf_counter() - started)
    at = datetime.now(UTC) + timedelta(seconds=instances * 0.012 + 10)
    timer_ids = start_many(engine, processes, "bench_at", [{"at": at.isoformat()}] * instances)
    count = 1 if engine.dialect.name == "sqlite" else 2
    with workers(engine, count):
        while datetime.now(UTC) < at:
            time.sleep(0.2)
        while _completed(engine, timer_ids) < instances and datetime.now(UTC) < at + timedelta(
            minutes=10
        ):
            time.sleep(0.2)
    with session_factory(engine)() as db:
        last = db.scalar(
            select(func.max(ProcessInstance.finished_at)).where(ProcessInstance.id.in_(timer_ids))
        )
        done, tries = db.execute(
            select(func.count(), func.max(Job.attempts)).where(
                Job.instance_id.in_(timer_ids), Job.kind == "timer", Job.status == "done"
            )
        ).one()
    assert last is not None
    rate = instances / max((last - at).total_seconds(), 1e-3)
    print(f"\n{engine.dialect.name}: {instances:,} timers due at one moment, {count} worker(s)")
    print(
        f"timer jobs done: {done} of {instances}, most tries of one job: {tries} (each once: {done == instances and tries == 1})"
    )
    print(f"timers fired per second: {rate:.1f}; user tasks completed per second through the core: "
          f"{completions:.1f}; ratio {rate / completions:.2f} (target >= 0.5)")  # fmt: skip


def main() -> None:
    """Parse arguments and run one benchmark."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("benchmark", choices=("timers", "burst", "ingest", "webhooks"))
    parser.add_argument("--postgres", action="store_true", help="use the local PostgreSQL")
    parser.add_argument("--waiting", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=200)
    parser.add_argument(
        "--window", type=float, default=20.0, help="seconds the due timers spread over"
    )
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--block", type=int, default=200)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--outage", type=float, default=0.0, help="seconds the receiver is down")
    args = parser.parse_args()
    from .bench_jobs_io import run_ingest, run_webhooks

    with database(args.postgres) as engine, ScriptPool(2) as pool:
        processes = ProcessEngine(SandboxEnvironment(pool))
        seed(engine, processes)
        if args.benchmark == "timers":
            run_timers(engine, processes, args.waiting, args.due, args.window)
        elif args.benchmark == "burst":
            run_burst(engine, processes, args.instances)
        elif args.benchmark == "ingest":
            run_ingest(engine, processes, args.blocks, args.block)
        else:
            run_webhooks(engine, args.messages, args.outage)


if __name__ == "__main__":
    main()
