"""Session queries: filter on any system or custom parameter, search, typed sort, pages; scoped by access."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session, aliased, joinedload

from .access import visible_live_chat_ids
from .errors import ValidationError
from .models import (
    Channel,
    Client,
    LiveChat,
    ParamDefinition,
    ParamValue,
    Priority,
    SupportSession,
    User,
)
from .param_types import ParamType, from_json, index_text, index_values, normalize
from .parameters import SYSTEM_KEYS, definitions_by_key

OPERATORS = ("eq", "contains", "gte", "lte", "empty", "not_empty")
_FILTER_SYNTAX = re.compile(
    r"^(?P<key>[a-z_][a-z0-9_]*)(?P<op>~|>=|<=|!=|=)(?P<value>.*)$", re.DOTALL
)
_TEXT_TYPES = {ParamType.STRING, ParamType.TEXT, ParamType.EMAIL, ParamType.PHONE, ParamType.URL}
_NUMBER_TYPES = {ParamType.INTEGER, ParamType.DECIMAL, ParamType.MONEY, ParamType.BOOLEAN}
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class Filter:
    """One condition on a parameter: eq, contains, gte, lte, empty or not_empty."""

    key: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class SessionQuery:
    """What the list shows: filters, a search text, a sort key ('-' for descending), a page."""

    filters: Sequence[Filter] = ()
    search: str | None = None
    sort: str = "-created_at"
    page: int = 1
    per_page: int = 50


@dataclass
class SessionPage:
    """One page of sessions with their custom parameter values, and the total count."""

    items: list[SupportSession]
    total: int
    page: int
    per_page: int
    params: dict[int, dict[str, object]] = field(default_factory=dict)


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


def _system_column(key: str) -> Any:
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


def _system_filter(f: Filter) -> ColumnElement[bool]:
    column: Any = _system_column(f.key)
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


def _custom_filter(
    query: Select[Any], definition: ParamDefinition, f: Filter, anchor: Any
) -> Select[Any]:
    type_ = ParamType(definition.type)
    pv = aliased(ParamValue)
    on = and_(pv.session_id == anchor, pv.definition_id == definition.id)
    if f.op == "empty":
        return query.outerjoin(pv, on).where(pv.session_id.is_(None))
    if f.op == "not_empty":
        return query.join(pv, on)
    condition = _value_condition(pv, definition, type_, f)
    return query.join(pv, and_(on, condition))


def _value_condition(
    pv: Any, definition: ParamDefinition, type_: ParamType, f: Filter
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
        (pv.number_value, number_value) if type_ in _NUMBER_TYPES else (pv.text_value, text_value)
    )
    if f.op in {"gte", "lte"} and type_ not in _NUMBER_TYPES | {ParamType.DATE, ParamType.DATETIME}:
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


def _sorted(
    query: Select[Any], sort: str, by_key: dict[str, ParamDefinition], anchor: Any
) -> Select[Any]:
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    column: Any
    if key in SYSTEM_KEYS:
        column = _system_column(key)
    elif key in by_key:
        definition = by_key[key]
        pv = aliased(ParamValue)
        query = query.outerjoin(
            pv, and_(pv.session_id == anchor, pv.definition_id == definition.id)
        )
        numeric = ParamType(definition.type) in _NUMBER_TYPES
        column = pv.number_value if numeric else pv.text_value
    else:
        raise ValidationError(
            f"cannot sort by unknown parameter {key!r}", {"sort": "unknown parameter"}
        )
    ordered = column.desc() if descending else column.asc()
    tiebreak = anchor.desc() if descending else anchor.asc()
    return query.order_by(column.is_(None), ordered, tiebreak)


def _base(
    db: Session, user: User, q: SessionQuery
) -> tuple[Select[Any], Any, dict[str, ParamDefinition]]:
    """The filtered id query and its id column (the anchor the sort joins on)."""
    by_key = definitions_by_key(db)
    for f in q.filters:
        if f.op not in OPERATORS:
            raise ValidationError(
                f"unknown filter operator {f.op!r}", {"filter": "unknown operator"}
            )
        if f.key not in SYSTEM_KEYS and f.key not in by_key:
            raise ValidationError(
                f"cannot filter on unknown parameter {f.key!r}", {f.key: "unknown parameter"}
            )
    chats = visible_live_chat_ids(db, user)
    if chats is not None and chats >= set(db.scalars(select(LiveChat.id))):
        chats = None  # sees every live chat: no need to scope
    used = {f.key for f in q.filters} | {q.sort.lstrip("-")}
    query, anchor, custom = _start(
        q, by_key, needs_sessions=bool(chats is not None or q.search or used & SYSTEM_KEYS)
    )
    if "live_chat" in used:
        query = query.join(LiveChat, LiveChat.id == SupportSession.live_chat_id)
    if "channel" in used:
        query = query.join(Channel, Channel.id == SupportSession.channel_id)
    if "client" in used or q.search:
        query = query.join(Client, Client.id == SupportSession.client_id)
    if "operator" in used:
        query = query.outerjoin(User, User.id == SupportSession.operator_id)
    if chats is not None:
        query = query.where(SupportSession.live_chat_id.in_(chats))
    for f in q.filters:
        if f.key in SYSTEM_KEYS:
            query = query.where(_system_filter(f))
        elif f is not custom:
            query = _custom_filter(query, by_key[f.key], f, anchor)
    if q.search:
        needle = q.search.strip().lower()
        query = query.where(
            or_(
                func.lower(SupportSession.name).contains(needle, autoescape=True),
                func.lower(SupportSession.subject).contains(needle, autoescape=True),
                func.lower(Client.name).contains(needle, autoescape=True),
                func.lower(Client.email).contains(needle, autoescape=True),
            )
        )
    return query, anchor, by_key


def _start(
    q: SessionQuery, by_key: dict[str, ParamDefinition], needs_sessions: bool
) -> tuple[Select[Any], Any, Filter | None]:
    """Start from sessions, or, when nothing else needs them, from the first custom filter's values.

    Values reference existing sessions (a foreign key), so the second form returns the same ids
    while sparing one session lookup per matching row.
    """
    first = next((f for f in q.filters if f.key in by_key and f.op not in {"empty"}), None)
    if needs_sessions or first is None:
        return select(SupportSession.id), SupportSession.id, None
    definition = by_key[first.key]
    pv = aliased(ParamValue)
    query = select(pv.session_id).where(pv.definition_id == definition.id)
    if first.op != "not_empty":
        query = query.where(_value_condition(pv, definition, ParamType(definition.type), first))
    return query, pv.session_id, first


def search_sessions(db: Session, user: User, q: SessionQuery) -> SessionPage:
    """One page of the sessions `user` may see that match the query, with the total count."""
    if q.page < 1 or not 1 <= q.per_page <= MAX_PER_PAGE:
        raise ValidationError(
            f"page must be >= 1 and per_page 1 to {MAX_PER_PAGE}", {"page": "out of range"}
        )
    query, anchor, by_key = _base(db, user, q)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    ids_query = _sorted(query, q.sort, by_key, anchor)
    ids_query = ids_query.limit(q.per_page).offset((q.page - 1) * q.per_page)
    ids = list(db.scalars(ids_query))
    loaded = db.scalars(
        select(SupportSession)
        .where(SupportSession.id.in_(ids))
        .options(
            joinedload(SupportSession.live_chat),
            joinedload(SupportSession.channel),
            joinedload(SupportSession.client),
            joinedload(SupportSession.operator),
        )
    ).unique()
    by_id = {s.id: s for s in loaded}
    items = [by_id[i] for i in ids]
    return SessionPage(items, total, q.page, q.per_page, params_of(db, ids, by_key))


def params_of(
    db: Session, session_ids: Sequence[int], by_key: dict[str, ParamDefinition] | None = None
) -> dict[int, dict[str, object]]:
    """Typed custom parameter values of several sessions in one query."""
    if by_key is None:
        by_key = definitions_by_key(db)
    by_id = {d.id: d for d in by_key.values()}
    result: dict[int, dict[str, object]] = {sid: {} for sid in session_ids}
    if not session_ids:
        return result
    rows = db.execute(
        select(ParamValue.session_id, ParamValue.definition_id, ParamValue.value).where(
            ParamValue.session_id.in_(session_ids)
        )
    )
    for session_id, definition_id, value in rows:
        definition = by_id[definition_id]
        result[session_id][definition.key] = from_json(ParamType(definition.type), value)
    return result
