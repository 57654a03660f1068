"""The admin pages: live chats, users, parameters, processes and the script bench.

Every admin blueprint is made by `admin_blueprint`, which puts the one admin guard in front of
it (log in first; only admins administer; others get 403 from the server). A form post that
succeeds says so and redirects with `saved`; a refused one is shown again by its page
(`web.db.form_post`).
"""

from __future__ import annotations

from typing import Any, cast

from flask import Blueprint, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from bpm_livechat.errors import AccessDeniedError, SystemParameterError, ValidationError
from bpm_livechat.models import Role
from web.auth import acting_user, login_manager


def require_admin() -> ResponseReturnValue | None:
    """Before-request guard: log in first; only admins administer."""
    if not current_user.is_authenticated:
        return cast(ResponseReturnValue, login_manager.unauthorized())
    if acting_user().role != Role.ADMIN.value:
        raise AccessDeniedError("only admins may open the admin pages")
    return None


def admin_blueprint(name: str, import_name: str, url_prefix: str) -> Blueprint:
    """A blueprint of admin pages, guarded by `require_admin`."""
    bp = Blueprint(name, import_name, url_prefix=url_prefix)
    bp.before_request(require_admin)
    return bp


def saved(message: str, endpoint: str, **values: Any) -> ResponseReturnValue:
    """After a successful admin form post: say what happened and go to `endpoint` (303)."""
    flash(message)
    return redirect(url_for(endpoint, **values), 303)


def field_errors(exc: ValidationError, default_field: str) -> dict[str, str]:
    """The core's per-field messages; a system-parameter error or a bare message goes to a field."""
    if isinstance(exc, SystemParameterError):
        return {default_field: exc.message}
    return dict(exc.fields) or {default_field: exc.message}
