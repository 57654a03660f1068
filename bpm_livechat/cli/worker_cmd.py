"""`bpm-livechat worker` and `bpm-livechat jobs list|retry|cancel`: the durable jobs."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

import click

from bpm_livechat.automation.kinds import build_worker
from bpm_livechat.heap import freeze_startup_heap
from bpm_livechat.jobs.queue import cancel_job, list_jobs, retry_job
from bpm_livechat.jobs.wake import waker_for
from bpm_livechat.models import Job
from bpm_livechat.persistence.transactions import session_factory

from .common import cli_state, emit, handles_errors, json_option, transaction


@click.command("worker")
@click.option("--once", is_flag=True, help="Run what is due now, then exit (for cron).")
@click.option(
    "--poll", "poll_seconds", default=None, type=click.FloatRange(0.05, 60),
    help="Longest sleep between looks for due jobs: 0.2 s on SQLite, 1 s on PostgreSQL (whose "
    "workers also wake at once when jobs are added).",
)  # fmt: skip
@json_option
@handles_errors
def worker(once: bool, poll_seconds: float | None, as_json: bool) -> None:
    """Run timers, message deliveries, automatic starts and webhooks (any number of workers
    may share one PostgreSQL database). Stops cleanly on SIGTERM or Ctrl+C."""
    state = cli_state()
    stop = threading.Event()
    if poll_seconds is None:
        poll_seconds = 1.0 if state.engine.dialect.name == "postgresql" else 0.2
    runner = build_worker(
        session_factory(state.engine),
        state.processes,
        waker=None if once else waker_for(state.engine, stop),
        poll_seconds=poll_seconds,
    )
    if once:
        ran = runner.run_due()
        emit({"ran": ran}, as_json, f"{ran} job{'s' if ran != 1 else ''} ran")
        return

    def stop_now(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, stop_now)
    freeze_startup_heap()  # its exit after SIGTERM then takes well under a second
    click.echo(f"worker {runner.name} running (Ctrl+C to stop)", err=True)
    try:
        runner.run_forever(stop)
    except KeyboardInterrupt:
        stop.set()


def job_view(job: Job) -> dict[str, Any]:
    """A job as the CLI and the API show it."""
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "due_at": job.due_at,
        "session_id": job.session_id,
        "instance_id": job.instance_id,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "last_error": job.last_error,
        "locked_by": job.locked_by,
        "finished_at": job.finished_at,
    }


@click.group("jobs")
def jobs() -> None:
    """Durable jobs: timers, deliveries, automatic starts, webhooks."""


@jobs.command("list")
@click.option("--status", help="pending, running, done, failed or cancelled.")
@click.option("--kind", help="timer, deliver, start, continue, session_event, webhook.")
@click.option("--instance", "instance_id", type=int, help="The jobs of one process instance.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@json_option
@handles_errors
def list_cmd(
    status: str | None, kind: str | None, instance_id: int | None, limit: int, as_json: bool
) -> None:
    """Jobs, newest first."""
    with transaction() as db:
        items = [
            job_view(j)
            for j in list_jobs(db, status=status, kind=kind, instance_id=instance_id, limit=limit)
        ]

    def text() -> str:
        return "\n".join(
            f"{i['id']:>7} {i['kind']:<13} {i['status']:<9} due {i['due_at']:%Y-%m-%d %H:%M:%S}"
            f" tries {i['attempts']}/{i['max_attempts']}"
            + (f"  {i['last_error']}" if i["last_error"] else "")
            for i in items
        )

    emit({"jobs": items}, as_json, text)


@jobs.command("retry")
@click.argument("job_id", type=int)
@json_option
@handles_errors
def retry_cmd(job_id: int, as_json: bool) -> None:
    """Run a failed or cancelled job again now (a dead webhook delivery: deliver it again)."""
    with transaction() as db:
        data = job_view(retry_job(db, job_id, cli_state().clock.now()))
    emit(data, as_json, f"job {job_id} is due again")


@jobs.command("cancel")
@click.argument("job_id", type=int)
@json_option
@handles_errors
def cancel_cmd(job_id: int, as_json: bool) -> None:
    """Stop a pending or failed job for good."""
    with transaction() as db:
        data = job_view(cancel_job(db, job_id, cli_state().clock.now()))
    emit(data, as_json, f"job {job_id} cancelled")
