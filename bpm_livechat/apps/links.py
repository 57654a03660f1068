"""Sessions and app items: a live chat's bound app, items made from sessions, and links."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bpm_livechat.apps.items import create_item
from bpm_livechat.desk.access import require_session_access
from bpm_livechat.errors import ParameterValueError, ValidationError
from bpm_livechat.models import (
    App,
    AppItem,
    LiveChat,
    LiveChatApp,
    SessionItemLink,
    SupportSession,
    User,
)
from bpm_livechat.params.definitions import definitions
from bpm_livechat.params.types import ParamType, convert, normalize
from bpm_livechat.params.values import get_parameters
from bpm_livechat.sessions.guards import require_writable

# Field keys that take the session's client details when an item is made from a session.
_CLIENT_KEYS = {
    "name": "name",
    "client_name": "name",
    "email": "email",
    "client_email": "email",
    "phone": "phone",
    "client_phone": "phone",
}


def bound_app(db: Session, live_chat_id: int) -> App | None:
    """The app the live chat is bound to, if any."""
    binding = db.get(LiveChatApp, live_chat_id)
    return binding.app if binding else None


def bind_app(db: Session, chat: LiveChat, app: App | None) -> None:
    """Bind the live chat to `app` (one at a time), or unbind it with None; links stay."""
    binding = db.get(LiveChatApp, chat.id)
    if app is None:
        if binding is not None:
            db.delete(binding)
    elif binding is None:
        db.add(LiveChatApp(live_chat_id=chat.id, app_id=app.id))
    else:
        binding.app_id = app.id
    db.flush()


def prefill(db: Session, app: App, session: SupportSession) -> dict[str, object]:
    """Typed values for a new item from the session: client details and parameters by key."""
    client = session.client
    details = {"name": client.name, "email": client.email, "phone": client.phone}
    params = get_parameters(db, session.id)
    types = {d.key: ParamType(d.type) for d in definitions(db)}
    values: dict[str, object] = {}
    for field in app.fields:
        type_ = ParamType(field.type)
        try:  # a value that does not fit the field's type leaves the field empty
            if params.get(field.key) is not None:
                value = convert(
                    field.key, types[field.key], type_, params[field.key], field.options
                )
            elif field.key in _CLIENT_KEYS:
                value = normalize(field.key, type_, details[_CLIENT_KEYS[field.key]], field.options)
            else:
                continue
        except ParameterValueError:
            continue
        if value is not None:
            values[field.key] = value
    return values


def _require_bound(db: Session, session: SupportSession, item: AppItem) -> None:
    app = bound_app(db, session.live_chat_id)
    if app is None or app.id != item.app_id:
        raise ValidationError(
            f"session {session.id} can link only items of the app bound to its live chat",
            {"item": "not an item of the live chat's app"},
        )


def link_item(
    db: Session, session: SupportSession, item: AppItem, user: User | None = None
) -> bool:
    """Link the session to an item of its live chat's app; False when it already was."""
    if user is not None:
        require_session_access(db, user, session)
        require_writable(session, user, "link items")
    _require_bound(db, session, item)
    if db.get(SessionItemLink, (session.id, item.id)) is not None:
        return False
    db.add(
        SessionItemLink(
            session_id=session.id, item_id=item.id, linked_by_id=user.id if user else None
        )
    )
    db.flush()
    return True


def link_requested(db: Session, session: SupportSession, app_name: str, item_id: object) -> bool:
    """Apply a script's `session.link_item(app, item_id)` request, validated like a changeset."""
    return link_item(db, session, check_link_request(db, session, app_name, item_id))


def check_link_request(
    db: Session, session: SupportSession, app_name: str, item_id: object
) -> AppItem:
    """The item a `session.link_item(app, item_id)` request names, or a ValidationError (no write)."""
    app = bound_app(db, session.live_chat_id)
    if app is None or app.name != app_name:
        raise ValidationError(
            f"link_item: {app_name!r} is not the app of live chat {session.live_chat.name!r}",
            {"link_item": "not the live chat's app"},
        )
    item = (
        db.get(AppItem, item_id)
        if isinstance(item_id, int) and not isinstance(item_id, bool)
        else None
    )
    if item is None or item.app_id != app.id:
        raise ValidationError(
            f"link_item: {app_name!r} has no item {item_id!r}", {"link_item": "no such item"}
        )
    return item


def unlink_item(db: Session, session: SupportSession, item: AppItem, user: User) -> None:
    """Remove the link between the session and the item (the item stays)."""
    require_session_access(db, user, session)
    require_writable(session, user, "unlink items")
    db.execute(
        delete(SessionItemLink).where(
            SessionItemLink.session_id == session.id, SessionItemLink.item_id == item.id
        )
    )
    db.flush()


def create_item_for_session(
    db: Session, session: SupportSession, raw: Mapping[str, object], user: User
) -> AppItem:
    """Create an item in the live chat's app and link the session to it, in one go."""
    require_session_access(db, user, session)
    app = bound_app(db, session.live_chat_id)
    if app is None:
        raise ValidationError(f"live chat {session.live_chat.name!r} is not bound to an app")
    item = create_item(db, app, raw, user)
    link_item(db, session, item, user)
    return item


def linked_items(db: Session, session_id: int) -> list[AppItem]:
    """The items a session is linked to, in the order they were linked."""
    query = (
        select(AppItem)
        .join(SessionItemLink, SessionItemLink.item_id == AppItem.id)
        .where(SessionItemLink.session_id == session_id)
        .order_by(SessionItemLink.linked_at, AppItem.id)
    )
    return list(db.scalars(query))
