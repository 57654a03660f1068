"""The custom parameter definitions as read-only records, read once per database transaction.

Nearly every request and process step validates, types or shows parameters, and only the admin
pages change definitions (through `parameters.get_definition`, which loads the mapped object).
Plain rows into frozen records cost half of what mapped objects cost to load, and a record
cannot be changed by mistake through a shared cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, select
from sqlalchemy.orm import Session

from bpm_livechat.models import ParamDefinition, ParamValue
from bpm_livechat.persistence.tx_cache import cached, forget, holds

_CACHE_KEY = "bpm_livechat.param_definitions"
_TABLE = cast(Table, ParamDefinition.__table__)
# Built once: building the statement costs more than finding the definitions already read.
_ALL = select(_TABLE).order_by(_TABLE.c.position, _TABLE.c.id)
_VALUES = cast(Table, ParamValue.__table__)
# Every definition with one session's stored value (a process step needs both): one statement.
_WITH_VALUES = _ALL.add_columns(
    _VALUES.c.definition_id.label("stored_for"), _VALUES.c.value.label("stored_value")
).outerjoin(
    _VALUES,
    and_(_VALUES.c.definition_id == _TABLE.c.id, _VALUES.c.session_id == bindparam("session_id")),
)


@dataclass(frozen=True, slots=True)
class Definition:
    """One custom parameter definition as stored (see models.ParamDefinition)."""

    id: int
    key: str
    label: str
    description: str
    type: str
    options: tuple[str, ...]
    option_labels: Mapping[str, str]
    constraints: Mapping[str, Any]
    position: int
    read_only: bool
    required_to_close: bool
    archived_at: datetime | None
    created_at: datetime


def definitions(db: Session, include_archived: bool = False) -> list[Definition]:
    """Custom parameter definitions in their order; archived ones only when asked."""
    every = cached(db, _CACHE_KEY, lambda: _read(db))
    return list(every) if include_archived else [d for d in every if d.archived_at is None]


def definitions_by_key(db: Session) -> dict[str, Definition]:
    """Every custom definition, archived ones included, by key (shared: read it, never change it)."""
    return cached(
        db,
        f"{_CACHE_KEY}.by_key",
        lambda: {d.key: d for d in definitions(db, include_archived=True)},
    )


def definitions_read(db: Session) -> bool:
    """True when this transaction has read the definitions already."""
    return holds(db, _CACHE_KEY)


def read_with_values(db: Session, session_id: int) -> dict[int, object]:
    """Read the definitions for this transaction and return the session's stored values
    (definition id -> JSON), both from one statement."""
    stored: dict[int, object] = {}
    records = []
    for row in db.execute(_WITH_VALUES, {"session_id": session_id}).mappings():
        fields = dict(row)
        stored_for, value = fields.pop("stored_for"), fields.pop("stored_value")
        if stored_for is not None:
            stored[stored_for] = value
        records.append(_record(fields))
    cached(db, _CACHE_KEY, lambda: records)
    return stored


def forget_definitions(db: Session) -> None:
    """A definition was added, changed, archived, restored or moved: read them again."""
    forget(db, _CACHE_KEY)


def _read(db: Session) -> list[Definition]:
    return [_record(dict(row)) for row in db.execute(_ALL).mappings()]


def _record(fields: dict[str, Any]) -> Definition:
    fields["options"] = tuple(fields["options"] or ())
    fields["constraints"] = fields["constraints"] or {}
    fields["option_labels"] = fields["option_labels"] or {}
    return Definition(**fields)
