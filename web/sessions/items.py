"""The session page's app items: create an item pre-filled from the session, or link one found."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bpm_livechat.apps.items import get_item, item_fields, list_items
from bpm_livechat.apps.links import (
    bound_app,
    create_item_for_session,
    link_item,
    linked_items,
    prefill,
    unlink_item,
)
from bpm_livechat.errors import ValidationError
from bpm_livechat.models import SupportSession
from bpm_livechat.params.types import ParamType
from bpm_livechat.sessions.lifecycle import get_session
from web.apps import item_form_values
from web.auth import acting_user, require_staff
from web.db import form_post, get_db, writes
from web.sessions.page_data import form_value

bp = Blueprint("session_items", __name__, url_prefix="/sessions/<id:session_id>/items")
bp.before_request(require_staff)


def session_items(session: SupportSession) -> dict[str, Any]:
    """What the session page's items card shows: the bound app and the linked items."""
    db = get_db()
    return {"app": bound_app(db, session.live_chat_id), "items": linked_items(db, session.id)}


def init_app(app: Flask) -> None:
    """Register the blueprint and the helper the session page's partial calls."""
    app.register_blueprint(bp)
    app.jinja_env.globals["session_items"] = session_items


def _bound(session: SupportSession) -> Any:
    app = bound_app(get_db(), session.live_chat_id)
    if app is None:
        raise ValidationError(f"live chat {session.live_chat.name!r} is not bound to an app")
    return app


def _render_new(
    session: SupportSession, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> ResponseReturnValue:
    app = _bound(session)
    context = {"s": session, "app": app, "values": values, "errors": errors}
    return render_template("app_item_new.html", **context), status


@bp.get("/new")
def new(session_id: int) -> ResponseReturnValue:
    """The new-item form, pre-filled from the session (client details, matching parameters)."""
    db = get_db()
    session = get_session(db, session_id, acting_user())
    app = _bound(session)
    typed = prefill(db, app, session)
    values = {f.key: form_value(ParamType(f.type), typed.get(f.key)) for f in app.fields}
    return _render_new(session, values, {})


def _create_refused(exc: ValidationError, session_id: int) -> ResponseReturnValue:
    session = get_session(get_db(), session_id, acting_user())
    raw = item_form_values(list(_bound(session).fields))
    return _render_new(session, raw, exc.fields or {"": exc.message}, 422)


@bp.post("")
@form_post(_create_refused)
def create(session_id: int) -> ResponseReturnValue:
    """Create the item and link the session to it; errors come back at the fields."""
    db, user = get_db(), acting_user()
    session = get_session(db, session_id, user)
    app = _bound(session)
    item = create_item_for_session(db, session, item_form_values(list(app.fields)), user)
    flash(f"{app.name} item “{item.title}” created and linked.")
    return redirect(url_for("session.show", session_id=session.id, _anchor="items"))


@bp.get("/search")
def search(session_id: int) -> ResponseReturnValue:
    """Find items of the bound app to link (search by any value)."""
    db = get_db()
    session = get_session(db, session_id, acting_user())
    app = _bound(session)
    query = request.args.get("q", "")
    linked = {i.id for i in linked_items(db, session.id)}
    found = [(i, item_fields(i), i.id in linked) for i in list_items(db, app, query, limit=20)]
    context = {"s": session, "app": app, "q": query, "found": found}
    return render_template("app_link.html", **context)


@bp.post("/link")
@writes
def link(session_id: int) -> ResponseReturnValue:
    """Link the session to an existing item of the bound app."""
    db, user = get_db(), acting_user()
    session = get_session(db, session_id, user)
    chosen = request.form.get("item_id", "")
    if not chosen.isdigit():
        raise ValidationError("choose an item to link", {"item_id": "required"})
    item = get_item(db, int(chosen))
    added = link_item(db, session, item, user)
    flash(f"Linked to “{item.title}”." if added else f"Already linked to “{item.title}”.")
    return redirect(url_for("session.show", session_id=session.id, _anchor="items"))


@bp.post("/<id:item_id>/unlink")
@writes
def unlink(session_id: int, item_id: int) -> ResponseReturnValue:
    """Remove a link (the item itself stays)."""
    db, user = get_db(), acting_user()
    session = get_session(db, session_id, user)
    item = get_item(db, item_id)
    unlink_item(db, session, item, user)
    flash(f"Unlinked from “{item.title}”.")
    return redirect(url_for("session.show", session_id=session.id, _anchor="items"))
