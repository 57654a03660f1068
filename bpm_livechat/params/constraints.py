"""Constraints on a parameter's values beyond its type: ranges, lengths and a pattern.

A definition keeps them as a small JSON object: `min` / `max` for numbers, money (its amount),
dates and times; `min_length` / `max_length` for strings and texts; `pattern` (a regular
expression the whole value must match) for strings. `parse_constraints` checks them when an
admin sets them; `check_value` applies them to every write, from any surface or a script.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from bpm_livechat.errors import ParameterValueError, ValidationError
from bpm_livechat.params.parsing import MAX_STRING_LENGTH, MAX_TEXT_LENGTH, Money
from bpm_livechat.params.types import ParamType, format_value, normalize, to_json

RANGE_TYPES = frozenset(
    {ParamType.INTEGER, ParamType.DECIMAL, ParamType.MONEY, ParamType.DATE, ParamType.DATETIME}
)
LENGTH_TYPES = {ParamType.STRING: MAX_STRING_LENGTH, ParamType.TEXT: MAX_TEXT_LENGTH}
PATTERN_TYPES = frozenset({ParamType.STRING})
NAMES = ("min", "max", "min_length", "max_length", "pattern")
MAX_PATTERN_LENGTH = 200
# A repeated group that itself ends in a repetition, like (a+)+ or (\w*)*: on a near miss, the
# regular expression engine tries every way to split the text, which can take longer than the
# age of the universe. Such patterns are refused when they are set.
_NESTED_REPEAT = re.compile(r"\((?:[^()\\]|\\.)*[+*}]\)[+*{]")


def parse_constraints(type_: ParamType, raw: Mapping[str, object]) -> dict[str, Any]:
    """The stored form of the constraints in `raw` for a parameter of `type_` (empty values
    are left out); a ValidationError names each field that is wrong."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for name in NAMES:
        value = raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        try:
            out[name] = _parse_one(type_, name, value)
        except ValueError as exc:
            errors[name] = str(exc)
    unknown = sorted(set(raw) - set(NAMES))
    for name in unknown:
        errors[name] = f"unknown constraint (use {', '.join(NAMES)})"
    if not errors:
        errors.update(_inconsistent(type_, out))
    if errors:
        message = "; ".join(f"{name}: {problem}" for name, problem in errors.items())
        raise ValidationError(f"invalid constraints: {message}", errors)
    return out


def _parse_one(type_: ParamType, name: str, value: object) -> Any:
    if name in ("min", "max"):
        if type_ not in RANGE_TYPES:
            raise ValueError(f"a {type_.value} parameter has no range")
        if type_ is ParamType.MONEY:  # an amount, with or without a currency ("100", "100 EUR")
            try:
                amount = _bound(ParamType.DECIMAL, name, value)
            except ValueError:
                amount = cast(Money, _bound(ParamType.MONEY, name, value)).amount
            return to_json(ParamType.DECIMAL, amount)
        return to_json(type_, _bound(type_, name, value))
    if name in ("min_length", "max_length"):
        if type_ not in LENGTH_TYPES:
            raise ValueError(f"a {type_.value} parameter has no length limits")
        length = _whole(value)
        if not 0 <= length <= LENGTH_TYPES[type_]:
            raise ValueError(f"must be 0 to {LENGTH_TYPES[type_]}")
        return length
    if type_ not in PATTERN_TYPES:
        raise ValueError(f"only string parameters take a pattern, not {type_.value}")
    return _pattern(value)


def _bound(type_: ParamType, name: str, value: object) -> object:
    try:
        parsed = normalize(name, type_, value)
    except ParameterValueError as exc:
        raise ValueError(exc.reason) from None
    if parsed is None:
        raise ValueError("empty")
    return parsed


def _whole(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ValueError("not a whole number")


def _pattern(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("not text")
    if len(value) > MAX_PATTERN_LENGTH:
        raise ValueError(f"longer than {MAX_PATTERN_LENGTH} characters")
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    if _NESTED_REPEAT.search(value):
        raise ValueError(
            "a repeated group that ends in a repetition, like (a+)+, can take forever to "
            "check; repeat only once, like a+"
        )
    return value


def _inconsistent(type_: ParamType, c: Mapping[str, Any]) -> dict[str, str]:
    errors = {}
    if "min" in c and "max" in c and _ordered(type_, c["min"]) > _ordered(type_, c["max"]):
        errors["max"] = "is below min"
    if c.get("min_length", 0) > c.get("max_length", c.get("min_length", 0)):
        errors["max_length"] = "is below min_length"
    return errors


def _ordered(type_: ParamType, stored: Any) -> Any:
    """A stored bound as a value that compares (numbers as Decimal, dates as dates)."""
    if type_ in (ParamType.DECIMAL, ParamType.MONEY):
        return Decimal(stored)
    if type_ is ParamType.DATE:
        return date.fromisoformat(stored)
    if type_ is ParamType.DATETIME:
        return datetime.fromisoformat(stored)
    return stored


def violation(type_: ParamType, constraints: Mapping[str, Any], value: object) -> str | None:
    """Why a normalised value breaks the constraints (in words a user reads), or None."""
    if not constraints or value is None:
        return None
    compared = value.amount if isinstance(value, Money) else value
    for name in ("min", "max"):
        if name in constraints:
            bound = _ordered(type_, constraints[name])
            if compared < bound if name == "min" else compared > bound:
                return (
                    f"must be {'at least' if name == 'min' else 'at most'} {_shown(type_, bound)}"
                )
    if isinstance(value, str):
        if len(value) < constraints.get("min_length", 0):
            return f"must have at least {constraints['min_length']} characters"
        if "max_length" in constraints and len(value) > constraints["max_length"]:
            return f"must have at most {constraints['max_length']} characters"
        if "pattern" in constraints and not re.fullmatch(constraints["pattern"], value):
            return f"does not match the pattern {constraints['pattern']}"
    return None


def _shown(type_: ParamType, bound: Any) -> str:
    if type_ is ParamType.MONEY:
        return format(bound, "f")
    return format_value(type_, bound)


def check_value(key: str, type_: ParamType, constraints: Mapping[str, Any], value: object) -> None:
    """Raise ParameterValueError naming `key` when `value` breaks its constraints."""
    reason = violation(type_, constraints, value)
    if reason is not None:
        raise ParameterValueError(key, type_.value, to_json(type_, value), reason)


def describe(type_: ParamType, constraints: Mapping[str, Any]) -> str:
    """The constraints in a short sentence for forms and lists ("1 to 5", "at most 20 characters")."""
    parts = []
    low, high = constraints.get("min"), constraints.get("max")
    if low is not None and high is not None:
        parts.append(
            f"{_shown(type_, _ordered(type_, low))} to {_shown(type_, _ordered(type_, high))}"
        )
    elif low is not None:
        parts.append(f"at least {_shown(type_, _ordered(type_, low))}")
    elif high is not None:
        parts.append(f"at most {_shown(type_, _ordered(type_, high))}")
    short, long_ = constraints.get("min_length"), constraints.get("max_length")
    if short is not None and long_ is not None:
        parts.append(f"{short} to {long_} characters")
    elif short is not None:
        parts.append(f"at least {short} characters")
    elif long_ is not None:
        parts.append(f"at most {long_} characters")
    if "pattern" in constraints:
        parts.append(f"matching {constraints['pattern']}")
    return "; ".join(parts)
