"""One listener per web process: tail the live feed and fan new rows out to open streams.

The feed in the database is the source of truth; the hub only spares each open page its own
query. Its thread reads the rows after its cursor (one query per process, however many pages
are open), woken by PostgreSQL's notification at commit or every `poll_seconds` (SQLite, and a
safety net on PostgreSQL), and hands each row to the subscriptions that accept it.

PostgreSQL hands out ids at insert, not at commit, so a row can become visible after a higher
one: ids skipped over are remembered as gaps and read again for `GAP_SECONDS` (a rolled-back
transaction leaves a gap for good).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.errors import BpmLivechatError
from bpm_livechat.jobs.wake import waker_for
from bpm_livechat.live.feed import LIVE_CHANNEL, READ_LIMIT, FeedRow, newest_id, prune, read_after
from bpm_livechat.models import utcnow
from bpm_livechat.persistence.engines import READS_ONLY

log = logging.getLogger(__name__)
GAP_SECONDS = 10.0
MAX_PENDING = 1000  # rows queued for one slow stream before it is told to reload instead
PRUNE_SECONDS = 600.0


class TooManyStreams(BpmLivechatError):
    """This process holds as many open streams as it was configured for."""


class Subscription:
    """What one open stream receives: the rows its filter accepts, in feed order."""

    def __init__(self, accepts: Callable[[FeedRow], bool]) -> None:
        self.accepts = accepts
        self.overflowed = False  # it fell behind by MAX_PENDING rows: the page must reload parts
        self._rows: deque[FeedRow] = deque()
        self._ready = threading.Condition()
        self.closed = False

    def offer(self, row: FeedRow) -> None:
        """Queue `row` if the filter accepts it (called by the hub's thread)."""
        if not self.accepts(row):
            return
        with self._ready:
            if len(self._rows) >= MAX_PENDING:
                self.overflowed = True
            else:
                self._rows.append(row)
            self._ready.notify()

    def close(self) -> None:
        """Wake the stream's reader for good (the hub stops)."""
        with self._ready:
            self.closed = True
            self._ready.notify()

    def take(self, timeout: float) -> list[FeedRow]:
        """The rows queued so far; waits up to `timeout` seconds for the first one."""
        with self._ready:
            if not self._rows and not self.closed and not self.overflowed:
                self._ready.wait(timeout)
            rows = list(self._rows)
            self._rows.clear()
            return rows


class _Cursor:
    """Where the hub has read to: the highest id seen, and the ids below it not yet seen."""

    def __init__(self, start: int) -> None:
        self.high = start
        self.gaps: dict[int, float] = {}

    def read_from(self) -> int:
        """The id to read after."""
        return min(self.gaps) - 1 if self.gaps else self.high

    def fresh(self, rows: Iterable[FeedRow], now: float) -> list[FeedRow]:
        """The rows not handed out before; notes the ids skipped over as gaps."""
        out = []
        for row in rows:
            if row.id in self.gaps:
                del self.gaps[row.id]
            elif row.id > self.high:
                for missing in range(self.high + 1, min(row.id, self.high + 1 + 1000)):
                    self.gaps[missing] = now
                self.high = row.id
            else:
                continue
            out.append(row)
        self.gaps = {gap: seen for gap, seen in self.gaps.items() if now - seen < GAP_SECONDS}
        return out


class LiveHub:
    """The process's listener thread and its subscriptions; started by the first subscriber."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        engine: Engine,
        *,
        poll_seconds: float | None = None,
        max_streams: int = 1000,
    ) -> None:
        postgres = engine.dialect.name == "postgresql"
        self.factory = factory
        self.engine = engine
        # PostgreSQL wakes the thread at commit; its poll is only a safety net.
        self.poll_seconds = poll_seconds or (1.0 if postgres else 0.2)
        self.max_streams = max_streams
        self._subscriptions: set[Subscription] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cursor: _Cursor | None = None
        self._next_prune = time.monotonic() + random.uniform(0, PRUNE_SECONDS)

    def subscribe(self, accepts: Callable[[FeedRow], bool]) -> Subscription:
        """A new stream's subscription; TooManyStreams when the process is full."""
        subscription = Subscription(accepts)
        with self._lock:
            if len(self._subscriptions) >= self.max_streams:
                raise TooManyStreams(f"this server holds {self.max_streams} live streams already")
            self._subscriptions.add(subscription)
            self._start()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a stream that ended."""
        with self._lock:
            self._subscriptions.discard(subscription)

    @property
    def streams(self) -> int:
        """How many streams are open in this process."""
        return len(self._subscriptions)

    def stop(self) -> None:
        """Stop the thread and end every stream."""
        self._stop.set()
        with self._lock:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="bpm-livechat-live", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        waker = waker_for(self.engine, self._stop, LIVE_CHANNEL)
        waker.wait(0)  # LISTEN before the first read, so nothing committed after it is missed
        try:
            while not self._stop.is_set():
                try:
                    while self.poll_once() >= READ_LIMIT and not self._stop.is_set():
                        pass  # a burst: read on before sleeping
                except Exception:  # the database went away: keep the streams, try again
                    log.warning("reading the live feed failed", exc_info=True)
                waker.wait(self.poll_seconds)
        finally:
            close = getattr(waker, "close", None)
            if close is not None:
                close()

    def poll_once(self) -> int:
        """Read the feed after the cursor and hand the new rows out; how many there were."""
        with self.factory() as db:
            db.connection(execution_options={READS_ONLY: True})
            if self._cursor is None:
                self._cursor = _Cursor(newest_id(db))
            read = read_after(db, self._cursor.read_from())
        rows = self._cursor.fresh(read, time.monotonic())
        with self._lock:
            subscriptions = list(self._subscriptions)
        for row in rows:
            for subscription in subscriptions:
                subscription.offer(row)
        self._maybe_prune()
        return len(read)

    def _maybe_prune(self) -> None:
        if time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + PRUNE_SECONDS
        with self.factory() as db:
            prune(db, utcnow())
            db.commit()
