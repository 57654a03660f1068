"""Helpers shared by the test packages (plain code; the fixtures are in tests/conftest.py)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.models import Base, LiveChat, SupportSession, User
from bpm_livechat.persistence.transactions import unit_of_work
from bpm_livechat.processes.failures import StepFailure, run_or_record
from bpm_livechat.sessions.lifecycle import create_session


@dataclass
class Desk:
    """Who is who: the support chat is worked by `operator` and `supervisor`, sales by `seller`."""

    admin: User
    supervisor: User
    operator: User
    seller: User
    app_user: User
    support: LiveChat
    sales: LiveChat
    widget: User  # the channel account of both live chats: it posts the clients' messages


def open_session(
    db: Session, chat: LiveChat, client: str = "Jane Doe", subject: str = "Help", **kwargs: object
) -> SupportSession:
    """Create a session in `chat` through the product's path (not committed)."""
    return create_session(db, chat, client_name=client, subject=subject, **kwargs)  # type: ignore[arg-type]


def count(db: Session, model: type[Base]) -> int:
    """How many rows a table holds."""
    return db.scalar(select(func.count()).select_from(model)) or 0


# A process for automatic starts: tags a client's message into Summary (and Topics for a refund);
# `{failure}` is script text appended to make it fail on purpose.
TAGGER = """\
<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="tagger_definitions" targetNamespace="http://example/tests">
  <bpmn:process id="tag_message" name="Tag message" isExecutable="true">
    <bpmn:startEvent id="received"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="tag" name="Tag" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>if "refund" in text.lower():
    session.params["topics"] = ["returns"]
session.params["summary"] = who + " wrote: " + text{failure}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="received" targetRef="tag" />
    <bpmn:sequenceFlow id="f2" sourceRef="tag" targetRef="done" />
  </bpmn:process>
</bpmn:definitions>
"""


@dataclass(frozen=True)
class AutostartDemo:
    """The demo data with the tagger bound to client messages in Customer Support."""

    session_id: int  # a Customer Support session of the demo
    operator_headers: dict[str, str]  # the demo operator's API token
    channel_headers: dict[str, str]  # the demo channel account's token: the clients' side


TAGGER_MAPPING = {"text": "message.text", "who": "client.name"}


PROCESS_BPMN = Path(__file__).with_name("processes") / "bpmn"


def read_bpmn(name: str) -> bytes:
    """The bytes of a test BPMN file of tests/processes/bpmn."""
    return (PROCESS_BPMN / name).read_bytes()


def new_session(db: Session, desk: Desk) -> SupportSession:
    """A committed Support session worked by Olga (made in `db`, whichever session the desk is in)."""
    chat, operator = db.get(LiveChat, desk.support.id), db.get(User, desk.operator.id)
    assert chat is not None
    session = open_session(db, chat, operator=operator)
    db.commit()
    return session


T = TypeVar("T")


def run_step(factory: sessionmaker[Session], step: Callable[[Session], T]) -> T | StepFailure:
    """A process step in its own transaction, as the product's callers run one: a failure is
    rolled back, recorded and returned (`failures.run_or_record`)."""
    with unit_of_work(factory) as db:
        return run_or_record(db, lambda: step(db))


def run_ok(factory: sessionmaker[Session], step: Callable[[Session], T]) -> T:
    """`run_step` that must succeed."""
    result = run_step(factory, step)
    assert not isinstance(result, StepFailure), result.error
    return result


def run_failing(factory: sessionmaker[Session], step: Callable[[Session], object]) -> StepFailure:
    """`run_step` that must fail: the recorded failure."""
    result = run_step(factory, step)
    assert isinstance(result, StepFailure), result
    return result


@dataclass
class MovingClock:
    """A clock the test moves: it starts at the real time (rows the product stamps with the
    system's time are never in its future) and goes forward only when told."""

    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def now(self) -> datetime:
        """The clock's time."""
        return self.at

    def advance(self, **delta: float) -> datetime:
        """Move forward by `timedelta(**delta)`; the new time."""
        self.at += timedelta(**delta)
        return self.at


def process_bpmn(
    body: str, process_id: str = "timed", name: str = "Timed", messages: tuple[str, ...] = ()
) -> bytes:
    """A BPMN file of one process whose elements and flows are `body` (with the bpmn: and
    camunda: prefixes), declaring a bpmn:message (id = name) for each of `messages`."""
    declared = "".join(f'\n  <bpmn:message id="{m}" name="{m}" />' for m in messages)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="{process_id}_definitions" targetNamespace="http://example/tests">{declared}
  <bpmn:process id="{process_id}" name="{name}" isExecutable="true">
{body}
  </bpmn:process>
</bpmn:definitions>
""".encode()


def flows(*path: str) -> str:
    """Sequence flows along `path` (element ids), named after their ends."""
    return "".join(
        f'\n    <bpmn:sequenceFlow id="{a}__{b}" sourceRef="{a}" targetRef="{b}" />'
        for a, b in itertools.pairwise(path)
    )
