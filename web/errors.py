"""The one place where domain errors and HTTP errors become error pages."""

from __future__ import annotations

import logging
import math

from flask import Flask, current_app, make_response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

from bpm_livechat.errors import (
    AccessDeniedError,
    BpmLivechatError,
    CapacityError,
    ConflictError,
    NotFoundError,
    OperatorOfflineError,
    SessionClosedError,
    ValidationError,
)
from web.api.errors import error_response, is_api_request
from web.auth import acting_user, home_url

log = logging.getLogger(__name__)

_TITLES = {
    400: "Bad request",
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed here",
    409: "Someone else was quicker",
    413: "Too large",
    422: "Please check your input",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Back in a moment",
}


def _way_back() -> tuple[str, str]:
    """A link the user may follow: their start page (apps for app users), or the login."""
    if not current_user.is_authenticated:
        return url_for("auth.login"), "Log in"
    target = home_url(acting_user())
    labels = {url_for("apps.index"): "Back to the apps", url_for("tokens.index"): "Your API tokens"}
    return target, labels.get(target, "Back to the sessions")


def error_page(status: int, message: str, title: str | None = None) -> ResponseReturnValue:
    """An error page with a title for the status, a plain-words message and a way back."""
    title = title or _TITLES.get(status, "Error")
    try:
        back_url, back_label = _way_back()
        page = render_template(
            "error.html",
            status=status,
            title=title,
            message=message,
            back_url=back_url,
            back_label=back_label,
        )
    except (DBAPIError, PoolTimeoutError) as exc:  # the page needs the user: the database is down
        if not is_outage(exc):
            raise
        return _database(exc)
    return page, status


def _domain(exc: BpmLivechatError) -> ResponseReturnValue:
    if isinstance(exc, CapacityError):
        response = make_response(
            error_page(
                503, "Scripts are busy right now: nothing was done. Please try again shortly.",
                "Busy, try again shortly",
            )
        )  # fmt: skip
        response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        return response
    if isinstance(exc, NotFoundError):
        return error_page(404, f"The {exc.kind} you asked for does not exist.")
    if isinstance(exc, AccessDeniedError):
        return error_page(403, "You do not have access to this page.")
    if isinstance(exc, SessionClosedError):
        return error_page(
            409, f"{exc.message[:1].upper()}{exc.message[1:]}.", "This session is closed"
        )
    if isinstance(exc, OperatorOfflineError):
        return error_page(409, f"{exc.message}.", "You are Offline")
    if isinstance(exc, ConflictError):
        return error_page(409, f"{exc.message[:1].upper()}{exc.message[1:]}.")
    if isinstance(exc, ValidationError):
        return error_page(422, exc.message)
    return error_page(422, exc.message)


def _csrf(exc: CSRFError) -> ResponseReturnValue:
    return error_page(400, "The form expired or was not sent from this site. Reload and try again.")


def _http(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    return error_page(status, exc.description or _TITLES.get(status, "Error"))


def _unexpected(exc: Exception) -> ResponseReturnValue:
    if isinstance(exc, HTTPException):
        return _http(exc)
    current_app.logger.exception("unhandled error")
    return error_page(500, "An unexpected error happened. It has been logged.")


def is_outage(exc: BaseException) -> bool:
    """True for a database that cannot be reached or is too busy: worth a retry, not a bug."""
    if isinstance(exc, OperationalError | PoolTimeoutError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def _database(exc: DBAPIError | PoolTimeoutError) -> ResponseReturnValue:
    """503 with Retry-After, logged as one line; the page touches neither the database nor the
    logged-in user (whose loading is what failed)."""
    if not is_outage(exc):
        if is_api_request():
            log.exception("unexpected error in %s %s", request.method, request.path)
            return error_response(
                500, "internal_error", "unexpected server error; it has been logged"
            )
        return _unexpected(exc)
    cause = getattr(exc, "orig", None) or exc
    reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0][:200]
    log.warning("database unavailable: %s: %s", type(cause).__name__, reason)
    retry = str(current_app.config.get("RETRY_AFTER_SECONDS", 5))
    if is_api_request():
        response = error_response(503, "unavailable", "the database is busy; retry shortly")
        response.headers["Retry-After"] = retry
        return response
    again = request.full_path.rstrip("?") if request.method == "GET" else "/"
    # Straight from the Jinja environment: Flask's context processors would load the user.
    template = current_app.jinja_env.get_template("unavailable.html")
    page = template.render(retry_after=retry, path=again)
    return page, 503, {"Retry-After": retry}


def init_app(app: Flask) -> None:
    """Register the handlers: domain errors, CSRF failures, HTTP errors, the database being
    unavailable, and a last resort."""
    app.register_error_handler(DBAPIError, _database)
    app.register_error_handler(PoolTimeoutError, _database)
    app.register_error_handler(BpmLivechatError, _domain)
    app.register_error_handler(CSRFError, _csrf)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)
