"""Sessions: the name from the live chat's template, renaming, closing, messages, creation rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.clock import SYSTEM_CLOCK
from bpm_livechat.desk.livechats import create_live_chat, set_name_template
from bpm_livechat.errors import AccessDeniedError, NotFoundError, TemplateError, ValidationError
from bpm_livechat.models import EventBinding, Job, Process
from bpm_livechat.params.actors import user_actor
from bpm_livechat.params.catalogue import add_parameter, archive_parameter
from bpm_livechat.params.values import set_parameters
from bpm_livechat.sessions.ingest import take_message
from bpm_livechat.sessions.lifecycle import (
    close_session,
    get_session,
    rename_session,
    reset_name,
    snapshot,
)
from bpm_livechat.sessions.messages import add_message, messages
from tests.support import Desk, open_session

CREATED = datetime(2026, 3, 9, 14, 30, tzinfo=UTC)


def test_name_is_rendered_from_the_live_chat_template_at_creation(
    db_session: Session, factory: sessionmaker[Session], desk: Desk
) -> None:
    db = db_session
    add_parameter(db, "order_no", "string", "Order number")
    set_name_template(
        db,
        desk.support,
        "{live_chat.name}/{channel.name} {created_at:%d.%m.%Y} {client.name} <{client.email}> "
        "{operator.name}: {subject} #{param.order_no}",
    )
    session = open_session(
        db,
        desk.support,
        client="Jane Doe",
        subject="Refund",
        client_email="Jane@Example.com",
        channel_name="Telegram",
        operator=desk.operator,
        created_at=CREATED,
    )
    db.commit()
    expected = "Support/Telegram 09.03.2026 Jane Doe <Jane@example.com> Olga Operator: Refund #"
    assert session.name == expected
    assert session.name_is_manual is False
    assert session.status == "active"
    with factory() as fresh:
        assert get_session(fresh, session.id).name == expected

    sales = open_session(db, desk.sales, client="Max", subject="Quote")
    assert sales.name == "Email: Max"
    assert sales.status == "queued"
    assert sales.channel.name == "Email"


def test_a_new_session_is_written_once_with_its_name(db_session: Session, desk: Desk) -> None:
    """A new session has no parameter values, so its name is rendered before its one INSERT."""
    db = db_session
    add_parameter(db, "order_no", "string", "Order number")
    set_name_template(db, desk.support, "{client.name}: {subject} #{param.order_no}")
    db.flush()
    writes: list[str] = []

    def log(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        words = statement.split()
        if words[0] in {"INSERT", "UPDATE"} and "sessions" in words[:3]:
            writes.append(words[0])

    bind = db.connection()
    event.listen(bind, "before_cursor_execute", log)
    try:
        session = open_session(db, desk.support, client="Ann", subject="Refund")
    finally:
        event.remove(bind, "before_cursor_execute", log)
    assert session.name == "Ann: Refund #"
    assert writes == ["INSERT"]
    db.commit()
    assert get_session(db, session.id).name == "Ann: Refund #"


def test_template_problems_are_rejected_when_saved(db_session: Session, desk: Desk) -> None:
    db = db_session
    for template, position in (
        ("{client.name.__class__}", 12),
        ("{0}", 1),
        ("{created_at:>999999}", 12),
        ("{subject", 0),
        ("{param.missing}", 7),
    ):
        with pytest.raises(TemplateError) as caught:
            set_name_template(db, desk.support, template)
        assert caught.value.position == position, template
    with pytest.raises(TemplateError):
        create_live_chat(db, "Broken", "{client.name}}")
    db.rollback()
    db.refresh(desk.support)
    assert desk.support.name_template == "{client.name} — {subject}"


def test_rename_keeps_the_manual_name_until_reset(
    db_session: Session, factory: sessionmaker[Session], desk: Desk
) -> None:
    db = db_session
    add_parameter(db, "tier", "string", "Tier")
    set_name_template(db, desk.support, "{client.name} — {param.tier}")
    session = open_session(db, desk.support, client="Jane")
    assert session.name == "Jane"
    with pytest.raises(ValidationError):  # kept as sent or refused, never trimmed quietly
        rename_session(db, session, "  VIP    Jane  ", desk.operator)
    rename_session(db, session, "VIP    Jane", desk.operator)
    set_parameters(db, session, {"tier": "gold"}, user_actor(desk.admin))
    set_name_template(db, desk.support, "{param.tier}: {client.name}")
    db.commit()
    with factory() as fresh:
        loaded = get_session(fresh, session.id)
        assert (loaded.name, loaded.name_is_manual) == ("VIP    Jane", True)

    reset_name(db, session, desk.supervisor)
    db.commit()
    with factory() as fresh:
        loaded = get_session(fresh, session.id)
        assert (loaded.name, loaded.name_is_manual) == ("gold: Jane", False)


def test_rename_rejections(db_session: Session, desk: Desk) -> None:
    db = db_session
    session = open_session(db, desk.support, client="Jane", subject="Help")
    with pytest.raises(ValidationError) as caught:
        rename_session(db, session, "   ", desk.operator)
    assert caught.value.fields == {"name": "must not be empty"}
    with pytest.raises(ValidationError) as caught:
        rename_session(db, session, "n" * 256, desk.operator)
    assert caught.value.message == "the session name must have at most 255 characters (256 now)"
    with pytest.raises(AccessDeniedError) as denied:
        rename_session(db, session, "Mine", desk.seller)
    assert denied.value.message == f"user 'sven' has no access to session {session.id}"
    with pytest.raises(AccessDeniedError):
        reset_name(db, session, desk.app_user)
    rename_session(db, session, "n" * 255, desk.admin)
    assert session.name == "n" * 255
    assert (session.name_is_manual, open_session(db, desk.support).name) == (
        True,
        "Jane Doe — Help",
    )


def test_close_is_refused_while_required_parameters_are_empty(
    db_session: Session, factory: sessionmaker[Session], desk: Desk
) -> None:
    db = db_session
    add_parameter(db, "outcome", "choice", "Outcome", options=("resolved", "escalated"))
    add_parameter(db, "summary", "text", "Summary", required_to_close=True)
    add_parameter(db, "legacy", "string", "Legacy", required_to_close=True)
    add_parameter(db, "resolution", "string", "Resolution", required_to_close=True)
    archive_parameter(db, "legacy")
    from bpm_livechat.params.catalogue import update_parameter

    update_parameter(db, "outcome", required_to_close=True)
    session = open_session(db, desk.support)
    set_parameters(db, session, {"resolution": "refunded"}, user_actor(desk.admin))
    db.commit()

    with pytest.raises(ValidationError) as caught:
        close_session(db, session, desk.operator)
    assert caught.value.message == (
        f"session {session.id} cannot be closed: required parameters are empty: outcome, summary"
    )
    assert caught.value.fields == {"outcome": "required to close", "summary": "required to close"}
    db.rollback()  # expires `session`: reload it before another connection reads
    db.refresh(session)
    db.commit()
    with factory() as fresh:
        loaded = get_session(fresh, session.id)
        assert (loaded.status, loaded.closed_at) == ("queued", None)

    with pytest.raises(AccessDeniedError):
        close_session(db, session, desk.seller)
    set_parameters(
        db, session, {"outcome": "resolved", "summary": "Refund sent"}, user_actor(desk.operator)
    )
    close_session(db, session, desk.operator)
    db.commit()
    with factory() as fresh:
        loaded = get_session(fresh, session.id)
        assert loaded.status == "closed"
        assert loaded.closed_at is not None and loaded.closed_at.tzinfo is UTC
        closed_at = loaded.closed_at
    close_session(db, session, desk.operator)
    assert session.closed_at == closed_at


def test_messages_in_order_with_authors(
    db_session: Session, factory: sessionmaker[Session], desk: Desk
) -> None:
    db = db_session
    session = open_session(db, desk.support, client="Jane Doe", created_at=CREATED)
    add_message(db, session, "Hello?", "client", sent_at=CREATED + timedelta(minutes=1))
    add_message(db, session, "Hi Jane", "operator", desk.operator, CREATED + timedelta(minutes=3))
    add_message(db, session, "Session assigned", "system", sent_at=CREATED + timedelta(minutes=2))
    db.commit()
    with factory() as fresh:
        thread = [(m.author_kind, m.author_name, m.text) for m in messages(fresh, session.id)]
        assert thread == [
            ("client", "Jane Doe", "Hello?"),
            ("system", "System", "Session assigned"),
            ("operator", "Olga Operator", "Hi Jane"),
        ]
        newest = [m.text for m in messages(fresh, session.id, limit=2)]
        assert newest == ["Session assigned", "Hi Jane"]
        assert messages(fresh, session.id)[2].author_user_id == desk.operator.id
        assert messages(fresh, session.id)[0].sent_at == CREATED + timedelta(minutes=1)
        view = snapshot(fresh, get_session(fresh, session.id))
        assert [m["text"] for m in view["messages"]] == ["Hello?", "Session assigned", "Hi Jane"]
        assert view["client"] == {"name": "Jane Doe", "email": "", "phone": ""}

    for text, kind, reason in (
        ("   ", "client", {"text": "must not be empty"}),
        ("x" * 20_001, "client", {"text": "too long"}),
        ("hi", "robot", {"author_kind": "unknown author kind"}),
    ):
        with pytest.raises(ValidationError) as caught:
            add_message(db, session, text, kind)
        assert caught.value.fields == reason
    assert len(messages(db, session.id)) == 3


def test_take_message_checks_the_session_and_access_in_its_one_statement(
    db_session: Session, factory: sessionmaker[Session], desk: Desk
) -> None:
    db = db_session
    support = open_session(db, desk.support, client="Jane Doe")
    sales = open_session(db, desk.sales, client="Bob")
    db.commit()
    from_client = take_message(db, SYSTEM_CLOCK, support.id, desk.operator, "Hello?")
    assert (from_client.event_recorded, from_client.key_recorded) == (False, False)  # no listener
    by_operator = take_message(
        db, SYSTEM_CLOCK, support.id, desk.supervisor, "Hi Jane", "operator"
    ).message
    by_admin = take_message(db, SYSTEM_CLOCK, sales.id, desk.admin, "Assigned", "system").message
    assert (from_client.message.author_name, from_client.message.author_user_id) == (
        "Jane Doe",
        None,
    )
    assert (by_operator.author_name, by_operator.author_user_id) == (
        "Sam Supervisor",
        desk.supervisor.id,
    )
    assert by_admin.author_name == "Alex Admin"
    for user, session_id in ((desk.operator, sales.id), (desk.seller, support.id)):
        with pytest.raises(AccessDeniedError) as denied:
            take_message(db, SYSTEM_CLOCK, session_id, user, "Let me in")
        assert (
            denied.value.message == f"user {user.username!r} has no access to session {session_id}"
        )
    with pytest.raises(AccessDeniedError):  # a reader of the live chat, not one who works it
        take_message(db, SYSTEM_CLOCK, support.id, desk.app_user, "Hi")
    with pytest.raises(NotFoundError):
        take_message(db, SYSTEM_CLOCK, 10**9, desk.admin, "Anyone?")
    with pytest.raises(ValidationError) as caught:
        take_message(db, SYSTEM_CLOCK, support.id, desk.operator, "   ")
    assert caught.value.fields == {"text": "must not be empty"}
    db.commit()
    with factory() as fresh:
        stored = [(m.id, m.author_kind, m.author_name, m.text) for m in messages(fresh, support.id)]
        posted = [from_client.message, by_operator]
        assert stored == [(m.id, m.author_kind, m.author_name, m.text) for m in posted]
        assert [m.text for m in messages(fresh, sales.id)] == ["Assigned"]


def test_take_message_records_its_event_only_when_someone_listens(
    db_session: Session, desk: Desk
) -> None:
    db = db_session
    support = open_session(db, desk.support)
    db.commit()
    assert (
        take_message(db, SYSTEM_CLOCK, support.id, desk.operator, "Hello").event_recorded is False
    )
    process = Process(bpmn_id="tag", name="Tag")
    db.add(process)
    db.flush()
    db.add(EventBinding(process_id=process.id, event="message_received"))
    db.commit()
    taken = take_message(db, SYSTEM_CLOCK, support.id, desk.operator, "Refund?")
    assert taken.event_recorded is True
    # Only a client's message starts processes; nobody waits for an operator's reply yet.
    reply = take_message(db, SYSTEM_CLOCK, support.id, desk.operator, "On it", "operator")
    assert reply.event_recorded is False
    db.commit()
    jobs = db.execute(select(Job.kind, Job.session_id, Job.payload).order_by(Job.id)).all()
    assert [(k, s, p) for k, s, p in jobs] == [
        ("session_event", support.id, {"event": "message_received", "message_id": taken.message.id})
    ]


def test_take_message_says_when_it_is_the_first_client_message_of_a_queued_session(
    db_session: Session, desk: Desk
) -> None:
    db = db_session
    support = open_session(db, desk.support)
    db.commit()
    reply = take_message(
        db, SYSTEM_CLOCK, support.id, desk.operator, "Hi, how can I help?", "operator"
    )
    assert reply.first_in_queue is False  # an operator's message is not the client's
    assert take_message(db, SYSTEM_CLOCK, support.id, desk.operator, "Refund?").first_in_queue
    db.commit()
    assert not take_message(db, SYSTEM_CLOCK, support.id, desk.operator, "Hello?").first_in_queue
    taken = open_session(db, desk.support)
    taken.operator_id = desk.operator.id
    db.commit()
    assert not take_message(db, SYSTEM_CLOCK, taken.id, desk.operator, "Refund?").first_in_queue


def test_creation_rules(db_session: Session, desk: Desk) -> None:
    db = db_session
    first = open_session(db, desk.support, client="Jane", client_email="jane@example.com")
    again = open_session(
        db,
        desk.support,
        client="Jane D.",
        client_email="jane@EXAMPLE.com",
        client_phone="+44 20 7946 0958",
    )
    assert again.client_id == first.client_id
    assert (again.client.name, again.client.phone) == ("Jane", "+442079460958")
    for kwargs, fields in (
        ({"channel_name": "Fax"}, {"channel": "unknown"}),
        ({"priority": "asap"}, {"priority": "unknown priority"}),
        ({"subject": "s" * 256}, {"subject": "longer than 255 characters"}),
        ({"client": "  "}, {"client_name": "1 to 255 characters"}),
        ({"client_email": "nope"}, {"client_email": "not a valid email address"}),
    ):
        with pytest.raises(ValidationError) as caught:
            open_session(db, desk.support, **kwargs)
        assert caught.value.fields == fields
    empty = create_live_chat(db, "Empty", "{subject}")
    with pytest.raises(ValidationError) as caught:
        open_session(db, empty)
    assert caught.value.message == "live chat 'Empty' has no channel"
    with pytest.raises(NotFoundError) as missing:
        get_session(db, 424242)
    assert missing.value.message == "session 424242 not found"
