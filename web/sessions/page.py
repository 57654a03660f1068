"""The session page: name (rename in place), system and custom parameters, history, messages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bpm_livechat.errors import StaleEditError, ValidationError
from bpm_livechat.models import SupportSession
from bpm_livechat.params.catalogue import get_definition
from bpm_livechat.params.types import ParamType
from bpm_livechat.processes.deployments import startable_processes
from bpm_livechat.sessions.editing import edit_parameters
from bpm_livechat.sessions.lifecycle import get_session
from bpm_livechat.sessions.messages import messages
from bpm_livechat.sessions.stale import latest_change_ids, rename_seen
from web.auth import acting_user, require_staff
from web.db import form_post, get_db
from web.engine import process_engine
from web.sessions.console import console_context
from web.sessions.page_data import param_rows, submitted_value, system_rows
from web.sessions.process_view import instance_cards

bp = Blueprint("session", __name__)
bp.before_request(require_staff)


def render_session(session: SupportSession, status: int = 200, **extra: Any) -> ResponseReturnValue:
    """The session page; `extra` opens an edit form with entered values and errors."""
    db, user = get_db(), acting_user()
    context: dict[str, Any] = {
        "s": session,
        "system": system_rows(session),
        "params": param_rows(db, session, user),
        "messages": messages(db, session.id),
        "startable": startable_processes(db, session.live_chat_id),
        "cards": instance_cards(db, session, user),
        "highlighted": set(request.args.get("changed", "").split(",")) - {""},
        "editing": request.args.get("edit", ""),
        "renaming": request.args.get("rename") == "1",
        "entered": {},
        "errors": {},
        **console_context(db, session, user),
        "seen": latest_change_ids(db, session.id),  # what the edit forms carry (stale edits)
        "conflicts": {},
        **extra,
    }
    return render_template("session.html", **context), status


@bp.get("/sessions/<id:session_id>")
def show(session_id: int) -> ResponseReturnValue:
    """Everything about one session."""
    return render_session(get_session(get_db(), session_id, acting_user()))


def _rename_refused(exc: ValidationError, session_id: int) -> ResponseReturnValue:
    session = get_session(get_db(), session_id, acting_user())
    return render_session(
        session,
        422,
        renaming=True,
        entered={"name": request.form.get("name", "")},
        errors={"name": exc.fields.get("name", exc.message)},
    )


def _seen(field: str) -> int | None:
    """The version or history id the submitted page saw; None when the form carried none."""
    raw = request.form.get(field, "")
    return int(raw) if raw.isdigit() else None


@bp.post("/sessions/<id:session_id>/name")
@form_post(_rename_refused)
def rename(session_id: int) -> ResponseReturnValue:
    """Rename the session by hand, or give it back its template name; a rename from a page
    older than the session's last change shows the conflict instead, keeping the entered name."""
    db, user = get_db(), acting_user()
    session = get_session(db, session_id, user)
    reset = request.form.get("action") == "reset"
    name = request.form.get("name", "")
    try:
        rename_seen(db, session, name, user, _seen("version"), reset=reset)
    except StaleEditError as exc:
        return render_session(
            session, 409, renaming=True, entered={"name": name}, conflicts={"name": exc}
        )
    flash("The name follows the live chat's template again." if reset else "Session renamed.")
    return redirect(url_for("session.show", session_id=session.id))


def _param_refused(exc: ValidationError, session_id: int, key: str) -> ResponseReturnValue:
    db, user = get_db(), acting_user()
    session = get_session(db, session_id, user)
    multiple = get_definition(db, key).type == ParamType.MULTICHOICE.value
    shown = request.form.getlist("value") if multiple else request.form.get("value", "")
    errors = {key: exc.fields.get(key, exc.message)}
    return render_session(session, 422, editing=key, entered={key: shown}, errors=errors)


@bp.post("/sessions/<id:session_id>/params/<key>")
@form_post(_param_refused)
def edit_param(session_id: int, key: str) -> ResponseReturnValue:
    """Change one custom parameter; errors come back at the field with the entered value."""
    db, user = get_db(), acting_user()
    session = get_session(db, session_id, user)
    definition = get_definition(db, key)
    raw = submitted_value(ParamType(definition.type), request.form)
    seen = _seen("seen")
    try:
        changed = edit_parameters(
            db,
            process_engine().clock,
            session,
            {key: raw},
            user,
            None if seen is None else {key: seen},
        )
    except StaleEditError as exc:
        multiple = definition.type == ParamType.MULTICHOICE.value
        shown = request.form.getlist("value") if multiple else request.form.get("value", "")
        return render_session(session, 409, editing=key, entered={key: shown}, conflicts={key: exc})
    flash(f"{definition.label} saved." if changed else f"{definition.label} was unchanged.")
    return redirect(url_for("session.show", session_id=session.id, _anchor=f"param-{key}"))
