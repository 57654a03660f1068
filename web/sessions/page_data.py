"""Plain data for the session page: typed parameter rows with their history, and form inputs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from bpm_livechat.models import ParamHistory, SupportSession, User
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.catalogue import SYSTEM_PARAMETERS
from bpm_livechat.params.definitions import Definition, definitions
from bpm_livechat.params.types import Money, ParamType, format_value, from_json
from bpm_livechat.params.values import get_parameters, parameter_history
from bpm_livechat.sessions.lifecycle import system_values

_NAIVE_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")


@dataclass(frozen=True)
class Change:
    """One history entry, formatted: when, who (a person or a process task), old and new."""

    when: str
    who: str
    old: str
    new: str
    instance_id: int | None = None  # the process instance that made it, linked to its page


@dataclass
class ParamRow:
    """One custom parameter on the session page."""

    key: str
    label: str
    type: str
    text: str
    form_value: Any
    options: tuple[tuple[str, str], ...]  # (key, label)
    editable: bool
    read_only: bool
    description: str = ""
    history: list[Change] = field(default_factory=list)


def system_rows(session: SupportSession) -> list[tuple[str, str, str]]:
    """(key, label, formatted value) of the system parameters and the client's contact details."""
    values = system_values(session)
    rows = [
        (p.key, p.label, format_value(ParamType(p.type), values[p.key]))
        for p in SYSTEM_PARAMETERS
        if p.key != "name"
    ]
    client = session.client
    rows.insert(3, ("client_email", "Client email", client.email or ""))
    rows.insert(4, ("client_phone", "Client phone", client.phone or ""))
    return rows


def param_rows(db: Session, session: SupportSession, user: User) -> list[ParamRow]:
    """The active custom parameters with values, whether `user` may edit them, and history."""
    values = get_parameters(db, session.id)
    defs = definitions(db)
    history = _history(db, session.id, {d.key: d for d in definitions(db, include_archived=True)})
    may_write_read_only = user_actor(user).may_write_read_only
    rows = []
    for d in defs:
        type_ = ParamType(d.type)
        value = values.get(d.key)
        rows.append(
            ParamRow(
                key=d.key,
                label=d.label,
                type=d.type,
                text=format_value(type_, value, d.option_labels),
                form_value=form_value(type_, value),
                options=tuple((o, d.option_labels.get(o, o)) for o in d.options or ()),
                editable=not d.read_only or may_write_read_only,
                read_only=d.read_only,
                description=d.description,
                history=history.get(d.key, []),
            )
        )
    return rows


def _history(
    db: Session, session_id: int, by_key: Mapping[str, Definition]
) -> dict[str, list[Change]]:
    changes: dict[str, list[Change]] = {}
    for entry in reversed(parameter_history(db, session_id)):
        definition = by_key.get(entry.key)
        if definition is None:
            continue
        type_ = ParamType(definition.type)
        changes.setdefault(entry.key, []).append(
            Change(
                when=format_value(ParamType.DATETIME, entry.changed_at),
                who=_who(entry),
                old=_shown(type_, entry.old_value, definition.option_labels),
                new=_shown(type_, entry.new_value, definition.option_labels),
                instance_id=entry.instance_id if entry.process_id else None,
            )
        )
    return changes


def _shown(type_: ParamType, stored: object, labels: Mapping[str, str]) -> str:
    try:
        return format_value(type_, from_json(type_, stored), labels) or "—"
    except ValueError:  # stored under an earlier type of the parameter
        return str(stored)


def _who(entry: ParamHistory) -> str:
    person = entry.actor_user.display_name if entry.actor_user else None
    if entry.process_id:
        version = f" v{entry.process_version}" if entry.process_version else ""
        task = f", task “{entry.task_name or entry.task_id}”" if entry.task_id else ""
        started = f" (started by {person})" if person else ""
        return f"process {entry.process_id}{version}{task}{started}"
    return person or "system"


def form_value(type_: ParamType, value: object) -> Any:
    """A stored value as an edit form shows it (the inverse of `submitted_value`)."""
    if value is None:
        return [] if type_ is ParamType.MULTICHOICE else ""
    if isinstance(value, Money):
        return f"{value.amount} {value.currency}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return list(value)
    return str(value)


def submitted_value(type_: ParamType, form: MultiDict[str, str], name: str = "value") -> Any:
    """The raw value an edit form sent, ready for the core's validation."""
    if type_ is ParamType.MULTICHOICE:
        return form.getlist(name)
    raw = form.get(name, "")
    if type_ is ParamType.DATETIME and _NAIVE_LOCAL.match(raw.strip()):
        return raw.strip() + "+00:00"  # the page shows and takes times in UTC
    return raw
