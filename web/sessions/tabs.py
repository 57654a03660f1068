"""The sessions list's views as tabs: Queue, Mine, All (supervisors), Closed, and Everything."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bpm_livechat.models import User
from bpm_livechat.sessions.queues import SessionView, sees_all, view_counts
from web.filters import list_url

LABELS = {
    SessionView.QUEUE: "Queue",
    SessionView.MINE: "Mine",
    SessionView.ALL: "All open",
    SessionView.CLOSED: "Closed",
}


@dataclass(frozen=True)
class Tab:
    """One tab of the list: its view (None: everything), label, count and link."""

    view: str
    label: str
    count: int | None
    url: str
    current: bool


def parse_view(raw: str | None) -> SessionView | None:
    """The view a `tab` argument names; anything else shows everything."""
    try:
        return SessionView(raw) if raw else None
    except ValueError:
        return None


def list_tabs(
    db: Session, user: User, current: SessionView | None, args: dict[str, str]
) -> list[Tab]:
    """The tabs `user` is offered, with their counts (one query), linking with the same filters."""
    counts = view_counts(db, user).as_dict()
    tabs = [
        Tab(view.value, label, counts[view.value], list_url(args, tab=view.value, page=None),
            view is current)
        for view, label in LABELS.items()
        if view is not SessionView.ALL or sees_all(user)
    ]  # fmt: skip
    tabs.append(Tab("", "Everything", None, list_url(args, tab=None, page=None), current is None))
    return tabs
