"""Live chat settings (admins): name, channels, members, and the session name template."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from bpm_livechat.desk.administration import list_users, remove_member, rename_live_chat
from bpm_livechat.desk.livechats import (
    CHANNEL_KINDS,
    add_channel,
    add_member,
    create_live_chat,
    list_live_chats,
    members,
    remove_channel,
    set_name_template,
)
from bpm_livechat.desk.naming import DEFAULT_TEMPLATE, FIELDS
from bpm_livechat.desk.users import get_user
from bpm_livechat.errors import NotFoundError, TemplateError, ValidationError
from bpm_livechat.models import LiveChat, MemberRole
from bpm_livechat.params.definitions import definitions
from bpm_livechat.sessions.renaming import apply_template, pending_renames, preview_name
from web.admin import field_errors, require_admin
from web.db import get_db, writes

bp = Blueprint("admin_livechats", __name__, url_prefix="/admin/livechats")
bp.before_request(require_admin)

ROLES = [r.value for r in MemberRole]


def _chat(db: Session, chat_id: int) -> LiveChat:
    chat = db.get(LiveChat, chat_id)
    if chat is None:
        raise NotFoundError("live chat", chat_id)
    return chat


def _template_state(db: Session, chat: LiveChat, template: str) -> dict[str, Any]:
    """The preview of `template` on a real session, or its error with the position."""
    try:
        preview = preview_name(db, chat, template)
    except TemplateError as exc:
        return {"ok": False, "error": exc.message, "position": exc.position, "name": ""}
    sample = preview.session
    return {
        "ok": True,
        "name": preview.name,
        "session_id": sample.id if sample else None,
        "error": "",
        "position": None,
    }


def _settings(chat: LiveChat, status: int = 200, **context: Any) -> ResponseReturnValue:
    db = get_db()
    template = context.pop("template", chat.name_template)
    page = render_template(
        "admin_livechat.html",
        chat=chat,
        kinds=CHANNEL_KINDS,
        roles=ROLES,
        members={role: members(db, chat, MemberRole(role)) for role in ROLES},
        users=list_users(db),
        template=template,
        preview=context.pop("preview", None) or _template_state(db, chat, template),
        fields=sorted(FIELDS),
        param_keys=[d.key for d in definitions(db)],
        errors=context.pop("errors", {}),
        form=context.pop("form", {}),
        **context,
    )
    return page, status


@bp.get("")
def index() -> ResponseReturnValue:
    """Every live chat, with a form to add one."""
    return render_template(
        "admin_livechats.html", chats=list_live_chats(get_db()), errors={}, form={}
    )


@bp.post("")
@writes
def create() -> ResponseReturnValue:
    """Add a live chat with the default name template."""
    db = get_db()
    name = request.form.get("name", "")
    try:
        chat = create_live_chat(db, name, DEFAULT_TEMPLATE)
    except ValidationError as exc:
        page = render_template(
            "admin_livechats.html",
            chats=list_live_chats(db),
            errors=field_errors(exc, "name"),
            form={"name": name},
        )
        return page, 422
    flash(f"Live chat “{chat.name}” created. Add a channel so sessions can reach it.")
    return redirect(url_for(".settings", chat_id=chat.id))


@bp.get("/<id:chat_id>")
def settings(chat_id: int) -> ResponseReturnValue:
    """One live chat's settings."""
    return _settings(_chat(get_db(), chat_id))


@bp.post("/<id:chat_id>/name")
@writes
def rename(chat_id: int) -> ResponseReturnValue:
    """Rename the live chat."""
    db = get_db()
    chat = _chat(db, chat_id)
    name = request.form.get("name", "")
    try:
        rename_live_chat(db, chat, name)
    except ValidationError as exc:
        errors = {"name": field_errors(exc, "name").get("name", exc.message)}
        return _settings(chat, 422, errors=errors, form={"name": name})
    flash(f"Live chat renamed to “{chat.name}”.")
    return redirect(url_for(".settings", chat_id=chat.id))


@bp.post("/<id:chat_id>/channels")
@writes
def new_channel(chat_id: int) -> ResponseReturnValue:
    """Add a channel through which sessions reach the live chat."""
    db = get_db()
    chat = _chat(db, chat_id)
    name, kind = request.form.get("channel_name", ""), request.form.get("kind", "")
    try:
        channel = add_channel(db, chat, name, kind)
    except ValidationError as exc:
        fields = field_errors(exc, "name")
        errors = {"channel_" + k: v for k, v in fields.items()}
        form = {"channel_name": name, "kind": kind}
        return _settings(chat, 422, errors=errors, form=form)
    flash(f"Channel “{channel.name}” added.")
    return redirect(url_for(".settings", chat_id=chat.id))


@bp.post("/<id:chat_id>/channels/<id:channel_id>/remove")
@writes
def drop_channel(chat_id: int, channel_id: int) -> ResponseReturnValue:
    """Remove a channel that no session came through."""
    db = get_db()
    chat = _chat(db, chat_id)
    try:
        channel = remove_channel(db, chat, channel_id)
    except ValidationError as exc:
        return _settings(chat, 422, errors={"channel_remove": exc.message})
    flash(f"Channel “{channel.name}” removed.")
    return redirect(url_for(".settings", chat_id=chat.id))


@bp.post("/<id:chat_id>/members")
@writes
def new_member(chat_id: int) -> ResponseReturnValue:
    """Make a user an operator, supervisor or reader of the live chat."""
    db = get_db()
    chat = _chat(db, chat_id)
    username, role = request.form.get("username", ""), request.form.get("role", "")
    if role not in ROLES:
        errors = {"member_role": f"choose one of: {', '.join(ROLES)}"}
        return _settings(chat, 422, errors=errors, form={"username": username})
    try:
        add_member(db, chat, get_user(db, username), MemberRole(role))
    except NotFoundError:
        errors = {"member_user": "choose a user"}
        return _settings(chat, 422, errors=errors, form={"username": username, "role": role})
    except ValidationError as exc:
        errors = {"member_role": field_errors(exc, "role").get("role", exc.message)}
        return _settings(chat, 422, errors=errors, form={"username": username, "role": role})
    flash(f"{username} is now a {role} of {chat.name}.")
    return redirect(url_for(".settings", chat_id=chat.id))


@bp.post("/<id:chat_id>/members/<username>/<role>/remove")
@writes
def drop_member(chat_id: int, username: str, role: str) -> ResponseReturnValue:
    """Take a live chat role away from a user."""
    db = get_db()
    chat = _chat(db, chat_id)
    if role not in ROLES:
        raise NotFoundError("membership role", role)
    if remove_member(db, chat, get_user(db, username), MemberRole(role)):
        flash(f"{username} is no longer a {role} of {chat.name}.")
    return redirect(url_for(".settings", chat_id=chat.id))


@bp.get("/<id:chat_id>/template-preview")
def template_preview(chat_id: int) -> ResponseReturnValue:
    """JSON for the live preview: the name on a real session, or the error and its position."""
    db = get_db()
    chat = _chat(db, chat_id)
    return jsonify(_template_state(db, chat, request.args.get("template", "")))


@bp.post("/<id:chat_id>/template")
@writes
def save_template(chat_id: int) -> ResponseReturnValue:
    """Save the template for new sessions' names, or (the Preview button) only show its preview."""
    db = get_db()
    chat = _chat(db, chat_id)
    template = request.form.get("name_template", "")
    state = _template_state(db, chat, template)
    errors = {} if state["ok"] else {"name_template": state["error"]}
    if request.form.get("action") == "preview" or not state["ok"]:
        status = 200 if state["ok"] else 422
        return _settings(chat, status, template=template, preview=state, errors=errors)
    set_name_template(db, chat, template)
    flash("Name template saved. New sessions are named with it.")
    return redirect(url_for(".settings", chat_id=chat.id))


@bp.post("/<id:chat_id>/apply-template")
@writes
def apply_to_existing(chat_id: int) -> ResponseReturnValue:
    """First show how many names would change; with `confirm`, re-render them."""
    db = get_db()
    chat = _chat(db, chat_id)
    if request.form.get("confirm") != "yes":
        renames = pending_renames(db, chat)
        return _settings(chat, renames=renames, renames_shown=renames[:10])
    count = apply_template(db, chat)
    flash(f"{count} session name{'s' if count != 1 else ''} re-rendered from the template.")
    return redirect(url_for(".settings", chat_id=chat.id))
