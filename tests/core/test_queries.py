"""Session queries: filters on system and custom parameters, search, typed sort, pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from bpm_livechat.errors import ValidationError
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.params.values import set_parameters
from bpm_livechat.sessions.search import Filter, SessionQuery, parse_filter, search_sessions
from tests.support import Desk, open_session

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)

# client, subject, priority, operator?, days after T0, custom values
ROWS: list[tuple[str, str, str, bool, int, dict[str, object]]] = [
    (
        "Ann Lee",
        "Refund for order",
        "high",
        True,
        0,
        {
            "visits": 9,
            "rate": "2.5",
            "due": "2026-05-10",
            "vip": True,
            "note": "Wants 50% off",
            "segment": "smb",
            "topics": ["billing", "returns"],
            "callback": "2026-05-02T08:00:00+00:00",
            "price": "12.50 EUR",
        },
    ),
    (
        "Bob Stone",
        "Cannot log in",
        "low",
        False,
        1,
        {"visits": 10, "rate": "-1", "due": "2026-04-30", "vip": False, "topics": ["account"]},
    ),
    (
        "Cleo Park",
        "Invoice question",
        "urgent",
        True,
        2,
        {
            "visits": 100,
            "rate": "10",
            "segment": "consumer",
            "note": "VIP partner",
            "price": "9 USD",
        },
    ),
    ("Dan Ruiz", "Delivery late", "normal", False, 3, {"topics": ["billing"], "note": "late"}),
    ("Eve Adams", "Refund status", "normal", True, 4, {}),
]


@dataclass
class Data:
    ids: list[int]  # in ROWS order

    def by_client(self, *initials: str) -> list[int]:
        names = [r[0] for r in ROWS]
        return [self.ids[names.index(n)] for i in initials for n in names if n.startswith(i)]


@pytest.fixture
def data(db_session: Session, desk: Desk) -> Data:
    db = db_session
    add_parameter(db, "visits", "integer", "Visits")
    add_parameter(db, "rate", "decimal", "Rate")
    add_parameter(db, "due", "date", "Due")
    add_parameter(db, "vip", "boolean", "VIP")
    add_parameter(db, "note", "string", "Note")
    add_parameter(db, "segment", "choice", "Segment", options=("consumer", "smb"))
    add_parameter(db, "topics", "multichoice", "Topics", options=("billing", "returns", "account"))
    add_parameter(db, "callback", "datetime", "Callback")
    add_parameter(db, "price", "money", "Price")
    ids = []
    for client, subject, priority, staffed, days, values in ROWS:
        session = open_session(
            db,
            desk.support,
            client=client,
            subject=subject,
            client_email=f"{client.split()[0].lower()}@example.com",
            priority=priority,
            operator=desk.operator if staffed else None,
            created_at=T0 + timedelta(days=days),
        )
        set_parameters(db, session, values, user_actor(desk.admin))
        ids.append(session.id)
    open_session(db, desk.sales, client="Ann Other", subject="Refund elsewhere")  # not visible
    db.commit()
    return Data(ids)


def _ids(db: Session, desk: Desk, *filters: Filter | str, **query: object) -> list[int]:
    parsed = tuple(parse_filter(f) if isinstance(f, str) else f for f in filters)
    query.setdefault("sort", "id")
    page = search_sessions(db, desk.operator, SessionQuery(filters=parsed, **query))  # type: ignore[arg-type]
    assert page.total == len(page.items)
    return [s.id for s in page.items]


# filters (all must hold) -> the clients (by initial) found, in id order
FILTER_CASES: list[tuple[tuple[str, ...], str]] = [
    (("priority=urgent",), "C"),
    (("priority>=high",), "AC"),
    (("status=active",), "ACE"),
    (("status=queued",), "BD"),
    (("operator=",), "BD"),
    (("operator!=",), "ACE"),
    (("client=Bob Stone",), "B"),
    (("client~lee",), "A"),
    (("subject~REFUND",), "AE"),
    (("name~cleo",), "C"),
    (("live_chat=Support",), "ABCDE"),
    (("channel=Website",), "ABCDE"),
    (("created_at>=2026-05-02", "created_at<=2026-05-03"), "BC"),
    (("created_at>=2026-05-04T09:00:00+00:00",), "DE"),
    (("closed_at=",), "ABCDE"),
    (("visits=10",), "B"),
    (("visits>=10",), "BC"),
    (("visits<=10",), "AB"),
    (("visits>=10", "visits<=99"), "B"),
    (("rate<=2.5",), "AB"),
    (("rate>=2.50",), "AC"),
    (("due>=2026-05-01",), "A"),
    (("due<=2026-05-01",), "B"),
    (("callback>=2026-05-02", "callback<=2026-05-02"), "A"),
    (("vip=yes",), "A"),
    (("vip=false",), "B"),
    (("vip=",), "CDE"),
    (("note~vip",), "C"),
    (("note~50%",), "A"),
    (("note=LATE",), "D"),
    (("note=",), "BE"),
    (("note!=",), "ACD"),
    (("segment=smb",), "A"),
    (("segment=",), "BDE"),
    (("topics=billing",), "AD"),
    (("topics=returns",), "A"),
    (("topics=account",), "B"),
    (("topics=",), "CE"),
    (("price>=10 EUR",), "A"),
    (("price>=9 EUR",), "A"),
    (("price>=9 usd",), "C"),
    (("price<=100 USD",), "C"),
    (("price=12.5 EUR",), "A"),
    (("price=12.50 USD",), ""),
    (("price=",), "BDE"),
    (("topics=billing", "note~late"), "D"),
]


def test_filters_on_system_and_custom_parameters(
    db_session: Session, desk: Desk, data: Data
) -> None:
    found = {f: _ids(db_session, desk, *f) for f, _expected in FILTER_CASES}
    assert found == {f: data.by_client(*expected) for f, expected in FILTER_CASES}


def test_filter_objects_and_search(db_session: Session, desk: Desk, data: Data) -> None:
    db = db_session
    assert _ids(
        db, desk, Filter("visits", "gte", 10), Filter("visits", "lte", 10)
    ) == data.by_client("B")
    assert _ids(db, desk, Filter("note", "empty")) == data.by_client("B", "E")
    assert _ids(db, desk, search="refund") == data.by_client("A", "E")
    assert _ids(db, desk, search="STONE") == data.by_client("B")
    assert _ids(db, desk, search="cleo@example") == data.by_client("C")
    assert _ids(db, desk, "status=active", search="refund") == data.by_client("A", "E")
    assert _ids(db, desk, "status=queued", search="refund") == []
    assert _ids(db, desk, search="%") == []


# sort key -> the clients (by initial) in the order listed
SORT_CASES: list[tuple[str, str]] = [
    ("visits", "ABCDE"),
    ("-visits", "CBAED"),
    ("rate", "BACDE"),
    ("-rate", "CABED"),
    ("due", "BACDE"),
    ("-due", "ABEDC"),
    ("note", "DCABE"),
    ("-note", "ACDEB"),
    ("segment", "CABDE"),
    ("-segment", "ACEDB"),
    ("vip", "BACDE"),
    ("-vip", "ABEDC"),
    ("price", "CABDE"),
    ("-price", "ACEDB"),
    ("priority", "BDEAC"),
    ("-priority", "CAEDB"),
    ("created_at", "ABCDE"),
    ("-created_at", "EDCBA"),
    ("client", "ABCDE"),
    ("-operator", "ECADB"),
    ("closed_at", "ABCDE"),
]


def test_typed_sort_with_empty_values_last_in_both_directions(
    db_session: Session, desk: Desk, data: Data
) -> None:
    found = {sort: _ids(db_session, desk, sort=sort) for sort, _expected in SORT_CASES}
    assert found == {sort: data.by_client(*expected) for sort, expected in SORT_CASES}


def test_pagination_and_total(db_session: Session, desk: Desk, data: Data) -> None:
    db = db_session
    pages = [
        search_sessions(db, desk.operator, SessionQuery(sort="visits", page=n, per_page=2))
        for n in (1, 2, 3, 4)
    ]
    assert [[s.id for s in p.items] for p in pages] == [
        data.by_client("A", "B"),
        data.by_client("C", "D"),
        data.by_client("E"),
        [],
    ]
    assert [p.total for p in pages] == [5, 5, 5, 5]
    assert pages[0].params[data.by_client("A")[0]]["visits"] == 9
    assert pages[0].params[data.by_client("B")[0]]["topics"] == ["account"]
    filtered = search_sessions(
        db,
        desk.operator,
        SessionQuery(filters=(parse_filter("visits>=10"),), sort="-visits", per_page=1),
    )
    assert ([s.id for s in filtered.items], filtered.total) == (data.by_client("C"), 2)
    with pytest.raises(ValidationError) as caught:
        search_sessions(db, desk.operator, SessionQuery(page=0))
    assert caught.value.fields == {"page": "out of range"}
    with pytest.raises(ValidationError):
        search_sessions(db, desk.operator, SessionQuery(per_page=201))


QUERY_ERRORS: list[tuple[SessionQuery, str, dict[str, str]]] = [
    (
        SessionQuery(filters=(Filter("colour", "eq", "red"),)),
        "cannot filter on unknown parameter 'colour'",
        {"colour": "unknown parameter"},
    ),
    (
        SessionQuery(sort="-colour"),
        "cannot sort by unknown parameter 'colour'",
        {"sort": "unknown parameter"},
    ),
    (
        SessionQuery(filters=(Filter("visits", "eq", "12345"),), sort="colour"),
        "cannot sort by unknown parameter 'colour'",
        {"sort": "unknown parameter"},
    ),
    (
        SessionQuery(filters=(Filter("visits", "contains", "1"),)),
        "filter on 'visits': 'contains' needs a text parameter",
        {"visits": "not text"},
    ),
    (
        SessionQuery(filters=(Filter("note", "gte", "a"),)),
        "filter on 'note': ranges need a number or date parameter",
        {"note": "no range"},
    ),
    (
        SessionQuery(filters=(Filter("visits", "eq", "ten"),)),
        "parameter 'visits' (integer): not a whole number: 'ten'",
        {"visits": "not a whole number"},
    ),
    (
        SessionQuery(filters=(Filter("created_at", "gte", "May 1st"),)),
        "filter on 'created_at': 'May 1st' is not a date",
        {"created_at": "not a date"},
    ),
    (
        SessionQuery(filters=(Filter("priority", "eq", "asap"),)),
        "invalid priority 'asap'",
        {"priority": "invalid"},
    ),
    (
        SessionQuery(filters=(Filter("visits", "like", "1"),)),
        "unknown filter operator 'like'",
        {"filter": "unknown operator"},
    ),
]


def test_query_errors_name_the_problem(db_session: Session, desk: Desk, data: Data) -> None:
    for query, message, fields in QUERY_ERRORS:
        with pytest.raises(ValidationError) as caught:
            search_sessions(db_session, desk.operator, query)
        assert (caught.value.message, caught.value.fields) == (message, fields)


def test_parse_filter_syntax() -> None:
    assert parse_filter("segment=smb") == Filter("segment", "eq", "smb")
    assert parse_filter("note=") == Filter("note", "empty")
    assert parse_filter("note!=") == Filter("note", "not_empty")
    assert parse_filter("note~a=b") == Filter("note", "contains", "a=b")
    assert parse_filter(" visits>=3 ") == Filter("visits", "gte", "3")
    assert parse_filter("visits<=3") == Filter("visits", "lte", "3")
    for bad in ("no operator", "=x", "note!=x", "Note=x"):
        with pytest.raises(ValidationError):
            parse_filter(bad)


@pytest.mark.parametrize(
    "sort",
    [
        "visits",
        "-visits",
        "note",
        "-note",
        "rate",
        "price",
        "-callback",
        "-priority",
        "created_at",
        "-id",
    ],
)
@pytest.mark.parametrize("per_page", [1, 2, 3])
def test_every_page_continues_the_order_of_the_first(
    db_session: Session, desk: Desk, data: Data, sort: str, per_page: int
) -> None:
    """Pages past the middle are read backwards from the end; together they are the full order."""
    whole = search_sessions(db_session, desk.operator, SessionQuery(sort=sort, per_page=200))
    walked: list[int] = []
    for page in range(1, whole.total // per_page + 2):
        query = SessionQuery(sort=sort, page=page, per_page=per_page)
        walked += [s.id for s in search_sessions(db_session, desk.operator, query).items]
    assert walked == [s.id for s in whole.items]
    assert len(walked) == whole.total == len(ROWS)


@pytest.mark.parametrize(
    ("where", "sort"),
    [("topics!=", "note"), ("topics!=", "-visits"), ("visits>=0", "-rate"), ("rate!=", "due")],
)
@pytest.mark.parametrize("per_page", [1, 2])
def test_pages_of_a_filtered_result_walk_the_sort_values_in_order(
    db_session: Session, desk: Desk, data: Data, where: str, sort: str, per_page: int
) -> None:
    """The admin's query starts from the filter's values; its pages, forwards and backwards,
    give the order the operator's session-based query gives (the admin's extra session has no
    values, so neither finds it)."""
    filters = (parse_filter(where),)
    whole = search_sessions(
        db_session, desk.operator, SessionQuery(filters=filters, sort=sort, per_page=200)
    )
    walked: list[int] = []
    for page in range(1, whole.total // per_page + 2):
        query = SessionQuery(filters=filters, sort=sort, page=page, per_page=per_page)
        found = search_sessions(db_session, desk.admin, query)
        assert found.total == whole.total
        walked += [s.id for s in found.items]
    assert walked == [s.id for s in whole.items]
    assert whole.total >= 2
