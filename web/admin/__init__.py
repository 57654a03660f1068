"""The guard shared by the admin pages: logged in, and an admin (others get 403 from the server)."""

from __future__ import annotations

from typing import cast

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


def field_errors(exc: ValidationError, default_field: str) -> dict[str, str]:
    """The core's per-field messages; a system-parameter error or a bare message goes to a field."""
    if isinstance(exc, SystemParameterError):
        return {default_field: exc.message}
    return dict(exc.fields) or {default_field: exc.message}
