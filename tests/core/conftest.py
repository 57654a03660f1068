"""A small support desk for the core tests: users of every role, two live chats, helpers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from bpm_livechat.desk import users as users_module
from bpm_livechat.desk.livechats import add_channel, add_member, create_live_chat
from bpm_livechat.desk.users import create_user
from bpm_livechat.models import LiveChat, MemberRole, SupportSession, User
from bpm_livechat.sessions.lifecycle import create_session


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The real scrypt path with a small cost, so creating users does not dominate the suite."""
    monkeypatch.setitem(users_module._SCRYPT, "n", 2**8)
    yield


@dataclass
class Desk:
    """Who is who: the support chat is worked by `operator` and `supervisor`, sales by `seller`."""

    admin: User
    supervisor: User
    operator: User
    seller: User
    app_user: User
    support: LiveChat
    sales: LiveChat


@pytest.fixture
def desk(db_session: Session) -> Desk:
    """Users of every role and two live chats with channels, committed."""
    db = db_session
    admin = create_user(db, "admin", "admin", "admin-pass-1", "Alex Admin")
    supervisor = create_user(db, "sam", "supervisor", "sam-pass-12", "Sam Supervisor")
    operator = create_user(db, "olga", "operator", "olga-pass-12", "Olga Operator")
    seller = create_user(db, "sven", "operator", "sven-pass-12", "Sven Seller")
    app_user = create_user(db, "sales", "user", "sales-pass-1", "Sid Sales")
    support = create_live_chat(db, "Support", "{client.name} — {subject}")
    add_channel(db, support, "Website", "web")
    add_channel(db, support, "Telegram", "telegram")
    sales = create_live_chat(db, "Sales", "{channel.name}: {client.name}")
    add_channel(db, sales, "Email", "email")
    add_member(db, support, operator, MemberRole.OPERATOR)
    add_member(db, support, supervisor, MemberRole.SUPERVISOR)
    add_member(db, sales, seller, MemberRole.OPERATOR)
    add_member(db, support, app_user, MemberRole.READER)
    add_member(db, sales, app_user, MemberRole.READER)
    db.commit()
    return Desk(admin, supervisor, operator, seller, app_user, support, sales)


def open_session(
    db: Session, chat: LiveChat, client: str = "Jane Doe", subject: str = "Help", **kwargs: object
) -> SupportSession:
    """Create a session in `chat` through the product's path (not committed)."""
    return create_session(db, chat, client_name=client, subject=subject, **kwargs)  # type: ignore[arg-type]
