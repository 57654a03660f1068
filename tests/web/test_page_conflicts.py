"""Conflicts on pages (issue 18 item 4): the console's forms carry the session version the page
showed; a stale one is refused with a message, and nothing is overwritten."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy.orm import Session

from tests.web.support import Browser, World, session_row


def _version(page: str) -> str:
    match = re.search(r'name="version" value="(\d+)"', page)
    assert match, "the page carries no version"
    return match.group(1)


def test_a_stale_close_or_assign_is_refused_with_a_message(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    olga_id = world.desk.operator.id
    sam, admin = browser_for("sam"), browser_for("admin")
    url = f"/sessions/{world.first}"
    seen = _version(admin.get(url).text)
    renamed = sam.post(f"{url}/name", {"name": "Changed by Sam", "version": seen})
    assert renamed.status_code == 302
    for action, data in (("close", {}), ("assign", {"operator": "olga"}), ("release", {})):
        refused = admin.post(f"{url}/{action}", {**data, "version": seen})
        assert refused.status_code == 302, action
        page = admin.get(refused.headers["Location"]).text
        assert "was changed since this page was opened" in page, action
    stored = session_row(db_session, world.first)
    assert stored.status != "closed" and stored.closed_at is None
    assert stored.operator_id == olga_id  # neither released nor reassigned
    current = _version(admin.get(url).text)
    closed = admin.post(f"{url}/close", {"version": current})
    assert "Session closed." in admin.get(closed.headers["Location"]).text
