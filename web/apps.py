"""App pages: apps and their items (admins add), item pages with the Live Chat Messages widget,
and each live chat's app binding and read access (admins)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bpm_livechat.apps.items import (
    add_app,
    add_field,
    create_item,
    get_app,
    get_item,
    item_fields,
    list_apps,
    list_items,
)
from bpm_livechat.apps.links import bind_app, bound_app
from bpm_livechat.apps.reading import (
    MessageScope,
    grant_read_access,
    item_messages,
    readable_app_ids,
    readers,
    require_app_read,
    require_item_read,
    revoke_read_access,
)
from bpm_livechat.desk.livechats import list_live_chats
from bpm_livechat.desk.users import get_user
from bpm_livechat.errors import AccessDeniedError, NotFoundError, ValidationError
from bpm_livechat.models import LiveChat, Role, User
from bpm_livechat.params.types import ParamType
from web.sessions.page_data import submitted_value

from .auth import acting_user, require_login
from .db import form_post, get_db, writes

bp = Blueprint("apps", __name__, url_prefix="/apps")
bp.before_request(require_login)


def _require_admin() -> User:
    user = acting_user()
    if user.role != Role.ADMIN.value:
        raise AccessDeniedError(f"user {user.username!r} is not an admin")
    return user


def item_form_values(fields: list[Any], prefix: str = "v_") -> dict[str, object]:
    """The raw values an item form sent, by field key, ready for the core's validation."""
    return {f.key: submitted_value(ParamType(f.type), request.form, prefix + f.key) for f in fields}


def _readable_apps() -> list[Any]:
    """The apps the user may read: bound to a live chat whose sessions they may read."""
    db = get_db()
    readable = readable_app_ids(db, acting_user())
    return [a for a in list_apps(db) if readable is None or a.id in readable]


@bp.get("")
def index() -> ResponseReturnValue:
    """The apps the user may read, and (for admins) the live chats with their bound app."""
    db = get_db()
    chats = [(c, bound_app(db, c.id)) for c in list_live_chats(db)]
    apps = _readable_apps()
    return render_template("app_list.html", apps=apps, chats=chats, errors={}, entered="")


def _create_refused(exc: ValidationError) -> ResponseReturnValue:
    db = get_db()
    chats = [(c, bound_app(db, c.id)) for c in list_live_chats(db)]
    entered = request.form.get("name", "")
    context = {"apps": _readable_apps(), "chats": chats, "errors": exc.fields, "entered": entered}
    return render_template("app_list.html", **context), 422


@bp.post("")
@form_post(_create_refused)
def create() -> ResponseReturnValue:
    """Create an app (admins)."""
    _require_admin()
    app = add_app(get_db(), request.form.get("name", ""))
    flash(f"App “{app.name}” created. Add its fields.")
    return redirect(url_for("apps.show", app_id=app.id))


def _render_app(app_id: int, status: int = 200, **extra: Any) -> ResponseReturnValue:
    db = get_db()
    app = get_app(db, app_id)
    require_app_read(db, acting_user(), app)
    query = request.args.get("q", "")
    context: dict[str, Any] = {
        "app": app,
        "items": list_items(db, app, query),
        "q": query,
        "types": [t.value for t in ParamType],
        "errors": {},
        "field_errors": {},
        "field_entered": {},
        "entered": {},
        **extra,
    }
    return render_template("app_detail.html", **context), status


@bp.get("/<id:app_id>")
def show(app_id: int) -> ResponseReturnValue:
    """An app: its fields and items (search with ?q=)."""
    return _render_app(app_id)


def _field_refused(exc: ValidationError, app_id: int) -> ResponseReturnValue:
    return _render_app(app_id, 422, field_errors=exc.fields, field_entered=dict(request.form))


@bp.post("/<id:app_id>/fields")
@form_post(_field_refused)
def new_field(app_id: int) -> ResponseReturnValue:
    """Add a typed field (admins)."""
    _require_admin()
    db, form = get_db(), request.form
    options = [o for o in form.get("options", "").splitlines() if o.strip()]
    field = add_field(
        db, get_app(db, app_id), form.get("key", ""), form.get("type", ""),
        form.get("label", ""), options,
    )  # fmt: skip
    flash(f"Field “{field.label}” added.")
    return redirect(url_for("apps.show", app_id=app_id))


def _item_refused(exc: ValidationError, app_id: int) -> ResponseReturnValue:
    raw = item_form_values(list(get_app(get_db(), app_id).fields))
    return _render_app(app_id, 422, errors=exc.fields, entered=raw)


@bp.post("/<id:app_id>/items")
@form_post(_item_refused)
def new_item(app_id: int) -> ResponseReturnValue:
    """Add an item (admins); errors come back at the fields."""
    user = _require_admin()
    db = get_db()
    app = get_app(db, app_id)
    item = create_item(db, app, item_form_values(list(app.fields)), user)
    flash(f"Item “{item.title}” added.")
    return redirect(url_for("apps.item", item_id=item.id))


def _scope() -> MessageScope:
    return MessageScope.CLIENT if request.args.get("scope") == "client" else MessageScope.LINKED


@bp.get("/items/<id:item_id>")
def item(item_id: int) -> ResponseReturnValue:
    """An item's fields, linked sessions and the Live Chat Messages widget (read grant only)."""
    db, user = get_db(), acting_user()
    found = get_item(db, item_id)
    require_item_read(db, user, found)  # its fields are a client's details
    context = {
        "item": found,
        "fields": item_fields(found),
        "allowed": True,
        "scope": _scope().value,
        "messages": item_messages(db, user, found, _scope()),
    }
    return render_template("app_item.html", **context)


@bp.get("/items/<id:item_id>/messages")
def item_messages_data(item_id: int) -> ResponseReturnValue:
    """The widget's data as JSON; 403 without a read grant, like the widget."""
    db, user = get_db(), acting_user()
    try:
        rows = item_messages(db, user, get_item(db, item_id), _scope())
    except NotFoundError:
        return _json_error(404, "not_found", f"There is no app item {item_id}.")
    except AccessDeniedError:
        message = "You have no read access to the live chat sessions of this item."
        return _json_error(403, "forbidden", message)
    data = [
        {
            "session_id": m.session_id,
            "session_name": m.session_name,
            "live_chat": m.live_chat,
            "author_kind": m.author_kind,
            "author_name": m.author_name,
            "text": m.text,
            "sent_at": m.sent_at.isoformat(),
        }
        for m in rows
    ]
    return jsonify({"item_id": item_id, "scope": _scope().value, "messages": data})


def _json_error(status: int, code: str, message: str) -> ResponseReturnValue:
    return jsonify({"error": {"code": code, "message": message, "fields": {}}}), status


def _chat(chat_id: int) -> LiveChat:
    chat = get_db().get(LiveChat, chat_id)
    if chat is None:
        raise NotFoundError("live chat", chat_id)
    return chat


def _render_chat(chat: LiveChat, status: int = 200, **extra: Any) -> ResponseReturnValue:
    db = get_db()
    context: dict[str, Any] = {
        "chat": chat,
        "apps": list_apps(db),
        "bound": bound_app(db, chat.id),
        "readers": readers(db, chat),
        "errors": {},
        **extra,
    }
    return render_template("app_live_chat.html", **context), status


@bp.get("/live-chats/<id:chat_id>")
def live_chat(chat_id: int) -> ResponseReturnValue:
    """A live chat's app binding and read access (admins)."""
    _require_admin()
    return _render_chat(_chat(chat_id))


@bp.post("/live-chats/<id:chat_id>/binding")
@writes
def bind(chat_id: int) -> ResponseReturnValue:
    """Bind the live chat to an app, or to none."""
    _require_admin()
    db, chat = get_db(), _chat(chat_id)
    chosen = request.form.get("app_id", "")
    app = get_app(db, int(chosen)) if chosen.isdigit() else None
    bind_app(db, chat, app)
    flash(f"{chat.name} is bound to {app.name}." if app else f"{chat.name} is bound to no app.")
    return redirect(url_for("apps.live_chat", chat_id=chat.id))


@bp.post("/live-chats/<id:chat_id>/readers")
@writes
def readers_change(chat_id: int) -> ResponseReturnValue:
    """Grant read access to a user by username, or revoke a grant."""
    _require_admin()
    db, chat = get_db(), _chat(chat_id)
    username = request.form.get("username", "").strip().lower()
    try:
        reader = get_user(db, username)
    except NotFoundError:
        return _render_chat(
            chat, 422, errors={"username": f"No user “{username}”."}, entered=username
        )
    if request.form.get("action") == "revoke":
        revoke_read_access(db, chat, reader)
        flash(f"{reader.display_name} can no longer read {chat.name} sessions from apps.")
    else:
        grant_read_access(db, chat, reader)
        flash(f"{reader.display_name} can read {chat.name} sessions from app items.")
    return redirect(url_for("apps.live_chat", chat_id=chat.id))
