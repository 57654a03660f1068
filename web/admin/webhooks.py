"""Outbound webhooks (admins): subscribe a URL per channel, pause it, and see and redeliver what
could not be delivered."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from bpm_livechat.desk.livechats import list_live_chats
from bpm_livechat.desk.webhooks import EVENTS, add_webhook, events_of, list_webhooks, set_active
from bpm_livechat.errors import ValidationError
from bpm_livechat.jobs.queue import list_jobs, retry_job
from bpm_livechat.models import Channel, JobStatus
from web.admin import admin_blueprint, field_errors, saved
from web.db import form_post, get_db, writes
from web.engine import process_engine

bp = admin_blueprint("admin_webhooks", __name__, "/admin/webhooks")
EVENT_LABELS = {
    "message": "Outgoing messages (operators and processes)",
    "created": "Session created",
    "closed": "Session closed",
    "assigned": "Session assigned",
    "parameter_changed": "Parameter changed",
}


def _page(status: int = 200, **context: Any) -> ResponseReturnValue:
    db = get_db()
    channels = [
        (c, f"{chat.name} / {c.name}") for chat in list_live_chats(db) for c in chat.channels
    ]
    page = render_template(
        "admin_webhooks.html",
        webhooks=[(w, events_of(w)) for w in list_webhooks(db)],
        channels=channels,
        events=EVENT_LABELS,
        failed=list_jobs(db, status=JobStatus.FAILED.value, kind="webhook", limit=50),
        recent=list_jobs(db, kind="webhook", limit=20),
        errors=context.pop("errors", {}),
        form=context.pop("form", {}),
        **context,
    )
    return page, status


@bp.get("")
def index() -> ResponseReturnValue:
    """Every webhook, the deliveries that failed for good, and the latest deliveries."""
    return _page()


def _form() -> dict[str, Any]:
    return {
        "name": request.form.get("name", ""),
        "url": request.form.get("url", ""),
        "channel": request.form.get("channel", ""),
        "events": request.form.getlist("events"),
    }


def _create_refused(exc: ValidationError) -> ResponseReturnValue:
    return _page(422, errors=field_errors(exc, "url"), form=_form())


@bp.post("")
@form_post(_create_refused)
def create() -> ResponseReturnValue:
    """Subscribe a URL; the page then shows its secret once."""
    db, form = get_db(), _form()
    channel = None
    if form["channel"]:
        found = (
            db.scalar(select(Channel).where(Channel.id == int(form["channel"])))
            if form["channel"].isdigit()
            else None
        )
        if found is None:
            raise ValidationError("choose a channel", {"channel": "choose a channel"})
        channel = found
    unknown = [e for e in form["events"] if e not in EVENTS]
    if unknown:
        raise ValidationError("unknown event", {"events": f"unknown event {unknown[0]!r}"})
    webhook = add_webhook(db, form["name"], form["url"], channel=channel, events=form["events"])
    return _page(201, created=webhook)


@bp.post("/<id:webhook_id>/active")
@writes
def active(webhook_id: int) -> ResponseReturnValue:
    """Pause or resume a webhook."""
    on = request.form.get("active") == "1"
    webhook = set_active(get_db(), webhook_id, on)
    return saved(f"Webhook “{webhook.name}” {'resumed' if on else 'paused'}.", ".index")


@bp.post("/deliveries/<id:job_id>/redeliver")
@writes
def redeliver(job_id: int) -> ResponseReturnValue:
    """Deliver a failed delivery again now, with fresh tries."""
    retry_job(get_db(), job_id, process_engine().clock.now())
    return saved(f"Delivery {job_id} is due again.", ".index")
