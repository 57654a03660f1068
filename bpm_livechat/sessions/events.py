"""Session events and who may care about them: bound processes, waiting instances, webhooks.

Whatever happens to a session (created, a client's or an operator's message, a process's reply,
closed, assigned, a parameter changed) is recorded as one `session_event` job in the same
transaction, but only when some process is bound to the event, some instance of the session
waits for its message, or some webhook subscribes to it: the common case costs no row. A worker
then fans the job out into automatic starts, message deliveries and webhook deliveries.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, bindparam, exists, false, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from bpm_livechat.clock import Clock
from bpm_livechat.jobs.queue import enqueue
from bpm_livechat.models import EventBinding, InstanceWait, WaitKind, WebhookSubscription

SESSION_EVENT_JOB = "session_event"


class SessionEvent(StrEnum):
    """What can happen to a session."""

    SESSION_CREATED = "session_created"
    MESSAGE_RECEIVED = "message_received"  # a client's message
    OPERATOR_MESSAGE = "operator_message"
    PROCESS_MESSAGE = "process_message"  # a process's reply to the client
    SESSION_CLOSED = "session_closed"
    SESSION_ASSIGNED = "session_assigned"
    PARAMETER_CHANGED = "parameter_changed"


@dataclass(frozen=True)
class EventRoute:
    """Who may care about an event: processes bound to it (`autostart`), instances waiting for
    the message named `message`, and webhooks whose `webhook` flag is set."""

    autostart: bool
    message: str | None
    webhook: InstrumentedAttribute[bool] | None


ROUTES: dict[SessionEvent, EventRoute] = {
    SessionEvent.SESSION_CREATED: EventRoute(True, None, WebhookSubscription.on_created),
    SessionEvent.MESSAGE_RECEIVED: EventRoute(True, "client_message", None),
    SessionEvent.OPERATOR_MESSAGE: EventRoute(False, "operator_message", WebhookSubscription.on_message),
    SessionEvent.PROCESS_MESSAGE: EventRoute(False, None, WebhookSubscription.on_message),
    SessionEvent.SESSION_CLOSED: EventRoute(True, "session_closed", WebhookSubscription.on_closed),
    SessionEvent.SESSION_ASSIGNED: EventRoute(False, None, WebhookSubscription.on_assigned),
    SessionEvent.PARAMETER_CHANGED: EventRoute(
        False, "parameter_changed", WebhookSubscription.on_parameter_changed
    ),
}  # fmt: skip
# The events a process can be bound to (an automatic start on a parameter change could loop).
BINDABLE_EVENTS = tuple(event for event, route in ROUTES.items() if route.autostart)
# The messages of the conversation a process can wait for (receive tasks, message catches).
CONVERSATION_MESSAGES = tuple(route.message for route in ROUTES.values() if route.message)


def anyone_listens(event: SessionEvent, session_id: Any) -> ColumnElement[bool]:
    """SQL: some process, waiting instance or webhook may care about `event` of the session
    (`session_id` a value or a column, to ask inside a statement that runs anyway)."""
    route = ROUTES[event]
    clauses: list[ColumnElement[bool]] = []
    if route.autostart:
        clauses.append(exists().where(EventBinding.event == event.value))
    if route.message is not None:
        waiting = exists().where(
            InstanceWait.session_id == session_id,
            InstanceWait.kind == WaitKind.MESSAGE.value,
            InstanceWait.name == route.message,
        )
        clauses.append(waiting)
    if route.webhook is not None:
        subscribed = exists().where(WebhookSubscription.active, route.webhook)
        clauses.append(subscribed)
    return or_(*clauses) if clauses else false()


@functools.cache  # built once per set of events: building costs more than running
def _question(events: tuple[SessionEvent, ...]) -> Select[*tuple[Any, ...]]:
    session_id = bindparam("session_id", type_=Integer)
    columns = [anyone_listens(event, session_id) for event in events]
    return select(*columns)


def event_payload(event: SessionEvent, data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The payload of a `session_event` job: the event and its facts (message id and text...)."""
    return {"event": event.value, **dict(data or {})}


def record_event(
    db: Session,
    clock: Clock,
    event: SessionEvent,
    session_id: int,
    data: Mapping[str, Any] | None = None,
) -> bool:
    """Record `event` for the workers when anyone may care; True when a job was written."""
    return record_events(db, clock, session_id, [(event, data)]) == [True]


def record_parameter_changes(
    db: Session, clock: Clock, session_id: int, keys: Iterable[str], instance_id: int | None = None
) -> bool:
    """Record that the session's parameters `keys` changed (by a person, or by `instance_id`'s
    step); nothing when no key changed. True when a job was written."""
    changed = sorted(keys)
    if not changed:
        return False
    data: dict[str, Any] = {"keys": changed}
    if instance_id is not None:
        data["instance_id"] = instance_id
    return record_event(db, clock, SessionEvent.PARAMETER_CHANGED, session_id, data)


def record_events(
    db: Session,
    clock: Clock,
    session_id: int,
    events: Sequence[tuple[SessionEvent, Mapping[str, Any] | None]],
) -> list[bool]:
    """`record_event` for several events of one session, asking who cares in one statement."""
    question = _question(tuple(event for event, _data in events))
    answers = [bool(answer) for answer in db.execute(question, {"session_id": session_id}).one()]
    now = clock.now()
    for (event, data), listened in zip(events, answers, strict=True):
        if listened:
            payload = event_payload(event, data)
            enqueue(db, SESSION_EVENT_JOB, due_at=now, session_id=session_id, payload=payload)
    return answers
