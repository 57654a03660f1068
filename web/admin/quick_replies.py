"""Quick replies (admins): response templates operators insert from the composer; their
placeholders are those of session name templates, checked when saved."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue

from bpm_livechat.desk.livechats import list_live_chats
from bpm_livechat.desk.naming import FIELDS, PARAM_PREFIX
from bpm_livechat.errors import ValidationError
from bpm_livechat.models import LiveChat, QuickReply
from bpm_livechat.params.definitions import definitions
from bpm_livechat.sessions.quick_replies import (
    delete_quick_reply,
    get_quick_reply,
    list_quick_replies,
    save_quick_reply,
)
from web.admin import admin_blueprint, field_errors, saved
from web.db import form_post, get_db, writes

bp = admin_blueprint("admin_quick_replies", __name__, "/admin/quick-replies")


def _page(status: int = 200, **context: Any) -> ResponseReturnValue:
    db = get_db()
    placeholders = sorted(FIELDS) + [f"{PARAM_PREFIX}{d.key}" for d in definitions(db)]
    page = render_template(
        "admin_quick_replies.html",
        replies=list_quick_replies(db),
        live_chats=list_live_chats(db),
        placeholders=placeholders,
        editing=context.pop("editing", None),
        errors=context.pop("errors", {}),
        form=context.pop("form", {}),
        **context,
    )
    return page, status


def _form() -> dict[str, str]:
    return {k: request.form.get(k, "") for k in ("title", "body", "live_chat")}


def _live_chat(value: str) -> LiveChat | None:
    if not value:
        return None
    chat = get_db().get(LiveChat, int(value)) if value.isdigit() else None
    if chat is None:
        raise ValidationError("choose a live chat", {"live_chat": "choose a live chat"})
    return chat


def _save(reply: QuickReply | None) -> QuickReply:
    form = _form()
    chat = _live_chat(form["live_chat"])
    return save_quick_reply(get_db(), form["title"], form["body"], chat, reply)


@bp.get("")
def index() -> ResponseReturnValue:
    """Every quick reply and a form to add one."""
    return _page()


def _create_refused(exc: ValidationError) -> ResponseReturnValue:
    return _page(422, errors=field_errors(exc, "body"), form=_form())


@bp.post("")
@form_post(_create_refused)
def create() -> ResponseReturnValue:
    """Add a quick reply; a bad placeholder is refused, naming it."""
    reply = _save(None)
    return saved(f"Quick reply “{reply.title}” added.", ".index")


@bp.get("/<id:reply_id>")
def edit(reply_id: int) -> ResponseReturnValue:
    """One quick reply's edit form."""
    reply = get_quick_reply(get_db(), reply_id)
    form = {
        "title": reply.title,
        "body": reply.body,
        "live_chat": str(reply.live_chat_id or ""),
    }
    return _page(editing=reply, form=form)


def _update_refused(exc: ValidationError, reply_id: int) -> ResponseReturnValue:
    reply = get_quick_reply(get_db(), reply_id)
    return _page(422, editing=reply, errors=field_errors(exc, "body"), form=_form())


@bp.post("/<id:reply_id>")
@form_post(_update_refused)
def update(reply_id: int) -> ResponseReturnValue:
    """Change a quick reply's title, text or live chat."""
    reply = _save(get_quick_reply(get_db(), reply_id))
    return saved(f"Quick reply “{reply.title}” saved.", ".index")


@bp.post("/<id:reply_id>/delete")
@writes
def delete(reply_id: int) -> ResponseReturnValue:
    """Remove a quick reply."""
    db = get_db()
    reply = get_quick_reply(db, reply_id)
    title = reply.title
    delete_quick_reply(db, reply)
    return saved(f"Quick reply “{title}” deleted.", ".index")
