"""The live feed: `publish` a change in the writer's transaction; readers tail it by id.

A row is written in the transaction of the change it announces, so a page never hears of a
change that rolled back, and never misses one that committed. On PostgreSQL a statement
trigger on the table notifies `LIVE_CHANNEL` at commit (migration 0010), so listeners on every
machine wake at once; SQLite listeners poll. Rows are pruned by age (`prune`).

Messages are the exception to `publish`: a trigger on `messages` (same migration) adds each
one's MESSAGE event in the statement that stored it, so the ingest's hot path spends no round
trip on it and no writer can forget it. Process steps are announced the same way, by a trigger
on the step log (migration 0015).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import JSON, Integer, Table, bindparam, delete, func, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from bpm_livechat.models import LiveEvent, SupportSession, utcnow

LIVE_EVENTS = cast(Table, LiveEvent.__table__)
LIVE_CHANNEL = "bpm_livechat_live"  # the PostgreSQL channel the table's trigger notifies
KEEP_FOR = timedelta(hours=1)  # a page offline for longer reloads its parts instead of replaying
READ_LIMIT = 500
_COLUMNS = ["kind", "session_id", "live_chat_id", "data", "created_at"]


class LiveKind(enum.StrEnum):
    """What a live event announces."""

    MESSAGE = "message"  # data: message_ids, author_kind (written by the messages trigger)
    SESSION_CREATED = "session_created"  # a new (queued) session
    SESSION_CHANGED = "session_changed"  # data: what (assigned, closed, renamed, priority...)
    PARAMETERS_CHANGED = "parameters_changed"  # data: keys, by ("process" or "person")
    # data: instance_id, step, status (written by the process_instance_steps trigger, 0015)
    PROCESS_STEP = "process_step"


@dataclass(frozen=True)
class FeedRow:
    """One event as readers see it."""

    id: int
    kind: str
    session_id: int | None
    live_chat_id: int | None
    data: dict[str, Any]


def publish(
    db: Session,
    kind: LiveKind,
    session_id: int | None,
    live_chat_id: int | None = None,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Announce a change to open pages, in the caller's transaction (delivered once it commits).

    Without `live_chat_id` the session's live chat is looked up inside the same INSERT."""
    row = {"kind": kind.value, "data": dict(data or {}), "created_at": utcnow()}
    if live_chat_id is not None or session_id is None:
        db.execute(
            insert(LIVE_EVENTS), {**row, "session_id": session_id, "live_chat_id": live_chat_id}
        )
        return
    db.execute(_insert_for_session(), {**row, "session_id": session_id})


@functools.cache  # built once: building the statement costs more than running it
def _insert_for_session() -> Insert:
    chat = select(
        bindparam("kind"),
        SupportSession.id,
        SupportSession.live_chat_id,
        bindparam("data", type_=JSON),
        bindparam("created_at", type_=LIVE_EVENTS.c.created_at.type),
    ).where(SupportSession.id == bindparam("session_id", type_=Integer))
    return insert(LIVE_EVENTS).from_select(_COLUMNS, chat)


def read_after(db: Session, after_id: int, limit: int = READ_LIMIT) -> list[FeedRow]:
    """The events with an id above `after_id`, oldest first, at most `limit`."""
    query = (
        select(LIVE_EVENTS)
        .where(LIVE_EVENTS.c.id > after_id)
        .order_by(LIVE_EVENTS.c.id)
        .limit(limit)
    )
    return [
        FeedRow(r.id, r.kind, r.session_id, r.live_chat_id, dict(r.data or {}))
        for r in db.execute(query)
    ]


def newest_id(db: Session) -> int:
    """The id of the newest event (0 when the feed is empty): where a new reader starts."""
    return int(db.scalar(select(func.coalesce(func.max(LIVE_EVENTS.c.id), 0))) or 0)


def oldest_id(db: Session) -> int | None:
    """The id of the oldest event kept, or None when the feed is empty."""
    oldest = db.scalar(select(func.min(LIVE_EVENTS.c.id)))
    return None if oldest is None else int(oldest)


def prune(db: Session, now: datetime, keep_for: timedelta = KEEP_FOR) -> int:
    """Delete events older than `keep_for` but the newest; how many went."""
    # The newest row stays: SQLite numbers a new row after the highest one left, and an empty
    # table would start again at 1, behind every reader's cursor.
    newest = select(func.max(LIVE_EVENTS.c.id)).scalar_subquery()
    old = delete(LIVE_EVENTS).where(
        LIVE_EVENTS.c.created_at < now - keep_for, LIVE_EVENTS.c.id < newest
    )
    result = db.execute(old)
    return int(getattr(result, "rowcount", 0) or 0)
