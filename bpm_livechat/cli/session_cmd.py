"""`bpm-livechat session ...`: create, list, show, set parameters, rename, take, assign,
reply to and close sessions."""

from __future__ import annotations

import click

from bpm_livechat.desk.livechats import get_live_chat
from bpm_livechat.desk.users import get_user
from bpm_livechat.errors import ValidationError
from bpm_livechat.models import AuthorKind, SupportSession
from bpm_livechat.routing.triggers import Reason, route_after_client_message, route_if_needed
from bpm_livechat.sessions.assignment import assign_session, release_session, take_session
from bpm_livechat.sessions.editing import edit_parameters
from bpm_livechat.sessions.events import SessionEvent
from bpm_livechat.sessions.ingest import MESSAGE_EVENTS
from bpm_livechat.sessions.lifecycle import (
    close_session,
    create_session,
    get_session,
    rename_session,
)
from bpm_livechat.sessions.messages import add_message
from bpm_livechat.sessions.replies import reply_as_operator
from bpm_livechat.sessions.search import SessionQuery, parse_filter, search_sessions
from bpm_livechat.sessions.views import session_details, session_summary

from .common import cli_state, emit, handles_errors, json_option, record, transaction


@click.group()
def session() -> None:
    """Support sessions."""


@session.command("create")
@click.option("--live-chat", required=True)
@click.option("--client-name", required=True)
@click.option("--client-email")
@click.option("--client-phone")
@click.option("--subject", required=True)
@click.option("--channel", help="Channel name (default: the live chat's first channel).")
@click.option("--priority", default="normal", show_default=True)
@json_option
@handles_errors
def create(
    live_chat: str,
    client_name: str,
    client_email: str | None,
    client_phone: str | None,
    subject: str,
    channel: str | None,
    priority: str,
    as_json: bool,
) -> None:
    """Open a session in a live chat."""
    with transaction() as db:
        new = create_session(
            db,
            get_live_chat(db, live_chat),
            client_name=client_name,
            client_email=client_email,
            client_phone=client_phone,
            subject=subject,
            channel_name=channel,
            priority=priority,
        )
        queued = record(db, SessionEvent.SESSION_CREATED, new.id)
        routed = route_if_needed(db, cli_state().clock, new, Reason.CREATED)
        data = session_summary(new, {})  # after routing: its operator, when it found one
        data["event_queued"] = queued
        data["routing"] = routed.explanation if routed else None
    emit(data, as_json, f"session {new.id} created: {new.name}")


@session.command("list")
@click.option(
    "--filter", "filters", multiple=True, help="KEY=VALUE, KEY~TEXT, KEY>=V, KEY<=V, KEY= (empty)."
)
@click.option("--search", help="Text in name, subject or client.")
@click.option(
    "--sort", default="-created_at", show_default=True, help="A parameter key; '-' for descending."
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 200))
@click.option("--page", default=1, show_default=True, type=click.IntRange(1))
@click.option(
    "--as",
    "as_user",
    default="admin",
    show_default=True,
    help="List as this user (access scoping).",
)
@json_option
@handles_errors
def list_(
    filters: tuple[str, ...],
    search: str | None,
    sort: str,
    limit: int,
    page: int,
    as_user: str,
    as_json: bool,
) -> None:
    """List sessions with filters, search and sorting."""
    query = SessionQuery(tuple(parse_filter(f) for f in filters), search, sort, page, limit)
    with transaction() as db:
        result = search_sessions(db, get_user(db, as_user), query)
        items = [session_summary(s, result.params[s.id]) for s in result.items]
    data = {"items": items, "total": result.total}

    def text() -> str:
        lines = [f"{i['id']:>6}  {i['status']:<7} {i['priority']:<7} {i['name']}" for i in items]
        return "\n".join([*lines, f"({len(items)} of {result.total})"])

    emit(data, as_json, text)


@session.command("show")
@click.argument("session_id", type=int)
@json_option
@handles_errors
def show(session_id: int, as_json: bool) -> None:
    """Show a session with its parameters, messages and history."""
    with transaction() as db:
        data = session_details(db, get_session(db, session_id))
    emit(data, as_json, None)


def _assignments(pairs: tuple[str, ...]) -> dict[str, object]:
    changes: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValidationError(
                f"invalid assignment {pair!r}: use KEY=VALUE", {"assignment": pair}
            )
        changes[key] = value
    return changes


@session.command("set")
@click.argument("session_id", type=int)
@click.argument("assignments", nargs=-1, required=True)
@click.option("--as", "as_user", required=True, help="The user making the change.")
@json_option
@handles_errors
def set_(session_id: int, assignments: tuple[str, ...], as_user: str, as_json: bool) -> None:
    """Set custom parameters: KEY=VALUE ... (all or nothing; KEY= empties)."""
    with transaction() as db:
        actor = get_user(db, as_user)
        target = get_session(db, session_id, actor)
        applied = edit_parameters(db, cli_state().clock, target, _assignments(assignments), actor)
        data = {"changes": {k: {"old": c.old, "new": c.new} for k, c in applied.items()}}
    emit(data, as_json, f"{len(applied)} parameter(s) changed")


@session.command("rename")
@click.argument("session_id", type=int)
@click.argument("name")
@click.option("--as", "as_user", required=True, help="The user renaming the session.")
@json_option
@handles_errors
def rename(session_id: int, name: str, as_user: str, as_json: bool) -> None:
    """Give a session a name by hand."""
    with transaction() as db:
        actor = get_user(db, as_user)
        target = get_session(db, session_id, actor)
        rename_session(db, target, name, actor)
        data = {"id": target.id, "name": target.name}
    emit(data, as_json, f"session {session_id} renamed: {target.name}")


@session.command("close")
@click.argument("session_id", type=int)
@click.option("--as", "as_user", required=True, help="The user closing the session.")
@json_option
@handles_errors
def close(session_id: int, as_user: str, as_json: bool) -> None:
    """Close a session (refused while a required-to-close parameter is empty)."""
    with transaction() as db:
        actor = get_user(db, as_user)
        closed = close_session(db, get_session(db, session_id, actor), actor)
        queued = closed and record(db, SessionEvent.SESSION_CLOSED, session_id)
    data = {"id": session_id, "status": "closed", "event_queued": queued}
    emit(data, as_json, f"session {session_id} closed")


@session.command("message")
@click.argument("session_id", type=int)
@click.argument("text")
@click.option(
    "--author",
    type=click.Choice([k.value for k in AuthorKind]),
    default=AuthorKind.CLIENT.value,
    show_default=True,
)
@click.option(
    "--as", "as_user", default=None, help="The operator writing (with --author operator)."
)
@json_option
@handles_errors
def message(session_id: int, text: str, author: str, as_user: str | None, as_json: bool) -> None:
    """Append a message to a session's thread; its event is queued for `bpm-livechat worker`
    when a process is bound to it, waits for it, or a webhook subscribes."""
    with transaction() as db:
        writer = get_user(db, as_user) if as_user else None
        target = get_session(db, session_id, writer)
        added = add_message(db, target, text, author, writer)
        event = MESSAGE_EVENTS.get(author)
        queued = event is not None and record(db, event, session_id, {"message_id": added.id})
        if author == AuthorKind.CLIENT.value:
            route_after_client_message(db, cli_state().clock, target)
        data: dict[str, object] = {
            "id": added.id,
            "session_id": session_id,
            "author": added.author_name,
            "event_queued": queued,
        }
    emit(data, as_json, f"message {data['id']} added to session {session_id}")


def _assignment_data(target: SupportSession) -> dict[str, object]:
    operator = target.operator
    return {
        "id": target.id,
        "status": target.status,
        "operator": operator.username if operator else None,
        "operator_name": operator.display_name if operator else None,
        "version": target.version,
    }


@session.command("take")
@click.argument("session_id", type=int)
@click.option("--as", "as_user", required=True, help="The operator taking the session.")
@json_option
@handles_errors
def take(session_id: int, as_user: str, as_json: bool) -> None:
    """Take a queued session (exit 1 naming who has it when someone was quicker)."""
    with transaction() as db:
        actor = get_user(db, as_user)
        target = get_session(db, session_id, actor)
        take_session(db, cli_state().clock, target, actor)
        data = _assignment_data(target)
    emit(data, as_json, f"session {session_id} taken by {as_user}")


@session.command("assign")
@click.argument("session_id", type=int)
@click.argument("operator")
@click.option("--as", "as_user", required=True, help="The supervisor (or admin) assigning.")
@json_option
@handles_errors
def assign(session_id: int, operator: str, as_user: str, as_json: bool) -> None:
    """Assign or transfer a session to an operator of its live chat."""
    with transaction() as db:
        actor = get_user(db, as_user)
        target = get_session(db, session_id, actor)
        assign_session(db, cli_state().clock, target, get_user(db, operator), actor)
        data = _assignment_data(target)
    emit(data, as_json, f"session {session_id} assigned to {operator}")


@session.command("release")
@click.argument("session_id", type=int)
@click.option("--as", "as_user", required=True, help="Its operator, or a supervisor.")
@json_option
@handles_errors
def release(session_id: int, as_user: str, as_json: bool) -> None:
    """Return a session to the queue."""
    with transaction() as db:
        actor = get_user(db, as_user)
        target = get_session(db, session_id, actor)
        release_session(db, cli_state().clock, target, actor)
        data = _assignment_data(target)
    emit(data, as_json, f"session {session_id} is back in the queue")


@session.command("reply")
@click.argument("session_id", type=int)
@click.argument("text")
@click.option("--as", "as_user", required=True, help="The operator replying.")
@json_option
@handles_errors
def reply(session_id: int, text: str, as_user: str, as_json: bool) -> None:
    """Reply to the client as an operator (the composer's path: waiting processes and the
    channel's webhooks receive it through `bpm-livechat worker`)."""
    with transaction() as db:
        writer = get_user(db, as_user)
        target = get_session(db, session_id, writer)
        taken = reply_as_operator(db, cli_state().clock, target, writer, text)
        data: dict[str, object] = {
            "id": taken.message.id,
            "session_id": session_id,
            "author": taken.message.author_name,
            "text": taken.message.text,
            "event_queued": taken.event_recorded,
        }
    emit(data, as_json, f"reply {data['id']} sent in session {session_id}")
