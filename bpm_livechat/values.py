"""Custom parameter values of a session: one validated, all-or-nothing write path, with history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from .actors import Actor
from .errors import SystemParameterError, ValidationError
from .models import ParamDefinition, ParamHistory, ParamValue, SupportSession, utcnow
from .param_types import ParamType, from_json, index_values, normalize, to_json
from .parameters import SYSTEM_KEYS, definitions, definitions_by_key


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
    by_key: Mapping[str, ParamDefinition], key: str, raw: object, actor: Actor | None
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
    return normalize(key, ParamType(definition.type), raw, definition.options)


def lock_session(db: Session, session_id: int) -> SupportSession:
    """Load the session with a row lock so concurrent writers queue instead of losing updates."""
    query = select(SupportSession).where(SupportSession.id == session_id).with_for_update()
    return db.execute(query.execution_options(populate_existing=True)).scalar_one()


def set_parameters(
    db: Session, session: SupportSession, changes: Mapping[str, object], actor: Actor
) -> dict[str, ParamChange]:
    """Validate, then apply all changes and their history entries; nothing is written on error."""
    normalized = normalize_changes(db, changes, actor)
    return apply_normalized(db, session, normalized, actor)


def apply_normalized(
    db: Session, session: SupportSession, normalized: Mapping[str, object], actor: Actor
) -> dict[str, ParamChange]:
    """Write an already-validated changeset; unchanged values write no history."""
    lock_session(db, session.id)
    definitions = definitions_by_key(db)
    rows = {
        row.definition_id: row
        for row in db.scalars(select(ParamValue).where(ParamValue.session_id == session.id))
    }
    applied: dict[str, ParamChange] = {}
    now = utcnow()
    inserts: list[dict[str, object]] = []
    history: list[dict[str, object]] = []
    for key, new in normalized.items():
        definition = definitions[key]
        type_ = ParamType(definition.type)
        row = rows.get(definition.id)
        old_json = row.value if row is not None else None
        new_json = to_json(type_, new)
        if old_json == new_json:
            continue
        if new is None:
            if row is not None:
                db.delete(row)
        elif row is None:
            text_value, number_value = index_values(type_, new)
            inserts.append(
                {
                    "session_id": session.id,
                    "definition_id": definition.id,
                    "value": new_json,
                    "text_value": text_value,
                    "number_value": number_value,
                    "updated_at": now,
                }
            )
        else:
            row.value = new_json
            row.text_value, row.number_value = index_values(type_, new)
            row.updated_at = now
        history.append(_history(session, definition, old_json, new_json, actor, now))
        old = from_json(type_, old_json) if old_json is not None else None
        applied[key] = ParamChange(key, old, new)
    db.flush()
    # One multi-row INSERT each instead of one statement per value and per history entry.
    if inserts:
        db.execute(insert(ParamValue), inserts)
    if history:
        db.execute(insert(ParamHistory), history)
    return applied


def _history(
    session: SupportSession,
    definition: ParamDefinition,
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
    rows = db.execute(
        select(ParamValue.definition_id, ParamValue.value).where(
            ParamValue.session_id == session_id
        )
    )
    stored: dict[int, object] = {definition_id: value for definition_id, value in rows}
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
