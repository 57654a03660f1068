"""What a step does to its session besides parameters, in the step's transaction: the process's
replies to the client, a priority a script set, the session events others may care about, and
what the instance now waits for (its waits, and the timer job that wakes it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, insert
from sqlalchemy.orm import Session

from bpm_livechat.clock import Clock
from bpm_livechat.jobs.queue import cancel_pending, enqueue
from bpm_livechat.live.feed import LiveKind, publish
from bpm_livechat.models import (
    AuthorKind,
    InstanceStatus,
    InstanceWait,
    Message,
    Priority,
    ProcessInstance,
    SessionHistory,
    SupportSession,
    User,
)
from bpm_livechat.params.choices import parse_choice
from bpm_livechat.processes.engine.engine import StepResult, Wait
from bpm_livechat.processes.engine.script_environment import TaskRef
from bpm_livechat.routing.triggers import Reason, route_if_needed
from bpm_livechat.sessions.events import SessionEvent, record_event, record_parameter_changes
from bpm_livechat.sessions.messages import message_row

TIMER_JOB = "timer"
CONTINUE_JOB = "continue"
_WAITS = cast(Table, InstanceWait.__table__)
_MESSAGES = cast(Table, Message.__table__)


def waits_after(result: StepResult) -> list[Wait]:
    """What the instance waits for after the step (nothing once it completed)."""
    return [] if result.status == InstanceStatus.COMPLETED.value else list(result.waits)


def listed(waits: Sequence[Wait]) -> list[dict[str, Any]]:
    """Waits as the instance row keeps them (`waiting_for`)."""
    return [_listed(wait) for wait in waits]


def apply_effects(
    db: Session,
    clock: Clock,
    instance: ProcessInstance,
    session: SupportSession,
    result: StepResult,
    process_name: Callable[[], str],
    user: User,
    changed_keys: Sequence[str],
    previous_waits: Sequence[dict[str, Any]],
) -> None:
    """Store the replies, apply the priority, record the events and save the waits; the
    instance's `waiting_for` is already set (`listed`), `previous_waits` is what it was."""
    now = clock.now()
    if result.replies:
        ids = _save_replies(db, session, process_name(), result.replies, now)
        origin = {"instance_id": instance.id, "message_ids": ids}
        record_event(db, clock, SessionEvent.PROCESS_MESSAGE, session.id, origin)
    if result.priority is not None:
        _apply_priority(db, session, instance, result.priority, process_name(), user, now)
    record_parameter_changes(db, clock, session.id, changed_keys, instance.id)
    route_if_needed(db, clock, session, Reason.PARAMETER_CHANGED, changed_keys)
    save_waits(db, clock, instance, waits_after(result), previous_waits)


def _save_replies(
    db: Session,
    session: SupportSession,
    process_name: str,
    replies: Sequence[tuple[TaskRef, str]],
    now: datetime,
) -> list[int]:
    """Put the process's messages to the client in the session's thread, in order; their ids."""
    ids = []
    for _ref, text in replies:
        row = message_row(session.id, None, text, AuthorKind.PROCESS.value, None, now)
        statement = insert(_MESSAGES).values({**row, "author_name": process_name})
        ids.append(db.execute(statement.returning(_MESSAGES.c.id)).scalar_one())
    return ids  # each announced to open pages by the database (a trigger: see live.feed)


def _apply_priority(
    db: Session,
    session: SupportSession,
    instance: ProcessInstance,
    priority: tuple[TaskRef, str],
    process_name: str,
    user: User,
    now: datetime,
) -> None:
    ref, level = priority
    new = parse_choice(Priority, level, "priority").value
    old = session.priority
    if new == old:
        return
    session.priority = new
    changed = {"what": "priority"}
    publish(db, LiveKind.SESSION_CHANGED, session.id, session.live_chat_id, changed)
    where = f"{process_name} ({ref.name or ref.element_id})"
    db.add(
        SessionHistory(
            session_id=session.id,
            kind="priority",
            summary=f"Priority {old} -> {new}, set by {where}",
            detail={"old": old, "new": new, "element_id": ref.element_id},
            actor_user_id=user.id,
            instance_id=instance.id,
            created_at=now,
        )
    )


def save_waits(
    db: Session,
    clock: Clock,
    instance: ProcessInstance,
    waits: Sequence[Wait],
    previous: Sequence[dict[str, Any]],
) -> None:
    """Store what the instance waits for, and (re)schedule the job that wakes it."""
    if listed(waits) == list(previous):
        return  # nothing changed: the waits and the jobs stand (most task completions)
    if previous:
        db.execute(delete(_WAITS).where(_WAITS.c.instance_id == instance.id))
        cancel_pending(db, instance.id, (TIMER_JOB,), clock.now())
    if not waits:
        return
    rows = [
        {
            "instance_id": instance.id,
            "session_id": instance.session_id,
            "kind": wait.kind,
            "name": wait.name[:255],
            "element_id": wait.element_id[:255],
            "due_at": wait.due,
        }
        for wait in waits
    ]
    db.execute(insert(_WAITS), rows)
    _schedule(db, clock, instance, waits)


def _schedule(db: Session, clock: Clock, instance: ProcessInstance, waits: Sequence[Wait]) -> None:
    dues = [wait.due for wait in waits if wait.kind == "timer" and wait.due is not None]
    if dues:
        due = min(dues)
        key = f"{TIMER_JOB}:{instance.id}:{due.isoformat()}"
        enqueue(db, TIMER_JOB, due_at=due, instance_id=instance.id,
                session_id=instance.session_id, dedupe_key=key)  # fmt: skip
    if any(wait.kind == "continue" for wait in waits):
        enqueue(db, CONTINUE_JOB, due_at=clock.now(), instance_id=instance.id,
                session_id=instance.session_id)  # fmt: skip


def _listed(wait: Wait) -> dict[str, Any]:
    due = wait.due.isoformat() if wait.due is not None else None
    return {"kind": wait.kind, "element_id": wait.element_id, "name": wait.name,
            "label": wait.label, "due": due}  # fmt: skip


def clear_waits(db: Session, clock: Clock, instance: ProcessInstance) -> None:
    """Forget what an instance that stopped (cancelled, failed) waited for; cancel its timer."""
    if instance.waiting_for:
        db.execute(delete(_WAITS).where(_WAITS.c.instance_id == instance.id))
        cancel_pending(db, instance.id, (TIMER_JOB, CONTINUE_JOB), clock.now())
        instance.waiting_for = []
