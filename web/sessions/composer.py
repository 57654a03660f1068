"""The session page's composer: an operator's reply, and quick replies rendered for the session."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, redirect, request, url_for
from flask.typing import ResponseReturnValue

from bpm_livechat.errors import ValidationError
from bpm_livechat.models import SupportSession
from bpm_livechat.sessions.lifecycle import get_session
from bpm_livechat.sessions.quick_replies import quick_replies_for
from bpm_livechat.sessions.replies import MAX_REPLY_LENGTH, reply_as_operator
from web.auth import acting_user, require_staff
from web.db import form_post, get_db
from web.engine import process_engine
from web.sessions.page import render_session

bp = Blueprint("composer", __name__)
bp.before_request(require_staff)


def composer_data(session: SupportSession) -> dict[str, Any]:
    """What the composer partial shows: the quick replies for this session, and the text of
    the one chosen without JavaScript (`?quick=ID`)."""
    quick = quick_replies_for(get_db(), session)
    chosen = request.args.get("quick", "")
    prefill = next((q.text for q in quick if str(q.id) == chosen), "")
    return {"quick": quick, "prefill": prefill, "max_length": MAX_REPLY_LENGTH}


def init_app(app: Flask) -> None:
    """Register the blueprint and the helper the composer partial calls."""
    app.register_blueprint(bp)
    app.jinja_env.globals["composer_data"] = composer_data


def _reply_refused(exc: ValidationError, session_id: int) -> ResponseReturnValue:
    session = get_session(get_db(), session_id, acting_user())
    error = exc.fields.get("text", exc.message)
    return render_session(session, 422, reply_text=request.form.get("text", ""), reply_error=error)


@bp.post("/sessions/<id:session_id>/reply")
@form_post(_reply_refused)
def reply(session_id: int) -> ResponseReturnValue:
    """Send the operator's reply; the page shows it in the thread after the redirect."""
    db, user = get_db(), acting_user()
    session = get_session(db, session_id, user)
    reply_as_operator(db, process_engine().clock, session, user, request.form.get("text", ""))
    return redirect(url_for("session.show", session_id=session.id, _anchor="composer"))
