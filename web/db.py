"""One database session per request, and the one transaction rule of the pages.

A write view commits once when it returns; anything it raises leaves nothing written. A form
whose input the core refuses (ValidationError) is undone and shown again by its `refused`
page, with the errors at their fields (422). Views never commit or roll back themselves.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec

from flask import Flask, current_app, g
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.errors import ValidationError
from bpm_livechat.persistence.engines import make_engine
from bpm_livechat.persistence.transactions import commit as commit_or_conflict
from bpm_livechat.persistence.transactions import session_factory

P = ParamSpec("P")
FACTORY = "bpm_livechat.session_factory"
Refused = Callable[Concatenate[ValidationError, P], ResponseReturnValue]


def init_app(app: Flask) -> None:
    """Create the app's engine (it connects lazily) and close each request's session at teardown."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions[FACTORY] = session_factory(engine)
    app.extensions["bpm_livechat.engine"] = engine
    app.teardown_appcontext(_close_db)


def session_maker() -> sessionmaker[Session]:
    """The app's sessionmaker, for work that needs transactions of its own (automatic starts)."""
    factory: sessionmaker[Session] = current_app.extensions[FACTORY]
    return factory


def get_db() -> Session:
    """The request's database session, opened on first use."""
    if "db" not in g:
        g.db = session_maker()()
    db: Session = g.db
    return db


def commit() -> None:
    """Commit the request's transaction; a lost race becomes a ConflictError."""
    db = g.get("db")
    if db is not None:
        commit_or_conflict(db)


def discard() -> None:
    """Forget whatever the request's transaction did (refused input, a dry run)."""
    db = g.get("db")
    if db is not None:
        db.rollback()


def writes(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
    """A write view: commit once when it returns; an exception leaves nothing written."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        result = view(*args, **kwargs)
        commit()
        return result

    return wrapper


def form_post(
    refused: Refused[P],
) -> Callable[[Callable[P, ResponseReturnValue]], Callable[P, ResponseReturnValue]]:
    """A write view whose refused input is undone and shown by `refused(exc, **path)`."""

    def decorate(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
            try:
                result = view(*args, **kwargs)
            except ValidationError as exc:
                discard()
                return refused(exc, *args, **kwargs)
            commit()
            return result

        return wrapper

    return decorate


def _close_db(_exc: BaseException | None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()  # rolls back whatever was not committed
