"""Personal API tokens: shown once at creation, stored as a SHA-256 hash, revocable."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bpm_livechat.errors import AccessDeniedError, NotFoundError, ValidationError
from bpm_livechat.models import TOKEN_NAME_LENGTH, ApiToken, Role, User, utcnow

PREFIX = "bpm_"
MAX_NAME_LENGTH = TOKEN_NAME_LENGTH
# Tokens carry 256 random bits, so an unsalted fast hash is enough: nothing to brute-force.
_TOKEN_BYTES = 32


def hash_token(plaintext: str) -> str:
    """The stored form of a token: the hex SHA-256 of its text."""
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(db: Session, user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new token for `user`; the plaintext is returned here once and never stored."""
    name = " ".join(name.split()) or "API token"
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"token name is longer than {MAX_NAME_LENGTH} characters",
            {"name": f"longer than {MAX_NAME_LENGTH} characters"},
        )
    plaintext = PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(plaintext),
        hint=plaintext[: len(PREFIX) + 4],
        created_at=utcnow(),
    )
    db.add(token)
    db.flush()
    return token, plaintext


def list_tokens(db: Session, user: User) -> list[ApiToken]:
    """The user's tokens, revoked ones included, oldest first."""
    query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
    return list(db.scalars(query))


def get_token(db: Session, token_id: int, user: User) -> ApiToken:
    """A token of `user` (admins may read anyone's)."""
    token = db.get(ApiToken, token_id)
    if token is None:
        raise NotFoundError("token", token_id)
    if token.user_id != user.id and user.role != Role.ADMIN.value:
        raise AccessDeniedError(f"token {token_id} belongs to another user")
    return token


def revoke_token(db: Session, token_id: int, user: User) -> ApiToken:
    """Revoke a token of `user` (admins may revoke anyone's); revoking twice is harmless."""
    token = get_token(db, token_id, user)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.flush()
    return token


# Built once: every API call runs it, and building a statement costs more than running it.
LIVE_TOKEN_USER = (
    select(User)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(
        ApiToken.token_hash == bindparam("digest"),
        ApiToken.revoked_at.is_(None),
        User.active.is_(True),
    )
)


def token_digest(plaintext: str) -> str | None:
    """The hash to look a token up by (the `digest` of LIVE_TOKEN_USER); None when malformed."""
    if not plaintext.startswith(PREFIX) or len(plaintext) > 128:
        return None
    return hash_token(plaintext)


def authenticate_token(db: Session, plaintext: str) -> User | None:
    """The user a live token belongs to, or None for an unknown, malformed or revoked one."""
    digest = token_digest(plaintext)
    return None if digest is None else db.scalar(LIVE_TOKEN_USER, {"digest": digest})
