"""Web logins kept on the server: one row per browser, found by the SHA-256 of the random
secret its cookie carries. Logout deletes that row only; a new password keeps the login that
set it and deletes the user's others; deactivation and "sign out everywhere" delete them all."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, bindparam, delete, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bpm_livechat.models import Login, User

# last_seen_at is written at most this often: a page view costs no write most of the time.
SEEN_STEP = timedelta(minutes=1)


@dataclass(frozen=True)
class Lifetimes:
    """How long a login lives: `idle` after its last use, `absolute` after the password."""

    idle: timedelta
    absolute: timedelta


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start_login(db: Session, user: User, now: datetime, lifetimes: Lifetimes) -> str:
    """Record a new login of `user` and return its secret (for the cookie; only its hash is
    stored). The user's expired logins are removed on the way."""
    db.execute(delete(Login).where(Login.user_id == user.id, _expired(now, lifetimes)))
    secret = secrets.token_urlsafe(32)
    db.add(Login(secret_hash=_digest(secret), user_id=user.id, created_at=now, last_seen_at=now))
    db.flush()
    return secret


def _expired(now: datetime, lifetimes: Lifetimes) -> ColumnElement[bool]:
    return or_(
        Login.created_at < now - lifetimes.absolute, Login.last_seen_at < now - lifetimes.idle
    )


# Built once: every page request looks its login up.
_BY_SECRET = (
    select(Login, User)
    .join(User, Login.user_id == User.id)
    .where(Login.secret_hash == bindparam("digest"))
)


def find_login(db: Session, secret: str) -> tuple[Login, User] | None:
    """The login row with this secret and its user, or None (logged out, or never existed)."""
    row = db.execute(_BY_SECRET, {"digest": _digest(secret)}).first()
    return None if row is None else (row[0], row[1])


def is_live(login: Login, now: datetime, lifetimes: Lifetimes) -> bool:
    """True while the login is within both its lifetimes."""
    too_old = now - login.created_at > lifetimes.absolute
    return not too_old and now - login.last_seen_at <= lifetimes.idle


def note_use(db: Session, login: Login, now: datetime) -> bool:
    """Record that the person used the login at `now` (at most once per SEEN_STEP); True when
    a row was written, so the caller commits it."""
    if now - login.last_seen_at < SEEN_STEP:
        return False
    statement = update(Login).where(Login.id == login.id).values(last_seen_at=now)
    db.execute(statement.execution_options(synchronize_session=False))
    set_committed_value(login, "last_seen_at", now)
    return True


def end_login(db: Session, secret: str) -> None:
    """End the one login with this secret (logout): its cookie, and every copy, stop working."""
    db.execute(delete(Login).where(Login.secret_hash == _digest(secret)))


def end_logins(db: Session, user: User, keep: str | None = None) -> int:
    """End every login of `user` ("sign out everywhere", deactivation) but the one with the
    secret `keep`, if given; the number ended."""
    statement = delete(Login).where(Login.user_id == user.id)
    if keep is not None:
        statement = statement.where(Login.secret_hash != _digest(keep))
    result = db.execute(statement.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
