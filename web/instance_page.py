"""The page of one process instance: its diagram with the live position, its step log (who or
which job, when, what ran), the parameter changes it made, and its incident with retry/cancel.

Whoever may see the instance's session may see it (operators of its live chat, supervisors,
admins); retry and cancel stay a supervisor's, through the session page's routes.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from bpm_livechat.models import ParamHistory, ProcessInstance
from bpm_livechat.params.definitions import definitions_by_key
from bpm_livechat.params.types import ParamType, format_value, from_json
from bpm_livechat.processes.instances import get_instance
from bpm_livechat.processes.monitoring import instance_changes
from bpm_livechat.processes.step_log import instance_steps
from web.auth import acting_user, require_staff
from web.db import get_db
from web.sessions.process_view import instance_card

bp = Blueprint("instance", __name__)
bp.before_request(require_staff)

STEP_WORDS = {
    "start": "Started",
    "complete": "Task completed",
    "timer": "Timer fired",
    "message": "Message received",
    "continue": "Continued in the background",
    "retry": "Retry asked",
    "cancel": "Cancelled",
    "failed": "Failed",
}


@dataclass(frozen=True)
class ChangeRow:
    """One parameter change of the instance, as a person reads it."""

    label: str
    key: str
    old: str
    new: str
    task: str
    when: str


def _shown(type_: ParamType | None, stored: object, labels: dict[str, str]) -> str:
    if type_ is None:
        return "—" if stored is None else str(stored)
    try:
        return format_value(type_, from_json(type_, stored), labels) or "—"
    except ValueError:  # stored under an earlier type of the parameter
        return str(stored)


def change_rows(db: Session, instance: ProcessInstance) -> list[ChangeRow]:
    """The parameter changes the instance made, formatted with their parameters' types."""
    by_key = definitions_by_key(db)
    rows = []
    for entry in instance_changes(db, instance):
        definition = by_key.get(entry.key)
        type_ = ParamType(definition.type) if definition else None
        labels = dict(definition.option_labels) if definition else {}
        rows.append(_row(entry, definition.label if definition else entry.key, type_, labels))
    return rows


def _row(
    entry: ParamHistory, label: str, type_: ParamType | None, labels: dict[str, str]
) -> ChangeRow:
    return ChangeRow(
        label=label,
        key=entry.key,
        old=_shown(type_, entry.old_value, labels),
        new=_shown(type_, entry.new_value, labels),
        task=entry.task_name or entry.task_id or "—",
        when=format_value(ParamType.DATETIME, entry.changed_at),
    )


@bp.get("/instances/<id:instance_id>")
def show(instance_id: int) -> ResponseReturnValue:
    """One instance: diagram, status, step log, parameter changes, incident."""
    db, user = get_db(), acting_user()
    instance = get_instance(db, instance_id, user)
    context = {
        "instance": instance,
        "s": instance.session,
        "process": instance.process_version.process,
        "card": instance_card(db, instance, user),
        "steps": instance_steps(db, instance.id),
        "changes": change_rows(db, instance),
        "step_words": STEP_WORDS,
    }
    return render_template("instance.html", **context)
