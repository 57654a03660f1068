"""Presence in the top bar: set Online / Away / Offline; every request notes the user's activity
(at most once a minute), which automatic Away reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from flask import Blueprint, Flask, current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from bpm_livechat.desk.presence import DEFAULT_AWAY_AFTER, note_activity, presence_of, set_presence
from bpm_livechat.models import Presence
from bpm_livechat.routing.triggers import Reason, operator_available
from web.auth import acting_user, require_login
from web.db import commit, get_db, writes
from web.engine import process_engine
from web.redirects import local_path

bp = Blueprint("presence", __name__)
bp.before_request(require_login)
AWAY_AFTER_KEY = "PRESENCE_AWAY_AFTER_MINUTES"
F = TypeVar("F", bound=Callable[..., Any])
LABELS = {Presence.ONLINE: "Online", Presence.AWAY: "Away", Presence.OFFLINE: "Offline"}


LIVE_REFRESH_HEADER = "X-Live-Refresh"


def passive(view: F) -> F:
    """Mark a view that pages call by themselves (counts, live streams): not the user's activity."""
    view.passive_request = True  # type: ignore[attr-defined]
    return view


def away_after() -> timedelta:
    """The configured inactivity before Online reads as Away (default 10 minutes)."""
    minutes = current_app.config.get(AWAY_AFTER_KEY)
    return timedelta(minutes=float(minutes)) if minutes else DEFAULT_AWAY_AFTER


def init_app(app: Flask) -> None:
    """Note activity before each page request, offer the presence to templates, add the route."""
    app.before_request(_note_activity)
    app.context_processor(_presence_context)
    app.register_blueprint(bp)


def _note_activity() -> None:
    endpoint = request.endpoint
    if endpoint is None or endpoint == "static" or request.blueprint == "api":
        return
    view = current_app.view_functions.get(endpoint)
    if getattr(view, "passive_request", False) or not current_user.is_authenticated:
        return
    if request.headers.get(LIVE_REFRESH_HEADER):  # live.js fetching the page again by itself
        return
    if note_activity(get_db(), acting_user(), process_engine().clock.now()):
        commit()


def _presence_context() -> dict[str, Any]:
    if not current_user.is_authenticated:
        return {}
    now = process_engine().clock.now()
    shown = presence_of(acting_user(), now, away_after())
    return {"my_presence": shown.value, "presence_labels": {p.value: t for p, t in LABELS.items()}}


@bp.post("/me/presence")
@writes
def set_mine() -> ResponseReturnValue:
    """Set the logged-in user's presence and go back to the page they were on."""
    clock = process_engine().clock
    chosen = set_presence(get_db(), acting_user(), request.form.get("presence", ""), clock.now())
    if chosen is Presence.ONLINE:
        operator_available(get_db(), clock, acting_user(), Reason.ONLINE)
    flash(f"You are {LABELS[chosen]}.")
    return redirect(local_path(request.form.get("back"), url_for("sessions.list_sessions")))
