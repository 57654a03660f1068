"""One database session per request, opened on first use and closed on teardown."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import Flask, current_app, g, request
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.persistence.engines import make_engine
from bpm_livechat.persistence.transactions import commit as commit_or_conflict
from bpm_livechat.persistence.transactions import session_factory

P = ParamSpec("P")
R = TypeVar("R")
_FACTORY = "bpm_livechat.session_factory"


def init_app(app: Flask) -> None:
    """Create the app's engine (it connects lazily) and close each request's session at teardown."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions[_FACTORY] = session_factory(engine)
    app.extensions["bpm_livechat.engine"] = engine
    app.teardown_appcontext(_close_db)


def get_db() -> Session:
    """The request's database session, opened on first use."""
    if "db" not in g:
        factory: sessionmaker[Session] = current_app.extensions[_FACTORY]
        g.db = factory()
    db: Session = g.db
    return db


def commit() -> None:
    """Commit the request's transaction; a lost race becomes a ConflictError."""
    db = g.get("db")
    if db is not None:
        commit_or_conflict(db)


def writes(view: Callable[P, R]) -> Callable[P, R]:
    """Commit once after a write view (POST) returns normally; an error leaves nothing written."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        result = view(*args, **kwargs)
        status = getattr(result, "status_code", 200)
        if isinstance(result, tuple) and len(result) > 1 and isinstance(result[1], int):
            status = result[1]
        if status < 400 and request.method not in {"GET", "HEAD"}:
            commit()
        return result

    return wrapper


def _close_db(_exc: BaseException | None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()  # rolls back whatever was not committed
