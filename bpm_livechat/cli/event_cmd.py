"""`bpm-livechat process bind-event`: start a process automatically on a session event."""

from __future__ import annotations

import click

from bpm_livechat.desk.users import get_user
from bpm_livechat.errors import ValidationError
from bpm_livechat.processes.autostart import bind_event, event_bindings, unbind_event
from bpm_livechat.processes.deployments import get_process
from bpm_livechat.sessions.events import BINDABLE_EVENTS

from .common import emit, handles_errors, json_option, transaction


def _mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        variable, sep, source = pair.partition("=")
        if not sep or not variable or not source:
            raise ValidationError(f"invalid --map {pair!r}: use VARIABLE=SOURCE", {"map": pair})
        mapping[variable] = source
    return mapping


@click.command("bind-event")
@click.argument("process_id")
@click.argument("event", type=click.Choice([e.value for e in BINDABLE_EVENTS]))
@click.option(
    "--map",
    "pairs",
    multiple=True,
    help="VARIABLE=SOURCE, e.g. topic=session.subject, email=client.email, tier=param.segment.",
)
@click.option("--remove", is_flag=True, help="Stop starting the process on this event.")
@click.option("--as", "as_user", default="admin", show_default=True, help="Acting user.")
@json_option
@handles_errors
def bind_event_cmd(
    process_id: str, event: str, pairs: tuple[str, ...], remove: bool, as_user: str, as_json: bool
) -> None:
    """Start a process automatically on a session event, in the live chats it is offered in."""
    with transaction() as db:
        target = get_process(db, process_id)
        user = get_user(db, as_user)
        if remove:
            unbind_event(db, target, event, user)
        else:
            bind_event(db, target, event, user, _mapping(pairs))
        data = [
            {"process": b.process.bpmn_id, "event": b.event, "input_mapping": b.input_mapping}
            for b in event_bindings(db)
            if b.process_id == target.id
        ]
    events = ", ".join(str(d["event"]) for d in data)
    emit(data, as_json, f"{process_id}: {events or 'no event'}")
