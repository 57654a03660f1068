"""What a routing rule tests: a system or custom parameter, an operator, a value.

Conditions are validated when a rule is saved (an unknown key, a value of the wrong type, an
option that does not exist, an operator the type does not offer), naming the field; the stored
value is canonical JSON, so evaluating a rule parses nothing but the session's own values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from bpm_livechat.errors import ParameterValueError, ValidationError
from bpm_livechat.models import Priority
from bpm_livechat.params.definitions import Definition
from bpm_livechat.params.types import Money, ParamType, from_json, normalize, to_json

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Op(StrEnum):
    """How a condition compares."""

    EQUALS = "equals"
    ONE_OF = "one_of"
    CONTAINS = "contains"
    RANGE = "range"
    EMPTY = "empty"
    NOT_EMPTY = "not_empty"


@dataclass(frozen=True)
class Subject:
    """A key a condition can test: its type, options, and whether it is a system parameter."""

    key: str
    type: ParamType
    options: tuple[str, ...] = ()
    system: bool = False


# The system parameters rules read: created time of day is "HH:MM" UTC.
SYSTEM_SUBJECTS = {
    "channel": Subject("channel", ParamType.STRING, system=True),
    "priority": Subject("priority", ParamType.CHOICE, tuple(p.value for p in Priority), True),
    "subject": Subject("subject", ParamType.STRING, system=True),
    "client_email_domain": Subject("client_email_domain", ParamType.STRING, system=True),
    "created_time": Subject("created_time", ParamType.STRING, system=True),
    "created_weekday": Subject("created_weekday", ParamType.CHOICE, WEEKDAYS, True),
}
_TEXTUAL = {ParamType.STRING, ParamType.TEXT, ParamType.EMAIL, ParamType.PHONE, ParamType.URL}
_ORDERED = {
    ParamType.INTEGER,
    ParamType.DECIMAL,
    ParamType.MONEY,
    ParamType.DATE,
    ParamType.DATETIME,
}
_ALWAYS = {Op.EMPTY, Op.NOT_EMPTY}
OPS_BY_TYPE: dict[ParamType, frozenset[Op]] = {
    **{t: frozenset({Op.EQUALS, Op.ONE_OF, Op.CONTAINS, *_ALWAYS}) for t in _TEXTUAL},
    **{t: frozenset({Op.EQUALS, Op.ONE_OF, Op.RANGE, *_ALWAYS}) for t in _ORDERED},
    ParamType.BOOLEAN: frozenset({Op.EQUALS, *_ALWAYS}),
    ParamType.CHOICE: frozenset({Op.EQUALS, Op.ONE_OF, *_ALWAYS}),
    ParamType.MULTICHOICE: frozenset({Op.EQUALS, Op.ONE_OF, Op.CONTAINS, *_ALWAYS}),
}  # fmt: skip


def ops_for(subject: Subject) -> frozenset[Op]:
    """The operators a key can be tested with (a time of day compares like a number)."""
    if subject.key == "created_time" and subject.system:
        return frozenset({Op.EQUALS, Op.ONE_OF, Op.RANGE})
    return OPS_BY_TYPE[subject.type]


@dataclass(frozen=True)
class Condition:
    """One test: `key` `op` `value` (canonical JSON: one value, a list, or [low, high])."""

    key: str
    op: Op
    value: Any = None

    def as_dict(self) -> dict[str, Any]:
        """The stored (and API) form."""
        return {"key": self.key, "op": self.op.value, "value": self.value}


def subjects(custom: Sequence[Definition]) -> dict[str, Subject]:
    """Every key a rule may test: the system parameters and the active custom ones."""
    found = dict(SYSTEM_SUBJECTS)
    for d in custom:
        if d.archived_at is None:
            found[d.key] = Subject(d.key, ParamType(d.type), tuple(d.options))
    return found


def parse_condition(raw: Mapping[str, Any], known: Mapping[str, Subject], field: str) -> Condition:
    """A validated condition from its stored/API form; ValidationError naming `field`.key/op/value."""
    key = str(raw.get("key", "")).strip()
    subject = known.get(key)
    if subject is None:
        raise ValidationError(
            f"{field}: unknown parameter {key!r}", {f"{field}.key": "unknown parameter"}
        )
    try:
        op = Op(str(raw.get("op", "")))
    except ValueError:
        raise ValidationError(
            f"{field}: unknown operator {raw.get('op')!r} (one of {', '.join(Op)})",
            {f"{field}.op": "unknown operator"},
        ) from None
    if op not in ops_for(subject):
        raise ValidationError(
            f"{field}: {key!r} ({subject.type.value}) cannot be tested with {op.value}",
            {f"{field}.op": f"not offered for {subject.type.value}"},
        )
    return Condition(key, op, _canonical(subject, op, raw.get("value"), f"{field}.value"))


def _canonical(subject: Subject, op: Op, raw: object, field: str) -> Any:
    if op in _ALWAYS:
        return None
    if op is Op.ONE_OF:
        items = raw if isinstance(raw, list | tuple) else str(raw or "").split("|")
        values = [_one(subject, item, field) for item in items if str(item).strip()]
        if not values:
            raise ValidationError(f"{field}: give at least one value", {field: "empty"})
        return values
    if op is Op.RANGE:
        low, high = (
            raw if isinstance(raw, list | tuple) and len(raw) == 2 else _split_range(raw, field)
        )
        if low in (None, "") and high in (None, ""):
            raise ValidationError(f"{field}: give a low or a high bound", {field: "empty"})
        bounds = [None if b in (None, "") else _one(subject, b, field) for b in (low, high)]
        if bounds[0] is not None and bounds[1] is not None:
            ordered = [from_json(subject.type, b) for b in bounds]
            if _sortable(ordered[0]) > _sortable(ordered[1]):
                raise ValidationError(
                    f"{field}: the low bound is above the high one", {field: "low above high"}
                )
        return bounds
    if op is Op.CONTAINS and subject.type is ParamType.MULTICHOICE:
        return _one(subject, raw, field, single_option=True)
    if op is Op.CONTAINS:
        text = str(raw or "").strip()
        if not text:
            raise ValidationError(f"{field}: give the text to look for", {field: "empty"})
        return text
    value = _one(subject, raw, field)
    if value is None:
        raise ValidationError(f"{field}: give a value (or test empty)", {field: "empty"})
    return value


def _split_range(raw: object, field: str) -> tuple[str, str]:
    text = str(raw or "")
    if ".." not in text:
        raise ValidationError(
            f"{field}: a range is LOW..HIGH, got {text!r}", {field: "not LOW..HIGH"}
        )
    low, high = text.split("..", 1)
    return low.strip(), high.strip()


def _one(subject: Subject, raw: object, field: str, single_option: bool = False) -> Any:
    """One value of the subject's type as canonical JSON (a multichoice's one option)."""
    type_ = subject.type
    if type_ is ParamType.MULTICHOICE and (single_option or not isinstance(raw, list)):
        type_ = ParamType.CHOICE
    if subject.system and subject.key == "created_time":
        return _time_of_day(raw, field)
    try:
        value = normalize(subject.key, type_, raw, subject.options)
    except ParameterValueError as exc:
        raise ValidationError(
            f"{field}: {subject.key!r} ({subject.type.value}): {exc.reason}: {raw!r}",
            {field: exc.reason},
        ) from None
    return to_json(type_, value)


def _time_of_day(raw: object, field: str) -> str:
    text = str(raw or "").strip()
    parts = text.split(":")
    ok = len(parts) == 2 and all(p.isdigit() for p in parts)
    if not ok or not (0 <= int(parts[0]) < 24 and 0 <= int(parts[1]) < 60):
        raise ValidationError(
            f"{field}: a time of day is HH:MM (UTC), got {text!r}", {field: "not HH:MM"}
        )
    return f"{int(parts[0]):02d}:{int(parts[1]):02d}"


def _sortable(value: object) -> Any:
    if isinstance(value, Money):
        return value.amount
    return value


def typed(subject: Subject, condition: Condition) -> Any:
    """The condition's value typed like the session's values (computed once per rule)."""
    type_: ParamType = ParamType.CHOICE if subject.type is ParamType.MULTICHOICE else subject.type
    if (
        subject.type is ParamType.MULTICHOICE
        and condition.op is Op.EQUALS
        and isinstance(condition.value, list)
    ):
        type_ = ParamType.MULTICHOICE
    if condition.value is None or subject.key == "created_time":
        return condition.value
    if condition.op in (Op.ONE_OF, Op.RANGE):
        return [None if v is None else from_json(type_, v) for v in condition.value]
    if condition.op is Op.CONTAINS and subject.type is not ParamType.MULTICHOICE:
        return str(condition.value).casefold()
    return from_json(type_, condition.value)


def holds(subject: Subject, condition: Condition, expected: Any, actual: Any) -> bool:
    """True when the session's `actual` value passes the condition (`expected` from `typed`)."""
    op = condition.op
    empty = actual is None or actual == "" or actual == []
    if op is Op.EMPTY:
        return empty
    if op is Op.NOT_EMPTY:
        return not empty
    if empty:
        return False
    textual = subject.type in _TEXTUAL
    if op is Op.CONTAINS:
        if isinstance(actual, list):
            return expected in actual
        return str(expected) in str(actual).casefold()
    if op is Op.EQUALS:
        return _same(actual, expected, textual)
    if op is Op.ONE_OF:
        if isinstance(actual, list):
            return any(v in actual for v in expected)
        return any(_same(actual, v, textual) for v in expected)
    low, high = (_sortable(b) if b is not None else None for b in expected)
    value = _sortable(actual)
    return (low is None or value >= low) and (high is None or value <= high)


def _same(actual: object, expected: object, textual: bool) -> bool:
    if textual:
        return str(actual).casefold() == str(expected).casefold()
    if isinstance(actual, list) and isinstance(expected, list):
        return sorted(actual) == sorted(expected)
    return actual == expected


def shown(value: Any) -> str:
    """A value as a reason shows it."""
    if value is None:
        return "empty"
    if isinstance(value, list):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Money):
        return f"{format(value.amount, 'f')} {value.currency}"
    return repr(value) if isinstance(value, str) else str(value)


def describe(condition: Condition) -> str:
    """The condition in words: "segment equals 'enterprise'"."""
    op = condition.op
    if op in _ALWAYS:
        return f"{condition.key} is {'empty' if op is Op.EMPTY else 'not empty'}"
    if op is Op.RANGE:
        low, high = condition.value
        return f"{condition.key} in {shown(low) if low is not None else '…'}..{shown(high) if high is not None else '…'}"
    return f"{condition.key} {op.value.replace('_', ' ')} {shown(condition.value)}"


def parse_cli_condition(text: str) -> dict[str, Any]:
    """`--if` forms: KEY=VALUE, KEY=A|B (one of), KEY=LOW..HIGH, KEY~TEXT, KEY= (empty), KEY!= (not empty)."""
    if "~" in text and ("=" not in text or text.index("~") < text.index("=")):
        key, value = text.split("~", 1)
        return {"key": key.strip(), "op": Op.CONTAINS.value, "value": value}
    if "=" not in text:
        raise ValidationError(f"--if {text!r}: expected KEY=VALUE", {"if": "expected KEY=VALUE"})
    key, value = text.split("=", 1)
    if key.endswith("!") and not value:
        return {"key": key[:-1].strip(), "op": Op.NOT_EMPTY.value}
    key = key.strip()
    if not value.strip():
        return {"key": key, "op": Op.EMPTY.value}
    if ".." in value:
        return {"key": key, "op": Op.RANGE.value, "value": value}
    if "|" in value:
        return {"key": key, "op": Op.ONE_OF.value, "value": value.split("|")}
    return {"key": key, "op": Op.EQUALS.value, "value": value}
