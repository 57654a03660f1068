"""Start and task forms (camunda:formData): typed fields, server-side validation and prefill."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from bpm_livechat.errors import ParameterValueError, ValidationError
from bpm_livechat.params.types import ParamType, normalize

FIELD_TYPES = ("string", "long", "boolean", "date", "enum")
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
MAX_FORM_TEXT = 10_000

ParamSpecs = Mapping[str, tuple[ParamType, tuple[str, ...]]]

_LONG_RE = re.compile(r"[+-]?[0-9]{1,19}")
_CAMUNDA_DATE_RE = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
_TRUE = frozenset({"true", "on", "yes", "1"})
_FALSE = frozenset({"false", "off", "no", "0"})


@dataclass(frozen=True)
class FormOption:
    """One choice of an enum field: the stored id and the label shown."""

    id: str
    name: str


@dataclass(frozen=True)
class FormField:
    """A camunda:formField with its constraints; `default` is the raw defaultValue text."""

    id: str
    label: str
    type: str = "string"
    options: tuple[FormOption, ...] = ()
    required: bool = False
    minlength: int | None = None
    maxlength: int | None = None
    min: int | date | None = None
    max: int | date | None = None
    readonly: bool = False
    pattern: str | None = None
    default: str | None = None
    prefill: str | None = None  # a PREFILL_SOURCES name (camunda:property name="prefill")
    line: int | None = field(default=None, compare=False)

    @property
    def option_ids(self) -> tuple[str, ...]:
        return tuple(option.id for option in self.options)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, stored in the task spec's extensions (and so in saved workflows)."""
        return {
            "id": self.id,
            "label": self.label,
            "type": self.type,
            "options": [[o.id, o.name] for o in self.options],
            "required": self.required,
            "minlength": self.minlength,
            "maxlength": self.maxlength,
            "min": _bound_to_json(self.min),
            "max": _bound_to_json(self.max),
            "readonly": self.readonly,
            "pattern": self.pattern,
            "default": self.default,
            "prefill": self.prefill,
            "line": self.line,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FormField:
        """The inverse of to_dict."""
        type_ = str(data["type"])
        return cls(
            id=str(data["id"]),
            label=str(data["label"]),
            type=type_,
            options=tuple(FormOption(str(i), str(n)) for i, n in data.get("options", ())),
            required=bool(data.get("required")),
            minlength=data.get("minlength"),
            maxlength=data.get("maxlength"),
            min=_bound_from_json(type_, data.get("min")),
            max=_bound_from_json(type_, data.get("max")),
            readonly=bool(data.get("readonly")),
            pattern=data.get("pattern"),
            default=data.get("default"),
            prefill=data.get("prefill"),
            line=data.get("line"),
        )


def _bound_to_json(value: int | date | None) -> int | str | None:
    return value.isoformat() if isinstance(value, date) else value


def _bound_from_json(type_: str, value: object) -> int | date | None:
    if value is None:
        return None
    if type_ == "date" and isinstance(value, str):
        return date.fromisoformat(value)
    return int(value) if isinstance(value, int | str) else None


class FieldRejected(Exception):
    """Internal: one value does not fit its field; `reason` is the short explanation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_date(raw: object) -> date:
    """A date from a date object, ISO text (YYYY-MM-DD) or Camunda's dd/MM/yyyy."""
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        camunda = _CAMUNDA_DATE_RE.fullmatch(text)
        if camunda:
            text = f"{camunda.group(3)}-{camunda.group(2)}-{camunda.group(1)}"
        try:
            if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
                return date.fromisoformat(text)
        except ValueError:
            raise FieldRejected("not a valid calendar date") from None
    raise FieldRejected("not a date (YYYY-MM-DD)")


def convert_value(form_field: FormField, raw: object) -> object:
    """The typed value of a non-empty raw value for the field's own type, or FieldRejected."""
    kind = form_field.type
    if kind == "long":
        if isinstance(raw, int) and not isinstance(raw, bool):
            value = raw
        elif isinstance(raw, str) and _LONG_RE.fullmatch(raw.strip()):
            value = int(raw.strip())
        else:
            raise FieldRejected("not a whole number")
        if not LONG_MIN <= value <= LONG_MAX:
            raise FieldRejected("outside the 64-bit integer range")
        return value
    if kind == "boolean":
        return _to_bool(raw)
    if kind == "date":
        return parse_date(raw)
    if not isinstance(raw, str):
        raise FieldRejected("not text")
    text = raw.strip()
    if kind == "enum" and text not in form_field.option_ids:
        raise FieldRejected("not one of: " + ", ".join(form_field.option_ids))
    if len(text) > MAX_FORM_TEXT:
        raise FieldRejected(f"longer than {MAX_FORM_TEXT:,} characters")
    return text


def _to_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    word = raw.strip().lower() if isinstance(raw, str) else raw
    if word in _TRUE or word == 1:
        return True
    if word in _FALSE or word == 0:
        return False
    raise FieldRejected("not a yes/no value")


def check_constraints(form_field: FormField, value: object) -> None:
    """Apply minlength, maxlength, pattern, min and max to a typed value, or FieldRejected."""
    if isinstance(value, str):
        if form_field.minlength is not None and len(value) < form_field.minlength:
            raise FieldRejected(f"shorter than {form_field.minlength} characters")
        if form_field.maxlength is not None and len(value) > form_field.maxlength:
            raise FieldRejected(f"longer than {form_field.maxlength} characters")
        if form_field.pattern is not None and not re.fullmatch(form_field.pattern, value):
            raise FieldRejected("does not match the required pattern")
    comparable = isinstance(value, int | float) and not isinstance(value, bool)
    comparable = comparable or isinstance(value, date)
    if not comparable:
        return
    low, high = form_field.min, form_field.max
    if low is not None and type(low) is type(value) and value < low:  # type: ignore[operator]
        raise FieldRejected(f"less than the minimum {_shown(low)}")
    if high is not None and type(high) is type(value) and value > high:  # type: ignore[operator]
        raise FieldRejected(f"greater than the maximum {_shown(high)}")


def _shown(bound: int | date) -> str:
    return bound.isoformat() if isinstance(bound, date) else str(bound)


def _is_empty(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip()) or raw == []


def _field_value(form_field: FormField, raw: object, param_specs: ParamSpecs) -> object:
    """The typed value of one submitted field (None when empty), or FieldRejected."""
    if form_field.type == "boolean" and form_field.id not in param_specs and _is_empty(raw):
        raw = False  # an unchecked checkbox sends nothing
    if _is_empty(raw):
        if form_field.required:
            raise FieldRejected("required")
        return None
    spec = param_specs.get(form_field.id)
    if spec is not None:
        param_type, options = spec
        try:
            value = normalize(form_field.id, param_type, raw, options)
        except ParameterValueError as exc:
            raise FieldRejected(exc.reason) from None
    else:
        value = convert_value(form_field, raw)
    if form_field.required and value is False and form_field.type == "boolean":
        raise FieldRejected("required")
    check_constraints(form_field, value)
    return value


def default_value(form_field: FormField, param_specs: ParamSpecs | None = None) -> object:
    """The typed defaultValue of a field, or None when it has none (or it does not fit)."""
    if form_field.default is None:
        return None
    try:
        return _field_value(
            replace(form_field, required=False), form_field.default, param_specs or {}
        )
    except FieldRejected:
        return None


def validate_form(
    fields: tuple[FormField, ...] | list[FormField],
    submitted: Mapping[str, object],
    param_specs: ParamSpecs,
    *,
    shown: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """Typed task data for a submitted form, or ValidationError listing every field error at once.

    Keys that are not fields of the form are dropped, so a submission cannot inject task data.
    A readonly field keeps the value it was shown with (`shown`, e.g. the prefill) or its
    default, whatever was submitted; a field missing from the submission takes its default; an
    empty field is None.
    """
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    for form_field in fields:
        if form_field.readonly:
            fixed = (shown or {}).get(form_field.id)
            values[form_field.id] = (
                fixed if fixed is not None else default_value(form_field, param_specs)
            )
            continue
        raw = submitted.get(form_field.id)
        if form_field.id not in submitted and form_field.default is not None:
            raw = form_field.default
        try:
            values[form_field.id] = _field_value(form_field, raw, param_specs)
        except FieldRejected as exc:
            errors[form_field.id] = exc.reason
    if errors:
        names = ", ".join(errors)
        raise ValidationError(f"{len(errors)} form field(s) are invalid: {names}", errors)
    return values


def prefill(
    fields: tuple[FormField, ...] | list[FormField],
    session_params: Mapping[str, object],
    system: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """Initial values of a start form, by one rule: the session's value of the parameter with
    the field's id; else the session's value its `prefill` property names (`client.email`...);
    else the field's default."""
    values: dict[str, object] = {}
    for form_field in fields:
        current = session_params.get(form_field.id)
        if current is None and form_field.prefill and system:
            current = system.get(form_field.prefill) or None
        values[form_field.id] = current if current is not None else default_value(form_field)
    return values


PREFILL_SOURCES = (
    "client.name",
    "client.email",
    "client.phone",
    "subject",
    "operator.name",
    "live_chat.name",
    "channel.name",
)
