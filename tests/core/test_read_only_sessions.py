"""Closed sessions are read-only and Offline operators read only: one guard on every person's
write (parameters, name, process start and task, operator message, take); presence reads Away
after inactivity (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.clock import SYSTEM_CLOCK
from bpm_livechat.desk.presence import note_activity, presence_of, set_presence
from bpm_livechat.desk.users import system_user
from bpm_livechat.errors import OperatorOfflineError, SessionClosedError, ValidationError
from bpm_livechat.models import AuthorKind, Presence, SessionHistory, User, utcnow
from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.instances import complete_task, start_process
from bpm_livechat.sessions.assignment import take_session
from bpm_livechat.sessions.editing import edit_parameters
from bpm_livechat.sessions.guards import require_writable
from bpm_livechat.sessions.lifecycle import (
    close_session,
    missing_to_close,
    rename_session,
    reset_name,
)
from bpm_livechat.sessions.messages import add_message
from bpm_livechat.sessions.replies import reply_as_operator
from tests.support import Desk, open_session


def test_close_names_the_empty_required_parameters_then_records_who_closed(
    db_session: Session, desk: Desk
) -> None:
    db = db_session
    add_parameter(db, "outcome", "choice", "Outcome", options=["resolved"], required_to_close=True)
    add_parameter(db, "reason", "string", "Reason", required_to_close=True)
    add_parameter(db, "note", "string", "Note")
    session = open_session(db, desk.support, operator=desk.operator)
    db.commit()
    assert [d.key for d in missing_to_close(db, session)] == ["outcome", "reason"]
    with pytest.raises(ValidationError) as refused:
        close_session(db, session, desk.operator)
    assert refused.value.fields == {"outcome": "required to close", "reason": "required to close"}
    edit_parameters(db, SYSTEM_CLOCK, session, {"outcome": "resolved", "reason": "done"},
                    desk.operator)  # fmt: skip
    assert close_session(db, session, desk.operator) is True
    db.commit()
    assert (session.status, session.closed_by_id) == ("closed", desk.operator.id)
    assert session.closed_at is not None
    kinds = db.scalars(
        select(SessionHistory.summary).where(SessionHistory.session_id == session.id)
    )
    assert list(kinds) == ["Olga Operator closed the session"]
    assert close_session(db, session, desk.operator) is False  # closed already: nothing to do


def test_a_closed_session_refuses_every_persons_write(
    db_session: Session, deployed: Desk, process_engine: ProcessEngine
) -> None:
    db, desk = db_session, deployed
    session = open_session(db, desk.support, operator=desk.operator)
    db.commit()
    outcome = start_process(db, process_engine, session, "case_review",
                            {"contact_email": "jane@example.com", "amount": "5"}, desk.operator)  # fmt: skip
    instance = outcome.instance
    db.commit()
    close_session(db, session, desk.supervisor)
    db.commit()
    closed = f"session {session.id} was closed on "
    writes = [
        lambda: edit_parameters(db, SYSTEM_CLOCK, session, {"summary": "x"}, desk.operator),
        lambda: rename_session(db, session, "New name", desk.operator),
        lambda: reset_name(db, session, desk.supervisor),
        lambda: start_process(db, process_engine, session, "case_review", {}, desk.operator),
        lambda: complete_task(db, process_engine, instance, "review",
                              {"summary": "s", "outcome": "resolved"}, desk.operator),
        lambda: add_message(db, session, "Hello?", AuthorKind.OPERATOR.value, desk.operator),
        lambda: reply_as_operator(db, SYSTEM_CLOCK, session, desk.operator, "Hi"),
        lambda: take_session(db, SYSTEM_CLOCK, session, desk.operator),
    ]  # fmt: skip
    for write in writes:
        with pytest.raises(SessionClosedError) as refused:
            write()
        assert refused.value.message.startswith(closed)
        assert refused.value.message.endswith("by Sam Supervisor and is read-only")
        db.rollback()
    # Automation still acts on the closed session (a process bound to session_closed runs).
    require_writable(session, system_user(db), "start processes")
    # The client may still write (the channel decides what a closed session does with it).
    add_message(db, session, "Thanks!", AuthorKind.CLIENT.value)


def test_an_offline_operator_reads_but_cannot_write(
    db_session: Session, deployed: Desk, process_engine: ProcessEngine
) -> None:
    db, desk = db_session, deployed
    session = open_session(db, desk.support, operator=desk.operator)
    queued = open_session(db, desk.support)
    set_presence(db, desk.operator, "offline", SYSTEM_CLOCK.now())
    db.commit()
    refused_with = {
        "edit parameters": lambda: edit_parameters(db, SYSTEM_CLOCK, session, {"summary": "x"},
                                                   desk.operator),
        "rename sessions": lambda: rename_session(db, session, "New", desk.operator),
        "start processes": lambda: start_process(db, process_engine, session, "case_review", {},
                                                 desk.operator),
        "reply": lambda: reply_as_operator(db, SYSTEM_CLOCK, session, desk.operator, "Hi"),
        "take sessions": lambda: take_session(db, SYSTEM_CLOCK, queued, desk.operator),
        "close sessions": lambda: close_session(db, session, desk.operator),
    }  # fmt: skip
    for action, write in refused_with.items():
        with pytest.raises(OperatorOfflineError) as refused:
            write()
        assert refused.value.message == f"You are Offline: set yourself Online to {action}"
        db.rollback()
    set_presence(db, desk.operator, "online", SYSTEM_CLOCK.now())
    assert edit_parameters(db, SYSTEM_CLOCK, session, {"summary": "back"}, desk.operator)


def test_presence_reads_away_after_inactivity_and_activity_is_written_once_a_minute(
    db_session: Session, desk: Desk
) -> None:
    db, olga = db_session, desk.operator
    now = utcnow()
    assert presence_of(olga, now) is Presence.AWAY  # never seen
    assert note_activity(db, olga, now) is True
    assert note_activity(db, olga, now + timedelta(seconds=30)) is False
    db.commit()
    assert presence_of(olga, now + timedelta(minutes=9)) is Presence.ONLINE
    assert presence_of(olga, now + timedelta(minutes=11)) is Presence.AWAY
    assert presence_of(olga, now + timedelta(minutes=3), timedelta(minutes=2)) is Presence.AWAY
    assert note_activity(db, olga, now + timedelta(minutes=11)) is True
    db.commit()
    db.expire_all()
    stored = db.get_one(User, olga.id)
    assert stored.last_seen_at == now + timedelta(minutes=11)
    set_presence(db, stored, "away", now)
    assert presence_of(stored, now) is Presence.AWAY
    with pytest.raises(ValidationError) as bad:
        set_presence(db, stored, "busy", now)
    assert bad.value.fields == {"presence": "unknown presence"}
