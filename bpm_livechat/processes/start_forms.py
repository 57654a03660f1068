"""The start form of a process offered in a session: which version starts, its parsed BPMN, its
fields, and their values pre-filled from the session."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.desk.access import require_session_access
from bpm_livechat.errors import ValidationError
from bpm_livechat.models import ProcessVersion, SupportSession, User
from bpm_livechat.params.definitions import definitions
from bpm_livechat.params.types import ParamType
from bpm_livechat.params.values import get_parameters
from bpm_livechat.processes.deployments import VersionInfo, version_to_start
from bpm_livechat.processes.engine.engine import ParsedBpmn, ProcessEngine
from bpm_livechat.processes.forms import FormField, ParamSpecs, prefill
from bpm_livechat.sessions.guards import require_writable


def param_specs(db: Session) -> ParamSpecs:
    """Form field types and options taken from the custom parameters of the same key."""
    return {d.key: (ParamType(d.type), tuple(d.options)) for d in definitions(db)}


@dataclass(frozen=True)
class StartForm:
    """A process offered in a session, resolved once: its version, parsed BPMN and start form."""

    session: SupportSession
    version: VersionInfo
    parsed: ParsedBpmn
    fields: tuple[FormField, ...]


def start_form(
    db: Session, engine: ProcessEngine, session: SupportSession, process_id: str, user: User
) -> StartForm:
    """The start form of a process offered in this session (AccessDenied, ValidationError when
    it is not; ProcessStepError when its stored BPMN cannot be parsed)."""
    version = _startable_version(db, session, process_id, user)
    parsed = parsed_version(db, engine, version)
    return StartForm(session, version, parsed, engine.start_form(parsed, process_id))


def prefilled(db: Session, form: StartForm) -> dict[str, object]:
    """The start form's values pre-filled from the session (for showing it; see `prefill`)."""
    return prefill(form.fields, get_parameters(db, form.session.id), prefill_sources(form.session))


def prefill_sources(session: SupportSession) -> dict[str, object]:
    """The session's values a form field's `prefill` property may name (PREFILL_SOURCES)."""
    client, operator = session.client, session.operator
    return {
        "client.name": client.name,
        "client.email": client.email,
        "client.phone": client.phone,
        "subject": session.subject,
        "operator.name": operator.display_name if operator else None,
        "live_chat.name": session.live_chat.name,
        "channel.name": session.channel.name,
    }


def _startable_version(
    db: Session, session: SupportSession, process_id: str, user: User
) -> VersionInfo:
    require_session_access(db, user, session)
    require_writable(session, user, "start processes")
    version, bound = version_to_start(db, process_id, session.live_chat_id)
    if version is None:
        raise ValidationError(f"process {process_id!r} is not active", {"process": "not active"})
    if not bound:
        raise ValidationError(
            f"process {process_id!r} is not offered in live chat {session.live_chat.name!r}",
            {"process": "not offered in this live chat"},
        )
    return version


def parsed_version(db: Session, engine: ProcessEngine, version: VersionInfo) -> ParsedBpmn:
    """The version's parsed BPMN; its file is read from the database only when not parsed yet."""

    def bpmn() -> bytes:
        query = select(ProcessVersion.bpmn).where(ProcessVersion.id == version.id)
        return db.execute(query).scalar_one()

    return engine.parse_stored(version.content_hash, bpmn)
