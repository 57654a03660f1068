"""Assignment: take, assign, transfer and return to the queue, with history, events, the race of
two operators taking at once, the list's views and their counts (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.clock import SYSTEM_CLOCK
from bpm_livechat.desk.livechats import add_member
from bpm_livechat.desk.presence import set_presence
from bpm_livechat.desk.users import create_user
from bpm_livechat.errors import AccessDeniedError, SessionTakenError, ValidationError
from bpm_livechat.models import (
    Job,
    MemberRole,
    SessionHistory,
    SupportSession,
    User,
    WebhookSubscription,
)
from bpm_livechat.persistence.transactions import unit_of_work
from bpm_livechat.sessions.assignment import assign_session, release_session, take_session
from bpm_livechat.sessions.lifecycle import close_session, get_session
from bpm_livechat.sessions.queues import SessionView, view_counts
from bpm_livechat.sessions.search import SessionQuery, search_sessions
from tests.support import Desk, open_session


@pytest.fixture
def oscar(db_session: Session, desk: Desk) -> User:
    """A second operator of Support."""
    user = create_user(db_session, "oscar", "operator", "oscar-pass-12", "Oscar Operator")
    add_member(db_session, desk.support, user, MemberRole.OPERATOR)
    db_session.commit()
    return user


def _history(db: Session, session_id: int) -> list[tuple[str, str, dict[str, object]]]:
    rows = db.scalars(select(SessionHistory).where(SessionHistory.session_id == session_id))
    return [(h.kind, h.summary, h.detail) for h in rows]


def test_take_makes_the_session_active_bumps_its_version_and_records_history_and_event(
    db_session: Session, desk: Desk
) -> None:
    db = db_session
    db.add(WebhookSubscription(name="crm", url="https://crm.example/hook", secret="s" * 32,
                               on_assigned=True))  # fmt: skip
    session = open_session(db, desk.support)
    db.commit()
    assert session.status == "queued"
    version = session.version
    take_session(db, SYSTEM_CLOCK, session, desk.operator)
    db.commit()
    assert (session.status, session.operator_id) == ("active", desk.operator.id)
    assert session.version == version + 1
    assert _history(db, session.id) == [
        ("taken", "Olga Operator took the session", {"by": "olga", "from": None, "to": "olga"})
    ]
    job = db.scalars(select(Job).where(Job.session_id == session.id)).one()
    assert job.payload == {
        "event": "session_assigned", "change": "taken", "by": "olga", "from": None, "to": "olga"
    }  # fmt: skip
    take_session(db, SYSTEM_CLOCK, session, desk.operator)  # one's own again: nothing changes
    assert len(_history(db, session.id)) == 1


def test_a_taken_session_cannot_be_taken_and_the_loser_learns_who_has_it(
    db_session: Session, desk: Desk, oscar: User
) -> None:
    session = open_session(db_session, desk.support)
    take_session(db_session, SYSTEM_CLOCK, session, desk.operator)
    db_session.commit()
    with pytest.raises(SessionTakenError) as caught:
        take_session(db_session, SYSTEM_CLOCK, session, oscar)
    assert caught.value.holder == "olga"
    assert caught.value.message == (
        f"session {session.id} was already taken by Olga Operator (olga)"
    )


def test_only_operators_of_the_live_chat_take(db_session: Session, desk: Desk) -> None:
    session = open_session(db_session, desk.support)
    db_session.commit()
    with pytest.raises(AccessDeniedError, match="not an operator of live chat 'Support'"):
        take_session(db_session, SYSTEM_CLOCK, session, desk.supervisor)
    with pytest.raises(AccessDeniedError):
        take_session(db_session, SYSTEM_CLOCK, session, desk.seller)  # works Sales only


def _race(
    factory: sessionmaker[Session], session_id: int, user_ids: tuple[int, ...], sqlite: bool
) -> list[tuple[str, str]]:
    """Each user takes the session in a thread of its own; ("won", who) or ("lost to", holder)."""
    results: list[tuple[str, str]] = []
    barrier = threading.Barrier(len(user_ids))

    def take(user_id: int) -> None:
        # PostgreSQL: both have read the queued session before either writes. SQLite has one
        # writer (each transaction begins IMMEDIATE), so there they start together instead.
        try:
            if sqlite:
                barrier.wait(timeout=10)
            with unit_of_work(factory) as db:
                user = db.get_one(User, user_id)
                target = get_session(db, session_id, user)
                if not sqlite:
                    barrier.wait(timeout=10)
                take_session(db, SYSTEM_CLOCK, target, user)
            results.append(("won", user.username))
        except SessionTakenError as exc:
            results.append(("lost to", exc.holder))

    threads = [threading.Thread(target=take, args=(uid,)) for uid in user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_operators_taking_at_once_give_one_winner(
    db_session: Session, factory: sessionmaker[Session], desk: Desk, oscar: User
) -> None:
    user_ids = (desk.operator.id, oscar.id)
    sqlite = db_session.get_bind().dialect.name == "sqlite"
    for _round in range(3):
        session_id = open_session(db_session, desk.support).id
        db_session.commit()
        results = sorted(_race(factory, session_id, user_ids, sqlite), reverse=True)
        assert len(results) == 2 and results[0][0] == "won", results
        winner = results[0][1]
        assert results[1] == ("lost to", winner)
        db_session.expire_all()
        row = db_session.get_one(SupportSession, session_id)
        assert row.operator is not None and row.operator.username == winner
        assert [kind for kind, _s, _d in _history(db_session, session_id)] == ["taken"]
        db_session.rollback()


def test_supervisors_assign_and_transfer_to_operators_of_the_live_chat(
    db_session: Session, desk: Desk, oscar: User
) -> None:
    db = db_session
    session = open_session(db, desk.support)
    db.commit()
    with pytest.raises(AccessDeniedError, match="only supervisors"):
        assign_session(db, SYSTEM_CLOCK, session, oscar, desk.operator)
    with pytest.raises(ValidationError) as not_member:
        assign_session(db, SYSTEM_CLOCK, session, desk.seller, desk.supervisor)
    assert not_member.value.fields == {"operator": "not an operator of this live chat"}
    assign_session(db, SYSTEM_CLOCK, session, desk.operator, desk.supervisor)
    assign_session(db, SYSTEM_CLOCK, session, oscar, desk.supervisor)
    db.commit()
    assert (session.status, session.operator_id) == ("active", oscar.id)
    assert _history(db, session.id) == [
        ("assigned", "Sam Supervisor assigned the session to Olga Operator",
         {"by": "sam", "from": None, "to": "olga"}),
        ("transferred", "Sam Supervisor transferred the session from Olga Operator to Oscar Operator",
         {"by": "sam", "from": "olga", "to": "oscar"}),
    ]  # fmt: skip
    set_presence(db, desk.operator, "offline", SYSTEM_CLOCK.now())
    with pytest.raises(ValidationError, match="Olga Operator is Offline"):
        assign_session(db, SYSTEM_CLOCK, session, desk.operator, desk.admin)


def test_release_puts_the_session_back_in_the_queue(
    db_session: Session, desk: Desk, oscar: User
) -> None:
    session = open_session(db_session, desk.support)
    take_session(db_session, SYSTEM_CLOCK, session, desk.operator)
    with pytest.raises(AccessDeniedError):
        release_session(db_session, SYSTEM_CLOCK, session, oscar)
    release_session(db_session, SYSTEM_CLOCK, session, desk.operator)
    db_session.commit()
    assert (session.status, session.operator_id) == ("queued", None)
    assert _history(db_session, session.id)[-1][0] == "released"
    take_session(db_session, SYSTEM_CLOCK, session, oscar)  # takeable again
    assert session.operator_id == oscar.id


def test_views_and_their_counts(db_session: Session, desk: Desk, oscar: User) -> None:
    db = db_session
    queued = open_session(db, desk.support, "Queued")
    mine = open_session(db, desk.support, "Mine")
    theirs = open_session(db, desk.support, "Theirs")
    closed = open_session(db, desk.support, "Closed")
    open_session(db, desk.sales, "Elsewhere")
    take_session(db, SYSTEM_CLOCK, mine, desk.operator)
    take_session(db, SYSTEM_CLOCK, theirs, oscar)
    take_session(db, SYSTEM_CLOCK, closed, desk.operator)
    close_session(db, closed, desk.operator)
    db.commit()
    counts: Callable[[User], dict[str, int]] = lambda u: view_counts(db, u).as_dict()  # noqa: E731
    assert counts(desk.operator) == {"queue": 1, "mine": 1, "all": 3, "closed": 1}
    assert counts(desk.supervisor) == {"queue": 1, "mine": 0, "all": 3, "closed": 1}
    assert counts(desk.admin) == {"queue": 2, "mine": 0, "all": 4, "closed": 1}

    def names(user: User, view: SessionView) -> list[str]:
        page = search_sessions(db, user, SessionQuery(view=view, sort="id"))
        return [s.client.name for s in page.items]

    assert names(desk.operator, SessionView.QUEUE) == ["Queued"]
    assert names(desk.operator, SessionView.MINE) == ["Mine"]
    assert names(desk.supervisor, SessionView.ALL) == ["Queued", "Mine", "Theirs"]
    assert names(desk.admin, SessionView.CLOSED) == ["Closed"]
    assert queued.operator_id is None
