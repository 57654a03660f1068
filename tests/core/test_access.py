"""Access scoping: operators and supervisors see their live chats, admins all, app users none."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.desk.access import (
    is_supervisor_of,
    visible_live_chat_ids,
    work_clause,
    work_params,
)
from bpm_livechat.errors import AccessDeniedError
from bpm_livechat.models import LiveChat, SupportSession, User
from bpm_livechat.sessions.lifecycle import get_session
from bpm_livechat.sessions.search import Filter, SessionQuery, search_sessions
from tests.support import Desk, open_session


@pytest.fixture
def two_chats(db_session: Session, desk: Desk) -> tuple[list[int], list[int]]:
    support = [open_session(db_session, desk.support, client=f"S{i}").id for i in range(3)]
    sales = [open_session(db_session, desk.sales, client=f"B{i}").id for i in range(2)]
    db_session.commit()
    return support, sales


def _visible(db: Session, user: User, **query: object) -> tuple[list[int], int]:
    page = search_sessions(db, user, SessionQuery(sort="id", **query))  # type: ignore[arg-type]
    return [s.id for s in page.items], page.total


def test_operator_sees_only_sessions_of_their_live_chats(
    db_session: Session, desk: Desk, two_chats: tuple[list[int], list[int]]
) -> None:
    support, sales = two_chats
    assert _visible(db_session, desk.operator) == (support, 3)
    assert _visible(db_session, desk.seller) == (sales, 2)
    assert _visible(db_session, desk.operator, filters=(Filter("live_chat", "eq", "Sales"),)) == (
        [],
        0,
    )
    assert get_session(db_session, support[0], desk.operator).id == support[0]
    with pytest.raises(AccessDeniedError) as denied:
        get_session(db_session, sales[0], desk.operator)
    assert denied.value.message == f"user 'olga' has no access to session {sales[0]}"
    with pytest.raises(AccessDeniedError):
        get_session(db_session, support[1], desk.seller)


def test_supervisor_sees_the_live_chats_they_supervise(
    db_session: Session, desk: Desk, two_chats: tuple[list[int], list[int]]
) -> None:
    support, sales = two_chats
    assert _visible(db_session, desk.supervisor) == (support, 3)
    with pytest.raises(AccessDeniedError):
        get_session(db_session, sales[1], desk.supervisor)
    assert is_supervisor_of(db_session, desk.supervisor, desk.support.id) is True
    assert is_supervisor_of(db_session, desk.supervisor, desk.sales.id) is False
    assert is_supervisor_of(db_session, desk.operator, desk.support.id) is False
    assert is_supervisor_of(db_session, desk.admin, desk.sales.id) is True


def test_admin_sees_everything(
    db_session: Session, desk: Desk, two_chats: tuple[list[int], list[int]]
) -> None:
    support, sales = two_chats
    assert _visible(db_session, desk.admin) == (support + sales, 5)
    assert visible_live_chat_ids(db_session, desk.admin) is None
    assert get_session(db_session, sales[0], desk.admin).live_chat_id == desk.sales.id


def test_app_users_see_no_sessions_even_as_readers(
    db_session: Session, desk: Desk, two_chats: tuple[list[int], list[int]]
) -> None:
    support, sales = two_chats
    assert _visible(db_session, desk.app_user) == ([], 0)
    assert visible_live_chat_ids(db_session, desk.app_user) == set()
    for session_id in (support[0], sales[0]):
        with pytest.raises(AccessDeniedError):
            get_session(db_session, session_id, desk.app_user)
    assert db_session.get(SupportSession, support[0]) is not None


def test_the_sql_clause_grants_what_visible_live_chat_ids_grants(
    db_session: Session, desk: Desk
) -> None:
    query = select(LiveChat.id).where(work_clause(LiveChat.id)).order_by(LiveChat.id)
    every = [desk.support.id, desk.sales.id]
    for user in (desk.admin, desk.supervisor, desk.operator, desk.seller, desk.app_user):
        granted = list(db_session.scalars(query, work_params(user)))
        visible = visible_live_chat_ids(db_session, user)
        assert granted == sorted(every if visible is None else visible), user.username
