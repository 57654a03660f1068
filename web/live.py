"""Live updates for open pages: a Server-Sent Events stream per page, fed by the process's hub.

`GET /live/stream` (logged-in staff) sends the live feed's events of the live chats the user
works (`?session=ID`: of that session only), resuming after `Last-Event-ID` (or
`?last_event_id=`, the id the page was rendered at), with heartbeats, and ends after
`LIVE_STREAM_SECONDS` so the browser reconnects and access is checked again. The page's script
(`static/live.js`) reloads the parts of the page an event touches. A stream holds a thread of
the server (gthread: see README, Production) but no database connection while it waits.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Callable, Iterator

from flask import Blueprint, Flask, Response, current_app, request
from flask import get_flashed_messages as flask_flashed_messages
from flask.typing import ResponseReturnValue
from flask_login import current_user

from bpm_livechat.desk.access import visible_live_chat_ids
from bpm_livechat.live.feed import FeedRow, newest_id, oldest_id, read_after
from bpm_livechat.live.hub import LiveHub, Subscription, TooManyStreams
from bpm_livechat.models import Role
from bpm_livechat.persistence.engines import READS_ONLY
from bpm_livechat.sessions.lifecycle import get_session
from web.auth import acting_user
from web.db import get_db, session_maker
from web.presence import passive

bp = Blueprint("live", __name__)
_KEY = "bpm_livechat.live_hub"
REFRESH_HEADER = "X-Live-Refresh"  # live.js fetching a page again to swap its parts
RETRY_MS = 2000
BACKLOG_LIMIT = 1000
HANG_UP_CHECK = 1.0  # seconds between looks for a closed connection while nothing happens  # more missed events than this: the page reloads its parts instead


def init_app(app: Flask) -> None:
    """Give the app its hub (its thread starts with the first stream) and the page helpers."""
    engine = app.extensions["bpm_livechat.engine"]
    with app.app_context():
        factory = session_maker()
    app.config.setdefault("LIVE_MAX_STREAMS", 1000)
    app.config.setdefault("LIVE_HEARTBEAT_SECONDS", 15.0)
    app.config.setdefault("LIVE_STREAM_SECONDS", 300.0)
    poll = app.config.get("LIVE_POLL_SECONDS")
    app.extensions[_KEY] = LiveHub(
        factory,
        engine,
        poll_seconds=float(poll) if poll else None,
        max_streams=int(app.config["LIVE_MAX_STREAMS"]),
    )
    app.jinja_env.globals["live_cursor"] = _live_cursor
    app.jinja_env.globals["get_flashed_messages"] = _flashed_messages
    app.register_blueprint(bp)


def live_hub() -> LiveHub:
    """The app's hub."""
    hub: LiveHub = current_app.extensions[_KEY]
    return hub


def _live_cursor() -> int:
    """The newest event id when the page is rendered: its stream resumes after it."""
    return newest_id(get_db())


def _flashed_messages(with_categories: bool = False) -> list[object]:
    # A page fetched again by live.js must not eat a note meant for the next page the user opens.
    if request.headers.get(REFRESH_HEADER):
        return []
    return list(flask_flashed_messages(with_categories=with_categories))


@bp.get("/live/stream")
@passive  # an open page is not activity: presence turns Away as if it were closed
def stream() -> ResponseReturnValue:
    """The live events the user may see, as text/event-stream."""
    # Only reads: on SQLite a deferred transaction, so 200 pages connecting at once never
    # queue for the single writer (loading the user is the first read).
    get_db().connection(execution_options={READS_ONLY: True})
    if not current_user.is_authenticated:
        return Response("log in first\n", 401, mimetype="text/plain")
    db, user = get_db(), acting_user()
    if user.role == Role.USER.value:
        return Response("app users have no live sessions\n", 403, mimetype="text/plain")
    raw_session = request.args.get("session")
    session_id = request.args.get("session", type=int)
    if raw_session is not None and (session_id is None or session_id < 1):
        return Response("session: must be a session id\n", 400, mimetype="text/plain")
    if session_id is not None:
        get_session(db, session_id, user)  # 404 or 403 unless the user works it
    accepts = _filter(visible_live_chat_ids(db, user), session_id)
    try:
        subscription = live_hub().subscribe(accepts)
    except TooManyStreams as exc:
        headers = {"Retry-After": "10"}
        return Response(f"{exc}\n", 503, headers=headers, mimetype="text/plain")
    try:
        backlog, reset = _backlog(_last_event_id(), accepts)
    except BaseException:
        live_hub().unsubscribe(subscription)
        raise
    db.close()  # the stream waits without a database connection
    body = _events(subscription, backlog, reset, request.environ.get("gunicorn.socket"))
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return Response(body, mimetype="text/event-stream", headers=headers)


def _filter(chats: set[int] | None, session_id: int | None) -> Callable[[FeedRow], bool]:
    def accepts(row: FeedRow) -> bool:
        if chats is not None and row.live_chat_id not in chats:
            return False
        if session_id is None:
            return True
        return row.session_id == session_id or row.session_id is None

    return accepts


def _last_event_id() -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.args.get("last_event_id", "")
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


def _backlog(
    after: int | None, accepts: Callable[[FeedRow], bool]
) -> tuple[list[FeedRow], int | None]:
    """The events missed since `after`; when too many were (or were pruned) to replay, none
    and the newest id instead, from which the page goes on after reloading its parts."""
    if after is None:
        return [], None
    db = get_db()
    oldest = oldest_id(db)
    rows = [] if oldest is not None and after < oldest - 1 else read_after(db, after, BACKLOG_LIMIT)
    if (oldest is not None and after < oldest - 1) or len(rows) == BACKLOG_LIMIT:
        return [], newest_id(db)
    return [row for row in rows if accepts(row)], None


def _events(
    subscription: Subscription,
    backlog: list[FeedRow],
    reset: int | None,
    client: socket.socket | None,
) -> Iterator[str]:
    hub = live_hub()
    heartbeat = float(current_app.config["LIVE_HEARTBEAT_SECONDS"])
    ends_at = time.monotonic() + float(current_app.config["LIVE_STREAM_SECONDS"])

    def generate() -> Iterator[str]:
        sent = {row.id for row in backlog}
        try:
            yield f"retry: {RETRY_MS}\n: connected\n\n"
            if reset is not None:
                yield f'id: {reset}\ndata: {{"kind":"reset"}}\n\n'
            for row in backlog:
                yield _event(row)
            quiet_since = time.monotonic()
            while time.monotonic() < ends_at and not subscription.closed:
                if subscription.overflowed or _hung_up(client):
                    return  # an overflowed page reconnects from its last id and reloads
                rows = subscription.take(min(HANG_UP_CHECK, max(ends_at - time.monotonic(), 0)))
                fresh = [row for row in rows if row.id not in sent]
                if fresh:
                    yield "".join(_event(row) for row in fresh)
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since >= heartbeat:
                    yield ": ping\n\n"
                    quiet_since = time.monotonic()
        finally:
            hub.unsubscribe(subscription)

    return generate()


def _hung_up(client: socket.socket | None) -> bool:
    """True when the browser closed the connection (gunicorn hands the socket over); without
    it, a closed connection shows at the next write (a heartbeat at the latest)."""
    if client is None:
        return False
    try:
        readable, _, _ = select.select([client], [], [], 0)
        return bool(readable) and client.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _event(row: FeedRow) -> str:
    data = {
        "kind": row.kind,
        "session_id": row.session_id,
        "live_chat_id": row.live_chat_id,
        "data": row.data,
    }
    return f"id: {row.id}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
