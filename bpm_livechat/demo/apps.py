"""The demo's apps: Clients (bound to Customer Support) and Requests, with items and links."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bpm_livechat.apps.items import add_app, add_field, create_item
from bpm_livechat.apps.links import bind_app, link_item, prefill
from bpm_livechat.apps.reading import grant_read_access
from bpm_livechat.desk.livechats import get_live_chat
from bpm_livechat.desk.users import get_user
from bpm_livechat.models import App, SupportSession

CLIENT_FIELDS = (
    ("name", "string", "Name", ()),
    ("email", "email", "Email", ()),
    ("phone", "phone", "Phone", ()),
    ("segment", "choice", "Segment", ("consumer", "smb", "enterprise")),
    ("website", "url", "Website", ()),
)
REQUEST_FIELDS = (
    ("title", "string", "Title", ()),
    ("status", "choice", "Status", ("new", "in progress", "done")),
    ("order_value", "money", "Order value", ()),
    ("due", "date", "Due", ()),
)
REQUESTS = (
    {"title": "Bulk order quote", "status": "new", "order_value": "4800.00 EUR"},
    {"title": "Replacement part", "status": "in progress", "due": "2026-12-15"},
    {"title": "Contract renewal", "status": "done", "order_value": "12000.00 EUR"},
)
LINKED_CLIENTS = 4


def _ensure_app(
    db: Session, name: str, fields: tuple[tuple[str, str, str, tuple[str, ...]], ...]
) -> tuple[App, bool]:
    app = db.scalar(select(App).where(App.name == name))
    if app is not None:
        return app, False
    app = add_app(db, name)
    for key, type_name, label, options in fields:
        add_field(db, app, key, type_name, label, options)
    return app, True


def load_demo_apps(db: Session) -> None:
    """Create the demo apps once; link the first Customer Support sessions to Clients items."""
    support = get_live_chat(db, "Customer Support")
    grant_read_access(db, support, get_user(db, "sales"))
    clients, new_clients = _ensure_app(db, "Clients", CLIENT_FIELDS)
    requests, new_requests = _ensure_app(db, "Requests", REQUEST_FIELDS)
    if new_requests:
        for values in REQUESTS:
            create_item(db, requests, values)
    if not new_clients:
        return
    bind_app(db, support, clients)
    query = (
        select(SupportSession)
        .where(SupportSession.live_chat_id == support.id)
        .order_by(SupportSession.id)
        .limit(LINKED_CLIENTS)
    )
    for session in db.scalars(query):
        item = create_item(db, clients, prefill(db, clients, session))
        link_item(db, session, item)
