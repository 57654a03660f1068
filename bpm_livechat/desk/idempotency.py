"""Idempotency keys: a retried create returns the first result and creates nothing twice."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Integer,
    String,
    and_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import CTE

from bpm_livechat.desk.tokens import LIVE_TOKEN_USER, authenticate_token, token_digest
from bpm_livechat.errors import ValidationError
from bpm_livechat.models import IDEMPOTENCY_KEY_LENGTH, IdempotencyRecord, User, utcnow

MAX_KEY_LENGTH = IDEMPOTENCY_KEY_LENGTH
KEEP_FOR = timedelta(hours=24)


class IdempotencyKeyError(ValidationError):
    """The Idempotency-Key is malformed, or was used before for a different request."""

    def __init__(self, message: str) -> None:
        super().__init__(message, {"Idempotency-Key": message})


class IdempotencyKeyReused(IdempotencyKeyError):
    """The key was used before, by the same user, for a request with another method, path or body."""


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


# Built once: they run on every keyed request, and building one costs more than running it.
_STORED = select(
    IdempotencyRecord.fingerprint, IdempotencyRecord.status_code, IdempotencyRecord.response
).where(
    IdempotencyRecord.user_id == bindparam("user_id"), IdempotencyRecord.key == bindparam("key")
)
_RECORDS = IdempotencyRecord.metadata.tables[IdempotencyRecord.__tablename__]
_REMEMBER = insert(_RECORDS)
# A keyed API call's first reads, in one statement: the token's user and what the key stored.
_USER_AND_STORED = LIVE_TOKEN_USER.add_columns(
    IdempotencyRecord.fingerprint, IdempotencyRecord.status_code, IdempotencyRecord.response
).outerjoin(
    IdempotencyRecord,
    and_(IdempotencyRecord.user_id == User.id, IdempotencyRecord.key == bindparam("key")),
)


def replay(db: Session, user: User, key: str, print_: str) -> StoredResponse | None:
    """The stored response for this key, None when the key is new; a different request is refused."""
    row = db.execute(_STORED, {"user_id": user.id, "key": check_key(key)}).first()
    return None if row is None else _stored(row.fingerprint, row.status_code, row.response, print_)


def authenticate_keyed(
    db: Session, plaintext: str, key: str, print_: str
) -> tuple[User | None, StoredResponse | None]:
    """`authenticate_token` and `replay` in one statement (None, None for a bad token)."""
    try:
        key = check_key(key)
    except IdempotencyKeyError:
        if authenticate_token(db, plaintext) is None:
            return None, None  # a bad token is answered first, whatever the key
        raise
    digest = token_digest(plaintext)
    if digest is None:
        return None, None
    found = db.execute(_USER_AND_STORED, {"digest": digest, "key": key}).first()
    if found is None:
        return None, None
    user, print_stored, status_code, body = found
    stored = None if print_stored is None else _stored(print_stored, status_code, body, print_)
    return user, stored


def _stored(print_stored: str, status_code: int, body: Any, print_: str) -> StoredResponse:
    if print_stored != print_:
        raise IdempotencyKeyReused("already used for a different request")
    return StoredResponse(status_code, body)


def remember(db: Session, user_id: int, key: str, print_: str, status_code: int, body: Any) -> None:
    """Store the response in the caller's transaction, so it commits with what it describes.

    A concurrent request with the same key loses on the unique constraint (IntegrityError).
    """
    # A plain INSERT: nothing reads the record back in this transaction, so no ORM object.
    row = {
        "user_id": user_id,
        "key": check_key(key),
        "fingerprint": print_,
        "status_code": status_code,
        "response": body,
        "created_at": utcnow(),
    }
    db.execute(_REMEMBER, row)


@dataclass(frozen=True)
class KeyedWrite:
    """A keyed request whose write also stores the record of its response, atomically.

    On PostgreSQL the write and the record go as one statement (the writer adds `record_cte` to
    its data-modifying CTEs): a keyed channel message costs one round trip instead of four
    (BEGIN, write, record, COMMIT). Elsewhere the writer calls `remember_row` after its write,
    in the same transaction.
    """

    user_id: int
    key: str
    fingerprint: str
    status_code: int
    describe: Callable[[dict[str, Any]], Any]  # the written row's columns -> the response body

    @staticmethod
    def record_cte_for(written: CTE, filled: tuple[str, ...]) -> CTE:
        """A CTE inserting the record of the response to the row `written` inserts (PostgreSQL),
        bound by `params`; the body's `filled` keys are taken from the columns `written` returns."""
        return _record_cte(written, filled)

    def params(self, provisional: dict[str, Any]) -> dict[str, Any]:
        """Bind values of `statement`: the body described from `provisional`, the row to be
        written; the statement then puts in what only the database knows (the new id)."""
        return {
            "record_user_id": self.user_id,
            "record_key": check_key(self.key),
            "record_fingerprint": self.fingerprint,
            "record_status_code": self.status_code,
            "record_body": self.describe(provisional),
            "record_created_at": utcnow(),
        }

    def remember_row(self, db: Session, row: dict[str, Any]) -> None:
        """Record the response describing the written `row`, with a separate INSERT."""
        body = self.describe(row)
        remember(db, self.user_id, self.key, self.fingerprint, self.status_code, body)


def _record_cte(written: CTE, filled: tuple[str, ...]) -> CTE:
    # The body described in Python, with the values only the database knows laid over it.
    known = func.jsonb_build_object(*(x for key in filled for x in (literal(key), written.c[key])))
    body = cast(bindparam("record_body", type_=JSONB), JSONB).op("||", return_type=JSONB)(known)
    record = insert(_RECORDS).from_select(
        ["user_id", "key", "fingerprint", "status_code", "response", "created_at"],
        select(
            bindparam("record_user_id", type_=Integer),
            bindparam("record_key", type_=String),
            bindparam("record_fingerprint", type_=String),
            bindparam("record_status_code", type_=Integer),
            cast(body, JSON),
            bindparam("record_created_at", type_=IdempotencyRecord.created_at.type),
        ).select_from(written),
    )
    return record.cte("recorded")


def purge_expired(db: Session, now: datetime | None = None) -> int:
    """Forget records older than KEEP_FOR; returns how many were removed."""
    cutoff = (now or utcnow()) - KEEP_FOR
    result = db.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
