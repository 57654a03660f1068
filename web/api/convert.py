"""ORM objects and typed values into the API's response models (plain JSON, no ORM leaks)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from bpm_livechat.models import Message, ParamHistory, SupportSession
from bpm_livechat.params.catalogue import ParameterInfo
from bpm_livechat.params.definitions import definitions_by_key
from bpm_livechat.params.types import JSONValue, ParamType, to_json
from bpm_livechat.sessions.views import history_entry

from .schemas import ClientOut, HistoryEntryOut, MessageOut, ParameterOut, SessionOut


def param_types(db: Session) -> dict[str, ParamType]:
    """Every custom parameter's type by key, archived ones included."""
    # From the transaction's definitions: a process step or a values read has them already.
    return {key: ParamType(d.type) for key, d in definitions_by_key(db).items()}


def values_json(
    types: Mapping[str, ParamType], values: Mapping[str, object]
) -> dict[str, JSONValue]:
    """Typed values in their JSON form (decimals as text, money as {amount, currency})."""
    return {key: to_json(types[key], value) for key, value in values.items() if key in types}


def session_out(session: SupportSession, params: dict[str, JSONValue]) -> SessionOut:
    """The API view of one session."""
    return SessionOut(
        id=session.id,
        name=session.name,
        name_is_manual=session.name_is_manual,
        subject=session.subject,
        status=session.status,
        priority=session.priority,
        live_chat=session.live_chat.name,
        channel=session.channel.name,
        client=ClientOut(
            name=session.client.name, email=session.client.email, phone=session.client.phone
        ),
        operator=session.operator.display_name if session.operator else None,
        operator_username=session.operator.username if session.operator else None,
        created_at=session.created_at,
        closed_at=session.closed_at,
        version=session.version,
        params=params,
    )


def message_out(message: Message) -> MessageOut:
    """The API view of one message."""
    return MessageOut(
        id=message.id,
        session_id=message.session_id,
        author_kind=message.author_kind,
        author_name=message.author_name,
        text=message.text,
        sent_at=message.sent_at,
    )


def parameter_out(info: ParameterInfo) -> ParameterOut:
    """The API view of one catalogue entry."""
    return ParameterOut(
        key=info.key,
        label=info.label,
        type=info.type,
        system=info.system,
        archived=info.archived,
        description=info.description,
        options=list(info.options),
        option_labels=dict(info.option_labels),
        constraints=dict(info.constraints),
        position=info.position,
        read_only=info.read_only,
        required_to_close=info.required_to_close,
    )


def history_out(entry: ParamHistory) -> HistoryEntryOut:
    """The API view of one parameter change (the core's history entry, validated)."""
    return HistoryEntryOut(**history_entry(entry))
