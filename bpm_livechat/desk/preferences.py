"""Per-user preferences (the sessions list's columns, their order and the view), stored as JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.errors import ValidationError
from bpm_livechat.models import User, UserPreference, utcnow
from bpm_livechat.params.catalogue import list_parameters

LIST_COLUMNS = "sessions.columns"
LIST_VIEW = "sessions.view"
VIEWS = ("table", "tiles")
DEFAULT_COLUMNS = ("name", "client", "live_chat", "status", "priority", "operator", "created_at")
MAX_COLUMNS = 40


def _get(db: Session, user: User, key: str) -> Any:
    return db.scalar(
        select(UserPreference.value).where(
            UserPreference.user_id == user.id, UserPreference.key == key
        )
    )


def _put(db: Session, user: User, key: str, value: Any) -> None:
    row = db.get(UserPreference, (user.id, key))
    if row is None:
        db.add(UserPreference(user_id=user.id, key=key, value=value, updated_at=utcnow()))
    else:
        row.value = value
        row.updated_at = utcnow()
    db.flush()


def _known_columns(db: Session) -> list[str]:
    return ["id", *(p.key for p in list_parameters(db, include_archived=False))]


def list_columns(db: Session, user: User) -> list[str]:
    """The user's chosen list columns in order; unknown (deleted or archived) keys are skipped."""
    known = set(_known_columns(db))
    saved = _get(db, user, LIST_COLUMNS)
    chosen = saved if isinstance(saved, list) else list(DEFAULT_COLUMNS)
    columns = [key for key in chosen if isinstance(key, str) and key in known]
    return columns or [key for key in DEFAULT_COLUMNS if key in known]


def save_list_columns(db: Session, user: User, columns: Sequence[str]) -> list[str]:
    """Store the user's list columns (order kept, duplicates dropped); at least one is needed."""
    known = set(_known_columns(db))
    unknown = [key for key in columns if key not in known]
    if unknown:
        raise ValidationError(
            f"unknown column(s): {', '.join(unknown)}", {"columns": "unknown column"}
        )
    cleaned = list(dict.fromkeys(columns))
    if not cleaned or len(cleaned) > MAX_COLUMNS:
        raise ValidationError(
            f"choose 1 to {MAX_COLUMNS} columns", {"columns": f"choose 1 to {MAX_COLUMNS} columns"}
        )
    _put(db, user, LIST_COLUMNS, cleaned)
    return cleaned


def list_view(db: Session, user: User) -> str:
    """The user's sessions list view: "table" (default) or "tiles"."""
    saved = _get(db, user, LIST_VIEW)
    return saved if saved in VIEWS else VIEWS[0]


def save_list_view(db: Session, user: User, view: str) -> None:
    """Store the user's sessions list view."""
    if view not in VIEWS:
        raise ValidationError(f"unknown view {view!r}", {"view": "table or tiles"})
    _put(db, user, LIST_VIEW, view)
