"""Session list benchmark: 100,000 sessions with 10 custom parameters, product query vs hand-written SQL.

Run: .venv/bin/python -m benchmarks.bench_sessions [--postgres] [--sessions N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, insert, select, text
from sqlalchemy.orm import Session

from bpm_livechat.desk.livechats import add_channel, create_live_chat
from bpm_livechat.desk.users import create_user
from bpm_livechat.models import Client, ParamValue, SupportSession, User
from bpm_livechat.params.catalogue import add_parameter
from bpm_livechat.params.types import Money, ParamType, index_values, to_json
from bpm_livechat.persistence.engines import make_engine, upgrade
from bpm_livechat.persistence.transactions import session_factory
from bpm_livechat.sessions.search import Filter, SessionQuery, search_sessions

from .common import Timing, measure, progress

PG_ADMIN = os.environ.get(
    "BPM_LIVECHAT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PARAMS: list[tuple[str, ParamType, tuple[str, ...]]] = [
    ("segment", ParamType.CHOICE, ("consumer", "smb", "enterprise", "public")),
    ("order_value", ParamType.MONEY, ()),
    ("satisfaction", ParamType.INTEGER, ()),
    ("newsletter", ParamType.BOOLEAN, ()),
    ("follow_up_date", ParamType.DATE, ()),
    ("order_number", ParamType.STRING, ()),
    ("discount_rate", ParamType.DECIMAL, ()),
    ("callback_at", ParamType.DATETIME, ()),
    ("topics", ParamType.MULTICHOICE, ("billing", "delivery", "returns", "technical")),
    ("contact_email", ParamType.EMAIL, ()),
]
BATCH = 5000


def _value(key: str, rng: random.Random, n: int) -> object:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    makers: dict[str, Any] = {
        "segment": lambda: rng.choice(PARAMS[0][2]),
        "order_value": lambda: Money(Decimal(rng.randint(100, 10_000_000)) / 100, "EUR"),
        "satisfaction": lambda: rng.randint(1, 5),
        "newsletter": lambda: rng.random() < 0.5,
        "follow_up_date": lambda: date(2026, 1, 1) + timedelta(days=rng.randint(0, 364)),
        "order_number": lambda: f"ORD-{n:07d}",
        "discount_rate": lambda: Decimal(rng.randint(0, 3000)) / 100,
        "callback_at": lambda: start + timedelta(minutes=rng.randint(0, 525_600)),
        "topics": lambda: sorted(rng.sample(PARAMS[8][2], rng.randint(1, 2))),
        "contact_email": lambda: f"client{n}@example.com",
    }
    return makers[key]()


def seed(engine: Engine, sessions: int) -> None:
    """Create the live chat, users, definitions, clients and `sessions` sessions with values."""
    with session_factory(engine)() as db:
        create_user(db, "admin", "admin", "bench-password")
        chat = create_live_chat(db, "Bench", "{client.name}: {subject}")
        channel = add_channel(db, chat, "Web", "web")
        ids = {
            key: add_parameter(db, key, t.value, key.title(), options=o).id for key, t, o in PARAMS
        }
        db.execute(
            insert(Client),
            [{"name": f"Client {i}", "email": f"c{i}@example.com"} for i in range(1000)],
        )
        client_ids = list(db.scalars(select(Client.id)))
        db.commit()
        chat_id, channel_id = chat.id, channel.id
    rng = random.Random(7)
    created = datetime(2025, 1, 1, tzinfo=UTC)
    started = time.perf_counter()
    for first in range(0, sessions, BATCH):
        count = min(BATCH, sessions - first)
        rows = [
            {
                "id": first + i + 1,
                "live_chat_id": chat_id,
                "channel_id": channel_id,
                "client_id": rng.choice(client_ids),
                "subject": f"Question {first + i}",
                "priority": rng.choice(["low", "normal", "high", "urgent"]),
                "status": rng.choice(["queued", "active", "closed"]),
                "created_at": created + timedelta(minutes=first + i),
                "name": f"Session {first + i}",
                "name_is_manual": False,
                "version": 1,
            }
            for i in range(count)
        ]
        values = []
        for row in rows:
            for key, type_, _ in PARAMS:
                value = _value(key, rng, int(str(row["id"])))
                text_value, number_value = index_values(type_, value)
                values.append(
                    {
                        "session_id": row["id"],
                        "definition_id": ids[key],
                        "value": to_json(type_, value),
                        "text_value": text_value,
                        "number_value": number_value,
                        "updated_at": created,
                    }
                )
        _bulk_insert(engine, [(SupportSession.__table__, rows), (ParamValue.__table__, values)])
        progress("seeding", first + count, sessions)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
            conn.execute(text("SELECT setval('sessions_id_seq', (SELECT max(id) FROM sessions))"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        raw = engine.raw_connection()  # outside a transaction: fold the seeding's WAL into the file
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    print(f"seeded {sessions:,} sessions in {time.perf_counter() - started:.1f} s")


def _bulk_insert(engine: Engine, batches: list[tuple[Any, list[dict[str, Any]]]]) -> None:
    """Insert rows in one transaction: COPY on PostgreSQL, executemany on SQLite."""
    with engine.begin() as conn:
        if engine.dialect.name != "postgresql":
            for table, rows in batches:
                conn.execute(insert(table), rows)
            return
        raw = conn.connection.driver_connection
        assert raw is not None
        for table, rows in batches:
            columns = list(rows[0])
            with raw.cursor().copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([_copy_value(c, row[c]) for c in columns])


def _copy_value(column: str, value: object) -> object:
    """COPY takes JSON as text and timestamps naive in UTC (as the ORM stores them)."""
    if column == "value":
        return json.dumps(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


HAND_COUNT = """
SELECT count(*) FROM param_values f WHERE f.definition_id = :filter_def AND f.text_value = :value
"""
HAND_PAGE = """
SELECT f.session_id FROM param_values f
LEFT JOIN param_values o ON o.session_id = f.session_id AND o.definition_id = :sort_def
WHERE f.definition_id = :filter_def AND f.text_value = :value
ORDER BY o.number_value IS NULL, o.number_value, f.session_id
LIMIT :limit OFFSET :offset
"""
HAND_ROWS = """
SELECT s.id, s.name, s.subject, s.priority, s.status, s.created_at, s.closed_at,
       c.name, c.email, lc.name, ch.name, u.display_name
FROM sessions s
JOIN clients c ON c.id = s.client_id
JOIN live_chats lc ON lc.id = s.live_chat_id
JOIN channels ch ON ch.id = s.channel_id
LEFT JOIN users u ON u.id = s.operator_id
WHERE s.id IN ({ids})
"""
HAND_PARAMS = (
    "SELECT session_id, definition_id, value FROM param_values WHERE session_id IN ({ids})"
)


def hand_written(db: Session, defs: dict[str, int], offset: int) -> list[int]:
    """The same page by hand: count, the page's ids, their rows and their values."""
    bind = {"filter_def": defs["segment"], "value": "enterprise", "sort_def": defs["order_value"]}
    db.execute(text(HAND_COUNT), bind).scalar_one()
    ids = list(db.execute(text(HAND_PAGE), {**bind, "limit": 50, "offset": offset}).scalars())
    listed = ",".join(map(str, ids))
    db.execute(text(HAND_ROWS.format(ids=listed))).all()
    db.execute(text(HAND_PARAMS.format(ids=listed))).all()
    return ids


def run(engine: Engine, sessions: int, runs: int) -> list[tuple[str, Timing, Timing]]:
    """Time the product query and the hand-written SQL for the first and a deep page."""
    seed(engine, sessions)
    results = []
    with session_factory(engine)() as db:
        admin = db.scalars(select(User)).one()
        defs = {
            key: i for key, i in db.execute(text("SELECT key, id FROM param_definitions")).all()
        }
        matching = db.execute(
            text(HAND_COUNT), {"filter_def": defs["segment"], "value": "enterprise"}
        ).scalar_one()
        deep_page = max(1, matching // 50 - 10)
        for label, page in (("first page", 1), (f"page {deep_page}", deep_page)):
            query = SessionQuery(
                (Filter("segment", "eq", "enterprise"),), None, "order_value", page, 50
            )
            product_ids = [s.id for s in search_sessions(db, admin, query).items]
            assert product_ids == hand_written(db, defs, (page - 1) * 50), (
                "product and SQL disagree"
            )
            product = measure(partial(search_sessions, db, admin, query), runs)
            baseline = measure(partial(hand_written, db, defs, (page - 1) * 50), runs)
            results.append((label, product, baseline))
            db.rollback()
    return results


@contextmanager
def database(postgres: bool) -> Iterator[Engine]:
    """A scratch database: a temporary SQLite file, or a new PostgreSQL database dropped afterwards."""
    if not postgres:
        with tempfile.TemporaryDirectory() as folder:
            engine = make_engine(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
            upgrade(engine)
            yield engine
            engine.dispose()
        return
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}")
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    """Parse arguments, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", action="store_true", help="use the local PostgreSQL")
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    with database(args.postgres) as engine:
        results = run(engine, args.sessions, args.runs)
        print(
            f"\n{engine.dialect.name}: filter segment=enterprise, sort by order_value, 50 per page"
        )
        print(
            f"{'':<12} {'product p50':>12} {'p95':>8} {'SQL p50':>9} {'p95':>8} {'ratio p50':>10}"
        )
        for label, product, baseline in results:
            print(
                f"{label:<12} {product.p50:>10.1f}ms {product.p95:>6.1f}ms {baseline.p50:>7.1f}ms "
                f"{baseline.p95:>6.1f}ms {product.p50 / baseline.p50:>9.2f}x"
            )


if __name__ == "__main__":
    main()
