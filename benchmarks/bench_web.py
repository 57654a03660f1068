"""Web pages on 100,000 sessions: server time of the sessions list and the session page.

Run: .venv/bin/python -m benchmarks.bench_web [--postgres] [--sessions N] [--runs N]

Seeds the database like bench_sessions (10 custom parameters per session), logs in as the admin
and times whole requests through the Flask app in-process (routing, login, the queries, template
rendering; no network): the list page filtered on `segment = enterprise`, sorted by
`order_value`, 50 per page, showing ten columns (six of them custom parameters); and one session
page. Next to each, measured in the same run, the underlying core calls alone: `search_sessions`
for the list, and `get_session` + `session_details` for the session page.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from functools import partial

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bpm_livechat.desk.preferences import save_list_columns
from bpm_livechat.models import User
from bpm_livechat.sessions.lifecycle import get_session
from bpm_livechat.sessions.search import Filter, SessionQuery, search_sessions
from bpm_livechat.sessions.views import session_details
from web import create_app

from .bench_sessions import database, seed
from .common import Timing, measure

LIST_URL = "/sessions?f.segment=enterprise&sort=order_value&per_page=50"
COLUMNS = [
    "name", "status", "priority", "created_at", "segment", "order_value",
    "satisfaction", "follow_up_date", "topics", "callback_at",
]  # fmt: skip
SESSION_ID = 4242


def _core_list(db: Session, user: User) -> object:
    query = SessionQuery((Filter("segment", "eq", "enterprise"),), None, "order_value", 1, 50)
    page = search_sessions(db, user, query)
    db.rollback()
    return page


def _core_session(db: Session, user: User) -> object:
    details = session_details(db, get_session(db, SESSION_ID, user))
    db.rollback()
    return details


def run(engine: Engine, sessions: int, runs: int) -> list[tuple[str, Timing, Timing]]:
    """Seed, log in, then time each page next to its core calls."""
    seed(engine, sessions)
    with Session(engine) as db:
        admin = db.scalars(select(User).where(User.username == "admin")).one()
        save_list_columns(db, admin, COLUMNS)
        db.commit()
    url = engine.url.render_as_string(hide_password=False)
    with tempfile.TemporaryDirectory() as instance:
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "INSTANCE_PATH": instance})
        client = app.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token is not None
        form = {"username": "admin", "password": "bench-password", "csrf_token": token.group(1)}
        assert client.post("/login", data=form).status_code == 302

        def page(path: str) -> None:
            response = client.get(path)
            assert response.status_code == 200, response.status_code

        # Pages first, then the core calls: on SQLite an open transaction would block the app.
        list_page = measure(partial(page, LIST_URL), runs)
        session_page = measure(partial(page, f"/sessions/{SESSION_ID}"), runs)
        with Session(engine) as db:
            admin = db.scalars(select(User).where(User.username == "admin")).one()
            results = [
                ("list page", list_page, measure(partial(_core_list, db, admin), runs)),
                ("session page", session_page, measure(partial(_core_session, db, admin), runs)),
            ]
        app.extensions["bpm_livechat.engine"].dispose()
    return results


def main() -> None:
    """Parse arguments, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", action="store_true", help="use the local PostgreSQL")
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    with database(args.postgres) as engine:
        results = run(engine, args.sessions, args.runs)
    print(f"\n{engine.dialect.name}: {args.sessions:,} sessions, whole requests in-process")
    print(f"{'':<13} {'page p50':>9} {'p95':>8} {'core p50':>9} {'p95':>8} {'ratio p50':>10}")
    for label, page_time, core in results:
        print(
            f"{label:<13} {page_time.p50:>7.1f}ms {page_time.p95:>6.1f}ms {core.p50:>7.1f}ms "
            f"{core.p95:>6.1f}ms {page_time.p50 / core.p50:>9.2f}x"
        )


if __name__ == "__main__":
    main()
