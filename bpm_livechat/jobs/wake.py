"""Waking a sleeping worker when a job is added: PostgreSQL's LISTEN, or nothing (polling).

On PostgreSQL a statement trigger on the job table notifies `NOTIFY_CHANNEL` when a
transaction that added jobs commits, so workers on any machine wake at once. SQLite workers
(one machine) poll; their poll interval bounds the delay. The live feed's listeners
(`live.hub`) wait the same way on their own channel.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from sqlalchemy import Engine

from bpm_livechat.jobs.queue import NOTIFY_CHANNEL

log = logging.getLogger(__name__)


class Waker(Protocol):
    """Blocks until jobs may have been added, or the timeout passes."""

    def wait(self, timeout: float) -> None:
        """Return after `timeout` seconds, or earlier when woken."""
        ...


class PollingWaker:
    """No notifications: sleep the whole timeout (unless stopped)."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop

    def wait(self, timeout: float) -> None:
        """Sleep `timeout` seconds, or until the worker is stopped."""
        self.stop.wait(timeout)


class ListeningWaker:
    """LISTEN on a connection of its own; wakes on the channel's notification (by default the
    job table's)."""

    def __init__(
        self, engine: Engine, stop: threading.Event, channel: str = NOTIFY_CHANNEL
    ) -> None:
        self.engine = engine
        self.stop = stop
        self.channel = channel
        self._connection: Any = None

    def wait(self, timeout: float) -> None:
        """Wait for a notification for at most `timeout` seconds."""
        if self.stop.is_set():
            return
        try:
            connection = self._listening()
            for _notice in connection.notifies(timeout=max(timeout, 0.0), stop_after=1):
                break
        except Exception:  # a dropped connection: poll this time, listen anew next time
            log.warning("%s notifications unavailable; polling", self.channel)
            log.debug("the listening connection failed", exc_info=True)
            self.close()
            self.stop.wait(timeout)

    def _listening(self) -> Any:
        if self._connection is None:
            import psycopg

            url = self.engine.url.set(drivername="postgresql")
            dsn = url.render_as_string(hide_password=False)
            self._connection = psycopg.connect(dsn, autocommit=True)
            self._connection.execute(f"LISTEN {self.channel}")
        return self._connection

    def close(self) -> None:
        """Close the listening connection."""
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None


def waker_for(
    engine: Engine, stop: threading.Event, channel: str = NOTIFY_CHANNEL
) -> PollingWaker | ListeningWaker:
    """The waker suited to the database behind `engine`, listening on `channel` where it can."""
    if engine.dialect.name == "postgresql":
        return ListeningWaker(engine, stop, channel)
    return PollingWaker(stop)
