"""Session queries: filters, search, typed sort and pages over sessions, scoped by access."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, text
from sqlalchemy.orm import Session, aliased, joinedload

from bpm_livechat.desk.access import visible_live_chat_ids
from bpm_livechat.errors import ValidationError
from bpm_livechat.models import Channel, Client, LiveChat, ParamValue, SupportSession, User
from bpm_livechat.params.catalogue import SYSTEM_KEYS
from bpm_livechat.params.definitions import Definition, definitions_by_key
from bpm_livechat.params.types import ParamType, from_json
from bpm_livechat.sessions.filters import (
    NUMBER_TYPES,
    OPERATORS,
    Filter,
    custom_filter,
    parse_filter,
    system_column,
    system_filter,
    value_condition,
)
from bpm_livechat.sessions.queues import SessionView, view_clause

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
    view: SessionView | None = None  # a tab of the list: Queue, Mine, All or Closed


@dataclass
class SessionPage:
    """One page of sessions with their custom parameter values, and the total count."""

    items: list[SupportSession]
    total: int
    page: int
    per_page: int
    params: dict[int, dict[str, object]] = field(default_factory=dict)


def _base(
    db: Session, user: User, q: SessionQuery
) -> tuple[Select[Any], Any, dict[str, Definition]]:
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
    sort_key = q.sort.lstrip("-")
    if sort_key not in SYSTEM_KEYS and sort_key not in by_key:
        raise ValidationError(
            f"cannot sort by unknown parameter {sort_key!r}", {"sort": "unknown parameter"}
        )
    chats = visible_live_chat_ids(db, user)
    if chats is not None and chats >= set(db.scalars(select(LiveChat.id))):
        chats = None  # sees every live chat: no need to scope
    used = {f.key for f in q.filters} | {sort_key}
    query, anchor, custom = _start(
        q,
        by_key,
        needs_sessions=bool(chats is not None or q.search or used & SYSTEM_KEYS or q.view),
    )
    if q.view is not None:
        query = query.where(view_clause(q.view, user))
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
    q: SessionQuery, by_key: dict[str, Definition], needs_sessions: bool
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
    if db.get_bind().dialect.name == "postgresql":
        # The driver prepares a statement run five times, and PostgreSQL then may switch to a
        # generic plan blind to which parameter and value are asked for; values are skewed per
        # parameter, and a generic plan made deep pages 2.5x slower in the benchmark.
        db.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    ids = _page_ids(db, query, anchor, q, by_key, total)
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


@dataclass
class _Run:
    """A stretch of the sort order: its ids in order, its length if known, or how to count it."""

    ordered: Select[Any]
    counted: Select[Any] | None = None
    size: int | None = None


def _page_ids(
    db: Session,
    matches: Select[Any],
    anchor: Any,
    q: SessionQuery,
    by_key: dict[str, Definition],
    total: int,
) -> list[int]:
    """The page's ids in the order of `q.sort`.

    Past the middle of the result the page is read in the reversed order from the end, so a deep
    page walks only what lies behind it.
    """
    offset = (q.page - 1) * q.per_page
    if offset >= total:
        return []
    limit = min(q.per_page, total - offset)
    backwards = offset * 2 > total
    if backwards:
        offset = total - offset - limit
    key, descending = q.sort.lstrip("-"), q.sort.startswith("-")
    if key in SYSTEM_KEYS:
        runs = [_Run(_by_system_key(matches, key, anchor, descending, backwards))]
    else:
        runs = _by_custom_key(db, matches, anchor, by_key[key], descending, backwards, total)
    ids = _read_runs(db, runs, offset, limit)
    return ids[::-1] if backwards else ids


def _by_system_key(
    matches: Select[Any], key: str, anchor: Any, descending: bool, backwards: bool
) -> Select[Any]:
    """Order by a system parameter, empty values last, ties by id (`backwards`: the exact opposite)."""
    column = system_column(key)
    down = descending != backwards
    return matches.order_by(
        column.is_(None).desc() if backwards else column.is_(None).asc(),
        column.desc() if down else column.asc(),
        anchor.desc() if down else anchor.asc(),
    )


def _by_custom_key(
    db: Session,
    matches: Select[Any],
    anchor: Any,
    definition: Definition,
    descending: bool,
    backwards: bool,
    total: int,
) -> list[_Run]:
    """Sessions with a value in value order, then those without by id (`backwards`: the opposite).

    The valued run walks the sort parameter's index in order and keeps the sessions that match,
    so a page stops after the rows it needs instead of joining every match with every value.
    Read backwards, the empty run comes first, and its length is learnt from one count.
    """
    numeric = ParamType(definition.type) in NUMBER_TYPES
    down = descending != backwards
    sort_value = aliased(ParamValue)
    column = sort_value.number_value if numeric else sort_value.text_value
    has_value = and_(sort_value.definition_id == definition.id, column.is_not(None))
    valued_count = select(func.count()).select_from(
        matches.join(sort_value, and_(sort_value.session_id == anchor, has_value)).subquery()
    )
    valued = _Run(
        select(sort_value.session_id)
        .where(has_value, matches.where(anchor == sort_value.session_id).exists())
        .order_by(
            column.desc() if down else column.asc(),
            sort_value.session_id.desc() if down else sort_value.session_id.asc(),
        ),
        valued_count,
    )
    other = aliased(ParamValue)
    other_column = other.number_value if numeric else other.text_value
    without = matches.where(
        ~select(other.session_id)
        .where(
            other.session_id == anchor,
            other.definition_id == definition.id,
            other_column.is_not(None),
        )
        .exists()
    )
    empty = _Run(
        without.order_by(anchor.desc() if down else anchor.asc()),
        select(func.count()).select_from(without.subquery()),
    )
    if not backwards:
        return [valued, empty]
    valued.size = db.scalar(valued_count) or 0
    empty.size = total - valued.size
    return [empty, valued]


def _read_runs(db: Session, runs: list[_Run], offset: int, limit: int) -> list[int]:
    """`limit` ids from position `offset` of the runs read one after another."""
    ids: list[int] = []
    for run in runs:
        if run.size is not None and offset >= run.size:
            offset -= run.size
            continue
        rows = list(db.scalars(run.ordered.limit(limit - len(ids)).offset(offset)))
        ids += rows
        if len(ids) == limit:
            break
        if rows:
            offset = 0
        elif offset and run.counted is not None:  # the page starts past this run
            offset = max(0, offset - (db.scalar(run.counted) or 0))
    return ids


def params_of(
    db: Session, session_ids: Sequence[int], by_key: dict[str, Definition] | None = None
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
