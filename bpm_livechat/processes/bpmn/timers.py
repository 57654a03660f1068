"""Timer text as BPMN modelers write it: ISO 8601 dates, durations and repeating cycles.

A timer's `timeDate`, `timeDuration` or `timeCycle` is either plain ISO 8601 text (what Camunda
Modeler writes: `PT15M`, `2026-12-24T18:00:00Z`, `R3/PT1H`) or a Python expression over task
data and the session that gives such text (`f"PT{minutes}M"`). Text that has the ISO form, or
looks meant to (`PT15X`), is taken as ISO and checked as such; anything else is an expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

TimerKind = Literal["timeDate", "timeDuration", "timeCycle"]

_DURATION = re.compile(
    r"P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?"
)
# Text a modeler meant as a duration, valid or not (`PT15X`, `PT`): never a Python expression.
_DURATION_LIKE = re.compile(r"P[0-9A-Z.,]*")
_DATE_START = re.compile(r"\d{4}-\d{2}-\d{2}")
_CRON = re.compile(r"(\S+\s+){4,6}\S+")
EXAMPLES = {
    "timeDate": "2026-12-24T18:00:00Z",
    "timeDuration": "PT15M or P1D",
    "timeCycle": "R3/PT1H",
}


class TimerTextError(ValueError):
    """Timer text that is neither valid ISO 8601 for its kind nor anything else we accept."""


@dataclass(frozen=True)
class Cycle:
    """A repeating timer: how many times (None: for ever), from when, and how often."""

    repetitions: int | None
    start: datetime | None  # None: one interval after the cycle starts waiting
    interval: timedelta


def is_iso_text(kind: TimerKind, text: str) -> bool:
    """True when `text` is meant as plain ISO 8601 (not a Python expression)."""
    text = text.strip()
    if kind == "timeDuration":
        return bool(_DURATION.fullmatch(text) or _DURATION_LIKE.fullmatch(text))
    if kind == "timeCycle":
        return text.upper().startswith("R") and "/" in text and '"' not in text and "'" not in text
    return bool(_DATE_START.match(text)) and '"' not in text and "'" not in text


def looks_like_cron(text: str) -> bool:
    """True for cron syntax (`0 9 * * 1-5`), which BPMN timers do not use."""
    return bool(_CRON.fullmatch(text.strip())) and "*" in text


def parse_duration(text: str, start: datetime) -> timedelta:
    """The length of an ISO 8601 duration counted from `start` (months and years by calendar)."""
    found = _DURATION.fullmatch(text.strip().upper())
    if found is None:
        raise TimerTextError(f"{text!r} is not an ISO 8601 duration (e.g. PT15M, P1D)")
    part = {k: float(v.replace(",", ".")) for k, v in found.groupdict().items() if v}
    months = int(part.get("years", 0) * 12 + part.get("months", 0))
    end = _add_months(start, months) if months else start
    rest = timedelta(
        weeks=part.get("weeks", 0),
        days=part.get("days", 0),
        hours=part.get("hours", 0),
        minutes=part.get("minutes", 0),
        seconds=part.get("seconds", 0),
    )
    return end - start + rest


def _add_months(start: datetime, months: int) -> datetime:
    year, month = divmod(start.month - 1 + months, 12)
    day = min(start.day, _days_in(start.year + year, month + 1))
    return start.replace(year=start.year + year, month=month + 1, day=day)


def _days_in(year: int, month: int) -> int:
    following = datetime(year + (month == 12), month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def parse_date(text: str) -> datetime:
    """An ISO 8601 date-time (UTC when it names no offset)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise TimerTextError(
            f"{text!r} is not an ISO 8601 date-time (e.g. 2026-12-24T18:00:00Z)"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_cycle(text: str) -> Cycle:
    """`R[n]/duration`, `R[n]/start/duration` or `R[n]/duration/end` (end: not supported)."""
    parts = text.strip().split("/")
    head = parts[0].upper()
    if (
        not head.startswith("R")
        or len(parts) not in (2, 3)
        or (not head[1:].isdigit() and head != "R")
    ):
        raise TimerTextError(f"{text!r} is not an ISO 8601 cycle (e.g. R3/PT1H)")
    repetitions = int(head[1:]) if head[1:] else None
    if len(parts) == 2:
        return Cycle(repetitions, None, _interval(parts[1], text))
    if parts[1].upper().startswith("P"):
        raise TimerTextError(
            f"{text!r}: a cycle that names its end is not supported; name its start"
        )
    start = parse_date(parts[1])
    return Cycle(repetitions, start, _interval(parts[2], text))


def _interval(part: str, text: str) -> timedelta:
    interval = parse_duration(part, datetime(2001, 1, 1, tzinfo=UTC))
    if interval <= timedelta(0):
        raise TimerTextError(f"{text!r}: the interval must be longer than zero")
    return interval


def check_text(kind: TimerKind, text: str) -> None:
    """Raise TimerTextError when ISO text is not valid for a timer of `kind`."""
    if kind == "timeDuration":
        parse_duration(text, datetime(2001, 1, 1, tzinfo=UTC))
    elif kind == "timeCycle":
        parse_cycle(text)
    else:
        parse_date(text)


def due_after(kind: TimerKind, text: str, waiting_since: datetime) -> datetime:
    """When a timer of `kind` that started waiting at `waiting_since` first falls due."""
    if kind == "timeDuration":
        return waiting_since + parse_duration(text, waiting_since)
    if kind == "timeCycle":
        cycle = parse_cycle(text)
        return cycle.start if cycle.start is not None else waiting_since + cycle.interval
    return parse_date(text)
