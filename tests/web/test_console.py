"""The console's pages: list views with counts, Take (and losing a race), Assign/Transfer, Close
naming the empty required parameters, read-only closed pages, presence in the top bar."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bpm_livechat.desk.livechats import add_member
from bpm_livechat.desk.users import create_user
from bpm_livechat.models import MemberRole, SupportSession, User, utcnow
from bpm_livechat.params.catalogue import add_parameter
from tests.web.support import PASSWORDS, Browser, World, session_row

BOTH_DATABASES = pytest.mark.parametrize(
    "engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


def _queued(db: Session, world: World) -> int:
    query = select(SupportSession.id).where(
        SupportSession.live_chat_id == world.desk.support.id, SupportSession.operator_id.is_(None)
    )
    found = db.scalars(query.order_by(SupportSession.id)).first()
    db.rollback()
    assert found is not None
    return found


def test_list_views_show_their_counts_and_filter(
    browser_for: Callable[[str], Browser], world: World
) -> None:
    olga = browser_for("olga")
    html = olga.get("/sessions").get_data(as_text=True)
    # 23 Support sessions: 11 are Olga's, 12 are queued (the hostile one included); none closed.
    tabs = dict(re.findall(r'data-view-count="(\w+)">(\d+)<', html))
    assert tabs == {"queue": "12", "mine": "11", "closed": "0"}  # no All for operators
    assert olga.get("/sessions/counts").get_json() == {
        "queue": 12, "mine": 11, "all": 23, "closed": 0
    }  # fmt: skip
    mine = olga.get("/sessions?tab=mine&per_page=50").get_data(as_text=True)
    assert "Client 00" in mine and "Client 01" not in mine
    assert 'data-view="mine" aria-current="page">' in mine
    queue = olga.get("/sessions?tab=queue&per_page=50").get_data(as_text=True)
    assert "Client 01" in queue and "Client 00" not in queue
    assert queue.count(">Take</button>") == 12
    sam = browser_for("sam").get("/sessions").get_data(as_text=True)
    assert 'data-view-count="all">23<' in sam
    assert ">Take</button>" not in sam  # Sam supervises, he is no operator of Support


@BOTH_DATABASES
def test_take_from_the_list_then_a_second_take_names_who_has_it(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    olga_id = world.desk.operator.id
    session_id = _queued(db_session, world)
    olga = browser_for("olga")
    taken = olga.post(f"/sessions/{session_id}/take", {"back": "/sessions?tab=queue"})
    assert taken.headers["Location"] == f"/sessions/{session_id}"
    page = olga.get(taken.headers["Location"]).get_data(as_text=True)
    assert "You took the session." in page
    assert "<strong data-operator>Olga Operator</strong>" in page
    row = session_row(db_session, session_id)
    assert (row.status, row.operator_id) == ("active", olga_id)
    # Admin is no operator of the live chat: refused with a clear page.
    assert browser_for("admin").post(f"/sessions/{session_id}/take").status_code == 403


def test_losing_a_take_is_told_who_was_quicker(
    browser_for: Callable[[str], Browser],
    world: World,
    db_session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(PASSWORDS, "oscar", "oscar-pass-12")
    oscar = create_user(db_session, "oscar", "operator", "oscar-pass-12", "Oscar Operator")
    add_member(db_session, world.desk.support, oscar, MemberRole.OPERATOR)
    db_session.commit()
    session_id = _queued(db_session, world)
    olga = browser_for("olga")
    stale = olga.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert ">Take</button>" in stale
    oscar_client = browser_for("oscar")
    assert oscar_client.post(f"/sessions/{session_id}/take").status_code == 302
    lost = olga.post(f"/sessions/{session_id}/take", {"back": f"/sessions/{session_id}"})
    page = olga.get(lost.headers["Location"]).get_data(as_text=True)
    assert f"Session {session_id} was already taken by Oscar Operator (oscar)." in page
    assert "<strong data-operator>Oscar Operator</strong>" in page


@BOTH_DATABASES
def test_supervisor_assigns_and_transfers(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    session_id = _queued(db_session, world)
    sam = browser_for("sam")
    page = sam.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert '<label for="assign-operator">Assign to</label>' in page
    assert '<option value="olga"' in page and "sven" not in page  # Sven works Sales only
    assert sam.post(f"/sessions/{session_id}/assign", {"operator": "olga"}).status_code == 302
    page = sam.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "The session is now Olga Operator&#39;s." in page
    assert "Sam Supervisor assigned the session to Olga Operator" in page
    assert '<label for="assign-operator">Transfer to</label>' in page
    refused = sam.post(f"/sessions/{session_id}/assign", {"operator": "sven"})
    assert "is not an operator of live chat" in sam.get(refused.headers["Location"]).get_data(
        as_text=True
    )
    # Operators get no assign form and cannot post one.
    olga = browser_for("olga")
    assert "assign-operator" not in olga.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert olga.post(f"/sessions/{session_id}/assign", {"operator": "olga"}).status_code == 403


def test_close_names_missing_required_parameters_with_links_then_closes_read_only(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    add_parameter(db_session, "outcome", "choice", "Outcome", options=["resolved"],
                  required_to_close=True)  # fmt: skip
    db_session.commit()
    olga = browser_for("olga")
    page = olga.get(f"/sessions/{world.first}").get_data(as_text=True)
    assert 'title="Must have a value before the session can be closed">required to close' in page
    refused = olga.post(f"/sessions/{world.first}/close")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert '<li><a href="#param-outcome">Outcome</a></li>' in html
    assert session_row(db_session, world.first).status == "active"
    olga.post(f"/sessions/{world.first}/params/outcome", {"value": "resolved"})
    closed = olga.post(f"/sessions/{world.first}/close")
    assert closed.status_code == 302
    page = olga.get(f"/sessions/{world.first}").get_data(as_text=True)
    assert "Session closed." in page
    assert re.search(
        r"<strong>Closed</strong> on [^<]+ by Olga Operator\. This session is read-only", page
    )
    for control in ('data-edit-toggle', 'data-rename-toggle', ">Take</button>", "Close session",
                    "Start process:"):  # fmt: skip
        assert control not in page, control
    assert "Processes cannot be started on a closed session." in page
    # A stale form is refused with a clear 409, and nothing changes.
    edit = olga.post(f"/sessions/{world.first}/params/segment", {"value": "smb"})
    assert edit.status_code == 409
    assert "This session is closed" in edit.get_data(as_text=True)
    rename = olga.post(f"/sessions/{world.first}/name", {"name": "Other"})
    assert rename.status_code == 409
    assert session_row(db_session, world.first).name == "Client 00 — Question 00"


def test_presence_in_the_top_bar_and_offline_blocks_edits(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    olga = browser_for("olga")
    html = olga.get("/sessions").get_data(as_text=True)
    assert '<option value="online" selected>Online</option>' in html  # the page was activity
    set_ = olga.post("/me/presence", {"presence": "offline", "back": f"/sessions/{world.first}"})
    assert set_.headers["Location"] == f"/sessions/{world.first}"
    page = olga.get(f"/sessions/{world.first}").get_data(as_text=True)
    assert "You are Offline: set yourself Online to reply, edit parameters" in page
    assert "data-edit-toggle" not in page and '<option value="offline" selected>' in page
    refused = olga.post(f"/sessions/{world.first}/params/segment", {"value": "smb"})
    assert refused.status_code == 409
    assert "You are Offline: set yourself Online to edit parameters." in refused.get_data(
        as_text=True
    )
    db_session.expire_all()
    assert db_session.get_one(User, world.desk.operator.id).presence == "offline"
    db_session.rollback()
    olga.post("/me/presence", {"presence": "online"})
    assert olga.post(f"/sessions/{world.first}/params/segment", {"value": "smb"}).status_code == 302
    assert olga.post("/me/presence", {"presence": "busy"}).status_code == 422


def test_pages_count_as_activity_but_the_counts_polled_by_pages_do_not(
    browser_for: Callable[[str], Browser], world: World, db_session: Session
) -> None:
    olga = browser_for("olga")
    long_ago = utcnow() - timedelta(hours=1)
    db_session.execute(update(User).where(User.username == "olga").values(last_seen_at=long_ago))
    db_session.commit()

    def last_seen() -> object:
        db_session.expire_all()
        seen = db_session.scalar(select(User.last_seen_at).where(User.username == "olga"))
        db_session.rollback()
        return seen

    assert olga.get("/sessions/counts").status_code == 200
    assert last_seen() == long_ago  # a page polling its counts is not the operator at work
    olga.get("/sessions")
    seen = last_seen()
    assert isinstance(seen, datetime) and seen > long_ago
