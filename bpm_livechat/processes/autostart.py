"""Processes started automatically on session events, with variables mapped from the session.

The event (a new session, a client message, a closed session) is committed by its caller with a
`session_event` job (`sessions.events`); a worker turns it into one start job per bound process
(`start_plans`, with the variables mapped then), and each start job runs `start_automatically`
in a transaction of its own. A start that fails is retried and then recorded as a failed
instance for a supervisor; it never undoes the event.
"""

from __future__ import annotations

import keyword
import logging
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.desk.users import system_user
from bpm_livechat.errors import ProcessStepError, ValidationError
from bpm_livechat.models import EventBinding, Process, SupportSession, User
from bpm_livechat.params.definitions import definitions
from bpm_livechat.params.types import ParamType, to_json
from bpm_livechat.params.values import get_parameters
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
    pending_input,
)
from bpm_livechat.processes.instances import start_process
from bpm_livechat.processes.steps import StepOutcome
from bpm_livechat.sessions.events import BINDABLE_EVENTS, SessionEvent
from bpm_livechat.sessions.lifecycle import get_session

log = logging.getLogger(__name__)

SESSION_SOURCES = (
    "session.id", "session.name", "session.subject", "session.priority", "session.status",
    "session.created_at", "client.name", "client.email", "client.phone", "live_chat.name",
    "channel.name", "operator.name",
)  # fmt: skip
MESSAGE_SOURCE = "message.text"
PARAM_PREFIX = "param."


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


def event_bindings(db: Session, event: SessionEvent | None = None) -> list[EventBinding]:
    """The event bindings, optionally of one event, by process."""
    query = select(EventBinding).join(Process).order_by(Process.bpmn_id, EventBinding.event)
    if event is not None:
        query = query.where(EventBinding.event == event.value)
    return list(db.scalars(query))


def _parse_event(event: str) -> SessionEvent:
    if event not in BINDABLE_EVENTS:
        valid = ", ".join(e.value for e in BINDABLE_EVENTS)
        raise ValidationError(
            f"unknown session event {event!r} (one of: {valid})", {"event": "unknown event"}
        ) from None
    return SessionEvent(event)


def start_plans(
    db: Session, event: SessionEvent, session: SupportSession, message_text: str | None = None
) -> list[tuple[str, dict[str, object]]]:
    """(process id, variables) of each active process bound to `event` and offered in the
    session's live chat, its variables mapped from the session now."""
    return [
        (b.process.bpmn_id, map_variables(db, session, dict(b.input_mapping), message_text))
        for b in event_bindings(db, event)
        if b.process.active and is_bound(db, b.process, session.live_chat_id)
    ]


def start_automatically(
    db: Session,
    engine: ProcessEngine,
    session_id: int,
    process_id: str,
    variables: Mapping[str, object],
) -> StepOutcome:
    """Start a bound process as the `system` account; ProcessFailed when it fails, also when
    its start form refuses the mapped values (so the failure is recorded, not lost)."""
    session = get_session(db, session_id)
    user = system_user(db)
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
