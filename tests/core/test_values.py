"""Parameter values: all-or-nothing writes, read-only and archived rules, history, system keys."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.errors import ParameterValueError, SystemParameterError, ValidationError
from bpm_livechat.models import ParamHistory, ParamValue
from bpm_livechat.params.actors import Actor, user_actor
from bpm_livechat.params.catalogue import add_parameter, archive_parameter
from bpm_livechat.params.values import (
    ParamChange,
    get_parameters,
    parameter_history,
    set_parameters,
)
from tests.support import Desk, open_session


@pytest.fixture
def params(db_session: Session) -> None:
    add_parameter(db_session, "visits", "integer", "Visits")
    add_parameter(db_session, "contact_email", "email", "Contact email", read_only=True)
    add_parameter(db_session, "segment", "choice", "Segment", options=("consumer", "smb"))
    add_parameter(db_session, "note", "string", "Note")
    db_session.commit()


def _counts(db: Session) -> tuple[int, int]:
    values = db.scalar(select(func.count()).select_from(ParamValue))
    history = db.scalar(select(func.count()).select_from(ParamHistory))
    return values or 0, history or 0


@pytest.mark.usefixtures("params")
def test_write_of_several_values_is_all_or_nothing(
    db_session: Session, factory: sessionmaker[Session], desk: Desk
) -> None:
    db = db_session
    session = open_session(db, desk.support)
    set_parameters(db, session, {"visits": 1}, user_actor(desk.admin))
    db.commit()

    bad = {"visits": "5", "contact_email": "not-an-email", "segment": "vip", "note": "ok"}
    with pytest.raises(ValidationError) as caught:
        set_parameters(db, session, bad, user_actor(desk.admin))
    assert type(caught.value) is ValidationError
    assert caught.value.fields == {
        "contact_email": "not a valid email address",
        "segment": "not one of: consumer, smb",
    }
    assert caught.value.message == (
        "parameter 'contact_email' (email): not a valid email address: 'not-an-email'; "
        "parameter 'segment' (choice): not one of: consumer, smb: 'vip'"
    )
    assert get_parameters(db, session.id) == {"visits": 1}
    db.commit()
    with factory() as fresh:
        assert get_parameters(fresh, session.id) == {"visits": 1}
        assert _counts(fresh) == (1, 1)


SYSTEM_KEYS = ("status", "name", "priority", "id")
READ_ONLY = "parameter 'contact_email' is read-only: only processes and admins set it"
REFUSED_WRITES = [
    pytest.param(
        {"note": "fine", "visits": "many"}, "admin", ParameterValueError,
        "parameter 'visits' (integer): not a whole number: 'many'",
        {"visits": "not a whole number"}, id="a bad value",
    ),
    pytest.param(
        {"note": "fine", "colour": "red"}, "admin", ValidationError,
        "unknown parameter 'colour'", {"colour": "unknown parameter"}, id="an unknown key",
    ),
    *[
        pytest.param(
            {"note": "x", key: "closed"}, "admin", SystemParameterError,
            f"{key!r} is a system parameter and cannot be changed", {key: "changed"},
            id=f"system parameter {key}",
        )
        for key in SYSTEM_KEYS
    ],
    *[
        pytest.param(
            {"note": "x", "contact_email": "a@b.io"}, who, ValidationError, READ_ONLY,
            {"contact_email": "read-only"}, id=f"read-only by the {who}",
        )
        for who in ("operator", "supervisor")
    ],
]  # fmt: skip


@pytest.mark.usefixtures("params")
@pytest.mark.parametrize(("values", "who", "error", "message", "fields"), REFUSED_WRITES)
def test_a_refused_write_names_the_key_and_writes_nothing(
    db_session: Session,
    desk: Desk,
    values: dict[str, object],
    who: str,
    error: type[ValidationError],
    message: str,
    fields: dict[str, str],
) -> None:
    db = db_session
    session = open_session(db, desk.support)
    with pytest.raises(error) as caught:
        set_parameters(db, session, values, user_actor(getattr(desk, who)))
    assert type(caught.value) is error
    assert (caught.value.message, caught.value.fields) == (message, fields)
    assert _counts(db) == (0, 0)
    assert session.status == "queued"


@pytest.mark.usefixtures("params")
def test_a_bad_value_carries_its_key_type_and_value(db_session: Session, desk: Desk) -> None:
    session = open_session(db_session, desk.support)
    with pytest.raises(ParameterValueError) as caught:
        set_parameters(db_session, session, {"visits": "many"}, user_actor(desk.admin))
    assert (caught.value.key, caught.value.type_name, caught.value.value) == (
        "visits",
        "integer",
        "many",
    )


@pytest.mark.usefixtures("params")
def test_read_only_parameters_are_written_by_admins_and_processes_with_history(
    db_session: Session, factory: sessionmaker[Session], desk: Desk
) -> None:
    db = db_session
    session = open_session(db, desk.support)
    db.commit()
    set_parameters(db, session, {"contact_email": "a@B.io"}, user_actor(desk.admin))
    process = Actor(
        user=desk.operator,
        instance_id=7,
        process_id="enrich_contact",
        process_version=3,
        task_id="Task_fill",
        task_name="Fill contact",
    )
    set_parameters(db, session, {"contact_email": "c@d.io"}, process)
    db.commit()
    with factory() as fresh:
        assert get_parameters(fresh, session.id) == {"contact_email": "c@d.io"}
        entries = [
            (
                h.old_value,
                h.new_value,
                h.actor_user_id,
                h.instance_id,
                h.process_id,
                h.process_version,
                h.task_id,
                h.task_name,
            )
            for h in parameter_history(fresh, session.id, "contact_email")
        ]
    assert entries == [
        (None, "a@b.io", desk.admin.id, None, None, None, None, None),
        ("a@b.io", "c@d.io", desk.operator.id, 7, "enrich_contact", 3, "Task_fill", "Fill contact"),
    ]


@pytest.mark.usefixtures("params")
def test_archived_parameters_are_refused(db_session: Session, desk: Desk) -> None:
    db = db_session
    session = open_session(db, desk.support)
    archive_parameter(db, "note")
    with pytest.raises(ValidationError) as caught:
        set_parameters(db, session, {"note": "x"}, user_actor(desk.admin))
    assert caught.value.message == "parameter 'note' is archived"
    assert _counts(db) == (0, 0)


@pytest.mark.usefixtures("params")
def test_unchanged_value_writes_no_history(db_session: Session, desk: Desk) -> None:
    db = db_session
    session = open_session(db, desk.support)
    first = set_parameters(db, session, {"visits": "5", "segment": "smb"}, user_actor(desk.admin))
    assert first == {
        "visits": ParamChange("visits", None, 5),
        "segment": ParamChange("segment", None, "smb"),
    }
    again = set_parameters(db, session, {"visits": 5, "segment": " smb "}, user_actor(desk.admin))
    assert again == {}
    nothing = set_parameters(db, session, {"note": ""}, user_actor(desk.admin))
    assert nothing == {}
    db.commit()
    assert _counts(db) == (2, 2)


@pytest.mark.usefixtures("params")
def test_history_records_old_new_and_actor_in_order(
    db_session: Session, factory: sessionmaker[Session], desk: Desk
) -> None:
    db = db_session
    session = open_session(db, desk.support)
    other = open_session(db, desk.support, client="Other")
    set_parameters(db, session, {"visits": 1, "note": "first"}, user_actor(desk.admin))
    set_parameters(db, other, {"visits": 99}, user_actor(desk.admin))
    db.commit()
    set_parameters(db, session, {"visits": 2}, user_actor(desk.operator))
    db.commit()
    cleared = set_parameters(
        db, session, {"visits": None, "note": "second"}, user_actor(desk.operator)
    )
    db.commit()
    assert cleared == {
        "visits": ParamChange("visits", 2, None),
        "note": ParamChange("note", "first", "second"),
    }

    with factory() as fresh:
        assert get_parameters(fresh, session.id) == {"note": "second"}
        visits = [
            (h.key, h.old_value, h.new_value, h.actor_user.username if h.actor_user else None)
            for h in parameter_history(fresh, session.id, "visits")
        ]
        assert visits == [
            ("visits", None, 1, "admin"),
            ("visits", 1, 2, "olga"),
            ("visits", 2, None, "olga"),
        ]
        everything = [(h.key, h.new_value) for h in parameter_history(fresh, session.id)]
        assert everything == [
            ("visits", 1),
            ("note", "first"),
            ("visits", 2),
            ("visits", None),
            ("note", "second"),
        ]
        times = [h.changed_at for h in parameter_history(fresh, session.id)]
        assert times == sorted(times)
        assert all(t.tzinfo is not None for t in times)
        assert [h.new_value for h in parameter_history(fresh, other.id)] == [99]
