"""Outbound webhooks: where a channel's events are POSTed, which events, and which targets are
allowed at all.

Admins subscribe a URL per channel (or for every channel) with a secret the deliveries are
signed with. Targets on link-local and cloud-metadata addresses are refused (a webhook must not
become a way to read the machine's own secrets) unless the allow-list setting names them; the
check runs when the subscription is saved and again before every delivery, since a name can
resolve elsewhere later.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from bpm_livechat.errors import NotFoundError, ValidationError
from bpm_livechat.models import Channel, WebhookSubscription
from bpm_livechat.names import check_name

ALLOW_ENV = "BPM_LIVECHAT_WEBHOOK_ALLOW"  # hosts or networks allowed despite the guard
EVENTS = ("message", "created", "closed", "assigned", "parameter_changed")
MAX_URL_LENGTH = 2000
_METADATA = (
    ipaddress.ip_network("169.254.169.254/32"),  # AWS, GCP, Azure, OpenStack
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS over IPv6
    ipaddress.ip_network("100.100.100.200/32"),  # Alibaba Cloud
)


class WebhookTargetRefused(ValidationError):
    """A webhook URL that points where webhooks may not go."""

    def __init__(self, message: str) -> None:
        super().__init__(message, {"url": message})


@dataclass(frozen=True)
class Target:
    """A checked webhook target: where to connect (an address that passed the guard)."""

    scheme: str
    host: str
    port: int
    address: str
    path: str


def allow_list(raw: str | None = None) -> list[str]:
    """The hosts and networks the guard lets through ($BPM_LIVECHAT_WEBHOOK_ALLOW)."""
    text = os.environ.get(ALLOW_ENV, "") if raw is None else raw
    return [part.strip() for part in text.split(",") if part.strip()]


def _allowed(host: str, address: str, allowed: Iterable[str]) -> bool:
    ip = ipaddress.ip_address(address)
    for entry in allowed:
        if entry.lower() == host.lower():
            return True
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def _forbidden(address: str) -> str | None:
    ip = ipaddress.ip_address(address)
    if any(ip in network for network in _METADATA):
        return "a cloud metadata address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return "not an address a webhook can reach"
    return None


def check_target(url: str, allowed: Iterable[str] | None = None) -> Target:
    """Resolve `url` and refuse it when an address it names is link-local or metadata."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookTargetRefused(f"not a web address: {url!r} (use http:// or https://)")
    if parts.username or parts.password:
        raise WebhookTargetRefused("put no user name or password in the URL; use the secret")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise WebhookTargetRefused(f"the host {host!r} cannot be resolved") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    allow = allow_list() if allowed is None else list(allowed)
    for address in addresses:
        problem = _forbidden(address)
        if problem and not _allowed(host, address, allow):
            raise WebhookTargetRefused(
                f"{host} resolves to {address}, {problem}; name it in {ALLOW_ENV} to allow it"
            )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, addresses[0], path)


def add_webhook(
    db: Session,
    name: str,
    url: str,
    *,
    channel: Channel | None = None,
    events: Iterable[str] = ("message",),
) -> WebhookSubscription:
    """Subscribe `url` to `events` of `channel` (every channel when None), with a new secret."""
    chosen = list(dict.fromkeys(events))
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown or not chosen:
        what = f"unknown event {unknown[0]!r}" if unknown else "choose at least one event"
        raise ValidationError(f"{what} (one of: {', '.join(EVENTS)})", {"events": what})
    check_name(name, "the webhook name")
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError(
            f"the URL is longer than {MAX_URL_LENGTH} characters", {"url": "too long"}
        )
    check_target(url)
    webhook = WebhookSubscription(
        name=name,
        channel_id=channel.id if channel is not None else None,
        url=url.strip(),
        secret=secrets.token_urlsafe(32),
        **{f"on_{event}": event in chosen for event in EVENTS},
    )
    db.add(webhook)
    db.flush()
    return webhook


def list_webhooks(db: Session) -> list[WebhookSubscription]:
    """Every webhook, oldest first."""
    return list(db.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


def get_webhook(db: Session, webhook_id: int) -> WebhookSubscription:
    """The webhook `webhook_id` (NotFoundError otherwise)."""
    webhook = db.get(WebhookSubscription, webhook_id)
    if webhook is None:
        raise NotFoundError("webhook", webhook_id)
    return webhook


def set_active(db: Session, webhook_id: int, active: bool) -> WebhookSubscription:
    """Pause or resume a webhook (paused ones receive nothing; their history stays)."""
    webhook = get_webhook(db, webhook_id)
    webhook.active = active
    db.flush()
    return webhook


def events_of(webhook: WebhookSubscription) -> list[str]:
    """The events a webhook receives."""
    return [event for event in EVENTS if getattr(webhook, f"on_{event}")]


def subscribers(
    db: Session, flag: InstrumentedAttribute[bool], channel_id: int
) -> list[WebhookSubscription]:
    """The active webhooks with `flag` set for the channel (its own and the global ones)."""
    query = select(WebhookSubscription).where(
        WebhookSubscription.active,
        flag,
        or_(WebhookSubscription.channel_id.is_(None), WebhookSubscription.channel_id == channel_id),
    )
    return list(db.scalars(query.order_by(WebhookSubscription.id)))
