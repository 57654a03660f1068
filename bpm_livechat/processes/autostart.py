"""Processes started automatically on session events, with variables mapped from the session.

The event itself (a new session, a client message, a closed session) is committed first by its
caller; `fire_event` then starts each bound process in a transaction of its own. A failing start
is recorded as a failed instance (a supervisor can retry it) and never undoes the event.
"""

from __future__ import annotations

import keyword
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.errors import ProcessStepError, ValidationError
from bpm_livechat.models import EventBinding, Process, Role, SupportSession, User
from bpm_livechat.params.definitions import definitions
from bpm_livechat.params.types import ParamType, to_json
from bpm_livechat.params.values import get_parameters
from bpm_livechat.persistence.transactions import unit_of_work
from bpm_livechat.processes.deployments import (
    get_process,
    is_bound,
    latest_version,
    require_designer,
)
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.failures import (
    FailedStep,
    ProcessFailed,
    StepFailure,
    pending_input,
    run_or_record,
)
from bpm_livechat.processes.instances import start_process
from bpm_livechat.processes.steps import StepOutcome
from bpm_livechat.sessions.lifecycle import get_session

log = logging.getLogger(__name__)

SYSTEM_USERNAME = "system"
SESSION_SOURCES = (
    "session.id", "session.name", "session.subject", "session.priority", "session.status",
    "session.created_at", "client.name", "client.email", "client.phone", "live_chat.name",
    "channel.name", "operator.name",
)  # fmt: skip
MESSAGE_SOURCE = "message.text"
PARAM_PREFIX = "param."


class SessionEvent(StrEnum):
    """The session events a process can be bound to."""

    SESSION_CREATED = "session_created"
    MESSAGE_RECEIVED = "message_received"
    SESSION_CLOSED = "session_closed"


@dataclass(frozen=True)
class AutoStartResult:
    """What one automatic start did: its instance and status, or the recorded failure."""

    process_id: str
    instance_id: int | None
    status: str
    error: dict[str, Any] | None = None


def check_mapping(db: Session, event: SessionEvent, mapping: Mapping[str, str]) -> dict[str, str]:
    """Validate an input mapping (variable -> source); every problem is reported at once."""
    keys = {d.key for d in definitions(db)}
    problems: dict[str, str] = {}
    for variable, source in mapping.items():
        if not variable.isidentifier() or keyword.iskeyword(variable) or variable[0] == "_":
            problems[variable] = "not a valid variable name"
        elif source == MESSAGE_SOURCE and event is not SessionEvent.MESSAGE_RECEIVED:
            problems[variable] = f"{MESSAGE_SOURCE} exists only for {SessionEvent.MESSAGE_RECEIVED}"
        elif source.startswith(PARAM_PREFIX) and source[len(PARAM_PREFIX) :] not in keys:
            problems[variable] = f"unknown parameter {source[len(PARAM_PREFIX) :]!r}"
        elif not (
            source in SESSION_SOURCES or source == MESSAGE_SOURCE or source.startswith(PARAM_PREFIX)
        ):
            problems[variable] = f"unknown source {source!r}"
    if problems:
        detail = "; ".join(f"{k}: {v}" for k, v in problems.items())
        raise ValidationError(f"invalid input mapping: {detail}", problems)
    return dict(mapping)


def bind_event(
    db: Session, process: Process, event: str, user: User, mapping: Mapping[str, str]
) -> EventBinding:
    """Start `process` on `event` in the live chats it is bound to (replaces an earlier mapping)."""
    require_designer(user)
    parsed = _parse_event(event)
    checked = check_mapping(db, parsed, mapping)
    binding = db.scalar(
        select(EventBinding).where(
            EventBinding.process_id == process.id, EventBinding.event == parsed.value
        )
    )
    if binding is None:
        binding = EventBinding(process=process, event=parsed.value)
        db.add(binding)
    binding.input_mapping = checked
    db.flush()
    return binding


def unbind_event(db: Session, process: Process, event: str, user: User) -> None:
    """Stop starting `process` on `event`."""
    require_designer(user)
    parsed = _parse_event(event)
    for binding in db.scalars(
        select(EventBinding).where(
            EventBinding.process_id == process.id, EventBinding.event == parsed.value
        )
    ):
        db.delete(binding)
    db.flush()


# Built once per event: every API event asks, and building a statement costs more than running it.
_ASK_LISTENING = {
    event: select(exists().where(EventBinding.event == event.value)) for event in SessionEvent
}


def has_bindings(db: Session, event: SessionEvent) -> bool:
    """True when some process is bound to `event` (one indexed row, no ORM objects)."""
    return bool(db.scalar(_ASK_LISTENING[event]))


_BOUND_EVENTS = select(EventBinding.event).distinct()


def bound_events(db: Session) -> set[SessionEvent]:
    """The events some process is bound to (one statement, for a request that fires several)."""
    return {SessionEvent(event) for event in db.scalars(_BOUND_EVENTS)}


def event_bindings(db: Session, event: SessionEvent | None = None) -> list[EventBinding]:
    """The event bindings, optionally of one event, by process."""
    query = select(EventBinding).join(Process).order_by(Process.bpmn_id, EventBinding.event)
    if event is not None:
        query = query.where(EventBinding.event == event.value)
    return list(db.scalars(query))


def _parse_event(event: str) -> SessionEvent:
    try:
        return SessionEvent(event)
    except ValueError:
        valid = ", ".join(e.value for e in SessionEvent)
        raise ValidationError(
            f"unknown session event {event!r} (one of: {valid})", {"event": "unknown event"}
        ) from None


def system_user(db: Session) -> User:
    """The built-in account automatic starts run as; it has no usable password."""
    user = db.scalar(select(User).where(User.username == SYSTEM_USERNAME))
    if user is None:
        user = User(
            username=SYSTEM_USERNAME,
            display_name="Automation",
            role=Role.ADMIN.value,
            password_hash="!",  # matches no password: the account cannot log in
        )
        db.add(user)
        db.flush()
    return user


def fire_event(
    factory: sessionmaker[Session],
    engine: ProcessEngine,
    event: SessionEvent,
    session_id: int,
    message_text: str | None = None,
) -> list[AutoStartResult]:
    """Start every process bound to `event` for this session, each in its own transaction."""
    with unit_of_work(factory) as db:
        system_user(db)  # committed here: a failed start's record refers to it after its rollback
        session = get_session(db, session_id)
        plans = [
            (b.process.bpmn_id, dict(b.input_mapping))
            for b in event_bindings(db, event)
            if b.process.active and is_bound(db, b.process, session.live_chat_id)
        ]
    return [
        _run_one(factory, engine, process_id, session_id, mapping, message_text)
        for process_id, mapping in plans
    ]


def _run_one(
    factory: sessionmaker[Session],
    engine: ProcessEngine,
    process_id: str,
    session_id: int,
    mapping: dict[str, str],
    message_text: str | None,
) -> AutoStartResult:
    """One automatic start in its own transaction; a failure is recorded, never raised."""
    try:
        with unit_of_work(factory) as db:

            def start() -> StepOutcome:
                return _start(db, engine, session_id, process_id, mapping, message_text)

            result = run_or_record(db, start)
            if isinstance(result, StepFailure):
                return AutoStartResult(process_id, result.instance.id, "failed", result.error)
            return AutoStartResult(process_id, result.instance.id, result.instance.status)
    except Exception:  # never let an automatic start undo or block the event
        log.exception("automatic start of %s failed unexpectedly", process_id)
        return AutoStartResult(
            process_id, None, "failed", {"kind": "engine", "message": "unexpected error"}
        )


def _start(
    db: Session,
    engine: ProcessEngine,
    session_id: int,
    process_id: str,
    mapping: dict[str, str],
    message_text: str | None,
) -> StepOutcome:
    session = get_session(db, session_id)
    user = system_user(db)
    variables = map_variables(db, session, mapping, message_text)
    try:
        return start_process(db, engine, session, process_id, variables, user, variables=variables)
    except ValidationError as exc:  # the start form refused the mapped values: record it
        version = latest_version(db, get_process(db, process_id))
        if version is None:
            raise
        pending = pending_input("start", None, variables, user, variables)
        failed = FailedStep(
            ProcessStepError("form", exc.message),
            instance_id=None,
            session_id=session.id,
            version_id=version.id,
            started_by_id=user.id,
            pending=pending,
        )
        raise ProcessFailed(failed) from exc


def map_variables(
    db: Session, session: SupportSession, mapping: Mapping[str, str], message_text: str | None
) -> dict[str, object]:
    """The process variables of an input mapping, as plain JSON values (dates as ISO text)."""
    params = get_parameters(db, session.id)
    types = {d.key: ParamType(d.type) for d in definitions(db)}
    fields: dict[str, object] = {
        "session.id": session.id,
        "session.name": session.name,
        "session.subject": session.subject,
        "session.priority": session.priority,
        "session.status": session.status,
        "session.created_at": session.created_at.isoformat(),
        "client.name": session.client.name,
        "client.email": session.client.email,
        "client.phone": session.client.phone,
        "live_chat.name": session.live_chat.name,
        "channel.name": session.channel.name,
        "operator.name": session.operator.display_name if session.operator else None,
        MESSAGE_SOURCE: message_text,
    }
    variables: dict[str, object] = {}
    for variable, source in mapping.items():
        if source.startswith(PARAM_PREFIX):
            key = source[len(PARAM_PREFIX) :]
            value = params.get(key)
            variables[variable] = to_json(types[key], value) if key in types else None
        else:
            variables[variable] = fields.get(source)
    return variables
