"""The parameter catalogue: fixed system parameters and the admin-defined custom parameters."""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bpm_livechat.errors import NotFoundError, SystemParameterError, ValidationError
from bpm_livechat.models import ParamDefinition, ParamValue, Priority, Status, utcnow
from bpm_livechat.params.choices import parse_choice
from bpm_livechat.params.constraints import parse_constraints, violation
from bpm_livechat.params.definitions import Definition, definitions, forget_definitions
from bpm_livechat.params.types import (
    ParamType,
    convert,
    from_json,
    index_values,
    to_json,
    validate_options,
)

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class ParameterInfo:
    """One entry of the catalogue, system or custom, as the CLI, web and API show it."""

    key: str
    label: str
    type: str
    system: bool
    archived: bool = False
    description: str = ""
    options: tuple[str, ...] = ()
    option_labels: Mapping[str, str] = field(default_factory=dict)
    constraints: Mapping[str, Any] = field(default_factory=dict)
    position: int = 0
    read_only: bool = False
    required_to_close: bool = False


SYSTEM_PARAMETERS: tuple[ParameterInfo, ...] = tuple(
    ParameterInfo(key, label, type_, system=True, options=options, read_only=True, position=i)
    for i, (key, label, type_, options) in enumerate(
        [
            ("live_chat", "Live chat", "string", ()),
            ("channel", "Channel", "string", ()),
            ("client", "Client", "string", ()),
            ("operator", "Operator", "string", ()),
            ("priority", "Priority", "choice", tuple(p.value for p in Priority)),
            ("status", "Status", "choice", tuple(s.value for s in Status)),
            ("subject", "Subject", "string", ()),
            ("created_at", "Created", "datetime", ()),
            ("closed_at", "Closed", "datetime", ()),
            ("name", "Name", "string", ()),
        ],
        start=1,
    )
)
SYSTEM_KEYS = frozenset(p.key for p in SYSTEM_PARAMETERS) | {"id"}


def info(definition: ParamDefinition | Definition) -> ParameterInfo:
    """The catalogue entry of a custom parameter definition."""
    return ParameterInfo(
        key=definition.key,
        label=definition.label,
        type=definition.type,
        system=False,
        archived=definition.archived_at is not None,
        description=definition.description,
        options=tuple(definition.options or ()),
        option_labels=dict(definition.option_labels or {}),
        constraints=dict(definition.constraints or {}),
        position=definition.position,
        read_only=definition.read_only,
        required_to_close=definition.required_to_close,
    )


def list_parameters(db: Session, include_archived: bool = True) -> list[ParameterInfo]:
    """System parameters first, then custom ones in their order."""
    return [*SYSTEM_PARAMETERS, *(info(d) for d in definitions(db, include_archived))]


def get_definition(db: Session, key: str, action: str = "changed") -> ParamDefinition:
    """The custom definition `key`; a system key raises SystemParameterError, unknown NotFoundError."""
    if key in SYSTEM_KEYS:
        raise SystemParameterError(key, action)
    definition = db.scalar(select(ParamDefinition).where(ParamDefinition.key == key))
    if definition is None:
        raise NotFoundError("parameter", key)
    return definition


def parse_type(type_name: str) -> ParamType:
    """The ParamType named `type_name`, or a ValidationError listing the valid ones."""
    return parse_choice(ParamType, type_name, "type", "parameter type")


def _check_label(label: str) -> str:
    label = label.strip()
    if not label or len(label) > 255:
        raise ValidationError(
            "label must have 1 to 255 characters", {"label": "1 to 255 characters"}
        )
    return label


def add_parameter(
    db: Session,
    key: str,
    type_name: str,
    label: str,
    *,
    description: str = "",
    options: Sequence[str] = (),
    read_only: bool = False,
    required_to_close: bool = False,
    constraints: Mapping[str, object] | None = None,
    option_labels: Mapping[str, str] | None = None,
) -> ParamDefinition:
    """Define a new custom parameter for all sessions of all live chats."""
    if key in SYSTEM_KEYS:
        raise SystemParameterError(key, "shadowed")
    if not KEY_PATTERN.match(key) or keyword.iskeyword(key):
        raise ValidationError(
            f"invalid key {key!r}: use a lower-case identifier (letters, digits, '_'), up to 64 characters",
            {"key": "not a lower-case identifier"},
        )
    existing = db.scalar(select(ParamDefinition).where(ParamDefinition.key == key))
    if existing is not None:
        hint = " (archived: restore it instead)" if existing.archived_at else ""
        raise ValidationError(f"parameter {key!r} already exists{hint}", {"key": "already exists"})
    type_ = parse_type(type_name)
    last = db.scalar(select(func.max(ParamDefinition.position))) or 0
    checked_options = validate_options(type_, options)
    definition = ParamDefinition(
        key=key,
        label=_check_label(label),
        description=description.strip(),
        type=type_.value,
        options=checked_options,
        option_labels=check_option_labels(checked_options, option_labels or {}),
        constraints=parse_constraints(type_, constraints or {}),
        position=last + 1,
        read_only=read_only,
        required_to_close=required_to_close,
    )
    db.add(definition)
    db.flush()
    forget_definitions(db)
    return definition


def update_parameter(
    db: Session,
    key: str,
    *,
    label: str | None = None,
    description: str | None = None,
    type_name: str | None = None,
    options: Sequence[str] | None = None,
    position: int | None = None,
    read_only: bool | None = None,
    required_to_close: bool | None = None,
    constraints: Mapping[str, object] | None = None,
    option_labels: Mapping[str, str] | None = None,
) -> ParamDefinition:
    """Change a definition; a type change, option removal or new constraint must fit every
    stored value. `constraints` replaces them all (an empty mapping clears them)."""
    definition = get_definition(db, key)
    if label is not None:
        definition.label = _check_label(label)
    if description is not None:
        definition.description = description.strip()
    new_type = parse_type(type_name) if type_name is not None else ParamType(definition.type)
    if options is not None:
        new_options = validate_options(new_type, options)
    elif new_type.value == definition.type:
        new_options = list(definition.options)
    else:
        kept = definition.options if new_type in _CHOICE_TYPES else []
        new_options = validate_options(new_type, kept)
    if new_type.value != definition.type:
        _convert_values(db, definition, new_type, new_options)
    else:
        _check_removed_options(db, definition, new_options)
    new_constraints = parse_constraints(
        new_type, definition.constraints if constraints is None else constraints
    )
    if new_constraints != definition.constraints or new_type.value != definition.type:
        _check_constraints(db, definition, new_type, new_constraints)
    if option_labels is None:  # kept, but not for options that are gone
        option_labels = {k: v for k, v in definition.option_labels.items() if k in new_options}
    definition.option_labels = check_option_labels(new_options, option_labels)
    definition.type = new_type.value
    definition.options = new_options
    definition.constraints = new_constraints
    if read_only is not None:
        definition.read_only = read_only
    if required_to_close is not None:
        definition.required_to_close = required_to_close
    if position is not None:
        _move(db, definition, position)
    db.flush()
    forget_definitions(db)
    return definition


_CHOICE_TYPES = frozenset({ParamType.CHOICE, ParamType.MULTICHOICE})


def _values_of(db: Session, definition: ParamDefinition) -> list[ParamValue]:
    return list(db.scalars(select(ParamValue).where(ParamValue.definition_id == definition.id)))


def _convert_values(
    db: Session, definition: ParamDefinition, new_type: ParamType, options: Sequence[str]
) -> None:
    old_type = ParamType(definition.type)
    rows = _values_of(db, definition)
    converted: list[tuple[ParamValue, object]] = []
    failures: list[str] = []
    for row in rows:
        try:
            value = convert(
                definition.key, old_type, new_type, from_json(old_type, row.value), options
            )
        except ValidationError:
            failures.append(repr(row.value))
            continue
        converted.append((row, value))
    if failures:
        example = ", ".join(failures[:3])
        raise ValidationError(
            f"cannot change {definition.key!r} from {old_type} to {new_type}: {len(failures)} of "
            f"{len(rows)} stored values would not convert (e.g. {example})",
            {"type": f"{len(failures)} values would not convert"},
        )
    for row, value in converted:
        if value is None:
            db.delete(row)
            continue
        row.value = to_json(new_type, value)
        row.text_value, row.number_value = index_values(new_type, value)


def check_option_labels(options: Sequence[str], labels: Mapping[str, str]) -> dict[str, str]:
    """The labels people read for options, each naming an existing option (1 to 255
    characters); a label equal to its key is left out."""
    checked: dict[str, str] = {}
    for key, label in labels.items():
        if key not in options:
            raise ValidationError(
                f"label for {key!r}, which is not an option", {"options": f"no option {key!r}"}
            )
        text = " ".join(str(label).split())
        if not text or len(text) > 255:
            raise ValidationError(
                f"the label of option {key!r} must have 1 to 255 characters",
                {"options": f"label of {key!r}: 1 to 255 characters"},
            )
        if text != key:
            checked[key] = text
    return checked


def split_option_labels(entries: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Options written as `key` or `key = Label` (the admin form, `--option`): keys and labels."""
    options: list[str] = []
    labels: dict[str, str] = {}
    for entry in entries:
        key, sep, label = entry.partition("=")
        key = key.strip()
        options.append(key)
        if sep and label.strip():
            labels[key] = label.strip()
    return options, labels


def _check_constraints(
    db: Session, definition: ParamDefinition, type_: ParamType, constraints: Mapping[str, Any]
) -> None:
    """Refuse constraints that stored values break, naming how many and an example."""
    if not constraints:
        return
    broken = []
    for row in _values_of(db, definition):
        reason = violation(type_, constraints, from_json(type_, row.value))
        if reason is not None:
            broken.append(f"session {row.session_id}: {row.value!r} {reason}")
    if broken:
        raise ValidationError(
            f"cannot constrain {definition.key!r}: {len(broken)} stored values break the "
            f"constraints (e.g. {'; '.join(broken[:3])})",
            {"constraints": f"{len(broken)} stored values break them"},
        )


def _check_removed_options(
    db: Session, definition: ParamDefinition, options: Sequence[str]
) -> None:
    removed = set(definition.options) - set(options)
    if not removed:
        return
    in_use = 0
    for row in _values_of(db, definition):
        used = row.value if isinstance(row.value, list) else [row.value]
        if removed.intersection(used):
            in_use += 1
    if in_use:
        names = ", ".join(sorted(removed))
        raise ValidationError(
            f"cannot remove option(s) {names} of {definition.key!r}: {in_use} sessions use them",
            {"options": f"{in_use} sessions use a removed option"},
        )


def _move(db: Session, definition: ParamDefinition, position: int) -> None:
    every = db.scalars(
        select(ParamDefinition).order_by(ParamDefinition.position, ParamDefinition.id)
    )
    ordered = [d for d in every if d.id != definition.id]
    index = max(0, min(position - 1, len(ordered)))
    ordered.insert(index, definition)
    for number, item in enumerate(ordered, start=1):
        item.position = number


def archive_parameter(db: Session, key: str) -> ParamDefinition:
    """Hide a parameter from forms and lists; its values are kept and it can be restored."""
    definition = get_definition(db, key, "archived")
    if definition.archived_at is None:
        definition.archived_at = utcnow()
    db.flush()
    forget_definitions(db)
    return definition


def restore_parameter(db: Session, key: str) -> ParamDefinition:
    """Bring an archived parameter back with its values."""
    definition = get_definition(db, key, "restored")
    definition.archived_at = None
    db.flush()
    forget_definitions(db)
    return definition
