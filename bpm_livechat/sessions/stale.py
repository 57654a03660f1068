"""Edits made from an outdated page: a parameter edit or a rename carries what its page saw, and
is refused (StaleEditError, nothing saved) when someone changed that field since.

A parameter's edit carries the id of the newest history entry of that parameter the page
showed (0 for none): parameter writes leave the session row alone, so its version would not
tell, and other parameters changing meanwhile is no conflict. A rename carries the session's
`version`, the column the ORM already uses to refuse a lost race at commit.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bpm_livechat.errors import StaleEditError
from bpm_livechat.models import ParamHistory, SessionHistory, SupportSession, User
from bpm_livechat.sessions.lifecycle import NAME_HISTORY, rename_session, reset_name


def last_change(db: Session, session_id: int, key: str) -> ParamHistory | None:
    """The newest history entry of one parameter of the session."""
    query = (
        select(ParamHistory)
        .where(ParamHistory.session_id == session_id, ParamHistory.key == key)
        .order_by(ParamHistory.id.desc())
        .limit(1)
    )
    return db.scalar(query)


def changed_by(entry: ParamHistory) -> str:
    """Who made a parameter change: a person, a process (with who started it) or the system."""
    person = entry.actor_user.display_name if entry.actor_user else None
    if entry.process_id:
        return f"process {entry.process_id}" + (f" (started by {person})" if person else "")
    return person or "system"


def check_parameters_seen(db: Session, session_id: int, seen: Mapping[str, int]) -> None:
    """Raise StaleEditError (naming the key, who and when) when a parameter changed since the
    page that showed history entry `seen[key]` (0: none yet). Call it under the session's lock."""
    for key, shown in seen.items():
        latest = last_change(db, session_id, key)
        if (latest.id if latest is not None else 0) != shown:
            assert latest is not None  # a newer entry than the page's: there is one
            who = changed_by(latest)
            raise StaleEditError(
                key,
                f"{key!r} was changed by {who} since this page was opened",
                who,
                latest.changed_at,
            )


def last_rename(db: Session, session_id: int) -> SessionHistory | None:
    """The newest name given to the session by hand or reset to its template."""
    query = (
        select(SessionHistory)
        .where(SessionHistory.session_id == session_id, SessionHistory.kind == NAME_HISTORY)
        .order_by(SessionHistory.id.desc())
        .limit(1)
    )
    return db.scalar(query)


def check_session_version(db: Session, session: SupportSession, seen: int | None) -> None:
    """StaleEditError on `name` when the session changed since the page showed version `seen`
    (None skips the check); names the last rename's author when there is one."""
    if seen is None:
        return
    # The version under the row's lock: a concurrent writer commits first, and this one then
    # reads its version (PostgreSQL; SQLite's single writer already serializes the two).
    locked = select(SupportSession.version).where(SupportSession.id == session.id)
    if db.scalar(locked.with_for_update()) == seen:
        return
    db.refresh(session)  # the page shows the name and version saved now
    renamed = last_rename(db, session.id)
    who = renamed.actor_user.display_name if renamed and renamed.actor_user else None
    when = renamed.created_at if renamed else None
    by = f" (last renamed by {who})" if who else ""
    raise StaleEditError(
        "name", f"session {session.id} was changed since this page was opened{by}", who, when
    )


def rename_seen(
    db: Session,
    session: SupportSession,
    name: str,
    user: User,
    seen: int | None,
    reset: bool = False,
) -> None:
    """Rename (or `reset` to the template) unless the session changed since version `seen`."""
    check_session_version(db, session, seen)
    if reset:
        reset_name(db, session, user)
    else:
        rename_session(db, session, name, user)


def latest_change_ids(db: Session, session_id: int) -> dict[str, int]:
    """What each parameter's edit form carries: its newest history id (absent: 0)."""
    query = (
        select(ParamHistory.key, func.max(ParamHistory.id))
        .where(ParamHistory.session_id == session_id)
        .group_by(ParamHistory.key)
    )
    return {key: latest for key, latest in db.execute(query)}
