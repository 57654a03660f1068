"""Users, their roles and their passwords (scrypt hashes from the standard library)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bpm_livechat.desk.logins import end_logins
from bpm_livechat.errors import NotFoundError, ValidationError
from bpm_livechat.models import Role, User
from bpm_livechat.params.choices import parse_choice

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD_LENGTH = 8


SYSTEM_USERNAME = "system"


def hash_password(password: str) -> str:
    """A salted scrypt hash in the form `scrypt$n$r$p$salt$hash`."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    parts = [str(_SCRYPT["n"]), str(_SCRYPT["r"]), str(_SCRYPT["p"])]
    encoded = [base64.b64encode(salt).decode(), base64.b64encode(digest).decode()]
    return "$".join(["scrypt", *parts, *encoded])


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches the stored hash; constant-time comparison."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(expected, actual)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"password must have at least {MIN_PASSWORD_LENGTH} characters",
            {"password": f"at least {MIN_PASSWORD_LENGTH} characters"},
        )


def parse_role(role: str) -> Role:
    """The Role named `role`, or a ValidationError listing the valid roles."""
    return parse_choice(Role, role, "role")


def create_user(
    db: Session, username: str, role: str, password: str, display_name: str | None = None
) -> User:
    """Add a user; usernames are lower-case and unique."""
    if not _USERNAME.match(username):
        raise ValidationError(
            f"invalid username {username!r}: use lower-case letters, digits, '.', '_' or '-'",
            {"username": "invalid username"},
        )
    if db.scalar(select(User.id).where(User.username == username)) is not None:
        raise ValidationError(f"user {username!r} already exists", {"username": "already exists"})
    _check_password(password)
    user = User(
        username=username,
        display_name=display_name or username.capitalize(),
        role=parse_role(role).value,
        password_hash=hash_password(password),
    )
    db.add(user)
    db.flush()
    return user


def set_password(db: Session, user: User, password: str, keep: str | None = None) -> None:
    """Replace a user's password; every login of theirs ends but the one with the secret
    `keep` (the login of the person who set it, when they set their own)."""
    _check_password(password)
    user.password_hash = hash_password(password)
    end_logins(db, user, keep)


def set_active(db: Session, user: User, active: bool) -> None:
    """Activate or deactivate a user; a deactivated one cannot log in, their logins end and
    their API tokens stop working."""
    if user.username == SYSTEM_USERNAME:
        raise ValidationError("the automation account cannot be changed", {"active": "built in"})
    if user.active != active:
        user.active = active
        end_logins(db, user)


# Built once: every request and process step looks its user up.
_BY_USERNAME = select(User).where(User.username == bindparam("username"))


def get_user(db: Session, username: str) -> User:
    """The user named `username`, or NotFoundError."""
    user = db.scalar(_BY_USERNAME, {"username": username})
    if user is None:
        raise NotFoundError("user", username)
    return user


def authenticate(db: Session, username: str, password: str) -> User | None:
    """The user when the password matches, else None (same work done for unknown users)."""
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        verify_password(password, _dummy_hash())
        return None
    matches = verify_password(password, user.password_hash)
    return user if matches and user.active else None


@functools.cache
def _dummy_hash() -> str:
    # Hashing for unknown users too keeps login timing from telling which usernames exist.
    return hash_password(secrets.token_hex(8))


def system_user(db: Session) -> User:
    """The built-in account automation (automatic starts, timers, messages) acts as; it has no
    usable password."""
    user = db.scalar(select(User).where(User.username == SYSTEM_USERNAME))
    if user is None:
        user = User(
            username=SYSTEM_USERNAME,
            display_name="Automation",
            role=Role.ADMIN.value,
            password_hash="!",  # matches no password: the account cannot log in
        )
        db.add(user)
        db.flush()
    return user
