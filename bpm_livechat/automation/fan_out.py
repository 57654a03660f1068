"""A session event, fanned out: one start job per bound process, one delivery per waiting
instance, one webhook delivery per subscriber, all written in one transaction with the event
job marked done, so each is written exactly once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.clock import Clock
from bpm_livechat.desk.webhooks import subscribers
from bpm_livechat.jobs.queue import ClaimedJob, enqueue
from bpm_livechat.models import InstanceWait, Message, SupportSession, WaitKind
from bpm_livechat.processes.autostart import start_plans
from bpm_livechat.sessions.events import ROUTES, SessionEvent
from bpm_livechat.sessions.lifecycle import get_session, system_values

START_JOB = "start"
DELIVER_JOB = "deliver"
WEBHOOK_JOB = "webhook"
WEBHOOK_TRIES = 12  # with backoff capped at 5 minutes: about 25 minutes of retries
WEBHOOK_EVENTS = {
    SessionEvent.SESSION_CREATED: "session.created",
    SessionEvent.OPERATOR_MESSAGE: "message.created",
    SessionEvent.PROCESS_MESSAGE: "message.created",
    SessionEvent.SESSION_CLOSED: "session.closed",
    SessionEvent.SESSION_ASSIGNED: "session.assigned",
    SessionEvent.PARAMETER_CHANGED: "session.parameter_changed",
}


def fan_out(clock: Clock, db: Session, job: ClaimedJob) -> None:
    """Write the work a `session_event` job stands for (see the module's docstring)."""
    event = SessionEvent(job.payload["event"])
    route = ROUTES[event]
    assert job.session_id is not None
    session = get_session(db, job.session_id)
    messages = _messages(db, job.payload)
    now = clock.now()
    if route.autostart:
        text = messages[0].text if messages else None
        for process_id, variables in start_plans(db, event, session, text):
            start = {"process_id": process_id, "variables": variables, "event": event.value}
            enqueue(db, START_JOB, due_at=now, session_id=session.id, payload=start,
                    dedupe_key=f"{START_JOB}:{job.id}:{process_id}")  # fmt: skip
    if route.message is not None:
        data = _message_data(event, job.payload, messages)
        for instance_id in _waiting(db, session.id, route.message, job.payload.get("instance_id")):
            delivery = {"message": route.message, "data": data}
            enqueue(db, DELIVER_JOB, due_at=now, session_id=session.id, instance_id=instance_id,
                    payload=delivery, dedupe_key=f"{DELIVER_JOB}:{job.id}:{instance_id}")  # fmt: skip
    if route.webhook is not None:
        body = webhook_body(job.id, event, session, messages, job.payload, now)
        for webhook in subscribers(db, route.webhook, session.channel_id):
            post = {"webhook_id": webhook.id, "event": body["event"], "body": body}
            enqueue(db, WEBHOOK_JOB, due_at=now, session_id=session.id, payload=post,
                    max_attempts=WEBHOOK_TRIES, dedupe_key=f"{WEBHOOK_JOB}:{job.id}:{webhook.id}")  # fmt: skip


def _messages(db: Session, payload: dict[str, Any]) -> list[Message]:
    ids = payload.get("message_ids") or ([payload["message_id"]] if "message_id" in payload else [])
    if not ids:
        return []
    return list(db.scalars(select(Message).where(Message.id.in_(ids)).order_by(Message.id)))


def _message_data(
    event: SessionEvent, payload: dict[str, Any], messages: list[Message]
) -> dict[str, object]:
    """What a delivered message puts into the waiting instance's task data."""
    if messages:
        return {"message_text": messages[0].text}
    if event is SessionEvent.PARAMETER_CHANGED:
        return {"changed_parameters": list(payload.get("keys", []))}
    return {}


def _waiting(db: Session, session_id: int, message: str, origin: object) -> list[int]:
    """The instances of the session waiting for `message`, oldest first (not the one whose
    own step caused the event)."""
    query = (
        select(InstanceWait.instance_id)
        .where(
            InstanceWait.session_id == session_id,
            InstanceWait.kind == WaitKind.MESSAGE.value,
            InstanceWait.name == message,
        )
        .distinct()
        .order_by(InstanceWait.instance_id)
    )
    return [instance_id for instance_id in db.scalars(query) if instance_id != origin]


def webhook_body(
    event_id: int,
    event: SessionEvent,
    session: SupportSession,
    messages: list[Message],
    payload: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """The JSON a webhook receives: the event, when, the session, and the messages or keys."""
    system = {
        k: v.isoformat() if isinstance(v, datetime) else v
        for k, v in system_values(session).items()
    }
    body: dict[str, Any] = {
        "id": event_id,
        "event": WEBHOOK_EVENTS[event],
        "occurred_at": now.isoformat(),
        "session": {"id": session.id, **system, "client_email": session.client.email},
    }
    if messages:
        body["messages"] = [
            {
                "id": m.id,
                "author_kind": m.author_kind,
                "author_name": m.author_name,
                "text": m.text,
                "sent_at": m.sent_at.isoformat(),
            }
            for m in messages
        ]
    if event is SessionEvent.PARAMETER_CHANGED:
        body["changed_parameters"] = list(payload.get("keys", []))
    return body
