"""`bpm-livechat quick-reply list|add|update|delete`: response templates for operators (admins)."""

from __future__ import annotations

from typing import Any

import click

from bpm_livechat.desk.livechats import get_live_chat
from bpm_livechat.models import QuickReply
from bpm_livechat.sessions.quick_replies import (
    delete_quick_reply,
    get_quick_reply,
    list_quick_replies,
    save_quick_reply,
)

from .common import emit, handles_errors, json_option, transaction


def quick_reply_view(reply: QuickReply) -> dict[str, Any]:
    """A quick reply as the CLI shows it."""
    chat = reply.live_chat
    return {
        "id": reply.id,
        "title": reply.title,
        "body": reply.body,
        "live_chat": chat.name if chat else None,
    }


@click.group("quick-reply")
def quick_reply() -> None:
    """Quick replies: texts with session placeholders operators insert when replying."""


@quick_reply.command("list")
@json_option
@handles_errors
def list_(as_json: bool) -> None:
    """Every quick reply."""
    with transaction() as db:
        items = [quick_reply_view(r) for r in list_quick_replies(db)]
    lines = [f"{i['id']:>5}  {i['title']}  ({i['live_chat'] or 'every live chat'})" for i in items]
    emit({"items": items}, as_json, "\n".join(lines) or "no quick replies")


@quick_reply.command("add")
@click.argument("title")
@click.argument("body")
@click.option("--live-chat", help="Offer it in this live chat only (default: every live chat).")
@json_option
@handles_errors
def add(title: str, body: str, live_chat: str | None, as_json: bool) -> None:
    """Add a quick reply; BODY takes {client.name}, {subject}, {param.KEY}... (checked now)."""
    with transaction() as db:
        chat = get_live_chat(db, live_chat) if live_chat else None
        data = quick_reply_view(save_quick_reply(db, title, body, chat))
    emit(data, as_json, f"quick reply {data['id']} added: {data['title']}")


@quick_reply.command("update")
@click.argument("reply_id", type=int)
@click.argument("title")
@click.argument("body")
@click.option("--live-chat", help="Offer it in this live chat only (default: every live chat).")
@json_option
@handles_errors
def update(reply_id: int, title: str, body: str, live_chat: str | None, as_json: bool) -> None:
    """Change a quick reply's title, text and live chat."""
    with transaction() as db:
        chat = get_live_chat(db, live_chat) if live_chat else None
        reply = save_quick_reply(db, title, body, chat, get_quick_reply(db, reply_id))
        data = quick_reply_view(reply)
    emit(data, as_json, f"quick reply {reply_id} saved")


@quick_reply.command("delete")
@click.argument("reply_id", type=int)
@json_option
@handles_errors
def delete(reply_id: int, as_json: bool) -> None:
    """Remove a quick reply."""
    with transaction() as db:
        delete_quick_reply(db, get_quick_reply(db, reply_id))
    emit({"id": reply_id, "deleted": True}, as_json, f"quick reply {reply_id} deleted")
