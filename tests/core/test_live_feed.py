"""The live feed: every write path announces its change in its own transaction, and a hub in
one process hears changes committed through another engine (PostgreSQL: LISTEN/NOTIFY)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.clock import SystemClock
from bpm_livechat.live.feed import (
    LIVE_EVENTS,
    FeedRow,
    LiveKind,
    newest_id,
    oldest_id,
    prune,
    publish,
    read_after,
)
from bpm_livechat.live.hub import GAP_SECONDS, LiveHub, _Cursor
from bpm_livechat.models import AuthorKind, LiveChat, utcnow
from bpm_livechat.params.actors import Actor, user_actor
from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.params.values import set_parameters
from bpm_livechat.persistence.engines import make_engine
from bpm_livechat.persistence.transactions import session_factory
from bpm_livechat.sessions.ingest import take_message
from bpm_livechat.sessions.lifecycle import close_session, create_session, rename_session
from bpm_livechat.sessions.messages import add_message
from tests.support import Desk


def _feed(
    db: Session, after: int = 0
) -> list[tuple[str, int | None, int | None, dict[str, object]]]:
    return [(r.kind, r.session_id, r.live_chat_id, r.data) for r in read_after(db, after)]


def test_every_write_path_announces_its_change(db_session: Session, desk: Desk) -> None:
    db = db_session
    add_parameter(db, "summary", "text", "Summary")
    start = newest_id(db)
    session = create_session(db, desk.support, client_name="Jane", subject="Broken")
    message = add_message(db, session, "Hello")
    set_parameters(db, session, {"summary": "Typed"}, user_actor(desk.operator))
    robot = Actor(user=desk.admin, instance_id=None, process_id="collect", process_version=1)
    set_parameters(db, session, {"summary": "Computed"}, robot)
    set_parameters(db, session, {"summary": "Computed"}, robot)  # unchanged: no event
    rename_session(db, session, "Jane's broken thing", desk.operator)
    ingested = take_message(db, SystemClock(), session.id, desk.operator, "Still broken")
    close_session(db, session, desk.operator)
    db.commit()
    chat, sid = desk.support.id, session.id
    assert _feed(db, start) == [
        ("session_created", sid, chat, {"status": "queued"}),
        ("message", sid, chat, {"message_ids": [message.id], "author_kind": "client"}),
        ("parameters_changed", sid, chat, {"keys": ["summary"], "by": "person"}),
        ("parameters_changed", sid, chat, {"keys": ["summary"], "by": "process"}),
        ("session_changed", sid, chat, {"what": "renamed"}),
        ("message", sid, chat, {"message_ids": [ingested.message.id], "author_kind": "client"}),
        ("session_changed", sid, chat, {"what": "closed"}),
    ]


def test_an_operator_message_through_the_ingest_names_its_author_kind(
    db_session: Session, desk: Desk
) -> None:
    session = create_session(db_session, desk.support, client_name="Jane", subject="Broken")
    db_session.commit()
    start = newest_id(db_session)
    took = take_message(
        db_session, SystemClock(), session.id, desk.operator, "On it", AuthorKind.OPERATOR.value
    )
    db_session.commit()
    data = {"message_ids": [took.message.id], "author_kind": "operator"}
    assert _feed(db_session, start) == [("message", session.id, desk.support.id, data)]


def test_a_rolled_back_change_is_never_announced(db_session: Session, desk: Desk) -> None:
    start = newest_id(db_session)
    create_session(db_session, desk.support, client_name="Jane", subject="Broken")
    publish(db_session, LiveKind.SESSION_CHANGED, None, desk.sales.id, {"what": "renamed"})
    db_session.rollback()
    assert _feed(db_session, start) == []


def test_pruning_keeps_the_newest_row_so_ids_never_go_back(db_session: Session, desk: Desk) -> None:
    for _ in range(3):
        publish(db_session, LiveKind.SESSION_CHANGED, None, desk.support.id, {"what": "renamed"})
    db_session.commit()
    old = utcnow() - timedelta(hours=2)
    db_session.execute(update(LIVE_EVENTS).values(created_at=old))
    newest = newest_id(db_session)
    assert prune(db_session, utcnow()) >= 2
    db_session.commit()
    assert oldest_id(db_session) == newest
    publish(db_session, LiveKind.SESSION_CHANGED, None, desk.support.id, {"what": "renamed"})
    db_session.commit()
    assert newest_id(db_session) == newest + 1


def test_the_cursor_hands_out_late_commits_once_and_forgets_gaps() -> None:
    def row(i: int) -> FeedRow:
        return FeedRow(i, "message", 1, 1, {})

    cursor = _Cursor(10)
    assert [r.id for r in cursor.fresh([row(11), row(13)], now=0.0)] == [11, 13]
    assert cursor.read_from() == 11  # 12 may still commit
    assert [r.id for r in cursor.fresh([row(12), row(13)], now=1.0)] == [12]
    assert cursor.read_from() == 13
    cursor.fresh([row(15)], now=2.0)
    assert cursor.read_from() == 13
    assert cursor.fresh([row(15)], now=2.0 + GAP_SECONDS) == []  # 14 rolled back: forgotten
    assert cursor.read_from() == 15


def _wait_for(hub_take: object, want: int, seconds: float) -> list[FeedRow]:
    rows: list[FeedRow] = []
    deadline = time.monotonic() + seconds
    while len(rows) < want and time.monotonic() < deadline:
        rows += hub_take(0.5)  # type: ignore[operator]
    return rows


def test_a_hub_hears_a_change_committed_through_another_engine(
    engine: Engine, factory: sessionmaker[Session], desk: Desk
) -> None:
    # A poll slower than the test on PostgreSQL: only the notification can deliver in time.
    postgres = engine.dialect.name == "postgresql"
    hub = LiveHub(factory, engine, poll_seconds=30.0 if postgres else 0.1)
    support = hub.subscribe(lambda row: row.live_chat_id == desk.support.id)
    sales = hub.subscribe(lambda row: row.live_chat_id == desk.sales.id)
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        time.sleep(0.5)  # the hub's thread has read its starting point and listens
        with session_factory(other)() as db:
            began = time.monotonic()
            chat = db.get(LiveChat, desk.support.id)
            assert chat is not None
            session = create_session(db, chat, client_name="Jane", subject="Broken")
            add_message(db, session, "Hello")
            db.commit()
        rows = _wait_for(support.take, 2, 5.0)
        elapsed = time.monotonic() - began
        assert [(r.kind, r.session_id) for r in rows] == [
            ("session_created", session.id),
            ("message", session.id),
        ]
        assert elapsed < 5.0
        assert sales.take(0.2) == []
    finally:
        hub.stop()
        other.dispose()
    assert hub.streams == 2 and support.closed


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_full_process_refuses_one_more_stream(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    from bpm_livechat.live.hub import TooManyStreams

    hub = LiveHub(factory, engine, max_streams=1)
    try:
        first = hub.subscribe(lambda row: True)
        with pytest.raises(TooManyStreams):
            hub.subscribe(lambda row: True)
        hub.unsubscribe(first)
        hub.subscribe(lambda row: True)
    finally:
        hub.stop()


def test_rows_are_read_in_id_order(db_session: Session, desk: Desk) -> None:
    for what in ("a", "b", "c"):
        publish(db_session, LiveKind.SESSION_CHANGED, None, desk.support.id, {"what": what})
    db_session.commit()
    ids = list(db_session.scalars(select(LIVE_EVENTS.c.id).order_by(LIVE_EVENTS.c.id)))
    assert [r.id for r in read_after(db_session, ids[0])] == ids[1:]
