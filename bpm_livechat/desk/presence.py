"""Operators' presence: Online, Away or Offline as they set it, Away after inactivity.

Presence is read when it matters (a page, a write, routing), never kept current by a background
job: Online with no request for `away_after` reads as Away. Offline users read but do not work:
`require_available` is the one guard every write path of a person calls.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bpm_livechat.desk.users import SYSTEM_USERNAME
from bpm_livechat.errors import OperatorOfflineError
from bpm_livechat.models import STAFF_ROLES, Presence, User
from bpm_livechat.params.choices import parse_choice

DEFAULT_AWAY_AFTER = timedelta(minutes=10)
# Activity is written at most this often per user: a request is not a write each time.
ACTIVITY_STEP = timedelta(minutes=1)


def presence_of(user: User, now: datetime, away_after: timedelta = DEFAULT_AWAY_AFTER) -> Presence:
    """The user's presence at `now`: what they set, Online turned Away after `away_after`
    without a request (routing reads this)."""
    chosen = Presence(user.presence)
    if chosen is not Presence.ONLINE:
        return chosen
    if user.last_seen_at is None or now - user.last_seen_at > away_after:
        return Presence.AWAY
    return Presence.ONLINE


def set_presence(db: Session, user: User, presence: str, now: datetime) -> Presence:
    """Set the user's presence (ValidationError naming `presence` for an unknown one); setting
    it is activity too."""
    chosen = parse_choice(Presence, presence, "presence")
    user.presence = chosen.value
    user.presence_changed_at = now
    user.last_seen_at = now
    db.flush()
    return chosen


def note_activity(db: Session, user: User, now: datetime) -> bool:
    """Record that the user made a request at `now` (at most once per ACTIVITY_STEP); True
    when a row was written, so the caller commits it. Channel accounts and app users have no
    presence: their requests write nothing (a channel's message stays one statement)."""
    if user.role not in STAFF_ROLES:
        return False
    if user.last_seen_at is not None and now - user.last_seen_at < ACTIVITY_STEP:
        return False
    stale = or_(User.last_seen_at.is_(None), User.last_seen_at < now - ACTIVITY_STEP)
    statement = update(User).where(User.id == user.id, stale).values(last_seen_at=now)
    db.execute(statement.execution_options(synchronize_session=False))
    set_committed_value(user, "last_seen_at", now)  # written above: no second UPDATE
    return True


def is_automation(user: User) -> bool:
    """True for the built-in account timers, automatic starts and messages act as."""
    return user.username == SYSTEM_USERNAME


def require_available(user: User, action: str) -> None:
    """Refuse work (OperatorOfflineError) from a user who set themselves Offline."""
    if user.presence == Presence.OFFLINE.value and not is_automation(user):
        raise OperatorOfflineError(user.username, action)
