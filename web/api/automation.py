"""Durable jobs (list, retry, cancel) and outbound webhooks (subscribe, list, pause): admins."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bpm_livechat.desk.livechats import get_live_chat
from bpm_livechat.desk.webhooks import add_webhook, events_of, list_webhooks, set_active
from bpm_livechat.errors import AccessDeniedError, ValidationError
from bpm_livechat.jobs.queue import cancel_job, list_jobs, retry_job
from bpm_livechat.models import Job, Role, User, WebhookSubscription
from web.engine import process_engine

from .automation_schemas import (
    JobList,
    JobListQuery,
    JobOut,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookOut,
)
from .spec import Registry

api = Registry()
TAG = "automation"


def _require_admin(user: User) -> None:
    if user.role != Role.ADMIN.value:
        raise AccessDeniedError("jobs and webhooks are for admins")


def _job_out(job: Job) -> JobOut:
    return JobOut.model_validate(job, from_attributes=True)


def _webhook_out(webhook: WebhookSubscription) -> dict[str, object]:
    channel = webhook.channel
    return {
        "id": webhook.id,
        "name": webhook.name,
        "url": webhook.url,
        "channel": f"{channel.live_chat.name}/{channel.name}" if channel else None,
        "events": events_of(webhook),
        "active": webhook.active,
    }


@api.operation("GET", "/jobs", summary="Durable jobs, newest first (admins)", tag=TAG,
               query=JobListQuery, response=JobList)  # fmt: skip
def list_jobs_api(db: Session, user: User, query: JobListQuery) -> JobList:
    """Timers, deliveries, automatic starts and webhook deliveries, with their tries and errors."""
    _require_admin(user)
    found = list_jobs(
        db, status=query.status, kind=query.kind, instance_id=query.instance_id, limit=query.limit
    )
    return JobList(items=[_job_out(job) for job in found])


@api.operation("POST", "/jobs/<int:job_id>/retry", summary="Run a failed job again (admins)",
               tag=TAG, response=JobOut, idempotent=True)  # fmt: skip
def retry_job_api(db: Session, user: User, job_id: int) -> JobOut:
    """A failed or cancelled job is due again now with fresh tries (a dead webhook: redeliver)."""
    _require_admin(user)
    return _job_out(retry_job(db, job_id, process_engine().clock.now()))


@api.operation("POST", "/jobs/<int:job_id>/cancel", summary="Cancel a job (admins)", tag=TAG,
               response=JobOut)  # fmt: skip
def cancel_job_api(db: Session, user: User, job_id: int) -> JobOut:
    """A pending or failed job stops for good."""
    _require_admin(user)
    return _job_out(cancel_job(db, job_id, process_engine().clock.now()))


@api.operation("GET", "/webhooks", summary="Outbound webhooks (admins)", tag=TAG,
               response=WebhookList)  # fmt: skip
def list_webhooks_api(db: Session, user: User) -> WebhookList:
    """Every webhook with its events; secrets are shown only when created."""
    _require_admin(user)
    return WebhookList(
        items=[WebhookOut.model_validate(_webhook_out(w)) for w in list_webhooks(db)]
    )


@api.operation("POST", "/webhooks", summary="Subscribe a URL to session events (admins)",
               tag=TAG, body=WebhookCreate, response=WebhookCreated, status=201)  # fmt: skip
def create_webhook_api(db: Session, user: User, body: WebhookCreate) -> WebhookCreated:
    """Link-local and cloud metadata targets are refused; the secret is shown once here."""
    _require_admin(user)
    channel = None
    if (body.live_chat is None) != (body.channel is None):
        raise ValidationError(
            "give both live_chat and channel, or neither", {"channel": "incomplete"}
        )
    if body.live_chat is not None:
        chat = get_live_chat(db, body.live_chat)
        channel = next((c for c in chat.channels if c.name == body.channel), None)
        if channel is None:
            raise ValidationError(
                f"no channel {body.channel!r} in {chat.name!r}", {"channel": "unknown"}
            )
    webhook = add_webhook(db, body.name, body.url, channel=channel, events=body.events)
    return WebhookCreated.model_validate({**_webhook_out(webhook), "secret": webhook.secret})


@api.operation("POST", "/webhooks/<int:webhook_id>/pause", summary="Pause a webhook (admins)",
               tag=TAG, response=WebhookOut)  # fmt: skip
def pause_webhook_api(db: Session, user: User, webhook_id: int) -> WebhookOut:
    """Nothing is delivered to it until it is resumed."""
    _require_admin(user)
    return WebhookOut.model_validate(_webhook_out(set_active(db, webhook_id, False)))


@api.operation("POST", "/webhooks/<int:webhook_id>/resume", summary="Resume a webhook (admins)",
               tag=TAG, response=WebhookOut)  # fmt: skip
def resume_webhook_api(db: Session, user: User, webhook_id: int) -> WebhookOut:
    """Deliveries start again (those written while paused are not sent)."""
    _require_admin(user)
    return WebhookOut.model_validate(_webhook_out(set_active(db, webhook_id, True)))
