"""The guards of every person's write to a session: a closed session is read-only, and an
Offline operator reads but does not work.

Parameter edits, renames, process starts, task completions, operator messages, taking and
closing call `require_writable` (or `require_open` where presence does not matter). The
automation account is exempt: a process bound to `session_closed` still runs on the closed
session, and a timer still fires.
"""

from __future__ import annotations

from bpm_livechat.desk.presence import is_automation, require_available
from bpm_livechat.errors import SessionClosedError
from bpm_livechat.models import Status, SupportSession, User


def is_closed(session: SupportSession) -> bool:
    """True once the session is closed."""
    return session.status == Status.CLOSED.value


def require_open(session: SupportSession) -> None:
    """Refuse (SessionClosedError) any change to a closed session."""
    if is_closed(session):
        when = f"{session.closed_at:%Y-%m-%d %H:%M} UTC" if session.closed_at else "an earlier date"
        by = session.closed_by.display_name if session.closed_by else None
        raise SessionClosedError(session.id, when, by)


def require_writable(session: SupportSession, user: User, action: str) -> None:
    """Refuse `user`'s change to the session when it is closed or they are Offline; `action`
    completes "set yourself Online to ..." (e.g. "edit parameters")."""
    if is_automation(user):
        return
    require_open(session)
    require_available(user, action)
