"""The operator's views of the sessions list: Queue, Mine, All (open) and Closed, with counts.

A view is a condition added to the list's query (`view_clause`); the counts of every view come
from one aggregate statement over the sessions the user may see (`view_counts`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from bpm_livechat.desk.access import visible_live_chat_ids
from bpm_livechat.models import Role, Status, SupportSession, User


class SessionView(StrEnum):
    """A tab of the sessions list."""

    QUEUE = "queue"  # nobody has it yet, still open
    MINE = "mine"  # the user's, still open
    ALL = "all"  # every open session the user may see (supervisors and admins)
    CLOSED = "closed"


@dataclass(frozen=True)
class ViewCounts:
    """How many sessions each view holds for one user."""

    queue: int
    mine: int
    all: int
    closed: int

    def as_dict(self) -> dict[str, int]:
        """The counts keyed by view name (the JSON the pages poll)."""
        return asdict(self)


def sees_all(user: User) -> bool:
    """True for the users offered the All view: supervisors and admins."""
    return user.role in (Role.SUPERVISOR.value, Role.ADMIN.value)


def view_clause(view: SessionView, user: User) -> ColumnElement[bool]:
    """SQL: the session belongs to `view` for `user`."""
    open_ = SupportSession.status != Status.CLOSED.value
    if view is SessionView.QUEUE:
        return and_(open_, SupportSession.operator_id.is_(None))
    if view is SessionView.MINE:
        return and_(open_, SupportSession.operator_id == user.id)
    if view is SessionView.ALL:
        return open_
    return SupportSession.status == Status.CLOSED.value


def view_counts(db: Session, user: User) -> ViewCounts:
    """The number of sessions in each view, in one statement over the user's live chats."""
    views = list(SessionView)
    columns = [func.count().filter(view_clause(view, user)) for view in views]
    query = select(*columns).select_from(SupportSession)
    chats = visible_live_chat_ids(db, user)
    if chats is not None:
        query = query.where(SupportSession.live_chat_id.in_(chats))
    row = db.execute(query).one()
    return ViewCounts(**{view.value: int(n or 0) for view, n in zip(views, row, strict=True)})
