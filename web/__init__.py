"""web: the Flask UI and REST API; thin, calls bpm_livechat."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask

if TYPE_CHECKING:
    from bpm_livechat.processes.engine.engine import ProcessEngine


def create_app(
    config: Mapping[str, Any] | None = None, *, processes: ProcessEngine | None = None
) -> Flask:
    """Build the web app; `config` may set DATABASE_URL, SECRET_KEY, TESTING, INSTANCE_PATH,
    SCRIPT_WORKERS... The process engine (and its script pool) is built here once, unless
    `processes` hands one in (tests share one across apps)."""
    from bpm_livechat.config import (
        DEFAULT_LOGIN_IDLE_MINUTES,
        DEFAULT_LOGIN_MAX_HOURS,
        database_url,
        instance_path,
    )

    settings = dict(config or {})
    folder = Path(settings.pop("INSTANCE_PATH", None) or instance_path())
    app = Flask(__name__, instance_path=str(folder.resolve()))
    app.config.from_mapping(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        LOGIN_MAX_FREE_FAILURES=3,
        LOGIN_MAX_DELAY_SECONDS=300,
        SESSIONS_PER_PAGE=25,
        LOGIN_IDLE_MINUTES=DEFAULT_LOGIN_IDLE_MINUTES,
        LOGIN_MAX_HOURS=DEFAULT_LOGIN_MAX_HOURS,
    )
    app.config.from_prefixed_env("BPM_LIVECHAT_WEB")
    app.config.update(settings)
    app.config["DATABASE_URL"] = database_url(app.config.get("DATABASE_URL"))

    from . import auth, db, engine, errors, ops, security

    app.url_map.converters["id"] = _id_converter()
    security.init_app(app)
    db.init_app(app)
    engine.init_app(app, processes)
    ops.init_app(app)  # request ids, request logs, metrics, /livez /readyz /metrics
    auth.init_app(app)
    errors.init_app(app)
    _register_blueprints(app)

    from web.api import init_api

    init_api(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from web import filters, tokens
    from web.sessions import list_view as sessions_list
    from web.sessions import page as session_page
    from web.sessions import processes

    filters.init_app(app)
    from web import live

    live.init_app(app)  # GET /live/stream and the hub that feeds it
    app.register_blueprint(sessions_list.bp)
    app.register_blueprint(session_page.bp)
    app.register_blueprint(processes.bp)
    from web import presence
    from web.sessions import console

    presence.init_app(app)  # the top bar's presence, and activity noted on every page
    app.register_blueprint(console.bp)
    app.register_blueprint(tokens.bp)
    from web import apps
    from web.sessions import items as apps_session

    app.register_blueprint(apps.bp)
    apps_session.init_app(app)  # the session page's items card and its routes
    from web.sessions import composer

    composer.init_app(app)  # the session page's reply box and quick replies
    from web.admin import livechats as admin_livechats
    from web.admin import params as admin_params
    from web.admin import users as admin_users

    app.register_blueprint(admin_params.bp)
    app.register_blueprint(admin_livechats.bp)
    app.register_blueprint(admin_users.bp)
    from web.admin import webhooks as admin_webhooks

    app.register_blueprint(admin_webhooks.bp)
    from web.admin import quick_replies as admin_quick_replies
    from web.admin import routing as admin_routing

    app.register_blueprint(admin_quick_replies.bp)
    app.register_blueprint(admin_routing.bp)
    from web.admin import processes as admin_processes
    from web.admin import script_bench

    app.register_blueprint(admin_processes.bp)
    app.register_blueprint(script_bench.bp)
    from web.admin import decisions as admin_decisions

    app.register_blueprint(admin_decisions.bp)
    from web import supervision

    app.register_blueprint(supervision.bp)
    from web import instance_page

    app.register_blueprint(instance_page.bp)


def _id_converter() -> type:
    """`<id:name>`: a positive 64-bit integer, so huge numbers in URLs are a 404, not a crash."""
    from werkzeug.routing import IntegerConverter, Map

    class IdConverter(IntegerConverter):
        def __init__(self, url_map: Map) -> None:
            super().__init__(url_map, min=1, max=2**63 - 1)

    return IdConverter
