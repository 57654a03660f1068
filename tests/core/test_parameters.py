"""Custom parameter definitions: add, keys, system protection, archive, type change, options, order."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.errors import (
    NotFoundError,
    ParameterValueError,
    SystemParameterError,
    ValidationError,
)
from bpm_livechat.models import ParamValue, SupportSession
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.catalogue import (
    SYSTEM_KEYS,
    add_parameter,
    archive_parameter,
    definitions,
    list_parameters,
    restore_parameter,
    update_parameter,
)
from bpm_livechat.params.definitions import definitions_read
from bpm_livechat.params.types import Money
from bpm_livechat.params.values import (
    get_parameters,
    parameter_history,
    read_for_update,
    set_parameters,
    typed_values,
)
from tests.support import Desk, open_session

# type, options, raw value written, the typed value read back
EVERY_TYPE: list[tuple[str, tuple[str, ...], object, object]] = [
    ("string", (), "  Order A-17  ", "Order A-17"),
    ("text", (), "line one\r\nline two", "line one\nline two"),
    ("integer", (), "-42", -42),
    ("decimal", (), "3.50", Decimal("3.50")),
    ("money", (), "12.5 eur", Money(Decimal("12.5"), "EUR")),
    ("boolean", (), "yes", True),
    ("date", (), "2026-01-31", date(2026, 1, 31)),
    ("datetime", (), "2026-01-31T10:15:00+02:00", datetime(2026, 1, 31, 8, 15, tzinfo=UTC)),
    ("email", (), "Ann.Lee@Example.COM", "Ann.Lee@example.com"),
    ("phone", (), "+49 (30) 901-820", "+4930901820"),
    ("url", (), "HTTPS://example.com/Path?q=1", "https://example.com/Path?q=1"),
    ("choice", ("low", "high"), "high", "high"),
    ("multichoice", ("a", "b", "c"), ["c", "a"], ["a", "c"]),
]


def test_add_every_type_and_read_values_back_typed(
    db_session: Session, factory: sessionmaker[Session], desk: Desk
) -> None:
    db = db_session
    for type_name, options, _raw, _typed in EVERY_TYPE:
        add_parameter(db, f"p_{type_name}", type_name, f"P {type_name}", options=options)
    session = open_session(db, desk.support)
    changes = {f"p_{t}": raw for t, _o, raw, _v in EVERY_TYPE}
    applied = set_parameters(db, session, changes, user_actor(desk.admin))
    db.commit()
    assert {k: c.new for k, c in applied.items()} == {f"p_{t}": v for t, _o, _r, v in EVERY_TYPE}

    with factory() as fresh:
        assert get_parameters(fresh, session.id) == {f"p_{t}": v for t, _o, _r, v in EVERY_TYPE}
        custom = [p for p in list_parameters(fresh) if not p.system]
        assert [(p.key, p.type, p.position, p.options) for p in custom] == [
            (f"p_{t}", t, i, o) for i, (t, o, _r, _v) in enumerate(EVERY_TYPE, start=1)
        ]
    with factory() as fresh:  # a step's read: the definitions and the values in one statement
        stored = read_for_update(fresh, session.id)
        assert definitions_read(fresh)
        assert typed_values(fresh, stored) == {f"p_{t}": v for t, _o, _r, v in EVERY_TYPE}


@pytest.mark.parametrize(
    ("type_name", "options", "raw", "reason"),
    [
        ("string", (), "x" * 256, "longer than 255 characters"),
        ("string", (), "two\nlines", "contains control characters or line breaks"),
        ("text", (), "bell\x07", "contains control characters"),
        ("integer", (), "4.5", "not a whole number"),
        ("integer", (), "9" * 20, "outside the 64-bit integer range"),
        ("decimal", (), "1,5", "not a number"),
        ("decimal", (), "NaN", "not a number"),
        ("money", (), "12.50", "not an amount with a currency, such as 12.50 EUR"),
        ("boolean", (), "maybe", "not a yes/no value"),
        ("date", (), "2026-02-30", "not a valid calendar date"),
        ("datetime", (), "2026-01-31T10:00:00", "needs a timezone offset"),
        ("email", (), "ann@", "not a valid email address"),
        ("phone", (), "12-34", "not a valid phone number (7 to 15 digits, optionally after +)"),
        (
            "url",
            (),
            "javascript:alert(1)",
            "not a URL this product opens: javascript: (use http or https)",
        ),
        (
            "url",
            (),
            "ftp://example.com/file",
            "not a URL this product opens: ftp: (use http or https)",
        ),
        ("choice", ("low", "high"), "medium", "not one of: low, high"),
        ("multichoice", ("a", "b"), ["a", "z"], "not one of: a, b"),
    ],
)
def test_invalid_value_of_each_type_is_rejected_naming_key_type_and_value(
    db_session: Session,
    desk: Desk,
    type_name: str,
    options: tuple[str, ...],
    raw: object,
    reason: str,
) -> None:
    db = db_session
    add_parameter(db, "field", type_name, "Field", options=options)
    session = open_session(db, desk.support)
    with pytest.raises(ParameterValueError) as caught:
        set_parameters(db, session, {"field": raw}, user_actor(desk.admin))
    error = caught.value
    assert (error.key, error.type_name, error.value, error.reason) == (
        "field",
        type_name,
        raw,
        reason,
    )
    assert error.fields == {"field": reason}
    shown = repr(raw) if len(repr(raw)) <= 80 else repr(raw)[:77] + "..."
    assert error.message == f"parameter 'field' ({type_name}): {reason}: {shown}"
    assert db.scalar(select(func.count()).select_from(ParamValue)) == 0


@pytest.mark.parametrize(
    "key", ["Order", "1st", "with-dash", "has space", "", "a" * 65, "class", "ümlaut", "_x"]
)
def test_invalid_keys_are_rejected(db_session: Session, key: str) -> None:
    with pytest.raises(ValidationError) as caught:
        add_parameter(db_session, key, "string", "Label")
    assert caught.value.fields == {"key": "not a lower-case identifier"}
    assert caught.value.message.startswith(f"invalid key {key!r}: use a lower-case identifier")
    assert definitions(db_session, include_archived=True) == []


@pytest.mark.parametrize("key", sorted(SYSTEM_KEYS))
def test_system_keys_cannot_be_shadowed(db_session: Session, key: str) -> None:
    with pytest.raises(SystemParameterError) as caught:
        add_parameter(db_session, key, "string", "Shadow")
    assert caught.value.key == key
    assert caught.value.message == f"{key!r} is a system parameter and cannot be shadowed"
    assert caught.value.fields == {key: "shadowed"}


def test_system_parameters_cannot_be_changed_archived_or_restored(db_session: Session) -> None:
    for action, call in (
        ("changed", lambda: update_parameter(db_session, "status", label="State")),
        ("archived", lambda: archive_parameter(db_session, "priority")),
        ("restored", lambda: restore_parameter(db_session, "name")),
    ):
        with pytest.raises(SystemParameterError) as caught:
            call()
        assert caught.value.message.endswith(f"is a system parameter and cannot be {action}")
    system = [p for p in list_parameters(db_session) if p.system]
    assert [p.key for p in system] == [
        "live_chat",
        "channel",
        "client",
        "operator",
        "priority",
        "status",
        "subject",
        "created_at",
        "closed_at",
        "name",
    ]
    assert all(p.read_only and not p.archived for p in system)


def test_duplicate_keys_are_rejected_also_when_archived(db_session: Session) -> None:
    add_parameter(db_session, "segment", "string", "Segment")
    with pytest.raises(ValidationError) as caught:
        add_parameter(db_session, "segment", "integer", "Other")
    assert caught.value.message == "parameter 'segment' already exists"
    assert caught.value.fields == {"key": "already exists"}
    archive_parameter(db_session, "segment")
    with pytest.raises(ValidationError) as caught:
        add_parameter(db_session, "segment", "string", "Segment")
    assert (
        caught.value.message == "parameter 'segment' already exists (archived: restore it instead)"
    )


def test_definition_input_errors(db_session: Session) -> None:
    with pytest.raises(ValidationError) as caught:
        add_parameter(db_session, "colour", "colour", "Colour")
    assert caught.value.message.startswith("unknown parameter type 'colour' (one of: string, text,")
    assert caught.value.fields == {"type": "unknown parameter type"}
    with pytest.raises(ValidationError) as caught:
        add_parameter(db_session, "tier", "choice", "Tier")
    assert caught.value.fields == {"options": "at least one option is needed"}
    with pytest.raises(ValidationError) as caught:
        add_parameter(db_session, "note", "string", "Note", options=("a",))
    assert caught.value.fields == {"options": "only choice and multichoice parameters have options"}
    with pytest.raises(ValidationError) as caught:
        add_parameter(db_session, "note", "string", "   ")
    assert caught.value.fields == {"label": "1 to 255 characters"}
    with pytest.raises(NotFoundError) as not_found:
        update_parameter(db_session, "missing", label="X")
    assert not_found.value.message == "parameter 'missing' not found"
    assert definitions(db_session, include_archived=True) == []


def test_archive_hides_keeps_values_and_restore_brings_them_back(
    db_session: Session, factory: sessionmaker[Session], desk: Desk
) -> None:
    db = db_session
    add_parameter(db, "order_no", "string", "Order number")
    add_parameter(db, "tier", "choice", "Tier", options=("gold", "silver"))
    session = open_session(db, desk.support)
    set_parameters(db, session, {"order_no": "A-1", "tier": "gold"}, user_actor(desk.admin))
    archived = archive_parameter(db, "order_no")
    db.commit()
    assert archived.archived_at is not None

    with factory() as fresh:
        assert get_parameters(fresh, session.id) == {"tier": "gold"}
        assert get_parameters(fresh, session.id, include_archived=True) == {
            "order_no": "A-1",
            "tier": "gold",
        }
        assert [d.key for d in definitions(fresh)] == ["tier"]
        assert [p.key for p in list_parameters(fresh, include_archived=False) if not p.system] == [
            "tier"
        ]
        listed = {p.key: p.archived for p in list_parameters(fresh) if not p.system}
        assert listed == {"order_no": True, "tier": False}
        with pytest.raises(ValidationError) as caught:
            set_parameters(fresh, session, {"order_no": "A-2"}, user_actor(desk.admin))
        assert caught.value.message == "parameter 'order_no' is archived"
        assert caught.value.fields == {"order_no": "archived"}

    restore_parameter(db, "order_no")
    db.commit()
    with factory() as fresh:
        assert get_parameters(fresh, session.id) == {"order_no": "A-1", "tier": "gold"}
        assert [h.new_value for h in parameter_history(fresh, session.id, "order_no")] == ["A-1"]


def _session_with(db: Session, desk: Desk, key: str, values: list[object]) -> list[int]:
    ids = []
    for value in values:
        session = open_session(db, desk.support)
        set_parameters(db, session, {key: value}, user_actor(desk.admin))
        ids.append(session.id)
    return ids


def test_type_change_converts_every_stored_value(
    db_session: Session, factory: sessionmaker[Session], desk: Desk
) -> None:
    db = db_session
    add_parameter(db, "visits", "string", "Visits")
    ids = _session_with(db, desk, "visits", ["42", "007", "-3"])
    update_parameter(db, "visits", type_name="integer")
    db.commit()
    with factory() as fresh:
        assert [get_parameters(fresh, i) for i in ids] == [
            {"visits": 42},
            {"visits": 7},
            {"visits": -3},
        ]
        numbers = fresh.scalars(select(ParamValue.number_value).order_by(ParamValue.session_id))
        assert list(numbers) == [Decimal(42), Decimal(7), Decimal(-3)]
        assert definitions(fresh)[0].type == "integer"

    update_parameter(db, "visits", type_name="decimal")
    update_parameter(db, "visits", type_name="text")
    db.commit()
    with factory() as fresh:
        assert [get_parameters(fresh, i) for i in ids] == [
            {"visits": "42"},
            {"visits": "7"},
            {"visits": "-3"},
        ]


def test_type_change_refused_with_the_count_of_values_that_would_not_convert(
    db_session: Session, factory: sessionmaker[Session], desk: Desk
) -> None:
    db = db_session
    add_parameter(db, "code", "string", "Code")
    ids = _session_with(db, desk, "code", ["42", "abc", "x1"])
    db.commit()
    with pytest.raises(ValidationError) as caught:
        update_parameter(db, "code", type_name="integer")
    assert caught.value.message.startswith(
        "cannot change 'code' from string to integer: 2 of 3 stored values would not convert (e.g. "
    )
    assert caught.value.fields == {"type": "2 values would not convert"}
    db.rollback()
    with factory() as fresh:
        assert definitions(fresh)[0].type == "string"
        assert [get_parameters(fresh, i) for i in ids] == [
            {"code": "42"},
            {"code": "abc"},
            {"code": "x1"},
        ]


def test_multichoice_to_choice_converts_single_options_and_refuses_several(
    db_session: Session, desk: Desk
) -> None:
    db = db_session
    add_parameter(db, "topics", "multichoice", "Topics", options=("billing", "returns"))
    ids = _session_with(db, desk, "topics", [["billing"], ["billing", "returns"]])
    db.commit()
    with pytest.raises(ValidationError) as caught:
        update_parameter(db, "topics", type_name="choice")
    assert caught.value.fields == {"type": "1 values would not convert"}
    db.rollback()
    second = db.get_one(SupportSession, ids[1])
    set_parameters(db, second, {"topics": ["returns"]}, user_actor(desk.admin))
    update_parameter(db, "topics", type_name="choice")
    db.commit()
    assert [get_parameters(db, i) for i in ids] == [{"topics": "billing"}, {"topics": "returns"}]
    assert definitions(db)[0].options == ("billing", "returns")


def test_option_removal_is_refused_with_the_count_and_allowed_when_unused(
    db_session: Session, desk: Desk
) -> None:
    db = db_session
    add_parameter(db, "segment", "choice", "Segment", options=("consumer", "smb", "enterprise"))
    add_parameter(db, "topics", "multichoice", "Topics", options=("billing", "returns", "tech"))
    for segment, topics in (
        ("consumer", ["billing", "returns"]),
        ("consumer", ["returns"]),
        ("smb", ["billing"]),
    ):
        session = open_session(db, desk.support)
        changes = {"segment": segment, "topics": topics}
        set_parameters(db, session, changes, user_actor(desk.admin))
    db.commit()

    with pytest.raises(ValidationError) as caught:
        update_parameter(db, "segment", options=["smb", "enterprise"])
    assert caught.value.message == (
        "cannot remove option(s) consumer of 'segment': 2 sessions use them"
    )
    assert caught.value.fields == {"options": "2 sessions use a removed option"}
    db.rollback()
    with pytest.raises(ValidationError) as caught:
        update_parameter(db, "topics", options=["tech"])
    assert caught.value.message == (
        "cannot remove option(s) billing, returns of 'topics': 3 sessions use them"
    )
    db.rollback()

    update_parameter(db, "segment", options=["consumer", "smb", "partner"])
    update_parameter(db, "topics", options=["billing", "returns", "tech", "account"])
    db.commit()
    by_key = {d.key: d.options for d in definitions(db)}
    assert by_key == {
        "segment": ("consumer", "smb", "partner"),
        "topics": ("billing", "returns", "tech", "account"),
    }


def test_label_description_flags_and_reorder(db_session: Session) -> None:
    db = db_session
    for key in ("p1", "p2", "p3", "p4"):
        add_parameter(db, key, "string", key.upper())
    update_parameter(
        db,
        "p2",
        label=" Second ",
        description="  why  ",
        read_only=True,
        required_to_close=True,
    )
    update_parameter(db, "p4", position=1)
    db.commit()
    ordered = [(d.key, d.position) for d in definitions(db)]
    assert ordered == [("p4", 1), ("p1", 2), ("p2", 3), ("p3", 4)]
    p2 = next(p for p in list_parameters(db) if p.key == "p2")
    assert (p2.label, p2.description, p2.read_only, p2.required_to_close) == (
        "Second",
        "why",
        True,
        True,
    )
    update_parameter(db, "p4", position=99)
    update_parameter(db, "p3", position=0)
    db.commit()
    assert [d.key for d in definitions(db)] == ["p3", "p1", "p2", "p4"]
    assert [d.position for d in definitions(db)] == [1, 2, 3, 4]
    assert [p.key for p in list_parameters(db) if not p.system] == ["p3", "p1", "p2", "p4"]
