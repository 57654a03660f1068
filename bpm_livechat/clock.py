"""What time it is: the system's clock, or one a test moves (timers and leases read it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """A source of the current time, timezone-aware in UTC."""

    def now(self) -> datetime:
        """The current time."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        """The current time, from the system."""
        return datetime.now(UTC)


SYSTEM_CLOCK = SystemClock()
