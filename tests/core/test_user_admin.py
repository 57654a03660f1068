"""Role changes, membership removal and live chat renaming."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from bpm_livechat.desk.access import visible_live_chat_ids
from bpm_livechat.desk.administration import memberships, remove_member, rename_live_chat, set_role
from bpm_livechat.errors import ValidationError
from bpm_livechat.models import MemberRole
from tests.support import Desk


def test_set_role_drops_memberships_the_role_cannot_hold(db_session: Session, desk: Desk) -> None:
    assert visible_live_chat_ids(db_session, desk.supervisor) == {desk.support.id}
    dropped = set_role(db_session, desk.supervisor, "operator")
    assert [(m.live_chat_id, m.role) for m in dropped] == [(desk.support.id, "supervisor")]
    assert memberships(db_session, desk.supervisor) == []
    assert visible_live_chat_ids(db_session, desk.supervisor) == set()
    assert set_role(db_session, desk.operator, "supervisor") == []
    with pytest.raises(ValidationError) as caught:
        set_role(db_session, desk.operator, "boss")
    assert "role" in caught.value.fields


def test_the_last_admin_keeps_the_role(db_session: Session, desk: Desk) -> None:
    with pytest.raises(ValidationError) as caught:
        set_role(db_session, desk.admin, "user")
    assert caught.value.fields == {"role": "the last admin must stay admin"}
    set_role(db_session, desk.supervisor, "admin")
    set_role(db_session, desk.admin, "user")
    assert desk.admin.role == "user"


def test_remove_member_ends_access(db_session: Session, desk: Desk) -> None:
    assert visible_live_chat_ids(db_session, desk.operator) == {desk.support.id}
    assert remove_member(db_session, desk.support, desk.operator, MemberRole.OPERATOR) is True
    assert remove_member(db_session, desk.support, desk.operator, MemberRole.OPERATOR) is False
    assert visible_live_chat_ids(db_session, desk.operator) == set()


def test_rename_live_chat(db_session: Session, desk: Desk) -> None:
    with pytest.raises(ValidationError) as spaced:
        rename_live_chat(db_session, desk.support, "  Help desk ")
    assert spaced.value.fields == {"name": "must not begin or end with a space"}
    rename_live_chat(db_session, desk.support, "Help desk")
    assert desk.support.name == "Help desk"
    with pytest.raises(ValidationError) as caught:
        rename_live_chat(db_session, desk.support, "Sales")
    assert caught.value.fields == {"name": "already exists"}
    with pytest.raises(ValidationError):
        rename_live_chat(db_session, desk.support, " ")
