"""Automatic starts (issue 4): which processes start on which session events, with which inputs."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bpm_livechat.models import User
from bpm_livechat.processes.autostart import bind_event, event_bindings, unbind_event
from bpm_livechat.processes.deployments import get_process

from .process_schemas import EventBindingIn, EventBindingList, EventBindingOut, EventBindingRemove
from .spec import Registry

api = Registry()
PROCESSES = "processes"


def _bindings_out(db: Session) -> EventBindingList:
    return EventBindingList(
        items=[
            EventBindingOut(
                process=b.process.bpmn_id, event=b.event, input_mapping=dict(b.input_mapping)
            )
            for b in event_bindings(db)
        ]
    )


@api.operation(
    "GET", "/event-bindings", summary="Processes started automatically on session events",
    tag=PROCESSES, response=EventBindingList,
)  # fmt: skip
def list_event_bindings_api(db: Session) -> EventBindingList:
    """Every event binding with its input mapping."""
    return _bindings_out(db)


@api.operation(
    "POST", "/processes/<string:process_id>/events", tag=PROCESSES, body=EventBindingIn,
    response=EventBindingList, summary="Start a process on a session event (admins)",
    idempotent=True,
)  # fmt: skip
def bind_event_api(
    db: Session, user: User, process_id: str, body: EventBindingIn
) -> EventBindingList:
    """In the live chats the process is offered in; replaces an earlier mapping."""
    bind_event(db, get_process(db, process_id), body.event, user, body.input_mapping)
    return _bindings_out(db)


@api.operation(
    "POST", "/processes/<string:process_id>/events/remove", tag=PROCESSES,
    body=EventBindingRemove, response=EventBindingList,
    summary="Stop starting a process on a session event (admins)",
)  # fmt: skip
def unbind_event_api(
    db: Session, user: User, process_id: str, body: EventBindingRemove
) -> EventBindingList:
    """Instances already started go on."""
    unbind_event(db, get_process(db, process_id), body.event, user)
    return _bindings_out(db)
