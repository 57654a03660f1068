"""Every kind of job the workers run, with its work, its retries and its incident."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.automation.delivery import WebhookSender
from bpm_livechat.automation.fan_out import DELIVER_JOB, START_JOB, WEBHOOK_JOB, fan_out
from bpm_livechat.jobs.queue import ClaimedJob
from bpm_livechat.jobs.wake import Waker
from bpm_livechat.jobs.worker import JobKind, Worker, exponential_backoff
from bpm_livechat.processes.autostart import start_automatically
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.failures import ProcessFailed, record_failure
from bpm_livechat.processes.step_effects import CONTINUE_JOB, TIMER_JOB
from bpm_livechat.processes.waiting import continue_instance, deliver_message, fire_timers
from bpm_livechat.sessions.events import SESSION_EVENT_JOB


def _record_incident(db: Session, job: ClaimedJob, exc: Exception) -> None:
    """After a step job's last try: the failed step recorded on its instance, for a supervisor."""
    if isinstance(exc, ProcessFailed):
        record_failure(db, exc.failed)


def _start(engine: ProcessEngine, db: Session, job: ClaimedJob) -> None:
    assert job.session_id is not None
    payload = job.payload
    start_automatically(db, engine, job.session_id, payload["process_id"], payload["variables"])


def _timer(engine: ProcessEngine, db: Session, job: ClaimedJob) -> None:
    assert job.instance_id is not None
    fire_timers(db, engine, job.instance_id, job.id)


def _deliver(engine: ProcessEngine, db: Session, job: ClaimedJob) -> None:
    assert job.instance_id is not None
    payload = job.payload
    deliver_message(db, engine, job.instance_id, payload["message"], payload["data"], job.id)


def _continue(engine: ProcessEngine, db: Session, job: ClaimedJob) -> None:
    assert job.instance_id is not None
    continue_instance(db, engine, job.instance_id, job.id)


def job_kinds(engine: ProcessEngine, sender: WebhookSender) -> dict[str, JobKind]:
    """The kinds of jobs, by name: fan-out, starts, timers, deliveries, continuations, webhooks."""
    steps = {
        START_JOB: _start,
        TIMER_JOB: _timer,
        DELIVER_JOB: _deliver,
        CONTINUE_JOB: _continue,
    }
    kinds = {
        name: JobKind(run=partial(run, engine), dead=_record_incident)
        for name, run in steps.items()
    }
    kinds[SESSION_EVENT_JOB] = JobKind(run=partial(fan_out, engine.clock))
    kinds[WEBHOOK_JOB] = JobKind(send=sender.send, backoff=exponential_backoff(1, 300))
    return kinds


def build_worker(
    factory: sessionmaker[Session],
    engine: ProcessEngine,
    *,
    waker: Waker | None = None,
    poll_seconds: float = 1.0,
    lease: timedelta = timedelta(minutes=5),
) -> Worker:
    """A worker for every kind of job, on the engine's clock."""
    sender = WebhookSender(factory, engine.clock)
    kinds = job_kinds(engine, sender)
    return Worker(factory, kinds, engine.clock, waker=waker, poll_seconds=poll_seconds, lease=lease)
