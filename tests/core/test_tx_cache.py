"""Values cached per transaction are read again after a change and in the next transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from bpm_livechat.desk.access import require_session_access, visible_live_chat_ids
from bpm_livechat.desk.administration import remove_member
from bpm_livechat.desk.livechats import add_channel, add_member, create_live_chat
from bpm_livechat.desk.users import create_user, get_user
from bpm_livechat.errors import AccessDeniedError
from bpm_livechat.models import LiveChat, MemberRole, SupportSession, User
from bpm_livechat.params.catalogue import add_parameter, archive_parameter
from bpm_livechat.params.definitions import definitions
from bpm_livechat.sessions.lifecycle import create_session, get_session


def _count_selects(db: Session) -> list[str]:
    seen: list[str] = []
    bind = db.get_bind()

    def log(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(bind, "before_cursor_execute", log)
    return seen


def test_definitions_are_read_once_per_transaction_and_again_after_a_change(
    db_session: Session,
) -> None:
    add_parameter(db_session, "tier", "string", "Tier")
    selects = _count_selects(db_session)
    assert [d.key for d in definitions(db_session)] == ["tier"]
    assert [d.key for d in definitions(db_session)] == ["tier"]
    assert len(selects) == 1  # read once after the add, then from the cache
    add_parameter(db_session, "segment", "choice", "Segment", options=["a", "b"])
    assert [d.key for d in definitions(db_session)] == ["tier", "segment"]
    archive_parameter(db_session, "tier")
    assert [d.key for d in definitions(db_session)] == ["segment"]
    db_session.commit()
    before = len(selects)
    assert [d.key for d in definitions(db_session)] == ["segment"]
    assert len(selects) == before + 1  # a new transaction reads again


def test_live_chats_of_a_user_follow_membership_changes(db_session: Session) -> None:
    operator = create_user(db_session, "sam", "supervisor", "long-password")
    first = create_live_chat(db_session, "First")
    second = create_live_chat(db_session, "Second")
    assert visible_live_chat_ids(db_session, operator) == set()
    add_member(db_session, first, operator, MemberRole.OPERATOR)
    assert visible_live_chat_ids(db_session, operator) == {first.id}
    add_member(db_session, second, operator, MemberRole.SUPERVISOR)
    assert visible_live_chat_ids(db_session, operator) == {first.id, second.id}


def test_access_found_by_get_session_is_reused_and_forgotten_with_the_membership(
    db_session: Session,
) -> None:
    db = db_session
    operator, chat, session = _chat_with_session(db, operated=False)
    selects = _count_selects(db)
    assert get_session(db, session.id, operator) is session
    require_session_access(db, operator, session)
    assert len(selects) == 1  # the session's own statement answered the access question
    remove_member(db, chat, operator, MemberRole.OPERATOR)
    with pytest.raises(AccessDeniedError):
        require_session_access(db, operator, session)
    with pytest.raises(AccessDeniedError):
        get_session(db, session.id, operator)


def test_the_operator_who_asks_for_a_session_costs_no_query_of_its_own(
    db_session: Session,
) -> None:
    db = db_session
    _operator, _chat, session = _chat_with_session(db, operated=True)
    db.expunge_all()
    asking = get_user(db, "olga")
    selects = _count_selects(db)
    found = get_session(db, session.id, asking)
    assert (found.operator, found.client.name, found.channel.name) == (asking, "Ann", "Web")
    assert len(selects) == 1


def _chat_with_session(db: Session, *, operated: bool) -> tuple[User, LiveChat, SupportSession]:
    """An operator working a live chat with one session (operated by them when `operated`)."""
    operator = create_user(db, "olga", "operator", "long-password")
    chat = create_live_chat(db, "Support")
    add_channel(db, chat, "Web", "web")
    add_member(db, chat, operator, MemberRole.OPERATOR)
    session = create_session(
        db, chat, client_name="Ann", subject="Help", operator=operator if operated else None
    )
    db.commit()
    return operator, chat, session
