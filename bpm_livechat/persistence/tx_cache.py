"""Values read once per database transaction (parameter definitions, a user's live chats).

A request or a process step asks for the same small tables several times; the first read is
kept on the SQLAlchemy session until its transaction ends, and whoever changes the table forgets
it at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")


def cached(db: Session, key: str, compute: Callable[[], T]) -> T:
    """`compute()` once per transaction of `db`, under `key`."""
    if holds(db, key):
        value: T = db.info[key][1]
        return value
    value = compute()
    db.info[key] = (db.get_transaction(), value)
    return value


def holds(db: Session, key: str) -> bool:
    """True when `key` has a value for the current transaction of `db`."""
    entry = db.info.get(key)
    transaction = db.get_transaction()
    return entry is not None and transaction is not None and entry[0] is transaction


def forget(db: Session, prefix: str) -> None:
    """Drop every cached value whose key starts with `prefix`."""
    for key in [k for k in db.info if isinstance(k, str) and k.startswith(prefix)]:
        del db.info[key]
