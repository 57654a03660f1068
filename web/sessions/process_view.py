"""Plain data for process forms and instance cards: typed fields, values, progress and errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from markupsafe import Markup
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from bpm_livechat.desk.access import is_supervisor_of
from bpm_livechat.errors import BpmLivechatError
from bpm_livechat.models import ProcessInstance, SupportSession, User, UserTask
from bpm_livechat.params.types import ParamType
from bpm_livechat.processes.bpmn.diagram import Diagram, read_diagram
from bpm_livechat.processes.forms import FormField, default_value
from bpm_livechat.processes.instances import session_instances
from bpm_livechat.processes.progress import instance_progress
from bpm_livechat.processes.start_forms import param_specs
from bpm_livechat.processes.tasks import may_work_task, ready_tasks
from web.diagram import diagram_svg
from web.engine import process_engine
from web.sessions.page_data import form_value, submitted_value

_FIELD_INPUT = {"long": "integer", "boolean": "boolean", "date": "date", "enum": "enum"}
_ERROR_KINDS = {
    "compile": "The script could not be compiled",
    "policy": "The script used something that is not allowed",
    "runtime": "The script stopped with an error",
    "limit": "The script ran out of time or memory",
    "changeset": "The script wrote a value the parameter does not accept",
    "cap": "The process ran too many steps",
    "engine": "The process engine could not go on",
}
_diagrams: dict[str, Diagram | None] = {}


@dataclass(frozen=True)
class FieldView:
    """A form field ready for the typed input macro."""

    id: str
    label: str
    input: str
    options: tuple[Any, ...]
    value: Any
    required: bool
    readonly: bool
    hint: str = ""


@dataclass
class TaskView:
    """A ready task the user may work, with its form."""

    task_id: str
    name: str
    fields: list[FieldView]


@dataclass
class InstanceCard:
    """One process instance on the session page."""

    id: int
    process_name: str
    version: int
    status: str
    started_by: str
    started_at: Any
    current_step: str
    problem: str | None
    svg: Markup | None
    may_supervise: bool
    waits: list[str] = field(default_factory=list)
    tasks: list[TaskView] = field(default_factory=list)


def field_views(
    db: Session,
    fields: Sequence[FormField],
    values: Mapping[str, Any],
    *,
    typed: bool,
) -> list[FieldView]:
    """Views of form fields; `values` are typed (prefill) or as entered (`typed=False`)."""
    specs = param_specs(db)
    views = []
    for f in fields:
        spec = specs.get(f.id)
        options: tuple[Any, ...] = tuple((o.id, o.name) for o in f.options)
        if f.type == "enum" or spec is None:
            kind = _FIELD_INPUT.get(f.type, "string")
            param_type: ParamType | None = None
        else:
            param_type, param_options = spec
            kind = param_type.value
            options = param_options
        value = values.get(f.id)
        if typed:
            value = _typed_form_value(param_type, value)
        elif kind != "multichoice":
            value = value[0] if isinstance(value, list) and value else (value or "")
        elif value is None:
            value = []
        hint = {"money": "Amount and currency, e.g. 12.50 EUR.", "datetime": "Time in UTC."}
        views.append(
            FieldView(
                f.id, f.label, kind, options, value, f.required, f.readonly, hint.get(kind, "")
            )
        )
    return views


def _typed_form_value(param_type: ParamType | None, value: object) -> Any:
    if param_type is not None:
        return form_value(param_type, value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def submitted_form(
    db: Session, fields: Sequence[FormField], form: MultiDict[str, str]
) -> dict[str, Any]:
    """The raw values a form sent for its editable fields (readonly ones keep their value)."""
    specs = param_specs(db)
    data: dict[str, Any] = {}
    for f in fields:
        if f.readonly or (f.id not in form and f.type != "boolean"):
            continue
        spec = specs.get(f.id)
        param_type = spec[0] if spec is not None and f.type != "enum" else ParamType.STRING
        data[f.id] = submitted_value(param_type, form, f.id)
    return data


def entered_values(fields: Sequence[FormField], form: MultiDict[str, str]) -> dict[str, Any]:
    """What the user typed, to show back after an error (lists; `field_views` unpacks them)."""
    return {f.id: form.getlist(f.id) for f in fields}


def problem_text(error: Mapping[str, Any] | None) -> str | None:
    """A failure in plain words: what went wrong, where (element, script line) and the message."""
    if not error:
        return None
    what = _ERROR_KINDS.get(str(error.get("kind")), "The step failed")
    where = error.get("element_name") or error.get("element_id")
    place = f" in “{where}”" if where else ""
    line = f" (script line {error['line']})" if error.get("line") else ""
    key = f" Parameter: {error['parameter_key']}." if error.get("parameter_key") else ""
    return f"{what}{place}{line}: {error.get('message', '')}.{key}"


def _diagram(instance: ProcessInstance) -> Diagram | None:
    version = instance.process_version
    if version.content_hash not in _diagrams:
        if len(_diagrams) > 256:
            _diagrams.clear()
        try:
            _diagrams[version.content_hash] = read_diagram(version.bpmn)
        except BpmLivechatError:
            _diagrams[version.content_hash] = None
    return _diagrams[version.content_hash]


def instance_card(db: Session, instance: ProcessInstance, user: User) -> InstanceCard:
    """The card of one instance: status, current step, diagram, failure and the user's tasks."""
    version = instance.process_version
    progress = instance_progress(process_engine(), instance)
    ready = ready_tasks(db, instance) if instance.status == "waiting" else []
    diagram = _diagram(instance)
    title = f"Diagram of {version.name}"
    svg = diagram_svg(diagram, progress, title, str(instance.id)) if diagram else None
    error = instance.error if instance.status == "failed" else None
    waits = waiting_for(instance, process_engine().clock.now())
    if error:
        step = str(error.get("element_name") or error.get("element_id") or "start")
    elif ready:
        step = ", ".join(t.name for t in ready)
    elif waits:
        step = "waiting"
    else:
        step = "finished" if instance.status == "completed" else "—"
    card = InstanceCard(
        id=instance.id,
        process_name=version.name,
        version=version.number,
        status=instance.status,
        started_by=instance.started_by.display_name if instance.started_by else "—",
        started_at=instance.started_at,
        current_step=step,
        problem=problem_text(error),
        svg=svg,
        may_supervise=is_supervisor_of(db, user, instance.session.live_chat_id),
        waits=waits,
    )
    for task in ready:
        if may_work_task(db, user, task, instance.session):
            card.tasks.append(task_view(db, task))
    return card


def task_view(db: Session, task: UserTask, entered: Mapping[str, Any] | None = None) -> TaskView:
    """A task with its form: default values, or the values entered before an error."""
    fields = task_fields(task)
    if entered is None:
        values = {f.id: default_value(f) for f in fields}
        return TaskView(task.task_id, task.name, field_views(db, fields, values, typed=True))
    return TaskView(task.task_id, task.name, field_views(db, fields, entered, typed=False))


def task_fields(task: UserTask) -> tuple[FormField, ...]:
    """The form fields of a task."""
    return tuple(FormField.from_dict(item) for item in task.form)


MESSAGE_WORDS = {
    "client_message": "the client's next message",
    "operator_message": "an operator's reply",
    "session_closed": "the session to close",
    "parameter_changed": "a parameter to change",
}


def waiting_for(instance: ProcessInstance, now: datetime) -> list[str]:
    """What a waiting instance waits for besides people, as a person reads it:
    "Escalate: in 4 min", "Wait for the rating: the client's next message"."""
    if instance.status != "waiting":
        return []
    lines = []
    for wait in instance.waiting_for or []:
        label = wait.get("label") or wait["name"]
        if wait["kind"] == "timer" and wait.get("due"):
            lines.append(f"{label}: {relative(datetime.fromisoformat(wait['due']), now)}")
        elif wait["kind"] == "message":
            lines.append(f"{label}: {MESSAGE_WORDS.get(wait['name'], wait['name'])}")
        elif wait["kind"] == "continue":
            lines.append(f"{label}: continues in the background")
    return lines


def relative(due: datetime, now: datetime) -> str:
    """A due time relative to now: "in 4 min", "in 23 h 59 min", "in 2 days", "now"."""
    seconds = int((due - now).total_seconds())
    if seconds <= 30:
        return "now"
    minutes = (seconds + 59) // 60
    if minutes < 60:
        return f"in {minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"in {hours} h {rest} min" if rest else f"in {hours} h"
    return f"in {hours // 24} days"


def instance_cards(db: Session, session: SupportSession, user: User) -> list[InstanceCard]:
    """The session's instances, newest first."""
    return [instance_card(db, i, user) for i in session_instances(db, session.id)]
