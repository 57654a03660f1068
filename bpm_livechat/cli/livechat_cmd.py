"""`bpm-livechat livechat ...`: list, create and configure live chats."""

from __future__ import annotations

from typing import Any

import click

from bpm_livechat.desk.livechats import (
    add_channel,
    create_live_chat,
    get_live_chat,
    list_live_chats,
    members,
    set_name_template,
)
from bpm_livechat.desk.naming import DEFAULT_TEMPLATE
from bpm_livechat.models import LiveChat, MemberRole

from .common import emit, handles_errors, json_option, transaction


@click.group()
def livechat() -> None:
    """Live chats (support lines)."""


def _describe(db: Any, chat: LiveChat) -> dict[str, Any]:
    return {
        "id": chat.id,
        "name": chat.name,
        "name_template": chat.name_template,
        "channels": [{"name": c.name, "kind": c.kind} for c in chat.channels],
        "operators": [u.username for u in members(db, chat.id, MemberRole.OPERATOR)],
        "supervisors": [u.username for u in members(db, chat.id, MemberRole.SUPERVISOR)],
    }


@livechat.command("list")
@json_option
@handles_errors
def list_(as_json: bool) -> None:
    """List live chats."""
    with transaction() as db:
        chats = [_describe(db, c) for c in list_live_chats(db)]
    emit(
        chats,
        as_json,
        lambda: "\n".join(f"{c['id']:>4}  {c['name']}  [{c['name_template']}]" for c in chats),
    )


@livechat.command("create")
@click.argument("name")
@click.option("--name-template", default=DEFAULT_TEMPLATE, show_default=True)
@click.option(
    "--channel",
    "channels",
    multiple=True,
    help="NAME:KIND, e.g. 'Website:web' (default 'Web:web').",
)
@json_option
@handles_errors
def create(name: str, name_template: str, channels: tuple[str, ...], as_json: bool) -> None:
    """Create a live chat with its channels."""
    with transaction() as db:
        chat = create_live_chat(db, name, name_template)
        for spec in channels or ("Web:web",):
            channel_name, _, kind = spec.rpartition(":")
            add_channel(db, chat, channel_name or spec, kind if channel_name else "web")
        data = _describe(db, chat)
    emit(data, as_json, f"live chat {name!r} created")


@livechat.command("update")
@click.argument("name")
@click.option("--name-template", help="The session name template.")
@json_option
@handles_errors
def update(name: str, name_template: str | None, as_json: bool) -> None:
    """Change a live chat's settings."""
    with transaction() as db:
        chat = get_live_chat(db, name)
        if name_template is not None:
            set_name_template(db, chat, name_template)
        data = _describe(db, chat)
    emit(data, as_json, f"live chat {name!r} updated")
