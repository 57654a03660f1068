"""`bpm-livechat webhook add|list|pause|resume`: outbound webhooks (admins)."""

from __future__ import annotations

from typing import Any

import click

from bpm_livechat.desk.livechats import get_live_chat
from bpm_livechat.desk.webhooks import EVENTS, add_webhook, events_of, list_webhooks, set_active
from bpm_livechat.errors import NotFoundError
from bpm_livechat.models import WebhookSubscription

from .common import emit, handles_errors, json_option, transaction


def webhook_view(webhook: WebhookSubscription, secret: bool = False) -> dict[str, Any]:
    """A webhook as the CLI shows it (the secret only when asked)."""
    channel = webhook.channel
    data: dict[str, Any] = {
        "id": webhook.id,
        "name": webhook.name,
        "url": webhook.url,
        "channel": f"{channel.live_chat.name}/{channel.name}" if channel else None,
        "events": events_of(webhook),
        "active": webhook.active,
    }
    if secret:
        data["secret"] = webhook.secret
    return data


@click.group("webhook")
def webhook() -> None:
    """Outbound webhooks: messages and session events POSTed, signed, to a URL."""


@webhook.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--channel", help="LIVE_CHAT/CHANNEL (default: every channel).")
@click.option(
    "--event", "events", multiple=True, type=click.Choice(EVENTS), default=("message",),
    show_default=True, help="Repeat for several events.",
)  # fmt: skip
@json_option
@handles_errors
def add_cmd(
    name: str, url: str, channel: str | None, events: tuple[str, ...], as_json: bool
) -> None:
    """Subscribe URL; prints the secret the deliveries are signed with (keep it)."""
    with transaction() as db:
        target = None
        if channel is not None:
            chat_name, _, channel_name = channel.partition("/")
            chat = get_live_chat(db, chat_name)
            target = next((c for c in chat.channels if c.name == channel_name), None)
            if target is None:
                raise NotFoundError("channel", channel)
        data = webhook_view(add_webhook(db, name, url, channel=target, events=events), secret=True)
    emit(data, as_json, f"webhook {data['id']} added; secret: {data['secret']}")


@webhook.command("list")
@json_option
@handles_errors
def list_cmd(as_json: bool) -> None:
    """Every webhook."""
    with transaction() as db:
        items = [webhook_view(w) for w in list_webhooks(db)]

    def text() -> str:
        return "\n".join(
            f"{i['id']:>4} {'on ' if i['active'] else 'off'} {i['name']}: {i['url']} "
            f"({', '.join(i['events'])}; {i['channel'] or 'every channel'})"
            for i in items
        )

    emit({"webhooks": items}, as_json, text)


@webhook.command("pause")
@click.argument("webhook_id", type=int)
@json_option
@handles_errors
def pause_cmd(webhook_id: int, as_json: bool) -> None:
    """Stop delivering to a webhook (kept; resume it later)."""
    with transaction() as db:
        data = webhook_view(set_active(db, webhook_id, False))
    emit(data, as_json, f"webhook {webhook_id} paused")


@webhook.command("resume")
@click.argument("webhook_id", type=int)
@json_option
@handles_errors
def resume_cmd(webhook_id: int, as_json: bool) -> None:
    """Deliver to a paused webhook again."""
    with transaction() as db:
        data = webhook_view(set_active(db, webhook_id, True))
    emit(data, as_json, f"webhook {webhook_id} resumed")
