"""Session queries: filters, search, typed sort and pages over sessions, scoped by access."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased, joinedload

from .access import visible_live_chat_ids
from .errors import ValidationError
from .models import (
    Channel,
    Client,
    LiveChat,
    ParamDefinition,
    ParamValue,
    SupportSession,
    User,
)
from .param_types import ParamType, from_json
from .parameters import SYSTEM_KEYS, definitions_by_key
from .session_filters import (
    NUMBER_TYPES,
    OPERATORS,
    Filter,
    custom_filter,
    parse_filter,
    system_column,
    system_filter,
    value_condition,
)

__all__ = ["Filter", "SessionPage", "SessionQuery", "params_of", "parse_filter", "search_sessions"]

MAX_PER_PAGE = 200


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


def _sorted(
    query: Select[Any],
    sort: str,
    by_key: dict[str, ParamDefinition],
    anchor: Any,
    reverse: bool = False,
) -> Select[Any]:
    """Typed order on `sort`, empty values last, ties by id; `reverse` gives the exact opposite."""
    descending = sort.startswith("-") != reverse
    key = sort.lstrip("-")
    column: Any
    if key in SYSTEM_KEYS:
        column = system_column(key)
    elif key in by_key:
        definition = by_key[key]
        pv = aliased(ParamValue)
        query = query.outerjoin(
            pv, and_(pv.session_id == anchor, pv.definition_id == definition.id)
        )
        numeric = ParamType(definition.type) in NUMBER_TYPES
        column = pv.number_value if numeric else pv.text_value
    else:
        raise ValidationError(
            f"cannot sort by unknown parameter {key!r}", {"sort": "unknown parameter"}
        )
    ordered = column.desc() if descending else column.asc()
    tiebreak = anchor.desc() if descending else anchor.asc()
    empty_last = column.is_(None).desc() if reverse else column.is_(None).asc()
    return query.order_by(empty_last, ordered, tiebreak)


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
            query = query.where(system_filter(f))
        elif f is not custom:
            query = custom_filter(query, by_key[f.key], f, anchor)
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
        query = query.where(value_condition(pv, definition, ParamType(definition.type), first))
    return query, pv.session_id, first


def search_sessions(db: Session, user: User, q: SessionQuery) -> SessionPage:
    """One page of the sessions `user` may see that match the query, with the total count."""
    if q.page < 1 or not 1 <= q.per_page <= MAX_PER_PAGE:
        raise ValidationError(
            f"page must be >= 1 and per_page 1 to {MAX_PER_PAGE}", {"page": "out of range"}
        )
    query, anchor, by_key = _base(db, user, q)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    ids = _page_ids(db, _sorted_page(query, q, by_key, anchor, total))
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


def _sorted_page(
    query: Select[Any], q: SessionQuery, by_key: dict[str, ParamDefinition], anchor: Any, total: int
) -> tuple[Select[Any], bool]:
    """The page's id query; past the middle it reads the reversed order from the other end, so a
    deep page sorts only what lies behind it (the result is reversed back by `_page_ids`)."""
    offset = (q.page - 1) * q.per_page
    if offset * 2 <= total or offset >= total:
        return _sorted(query, q.sort, by_key, anchor).limit(q.per_page).offset(offset), False
    limit = min(q.per_page, total - offset)
    backwards = _sorted(query, q.sort, by_key, anchor, reverse=True)
    return backwards.limit(limit).offset(total - offset - limit), True


def _page_ids(db: Session, page: tuple[Select[Any], bool]) -> list[int]:
    query, reversed_order = page
    ids = list(db.scalars(query))
    return ids[::-1] if reversed_order else ids


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
