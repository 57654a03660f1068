"""Login and logout with Flask-Login; passwords are checked by the core (scrypt hashes)."""

from __future__ import annotations

from datetime import timedelta
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

from bpm_livechat.desk.logins import (
    Lifetimes,
    end_login,
    find_login,
    is_live,
    note_use,
    start_login,
)
from bpm_livechat.desk.users import authenticate
from bpm_livechat.errors import AccessDeniedError
from bpm_livechat.models import Role, User

from .db import commit, get_db
from .engine import process_engine
from .redirects import local_path
from .throttle import LoginThrottle

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to continue."
login_manager.session_protection = "strong"


class AppUser:
    """The logged-in user for Flask-Login. The id (kept in the signed cookie) is the random
    secret of a login row; the row, not the cookie, says whether the login still lives."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, user: User, secret: str) -> None:
        self.user = user
        self.secret = secret

    def get_id(self) -> str:
        return self.secret


def init_app(app: Flask) -> None:
    """Attach Flask-Login, the login throttle and the auth routes."""
    login_manager.init_app(app)
    login_manager.user_loader(_load_user)
    app.extensions["bpm_livechat.login_throttle"] = LoginThrottle(
        free=app.config["LOGIN_MAX_FREE_FAILURES"], max_delay=app.config["LOGIN_MAX_DELAY_SECONDS"]
    )
    app.register_blueprint(bp)


def lifetimes() -> Lifetimes:
    """The login lifetimes from the configuration (LOGIN_IDLE_MINUTES, LOGIN_MAX_HOURS)."""
    config = current_app.config
    return Lifetimes(
        idle=timedelta(minutes=float(config["LOGIN_IDLE_MINUTES"])),
        absolute=timedelta(hours=float(config["LOGIN_MAX_HOURS"])),
    )


def _load_user(secret: str) -> AppUser | None:
    """The user of the login row this cookie names, if it still lives; notes the use (at most
    once a minute, and only for requests the person made)."""
    db = get_db()
    now = process_engine().clock.now()
    found = find_login(db, secret)
    if found is None:
        return None
    login, user = found
    if not is_live(login, now, lifetimes()):
        end_login(db, secret)  # expired: its row goes
        commit()
        return None
    if not user.active:
        return None
    if _by_the_person() and note_use(db, login, now):
        commit()
    return AppUser(user, secret)


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


def own_secret() -> str:
    """The secret of the login this request was made with (logged-in requests only)."""
    return cast(AppUser, current_user._get_current_object()).secret


def own_login(user: User) -> str | None:
    """The secret of this request's login when it is a login of `user`, else None."""
    if current_user.is_authenticated and acting_user().id == user.id:
        return own_secret()
    return None


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
    secret = start_login(get_db(), user, process_engine().clock.now(), lifetimes())
    commit()
    login_user(AppUser(user, secret))
    return redirect(_safe_next(target, user))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Log out (a POST with the CSRF token, so other sites cannot log people out): this login's
    row is deleted, so a copy of the cookie is worth nothing afterwards; the user's logins in
    other browsers go on."""
    if current_user.is_authenticated:
        end_login(get_db(), own_secret())
        commit()
    logout_user()
    session.clear()
    flash("You are logged out.")
    return redirect(url_for("auth.login"))
