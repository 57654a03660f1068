"""The checks after a chaos run: everything acknowledged stored exactly once, nothing half-done,
no webhook delivery run twice at the same time, no job left to its lease by a job worker that
SIGTERM stopped, every process stopped in time, every 5xx a clean 503."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select

from bpm_livechat.models import (
    Job,
    JobStatus,
    Message,
    ParamHistory,
    ProcessInstance,
    TaskState,
    UserTask,
)
from tests.chaos.receiver import Receiver
from tests.chaos.service import Service
from tests.chaos.workload import Ledger


@dataclass
class Stored:
    """What the database holds after the run, counted the way the checks need it."""

    held: list[tuple[Any, Any]]  # (locked_by, locked_until) of the jobs still running
    texts: dict[str, int]  # message text -> how many messages carry it
    values: dict[tuple[str, Any], int]  # (parameter, value) -> how many times it was written
    instances: list[tuple[int, str]]  # (instance id, status)
    open_tasks: dict[int, int]  # instance id -> its ready user tasks


@dataclass
class Findings:
    """The problems found, and the jobs left to their lease (with how long they would wait)."""

    problems: list[str] = field(default_factory=list)
    leased: int = 0
    lease_wait: float = 0.0


def check(engine: Engine, ledger: Ledger, receiver: Receiver, service: Service) -> Findings:
    """Every check, in order, against what the database holds now."""
    stored = read_stored(engine)
    found = Findings([f"{name} did not stop after SIGTERM" for name in service.unstopped])
    found.problems += messages_stored_once(ledger, stored.texts)
    found.problems += writes_stored_once(ledger, stored.values)
    found.problems += instances_whole(ledger, stored)
    leases = leases_left(stored.held, service.killed_jobs)
    if leases:
        found.leased = len(leases)
        found.lease_wait = (max(leases) - datetime.now(UTC)).total_seconds()
        found.problems.append(
            f"{len(leases)} jobs left claimed by job workers stopped by SIGTERM (waiting up to "
            f"{found.lease_wait:.0f} s for their lease)"
        )
    found.problems += [
        f"webhook delivery {d} ran twice at the same time" for d in receiver.concurrent()
    ]
    found.problems += [f"unclean error answer: {u}" for u in ledger.unclean[:10]]
    return found


def read_stored(engine: Engine) -> Stored:
    """Read, in one connection, what the checks compare with the ledger."""
    with engine.connect() as db:
        held = db.execute(
            select(Job.locked_by, Job.locked_until).where(Job.status == JobStatus.RUNNING.value)
        ).all()
        texts = db.execute(
            select(Message.text, func.count())
            .where(Message.text.like("m-%"))
            .group_by(Message.text)
        ).all()
        history = db.execute(
            select(ParamHistory.key, ParamHistory.new_value, ParamHistory.instance_id)
        ).all()
        instances = db.execute(select(ProcessInstance.id, ProcessInstance.status)).all()
        open_tasks = db.execute(
            select(UserTask.instance_id, func.count())
            .where(UserTask.state == TaskState.READY.value)
            .group_by(UserTask.instance_id)
        ).all()
    values: dict[tuple[str, Any], int] = {}
    for key, value, _instance in history:
        values[(key, value)] = values.get((key, value), 0) + 1
    return Stored(
        held=[(holder, until) for holder, until in held],
        texts={body: count for body, count in texts},
        values=values,
        instances=[(instance_id, status) for instance_id, status in instances],
        open_tasks={instance_id: count for instance_id, count in open_tasks},
    )


def messages_stored_once(ledger: Ledger, texts: dict[str, int]) -> list[str]:
    """Each acknowledged message stored once, none stored twice, each replay answered with the
    message it repeated."""
    problems = [
        f"acknowledged message {body} stored {texts.get(body, 0)} times"
        for body in ledger.messages_acked
        if texts.get(body, 0) != 1
    ]
    problems += [
        f"message {body} stored {texts[body]} times"
        for body in ledger.messages_tried
        if texts.get(body, 0) > 1
    ]
    problems += [f"a replay of {b} answered another message" for b in ledger.replays_differing]
    return problems


def writes_stored_once(ledger: Ledger, values: dict[tuple[str, Any], int]) -> list[str]:
    """Each acknowledged parameter write, process start and task completion stored once; no
    start run twice."""
    problems = []
    for value in ledger.writes_acked:
        if values.get(("chaos_note", value), 0) != 1:
            problems.append(
                f"acknowledged write {value} stored {values.get(('chaos_note', value), 0)} times"
            )
    for ref in ledger.starts_acked:
        if values.get(("chaos_started", ref), 0) != 1:
            problems.append(
                f"acknowledged start {ref} stored {values.get(('chaos_started', ref), 0)} times"
            )
    for ref in ledger.starts_tried:
        if values.get(("chaos_started", ref), 0) > 1:
            problems.append(f"start {ref} ran {values[('chaos_started', ref)]} times")
    for answer in ledger.completions_acked:
        if values.get(("chaos_answer", answer), 0) != 1:
            problems.append(
                f"acknowledged completion {answer} stored {values.get(('chaos_answer', answer), 0)} times"
            )
    return problems


def instances_whole(ledger: Ledger, stored: Stored) -> list[str]:
    """No instance left running; each waiting one with one open task; each acknowledged
    completion's instance completed."""
    problems = []
    for instance_id, status in stored.instances:
        if status == "running":
            problems.append(f"instance {instance_id} was left half-done (running)")
        if status == "waiting" and stored.open_tasks.get(instance_id, 0) != 1:
            problems.append(
                f"waiting instance {instance_id} has {stored.open_tasks.get(instance_id, 0)} open tasks"
            )
    statuses = dict(stored.instances)
    for answer, instance_id in ledger.completions_acked.items():
        if statuses.get(instance_id) != "completed":
            problems.append(
                f"instance {instance_id} acknowledged complete ({answer}) is {statuses.get(instance_id)}"
            )
    return problems


def leases_left(held: list[tuple[Any, Any]], killed_jobs: set[int]) -> list[datetime]:
    """When the leases run out of the jobs still claimed by job workers that SIGTERM stopped.

    Such a job waits for its lease (5 min): a job worker hands back what it claimed but did not
    run, when it stops and when a database fault cut its batch short, as soon as the database
    answers again. A job of a worker killed with -9 is left to its lease by design."""
    return [
        until
        for holder, until in held
        if until is not None and int(str(holder).split(":")[-2]) not in killed_jobs
    ]  # a worker's name is host:pid:random
