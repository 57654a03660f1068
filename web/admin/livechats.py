"""Live chat settings (admins): name, channels, members, and the session name template."""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
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
from web.admin import admin_blueprint, field_errors, saved
from web.db import form_post, get_db, writes

bp = admin_blueprint("admin_livechats", __name__, "/admin/livechats")

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
    except ValidationError as exc:  # a whole-template problem (empty, no placeholder)
        return {"ok": False, "error": exc.message, "position": None, "name": ""}
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
        members={role: members(db, chat.id, MemberRole(role)) for role in ROLES},
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


def _create_refused(exc: ValidationError) -> ResponseReturnValue:
    page = render_template(
        "admin_livechats.html",
        chats=list_live_chats(get_db()),
        errors=field_errors(exc, "name"),
        form={"name": request.form.get("name", "")},
    )
    return page, 422


@bp.post("")
@form_post(_create_refused)
def create() -> ResponseReturnValue:
    """Add a live chat with the default name template."""
    chat = create_live_chat(get_db(), request.form.get("name", ""), DEFAULT_TEMPLATE)
    message = f"Live chat “{chat.name}” created. Add a channel so sessions can reach it."
    return saved(message, ".settings", chat_id=chat.id)


@bp.get("/<id:chat_id>")
def settings(chat_id: int) -> ResponseReturnValue:
    """One live chat's settings."""
    return _settings(_chat(get_db(), chat_id))


def _rename_refused(exc: ValidationError, chat_id: int) -> ResponseReturnValue:
    errors = {"name": field_errors(exc, "name").get("name", exc.message)}
    form = {"name": request.form.get("name", "")}
    return _settings(_chat(get_db(), chat_id), 422, errors=errors, form=form)


@bp.post("/<id:chat_id>/name")
@form_post(_rename_refused)
def rename(chat_id: int) -> ResponseReturnValue:
    """Rename the live chat."""
    db = get_db()
    chat = _chat(db, chat_id)
    rename_live_chat(db, chat, request.form.get("name", ""))
    return saved(f"Live chat renamed to “{chat.name}”.", ".settings", chat_id=chat.id)


def _channel_refused(exc: ValidationError, chat_id: int) -> ResponseReturnValue:
    errors = {"channel_" + k: v for k, v in field_errors(exc, "name").items()}
    form = {
        "channel_name": request.form.get("channel_name", ""),
        "kind": request.form.get("kind", ""),
    }
    return _settings(_chat(get_db(), chat_id), 422, errors=errors, form=form)


@bp.post("/<id:chat_id>/channels")
@form_post(_channel_refused)
def new_channel(chat_id: int) -> ResponseReturnValue:
    """Add a channel through which sessions reach the live chat."""
    db = get_db()
    chat = _chat(db, chat_id)
    form = request.form
    channel = add_channel(db, chat, form.get("channel_name", ""), form.get("kind", ""))
    return saved(f"Channel “{channel.name}” added.", ".settings", chat_id=chat.id)


def _drop_channel_refused(
    exc: ValidationError, chat_id: int, channel_id: int
) -> ResponseReturnValue:
    return _settings(_chat(get_db(), chat_id), 422, errors={"channel_remove": exc.message})


@bp.post("/<id:chat_id>/channels/<id:channel_id>/remove")
@form_post(_drop_channel_refused)
def drop_channel(chat_id: int, channel_id: int) -> ResponseReturnValue:
    """Remove a channel that no session came through."""
    db = get_db()
    chat = _chat(db, chat_id)
    channel = remove_channel(db, chat, channel_id)
    return saved(f"Channel “{channel.name}” removed.", ".settings", chat_id=chat.id)


def _member_refused(exc: ValidationError, chat_id: int) -> ResponseReturnValue:
    form = {"username": request.form.get("username", ""), "role": request.form.get("role", "")}
    errors = dict(exc.fields)
    return _settings(_chat(get_db(), chat_id), 422, errors=errors, form=form)


@bp.post("/<id:chat_id>/members")
@form_post(_member_refused)
def new_member(chat_id: int) -> ResponseReturnValue:
    """Make a user an operator, supervisor or reader of the live chat."""
    db = get_db()
    chat = _chat(db, chat_id)
    username, role = request.form.get("username", ""), request.form.get("role", "")
    if role not in ROLES:
        raise ValidationError("unknown role", {"member_role": f"choose one of: {', '.join(ROLES)}"})
    try:
        user = get_user(db, username)
    except NotFoundError:
        raise ValidationError("unknown user", {"member_user": "choose a user"}) from None
    try:
        add_member(db, chat, user, MemberRole(role))
    except ValidationError as exc:
        message = field_errors(exc, "role").get("role", exc.message)
        raise ValidationError(exc.message, {"member_role": message}) from None
    return saved(f"{username} is now a {role} of {chat.name}.", ".settings", chat_id=chat.id)


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
    return redirect(url_for(".settings", chat_id=chat.id), 303)


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
    return saved(
        "Name template saved. New sessions are named with it.", ".settings", chat_id=chat.id
    )


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
    message = f"{count} session name{'s' if count != 1 else ''} re-rendered from the template."
    return saved(message, ".settings", chat_id=chat.id)
