"""Custom parameter types: the one validation and normalisation path for every writer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TypeAlias

from bpm_livechat.errors import ParameterValueError, ValidationError
from bpm_livechat.params.parsing import (
    INDEX_TEXT_LENGTH,
    MAX_STRING_LENGTH,
    PARSERS,
    Money,
    ValueRejected,
    has_control,
)

__all__ = [
    "CHOICE_TYPES",
    "JSONValue",
    "Money",
    "ParamType",
    "convert",
    "format_value",
    "from_json",
    "index_text",
    "index_values",
    "normalize",
    "to_json",
    "validate_options",
]


class ParamType(StrEnum):
    """The type of a custom parameter; the value is the name stored and shown."""

    STRING = "string"
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    MONEY = "money"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"
    CHOICE = "choice"
    MULTICHOICE = "multichoice"


CHOICE_TYPES = frozenset({ParamType.CHOICE, ParamType.MULTICHOICE})
JSONValue: TypeAlias = str | int | bool | list[str] | dict[str, str] | None


def normalize(
    key: str, type_: ParamType, raw: object, options: Sequence[str] = ()
) -> object | None:
    """The canonical value of `raw` for parameter `key`, None when empty; else ParameterValueError."""
    type_ = ParamType(type_)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if type_ is ParamType.MULTICHOICE and isinstance(raw, list | tuple) and not raw:
        return None
    try:
        return PARSERS[type_](raw.strip() if isinstance(raw, str) else raw, options)
    except ValueRejected as rejected:
        raise ParameterValueError(key, type_.value, raw, rejected.reason) from None


def _plain(value: Decimal) -> str:
    return format(value, "f")


def to_json(type_: ParamType, value: object | None) -> JSONValue:
    """The JSON form of a normalised value: Decimal as text, Money as a dict, dates as ISO text."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, Money):
        return {"amount": _plain(value.amount), "currency": value.currency}
    if isinstance(value, Decimal):
        return _plain(value)
    if isinstance(value, date):  # datetime included
        return value.isoformat()
    if isinstance(value, list):
        return [str(item) for item in value]
    raise TypeError(f"not a normalised {type_.value} value: {value!r}")


def from_json(type_: ParamType, data: object) -> object | None:
    """The Python value of stored JSON `data`: the exact inverse of to_json."""
    match type_, data:
        case _, None:
            return None
        case ParamType.MONEY, {"amount": str(amount), "currency": str(currency)}:
            return Money(Decimal(amount), currency)
        case ParamType.MULTICHOICE, list(items) if all(isinstance(i, str) for i in items):
            return list(items)
        case ParamType.BOOLEAN, bool():
            return data
        case ParamType.INTEGER, int() if not isinstance(data, bool):
            return data
        case ParamType.DECIMAL, str():
            return Decimal(data)
        case ParamType.DATE, str():
            return date.fromisoformat(data)
        case ParamType.DATETIME, str():
            return datetime.fromisoformat(data)
        case ((ParamType.STRING | ParamType.TEXT | ParamType.EMAIL), str()):
            return data
        case ((ParamType.PHONE | ParamType.URL | ParamType.CHOICE), str()):
            return data
    raise ValueError(f"stored data does not fit type {type_.value}: {data!r}")


def index_text(text: str) -> str:
    """How text is indexed: lower-cased, first 255 characters; apply it to filter operands too."""
    return text.lower()[:INDEX_TEXT_LENGTH]


def index_values(type_: ParamType, value: object | None) -> tuple[str | None, Decimal | None]:
    """The (text, number) index columns for a normalised value, used to filter and sort sessions.

    Numbers sort by the number column: integer, decimal, boolean (0/1) and money (its amount; the
    currency code goes in the text column, so money can be filtered by currency). Dates and
    datetimes index as fixed-width ISO text in UTC, so text order is chronological. Everything
    else indexes as `index_text` (lower-cased, first 255 characters) for case-insensitive equals,
    contains and sorting; multichoice joins its options with "\\n", so "has option X" is a match of
    "\\nX\\n" against "\\n" + text + "\\n". Long text is searchable only in its first 255 characters.
    """
    if value is None:
        return None, None
    if isinstance(value, Money):
        return value.currency.lower(), value.amount
    if isinstance(value, bool):
        return None, Decimal(int(value))
    if isinstance(value, int | Decimal):
        return None, Decimal(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds"), None
    if isinstance(value, date):
        return value.isoformat(), None
    if isinstance(value, list):
        return index_text("\n".join(value)), None
    if isinstance(value, str):
        return index_text(value), None
    raise TypeError(f"not a normalised {type_.value} value: {value!r}")


def format_value(
    type_: ParamType, value: object | None, labels: Mapping[str, str] | None = None
) -> str:
    """Human display text: "1,234.50 EUR", "2026-11-24 10:30 UTC", "Yes", "a, b"; "" when empty.
    A choice shows its option's label when `labels` has one ("Follow-up" for follow_up)."""
    if value is None:
        return ""
    if labels and type_ in CHOICE_TYPES:
        chosen = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(str(v), str(v)) for v in chosen)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Money):
        places = max(2, -int(value.amount.as_tuple().exponent))
        return f"{value.amount:,.{places}f} {value.currency}"
    if isinstance(value, int | Decimal):
        return f"{value:,}" if isinstance(value, int) else f"{value:,f}"
    if isinstance(value, datetime):
        v = value.astimezone(UTC)
        return f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d} UTC"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(value)
    return str(value)


def _text_form(value: object) -> object:
    """The value as text another type can parse: "true", "12.50", "12.50 EUR", ISO dates, "a, b"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Money):
        return f"{_plain(value.amount)} {value.currency}"
    if isinstance(value, list):
        return ", ".join(value)
    json_form = to_json(ParamType.STRING, value)
    return json_form if isinstance(json_form, str) else str(json_form)


def convert(
    key: str,
    from_type: ParamType,
    to_type: ParamType,
    value: object,
    options: Sequence[str] = (),
) -> object | None:
    """`value` (normalised as `from_type`) as a `to_type` value, or ParameterValueError."""
    if value is None or from_type == to_type:
        return normalize(key, to_type, value, options)
    if to_type == ParamType.INTEGER and isinstance(value, Decimal) and value % 1 == 0:
        return normalize(key, to_type, int(value), options)  # 12.00 -> 12
    if to_type == ParamType.CHOICE and isinstance(value, list):
        if len(value) > 1:
            raise ParameterValueError(key, to_type.value, value, "more than one option chosen")
        value = value[0]
    return normalize(key, to_type, _text_form(value), options)


def validate_options(type_: ParamType, options: Sequence[str]) -> list[str]:
    """The cleaned option list of a definition, or ValidationError with an "options" field."""
    cleaned = [o.strip() if isinstance(o, str) else o for o in options]
    reason = _options_problem(type_, cleaned)
    if reason:
        raise ValidationError(
            f"invalid options for a {type_.value} parameter: {reason}", {"options": reason}
        )
    return [str(o) for o in cleaned]


def _options_problem(type_: ParamType, options: Sequence[object]) -> str | None:
    if type_ not in CHOICE_TYPES:
        return "only choice and multichoice parameters have options" if options else None
    if not options:
        return "at least one option is needed"
    seen: set[str] = set()
    for option in options:
        if not isinstance(option, str) or not option:
            return "options must be non-empty text"
        if len(option) > MAX_STRING_LENGTH:
            return f"option longer than {MAX_STRING_LENGTH} characters: {option[:20]!r}..."
        if has_control(option):
            return f"option contains control characters: {option!r}"
        if option.lower() in seen:
            return f"duplicate option: {option!r}"
        seen.add(option.lower())
    return None
