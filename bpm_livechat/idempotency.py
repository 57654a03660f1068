"""Idempotency keys: a retried create returns the first result and creates nothing twice."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    delete,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from .errors import ValidationError
from .models import Base, User, utcnow

MAX_KEY_LENGTH = 255
KEEP_FOR = timedelta(hours=24)


class IdempotencyKeyError(ValidationError):
    """The Idempotency-Key is malformed, or was used before for a different request."""

    def __init__(self, message: str) -> None:
        super().__init__(message, {"Idempotency-Key": message})


class IdempotencyKeyReused(IdempotencyKeyError):
    """The key was used before, by the same user, for a request with another method, path or body."""


class IdempotencyRecord(Base):
    """The response first given to one user's request under one key."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


@dataclass(frozen=True)
class StoredResponse:
    """What to send again for a replayed request."""

    status_code: int
    body: Any


def check_key(key: str) -> str:
    """The key when it is 1 to 255 printable ASCII characters, else IdempotencyKeyError."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(" " < c <= "~" for c in key):
        raise IdempotencyKeyError(
            f"must be 1 to {MAX_KEY_LENGTH} printable ASCII characters without spaces"
        )
    return key


def fingerprint(*parts: str | bytes) -> str:
    """A digest of what identifies a request (method, path, body), to detect a reused key."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def replay(db: Session, user: User, key: str, print_: str) -> StoredResponse | None:
    """The stored response for this key, None when the key is new; a different request is refused."""
    row = db.execute(
        select(
            IdempotencyRecord.fingerprint, IdempotencyRecord.status_code, IdempotencyRecord.response
        ).where(IdempotencyRecord.user_id == user.id, IdempotencyRecord.key == check_key(key))
    ).first()
    if row is None:
        return None
    if row.fingerprint != print_:
        raise IdempotencyKeyReused("already used for a different request")
    return StoredResponse(row.status_code, row.response)


def remember(db: Session, user: User, key: str, print_: str, status_code: int, body: Any) -> None:
    """Store the response in the caller's transaction, so it commits with what it describes.

    A concurrent request with the same key loses on the unique constraint (IntegrityError).
    """
    db.add(
        IdempotencyRecord(
            user_id=user.id,
            key=check_key(key),
            fingerprint=print_,
            status_code=status_code,
            response=body,
            created_at=utcnow(),
        )
    )
    db.flush()


def purge_expired(db: Session, now: datetime | None = None) -> int:
    """Forget records older than KEEP_FOR; returns how many were removed."""
    cutoff = (now or utcnow()) - KEEP_FOR
    result = db.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
