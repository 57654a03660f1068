"""Personal API tokens in the UI: list, create (the token is shown once), revoke."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bpm_livechat.desk.tokens import create_token, get_token, list_tokens, revoke_token
from bpm_livechat.errors import ValidationError

from .auth import acting_user, require_login
from .confirm import confirmation
from .db import get_db, writes

bp = Blueprint("tokens", __name__, url_prefix="/account/tokens")
bp.before_request(require_login)


@bp.get("")
def index() -> ResponseReturnValue:
    """The logged-in user's API tokens."""
    return render_template("tokens.html", tokens=list_tokens(get_db(), acting_user()))


@bp.post("")
@writes
def create() -> ResponseReturnValue:
    """Create a token and show its text this one time."""
    db, user = get_db(), acting_user()
    name = request.form.get("name", "")
    try:
        token, plaintext = create_token(db, user, name)
    except ValidationError as exc:
        tokens = list_tokens(db, user)
        return render_template("tokens.html", tokens=tokens, errors=exc.fields, name=name), 422
    return render_template(
        "tokens.html", tokens=list_tokens(db, user), created=token, plaintext=plaintext
    )


@bp.post("/<id:token_id>/revoke")
@writes
def revoke(token_id: int) -> ResponseReturnValue:
    """Revoke one of the user's tokens (after confirming); API calls with it get 401 from now on."""
    db, user = get_db(), acting_user()
    token = get_token(db, token_id, user)
    asked = confirmation(
        f"Revoke the token “{token.name}”?",
        f"Every system that calls the API with the token starting {token.hint}… "
        "gets 401 from now on. This cannot be undone: a new token must be made and given to them.",
        "Revoke the token",
        url_for("tokens.index"),
    )
    if asked is not None:
        return asked
    revoked = revoke_token(db, token_id, user)
    return render_template("tokens.html", tokens=list_tokens(db, user), revoked=revoked)
