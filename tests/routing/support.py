"""Helpers of the routing tests: operators Online now, sessions in a live chat."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from bpm_livechat.desk.livechats import add_member
from bpm_livechat.desk.presence import set_presence
from bpm_livechat.desk.users import create_user
from bpm_livechat.models import LiveChat, MemberRole, SupportSession, User
from bpm_livechat.sessions.lifecycle import create_session


def operator(db: Session, name: str, chat: LiveChat, online: bool = True) -> User:
    """A new operator of `chat`, Online (or Offline) as of now."""
    user = create_user(db, name.lower(), "operator", f"{name.lower()}-pass-12", name)
    add_member(db, chat, user, MemberRole.OPERATOR)
    set_presence(db, user, "online" if online else "offline", datetime.now(UTC))
    return user


def new_session(
    db: Session, chat: LiveChat, subject: str = "Help", **kwargs: object
) -> SupportSession:
    """A queued session of `chat` (not routed: the test routes it)."""
    return create_session(db, chat, client_name="Client", subject=subject, **kwargs)  # type: ignore[arg-type]
