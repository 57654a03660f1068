"""Plain-data views of sessions for the CLI, the API and templates (typed values, no ORM objects)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bpm_livechat.models import ParamHistory, SupportSession
from bpm_livechat.params.values import get_parameters, parameter_history
from bpm_livechat.sessions.lifecycle import system_values
from bpm_livechat.sessions.messages import messages


def session_summary(session: SupportSession, params: dict[str, object]) -> dict[str, Any]:
    """A session's system values and custom parameters, as a list row shows them."""
    return {"id": session.id, **system_values(session), "params": params}


def history_entry(entry: ParamHistory) -> dict[str, Any]:
    """One history entry: key, old and new value, and who or what changed it, when."""
    return {
        "key": entry.key,
        "old": entry.old_value,
        "new": entry.new_value,
        "user": entry.actor_user.username if entry.actor_user else None,
        "instance_id": entry.instance_id,
        "process": entry.process_id,
        "process_version": entry.process_version,
        "task": entry.task_name or entry.task_id,
        "changed_at": entry.changed_at,
    }


def session_details(db: Session, session: SupportSession) -> dict[str, Any]:
    """Everything about one session: values, messages and parameter history."""
    data = session_summary(session, get_parameters(db, session.id))
    data["name_is_manual"] = session.name_is_manual
    data["client_email"] = session.client.email
    data["client_phone"] = session.client.phone
    data["messages"] = [
        {
            "author": m.author_name,
            "author_kind": m.author_kind,
            "text": m.text,
            "sent_at": m.sent_at,
        }
        for m in messages(db, session.id)
    ]
    data["history"] = [history_entry(h) for h in parameter_history(db, session.id)]
    return data
