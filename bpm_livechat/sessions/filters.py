"""Conditions on session parameters: the filter syntax, and the SQL for system and custom keys."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, case, func, literal
from sqlalchemy.orm import aliased

from bpm_livechat.errors import ValidationError
from bpm_livechat.models import (
    Channel,
    Client,
    LiveChat,
    ParamValue,
    Priority,
    SupportSession,
    User,
)
from bpm_livechat.params.definitions import Definition
from bpm_livechat.params.types import ParamType, index_text, index_values, normalize

OPERATORS = ("eq", "contains", "gte", "lte", "empty", "not_empty")
_FILTER_SYNTAX = re.compile(
    r"^(?P<key>[a-z_][a-z0-9_]*)(?P<op>~|>=|<=|!=|=)(?P<value>.*)$", re.DOTALL
)
_TEXT_TYPES = {ParamType.STRING, ParamType.TEXT, ParamType.EMAIL, ParamType.PHONE, ParamType.URL}
NUMBER_TYPES = {ParamType.INTEGER, ParamType.DECIMAL, ParamType.MONEY, ParamType.BOOLEAN}


@dataclass(frozen=True)
class Filter:
    """One condition on a parameter: eq, contains, gte, lte, empty or not_empty."""

    key: str
    op: str
    value: Any = None


def parse_filter(text: str) -> Filter:
    """Parse `KEY=VALUE` (equals; empty VALUE means 'is empty'), `KEY!=` (not empty), `KEY~TEXT`, `KEY>=V`, `KEY<=V`."""
    match = _FILTER_SYNTAX.match(text.strip())
    if not match:
        raise ValidationError(
            f"invalid filter {text!r}: use KEY=VALUE, KEY~TEXT, KEY>=VALUE, KEY<=VALUE, KEY= or KEY!=",
            {"filter": "invalid syntax"},
        )
    key, op, value = match["key"], match["op"], match["value"]
    if op == "=":
        return Filter(key, "eq", value) if value != "" else Filter(key, "empty")
    if op == "!=":
        if value:
            raise ValidationError(
                f"invalid filter {text!r}: only KEY!= (not empty) is supported",
                {"filter": "invalid"},
            )
        return Filter(key, "not_empty")
    return Filter(key, {"~": "contains", ">=": "gte", "<=": "lte"}[op], value)


_PRIORITY_RANK = case({p.value: i for i, p in enumerate(Priority)}, value=SupportSession.priority)


def system_column(key: str) -> Any:
    columns: dict[str, Any] = {
        "live_chat": LiveChat.name,
        "channel": Channel.name,
        "client": Client.name,
        "operator": User.display_name,
        "priority": _PRIORITY_RANK,
        "status": SupportSession.status,
        "subject": SupportSession.subject,
        "created_at": SupportSession.created_at,
        "closed_at": SupportSession.closed_at,
        "name": SupportSession.name,
        "id": SupportSession.id,
    }
    return columns[key]


def system_filter(f: Filter) -> ColumnElement[bool]:
    column: Any = system_column(f.key)
    if f.op == "empty":
        return cast(
            ColumnElement[bool],
            column.is_(None) if f.key in {"operator", "closed_at"} else column == "",
        )
    if f.op == "not_empty":
        return cast(
            ColumnElement[bool],
            column.is_not(None) if f.key in {"operator", "closed_at"} else column != "",
        )
    value: Any = f.value
    if f.key in {"created_at", "closed_at"}:
        value = _datetime_operand(f.key, str(value), f.op)
    elif f.key == "priority":
        try:
            value = list(Priority).index(Priority(str(value)))
        except ValueError:
            raise ValidationError(f"invalid priority {value!r}", {f.key: "invalid"}) from None
    elif f.key == "id":
        value = _int_operand(f.key, value)
    if f.op == "eq":
        return cast(ColumnElement[bool], column == value)
    if f.op == "contains":
        return func.lower(column).contains(str(value).lower(), autoescape=True)
    return cast(ColumnElement[bool], column >= value if f.op == "gte" else column <= value)


def _int_operand(key: str, value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise ValidationError(
            f"filter on {key!r}: {value!r} is not a number", {key: "not a number"}
        ) from None


def _datetime_operand(key: str, value: str, op: str) -> Any:
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day, time.max if op == "lte" else time.min, UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"filter on {key!r}: {value!r} is not a date", {key: "not a date"}
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def custom_filter(
    query: Select[Any], definition: Definition, f: Filter, anchor: Any
) -> Select[Any]:
    type_ = ParamType(definition.type)
    pv = aliased(ParamValue)
    on = and_(pv.session_id == anchor, pv.definition_id == definition.id)
    if f.op == "empty":
        return query.outerjoin(pv, on).where(pv.session_id.is_(None))
    if f.op == "not_empty":
        return query.join(pv, on)
    condition = value_condition(pv, definition, type_, f)
    return query.join(pv, and_(on, condition))


def value_condition(
    pv: Any, definition: Definition, type_: ParamType, f: Filter
) -> ColumnElement[bool]:
    key = definition.key
    if f.op == "contains":
        if type_ not in _TEXT_TYPES and type_ not in {ParamType.CHOICE, ParamType.MULTICHOICE}:
            raise ValidationError(
                f"filter on {key!r}: 'contains' needs a text parameter", {key: "not text"}
            )
        return func.lower(pv.text_value).contains(index_text(str(f.value)), autoescape=True)
    if type_ is ParamType.MULTICHOICE and f.op == "eq":
        option = normalize(key, ParamType.CHOICE, f.value, definition.options)
        wrapped = literal("\n") + pv.text_value + literal("\n")
        return cast(
            ColumnElement[bool], wrapped.contains(f"\n{index_text(str(option))}\n", autoescape=True)
        )
    if f.op in {"gte", "lte"} and type_ is ParamType.DATETIME and len(str(f.value)) == 10:
        operand: Any = _datetime_operand(key, str(f.value), f.op)
    else:
        operand = normalize(key, type_, f.value, definition.options)
    text_value, number_value = index_values(type_, operand)
    column, value = (
        (pv.number_value, number_value) if type_ in NUMBER_TYPES else (pv.text_value, text_value)
    )
    if f.op in {"gte", "lte"} and type_ not in NUMBER_TYPES | {ParamType.DATE, ParamType.DATETIME}:
        raise ValidationError(
            f"filter on {key!r}: ranges need a number or date parameter", {key: "no range"}
        )
    if f.op == "eq":
        condition = cast(ColumnElement[bool], column == value)
    else:
        condition = cast(ColumnElement[bool], column >= value if f.op == "gte" else column <= value)
    if type_ is ParamType.MONEY:  # amounts in different currencies are not comparable
        condition = and_(condition, pv.text_value == text_value)
    return condition
