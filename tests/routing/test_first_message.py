"""A channel's message through the core's one call (`take_channel_message`): the session's first
client message routes a queued session, on PostgreSQL in a transaction of its own after the
message's autocommitted statement (as the API runs it); later messages route nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.clock import SYSTEM_CLOCK
from bpm_livechat.desk.presence import set_presence
from bpm_livechat.models import Message, SessionHistory, SupportSession
from bpm_livechat.routing.rules import RuleSpec, save_rule
from bpm_livechat.routing.teams import create_team
from bpm_livechat.sessions.ingest import take_channel_message
from tests.routing.support import new_session, operator
from tests.support import Desk


def _channel_db(factory: sessionmaker[Session]) -> Session:
    """A session as the API's message request has it: autocommit on PostgreSQL."""
    db = factory()
    if db.get_bind().dialect.name == "postgresql":
        db.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return db


def test_the_first_client_message_routes_a_queued_session_once(
    db_session: Session, factory: sessionmaker[Session], desk: Desk
) -> None:
    operator(db_session, "Petra", desk.support)
    create_team(db_session, "General", [("petra", 2)])
    save_rule(db_session, RuleSpec("Everyone", [], "round-robin", team="General"))
    set_presence(db_session, desk.operator, "online", datetime.now(UTC))
    session_id = new_session(db_session, desk.support).id  # no rule yet when it was created
    db_session.commit()

    with _channel_db(factory) as db:
        taken = take_channel_message(db, SYSTEM_CLOCK, session_id, desk.widget, "Hello?")
        assert taken.first_in_queue
        db.commit()  # the request's end (nothing left to commit on PostgreSQL)
    with _channel_db(factory) as db:
        later = take_channel_message(db, SYSTEM_CLOCK, session_id, desk.widget, "Anyone?")
        assert not later.first_in_queue
        db.commit()

    with factory() as db:
        routed = db.get_one(SupportSession, session_id)
        assert routed.operator is not None and routed.operator.username == "petra"
        history = db.scalars(
            select(SessionHistory.summary).where(
                SessionHistory.session_id == session_id, SessionHistory.kind == "routed"
            )
        ).all()
        texts = db.scalars(select(Message.text).where(Message.session_id == session_id)).all()
    assert len(history) == 1 and "first client message" in history[0]
    assert sorted(texts) == ["Anyone?", "Hello?"]
