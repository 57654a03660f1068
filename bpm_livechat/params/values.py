"""Custom parameter values of a session: one validated, all-or-nothing write path, with history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from bpm_livechat.errors import SystemParameterError, ValidationError
from bpm_livechat.live.feed import LiveKind, publish
from bpm_livechat.models import ParamHistory, ParamValue, SupportSession, utcnow
from bpm_livechat.params.actors import Actor
from bpm_livechat.params.catalogue import SYSTEM_KEYS
from bpm_livechat.params.constraints import check_value
from bpm_livechat.params.definitions import (
    Definition,
    definitions,
    definitions_by_key,
    definitions_read,
    read_with_values,
)
from bpm_livechat.params.types import ParamType, from_json, index_values, normalize, to_json


@dataclass(frozen=True)
class ParamChange:
    """One applied change: the typed old and new value of one key."""

    key: str
    old: object
    new: object


def normalize_changes(
    db: Session, changes: Mapping[str, object], actor: Actor | None = None
) -> dict[str, object]:
    """Validate and normalise a changeset; every problem is reported at once, by key."""
    by_key = definitions_by_key(db)
    normalized: dict[str, object] = {}
    errors: list[ValidationError] = []
    for key, raw in changes.items():
        try:
            normalized[key] = _normalize_one(by_key, key, raw, actor)
        except ValidationError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        fields = {k: v for e in errors for k, v in e.fields.items()}
        raise ValidationError("; ".join(e.message for e in errors), fields)
    return normalized


def _normalize_one(
    by_key: Mapping[str, Definition], key: str, raw: object, actor: Actor | None
) -> object:
    if key in SYSTEM_KEYS:
        raise SystemParameterError(key, "changed")
    definition = by_key.get(key)
    if definition is None:
        raise ValidationError(f"unknown parameter {key!r}", {key: "unknown parameter"})
    if definition.archived_at is not None:
        raise ValidationError(f"parameter {key!r} is archived", {key: "archived"})
    if definition.read_only and actor is not None and not actor.may_write_read_only:
        raise ValidationError(
            f"parameter {key!r} is read-only: only processes and admins set it", {key: "read-only"}
        )
    type_ = ParamType(definition.type)
    value = normalize(key, type_, raw, definition.options)
    check_value(key, type_, definition.constraints, value)
    return value


# Plain table statements, built once: the ORM layer would double the cost of these hot reads
# and writes (every step of every process instance), and they return no objects.
_VALUES = cast(Table, ParamValue.__table__)
_HISTORY = cast(Table, ParamHistory.__table__)
_INSERT_VALUES = insert(_VALUES)
_INSERT_HISTORY = insert(_HISTORY)
_SESSIONS = cast(Table, SupportSession.__table__)
_STORED = select(_VALUES.c.definition_id, _VALUES.c.value).where(
    _VALUES.c.session_id == bindparam("session_id")
)
# FOR NO KEY UPDATE, not FOR UPDATE: it queues the session's steps and value writers the same,
# but not the inserts that only reference the session (a message's foreign key check takes FOR
# KEY SHARE), so message ingest does not wait for a step that runs scripts (issue 18, item 5).
_LOCK_SESSION = (
    select(_SESSIONS.c.version)
    .where(_SESSIONS.c.id == bindparam("session_id"))
    .with_for_update(key_share=True)
)
_SESSION_VERSION = select(_SESSIONS.c.version).where(_SESSIONS.c.id == bindparam("session_id"))


def read_for_update(db: Session, session_id: int) -> dict[int, object]:
    """The session's stored values (definition id -> JSON), read with its row locked.

    Concurrent writers of the same session queue on the lock, so values read here are the ones
    a write in this transaction replaces. The read is a statement of its own: one that waited
    for the lock would still see the values from before the other writer's commit (PostgreSQL,
    read committed). SQLite has no row locks (a writing transaction holds the whole database
    from its first statement, see db.py), so there the lock statement would be a plain read.
    """
    if db.get_bind().dialect.name != "sqlite":
        db.execute(_LOCK_SESSION, {"session_id": session_id})
    return read_stored(db, session_id)


def lock_session(db: Session, session_id: int) -> int | None:
    """Lock the session's row for writing its values (see `read_for_update`); its version now."""
    statement = _SESSION_VERSION if db.get_bind().dialect.name == "sqlite" else _LOCK_SESSION
    return db.execute(statement, {"session_id": session_id}).scalar_one_or_none()


def read_stored(db: Session, session_id: int) -> dict[int, object]:
    """The session's stored values (definition id -> JSON), without a lock."""
    if not definitions_read(db):  # a step reads them next: one statement for both
        return read_with_values(db, session_id)
    rows = db.execute(_STORED, {"session_id": session_id})
    return {definition_id: value for definition_id, value in rows}


def set_parameters(
    db: Session, session: SupportSession, changes: Mapping[str, object], actor: Actor
) -> dict[str, ParamChange]:
    """Validate, then apply all changes and their history entries; nothing is written on error."""
    normalized = normalize_changes(db, changes, actor)
    return apply_normalized(db, session, normalized, actor)


def apply_normalized(
    db: Session,
    session: SupportSession,
    normalized: Mapping[str, object],
    actor: Actor,
    *,
    stored: Mapping[int, object] | None = None,
    actors: Mapping[str, Actor] | None = None,
) -> dict[str, ParamChange]:
    """Write an already-validated changeset; unchanged values write no history.

    `stored` is what `read_for_update` returned earlier in this transaction (read now when
    None); `actors` names another author than `actor` for some keys in their history.
    """
    if stored is None:
        stored = read_for_update(db, session.id)
    definitions = definitions_by_key(db)
    applied: dict[str, ParamChange] = {}
    now = utcnow()
    inserts: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    deletes: list[int] = []
    history: list[dict[str, object]] = []
    for key, new in normalized.items():
        definition = definitions[key]
        type_ = ParamType(definition.type)
        old_json = stored.get(definition.id)
        new_json = to_json(type_, new)
        if old_json == new_json:
            continue
        if new is None:
            deletes.append(definition.id)
        else:
            text_value, number_value = index_values(type_, new)
            row: dict[str, object] = {
                "session_id": session.id,
                "definition_id": definition.id,
                "value": new_json,
                "text_value": text_value,
                "number_value": number_value,
                "updated_at": now,
            }
            (updates if definition.id in stored else inserts).append(row)
        by = actors.get(key, actor) if actors else actor
        history.append(_history(session, definition, old_json, new_json, by, now))
        old = from_json(type_, old_json) if old_json is not None else None
        applied[key] = ParamChange(key, old, new)
    # One statement per kind of write (executemany), whatever the number of keys; the plain
    # inserts do not flush by themselves, so whatever they refer to is flushed first.
    db.flush()
    if deletes:
        db.execute(
            delete(ParamValue).where(
                ParamValue.session_id == session.id, ParamValue.definition_id.in_(deletes)
            )
        )
    if updates:
        db.execute(update(ParamValue), updates)
    if inserts:
        db.execute(_INSERT_VALUES, inserts)
    if history:
        db.execute(_INSERT_HISTORY, history)
        by_whom = "process" if actor.is_process else "person"
        changed = {"keys": sorted(applied), "by": by_whom}
        publish(db, LiveKind.PARAMETERS_CHANGED, session.id, session.live_chat_id, changed)
    return applied


def _history(
    session: SupportSession,
    definition: Definition,
    old_json: object,
    new_json: object,
    actor: Actor,
    now: object,
) -> dict[str, object]:
    return {
        "session_id": session.id,
        "definition_id": definition.id,
        "key": definition.key,
        "old_value": old_json,
        "new_value": new_json,
        "actor_user_id": actor.user.id if actor.user is not None else None,
        "instance_id": actor.instance_id,
        "process_id": actor.process_id,
        "process_version": actor.process_version,
        "task_id": actor.task_id,
        "task_name": actor.task_name,
        "changed_at": now,
    }


def get_parameters(
    db: Session, session_id: int, include_archived: bool = False
) -> dict[str, object]:
    """The session's custom parameter values, typed, keyed by parameter key, in catalogue order."""
    rows = db.execute(_STORED, {"session_id": session_id})
    return typed_values(
        db, {definition_id: value for definition_id, value in rows}, include_archived
    )


def typed_values(
    db: Session, stored: Mapping[int, object], include_archived: bool = False
) -> dict[str, object]:
    """Stored values (definition id -> JSON) typed and keyed like `get_parameters` returns them."""
    return {
        d.key: from_json(ParamType(d.type), stored[d.id])
        for d in definitions(db, include_archived)
        if d.id in stored
    }


def parameter_history(db: Session, session_id: int, key: str | None = None) -> list[ParamHistory]:
    """The changes of one session's parameters (or of one key), oldest first."""
    query = select(ParamHistory).where(ParamHistory.session_id == session_id)
    if key is not None:
        query = query.where(ParamHistory.key == key)
    return list(db.scalars(query.order_by(ParamHistory.id)))
