"""Login and logout with Flask-Login; passwords are checked by the core (scrypt hashes)."""

from __future__ import annotations

import time
from typing import cast

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, current_user, login_user, logout_user

from bpm_livechat.desk.users import authenticate, end_logins
from bpm_livechat.errors import AccessDeniedError
from bpm_livechat.models import Role, User

from .db import commit, get_db
from .redirects import local_path
from .throttle import LoginThrottle

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to continue."
login_manager.session_protection = "strong"


class AppUser:
    """The logged-in user for Flask-Login; the id carries the user's login version, so raising
    it (logout, a new password, deactivation, "sign out everywhere") ends every login at once."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, user: User) -> None:
        self.user = user

    def get_id(self) -> str:
        return f"{self.user.id}:{self.user.login_version}"


def init_app(app: Flask) -> None:
    """Attach Flask-Login, the login throttle and the auth routes."""
    login_manager.init_app(app)
    login_manager.user_loader(_load_user)
    app.extensions["bpm_livechat.login_throttle"] = LoginThrottle(
        free=app.config["LOGIN_MAX_FREE_FAILURES"], max_delay=app.config["LOGIN_MAX_DELAY_SECONDS"]
    )
    app.register_blueprint(bp)


LOGIN_AT = "login_at"
SEEN_AT = "seen_at"
_SEEN_GRANULARITY = 60  # seconds: the cookie is rewritten at most once a minute


def _load_user(user_id: str) -> AppUser | None:
    ident, _sep, version = user_id.partition(":")
    if not ident.isdigit() or not version.isdigit() or not _within_lifetimes():
        return None
    user = get_db().get(User, int(ident))
    if user is None or not user.active or str(user.login_version) != version:
        return None
    return AppUser(user)


def _within_lifetimes() -> bool:
    """True while the login is younger than its absolute lifetime and was used recently enough;
    notes this use (the cookie is signed, so its times cannot be forged)."""
    now = time.time()
    login_at, seen_at = session.get(LOGIN_AT), session.get(SEEN_AT)
    if not isinstance(login_at, (int, float)) or not isinstance(seen_at, (int, float)):
        return False
    config = current_app.config
    if now - login_at > float(config["LOGIN_MAX_HOURS"]) * 3600:
        return False
    if now - seen_at > float(config["LOGIN_IDLE_MINUTES"]) * 60:
        return False
    if now - seen_at > _SEEN_GRANULARITY and _by_the_person():
        session[SEEN_AT] = int(now)
    return True


def _by_the_person() -> bool:
    """False for requests an open page makes by itself (counts, live streams, live reloads):
    an unattended tab must not keep its login alive."""
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "passive_request", False):  # marked by web.presence.passive
        return False
    return not request.headers.get("X-Live-Refresh")


def acting_user() -> User:
    """The logged-in core user (views behind `login_required` only)."""
    return cast(AppUser, current_user._get_current_object()).user


def require_login() -> ResponseReturnValue | None:
    """Before-request guard: any logged-in user."""
    if not current_user.is_authenticated:
        return cast(ResponseReturnValue, login_manager.unauthorized())
    return None


def require_staff() -> ResponseReturnValue | None:
    """Before-request guard: log in first; app users (role "user") have no business here."""
    if not current_user.is_authenticated:
        return cast(ResponseReturnValue, login_manager.unauthorized())
    if acting_user().role == Role.USER.value:
        raise AccessDeniedError("app users read sessions from app item pages, not here")
    if acting_user().role == Role.CHANNEL.value:
        raise AccessDeniedError("channel accounts post through the API; they have no pages")
    return None


def _throttle() -> LoginThrottle:
    throttle: LoginThrottle = current_app.extensions["bpm_livechat.login_throttle"]
    return throttle


def home_url(user: User) -> str:
    """Where a user starts: app users (who read sessions from app items) on the apps, a channel
    account on its API tokens, staff on sessions."""
    if user.role == Role.CHANNEL.value:  # an integration account: only its API tokens
        return url_for("tokens.index")
    return url_for("apps.index" if user.role == Role.USER.value else "sessions.index")


def _safe_next(target: str | None, user: User) -> str:
    """Only same-site paths: never redirect a fresh login to another host."""
    return local_path(target, home_url(user))


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Show the login form; check the password; slow down repeated failures."""
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(home_url(acting_user()))
        return render_template("login.html", username="", next=request.args.get("next", ""))
    username = request.form.get("username", "").strip().lower()[:64]
    password = request.form.get("password", "")
    target = request.form.get("next", "")
    address = request.remote_addr or "unknown"
    wait = _throttle().wait_seconds(username, address)
    if wait:
        message = f"Too many failed attempts. Try again in {wait} seconds."
        return render_template("login.html", username=username, next=target, error=message), 429
    user = authenticate(get_db(), username, password) if username and password else None
    if user is None:
        _throttle().failed(username, address)
        message = "Wrong username or password."
        return render_template("login.html", username=username, next=target, error=message), 401
    _throttle().succeeded(username, address)
    session.clear()  # no fixation: a fresh session for the logged-in user
    session[LOGIN_AT] = session[SEEN_AT] = int(time.time())
    login_user(AppUser(user))
    return redirect(_safe_next(target, user))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Log out (a POST with the CSRF token, so other sites cannot log people out); the user's
    logins end everywhere, so a copy of the cookie is worth nothing afterwards."""
    if current_user.is_authenticated:
        end_logins(acting_user())
        commit()
    logout_user()
    session.clear()
    flash("You are logged out.")
    return redirect(url_for("auth.login"))
