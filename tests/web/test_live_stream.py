"""GET /live/stream: who may follow it, what each user receives, and catching up after a drop."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from bpm_livechat.live.feed import LIVE_EVENTS, LiveKind, newest_id, publish
from bpm_livechat.models import SupportSession, utcnow
from bpm_livechat.sessions.messages import add_message
from tests.web.support import Browser, World

pytestmark = pytest.mark.parametrize(
    "engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
def live_app(app: Flask) -> Iterator[Flask]:
    """The app with short heartbeats and streams, its hub stopped afterwards."""
    app.config.update(LIVE_HEARTBEAT_SECONDS=0.2, LIVE_STREAM_SECONDS=4.0, LIVE_POLL_SECONDS=0.05)
    yield app
    app.extensions["bpm_livechat.live_hub"].stop()


class Stream:
    """An open event stream read chunk by chunk, as EventSource parses it."""

    def __init__(self, response: Any) -> None:
        self.response = response
        self.chunks = iter(response.response)
        self.buffer = ""

    def events(self, want: int, seconds: float = 5.0) -> list[dict[str, Any]]:
        """The next `want` events (fewer if the time runs out); comments are skipped."""
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + seconds
        while len(found) < want and time.monotonic() < deadline:
            try:
                self.buffer += next(self.chunks).decode()
            except StopIteration:
                break
            *blocks, self.buffer = self.buffer.split("\n\n")
            for block in blocks:
                fields = dict(
                    line.split(": ", 1) for line in block.splitlines() if not line.startswith(":")
                )
                if "data" in fields:
                    found.append({"id": fields.get("id"), **json.loads(fields["data"])})
        return found

    def close(self) -> None:
        """Hang up."""
        self.response.close()


def _open(client: FlaskClient, query: str = "", last: int | None = None) -> Stream:
    headers = {} if last is None else {"Last-Event-ID": str(last)}
    response = client.get(f"/live/stream{query}", headers=headers, buffered=False)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/event-stream"
    return Stream(response)


def _message(db: Session, session_id: int, text: str) -> int:
    session = db.get(SupportSession, session_id)
    assert session is not None
    message = add_message(db, session, text)
    db.commit()
    return message.id


def test_the_stream_needs_a_logged_in_staff_member(
    live_app: Flask, client: FlaskClient, browser_for: Callable[[str], Browser]
) -> None:
    assert client.get("/live/stream").status_code == 401
    assert browser_for("sales").get("/live/stream").status_code == 403


def test_a_session_stream_is_refused_for_another_live_chats_session(
    live_app: Flask, world: World, browser_for: Callable[[str], Browser]
) -> None:
    olga = browser_for("olga")
    assert olga.get(f"/live/stream?session={world.sale}").status_code == 403
    assert olga.get("/live/stream?session=999999").status_code == 404
    refused = olga.get("/live/stream?session=abc")
    assert refused.status_code == 400
    assert refused.get_data(as_text=True) == "session: must be a session id\n"


def test_each_user_receives_only_the_live_chats_they_work(
    live_app: Flask, world: World, db_session: Session, browser_for: Callable[[str], Browser]
) -> None:
    olga, sven = _open(browser_for("olga").client), _open(browser_for("sven").client)
    try:
        time.sleep(0.3)
        support_message = _message(db_session, world.first, "For support")
        sales_message = _message(db_session, world.sale, "For sales")
        [to_olga] = olga.events(1)
        [to_sven] = sven.events(1)
        assert to_olga["kind"] == "message" and to_olga["session_id"] == world.first
        assert to_olga["data"] == {"message_ids": [support_message], "author_kind": "client"}
        assert to_sven["session_id"] == world.sale
        assert to_sven["data"]["message_ids"] == [sales_message]
        assert olga.events(1, seconds=0.6) == []  # not the Sales message
    finally:
        olga.close()
        sven.close()


def test_a_session_stream_carries_that_session_only(
    live_app: Flask, world: World, db_session: Session, browser_for: Callable[[str], Browser]
) -> None:
    stream = _open(browser_for("olga").client, f"?session={world.first}")
    try:
        time.sleep(0.3)
        _message(db_session, world.evil, "Other session")
        mine = _message(db_session, world.first, "This session")
        [event] = stream.events(1)
        assert (event["session_id"], event["data"]["message_ids"]) == (world.first, [mine])
    finally:
        stream.close()


def test_a_reconnecting_page_catches_up_from_its_last_event_id(
    live_app: Flask, world: World, db_session: Session, browser_for: Callable[[str], Browser]
) -> None:
    olga = browser_for("olga").client
    seen = newest_id(db_session)
    missed = [_message(db_session, world.first, f"While away {i}") for i in range(3)]
    _message(db_session, world.sale, "Not hers")
    stream = _open(olga, last=seen)
    try:
        events = stream.events(3)
        assert [e["data"]["message_ids"] for e in events] == [[m] for m in missed]
        assert [int(e["id"]) for e in events] == sorted(int(e["id"]) for e in events)
        again = _open(olga, last=int(events[1]["id"]))  # dropped after the second
        try:
            [third] = again.events(1)
            assert third["data"]["message_ids"] == [missed[2]]
        finally:
            again.close()
        # The same catch-up through the query string (a new EventSource cannot set the header).
        by_query = _open(olga, f"?last_event_id={events[0]['id']}")
        try:
            assert len(by_query.events(2)) == 2
        finally:
            by_query.close()
    finally:
        stream.close()


def test_a_page_offline_longer_than_the_feed_keeps_is_told_to_reload(
    live_app: Flask, world: World, db_session: Session, browser_for: Callable[[str], Browser]
) -> None:
    seen = newest_id(db_session)
    for what in ("a", "b", "c"):
        publish(db_session, LiveKind.SESSION_CHANGED, None, world.desk.support.id, {"what": what})
    db_session.commit()
    newest = newest_id(db_session)
    db_session.execute(
        update(LIVE_EVENTS)
        .where(LIVE_EVENTS.c.id < newest)
        .values(created_at=utcnow() - timedelta(hours=2))
    )
    db_session.commit()
    live_app.extensions["bpm_livechat.live_hub"].poll_once()
    from bpm_livechat.live.feed import prune

    prune(db_session, utcnow())
    db_session.commit()
    stream = _open(browser_for("olga").client, last=seen)
    try:
        [event] = stream.events(1)
        assert event == {"id": str(newest), "kind": "reset"}
    finally:
        stream.close()


def test_a_full_server_answers_503_with_retry_after(
    live_app: Flask, world: World, browser_for: Callable[[str], Browser]
) -> None:
    live_app.extensions["bpm_livechat.live_hub"].max_streams = 1
    olga = browser_for("olga").client
    first = _open(olga)
    try:
        refused = olga.get("/live/stream")
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "10"
    finally:
        first.close()


def test_pages_carry_the_cursor_their_stream_resumes_from(
    live_app: Flask, world: World, db_session: Session, browser_for: Callable[[str], Browser]
) -> None:
    olga = browser_for("olga")
    newest = newest_id(db_session)
    db_session.rollback()  # SQLite: end the read, the page's request takes the write lock
    page = olga.get(f"/sessions/{world.first}").get_data(as_text=True)
    assert f'data-live-stream="/live/stream?session={world.first}"' in page
    assert f'data-live-after="{newest}"' in page
    assert 'data-live="thread"' in page and 'data-live="param-segment"' in page
    listing = olga.get("/sessions").get_data(as_text=True)
    assert 'data-live-stream="/live/stream"' in listing and 'data-live="results"' in listing


def test_a_page_fetched_again_by_live_js_leaves_flashed_notes_for_the_next_page(
    live_app: Flask, world: World, browser_for: Callable[[str], Browser]
) -> None:
    olga = browser_for("olga")
    saved = olga.post(f"/sessions/{world.first}/params/segment", {"value": "smb"})
    assert saved.status_code == 302
    refreshed = olga.client.get(f"/sessions/{world.first}", headers={"X-Live-Refresh": "1"})
    assert "Segment saved." not in refreshed.get_data(as_text=True)
    assert "Segment saved." in olga.get(f"/sessions/{world.first}").get_data(as_text=True)


def test_a_closed_connection_is_noticed_before_the_next_write(live_app: Flask) -> None:
    import socket

    from web.live import _hung_up

    server, browser = socket.socketpair()
    try:
        assert not _hung_up(server)
        browser.sendall(b"x")  # a stray byte is no hang-up
        assert not _hung_up(server)
        browser.close()
        server.recv(1)
        assert _hung_up(server)
        assert not _hung_up(None)  # the development server: noticed at the next heartbeat
    finally:
        server.close()
