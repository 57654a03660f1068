"""What an operator of the service needs: /livez, /readyz, /metrics, a request id on every
request, and one log record per request with its user, status and latency."""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid

from flask import Blueprint, Flask, Response, current_app, g, request
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.processes.figures import Figures, read_figures
from script_runtime import ScriptPool
from web.db import session_maker
from web.engine import process_engine
from web.metrics import Metrics

REQUEST_ID_HEADER = "X-Request-Id"
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_METRICS = "bpm_livechat.metrics"
_READINESS = "bpm_livechat.readiness"
PROBE_SECONDS = 2.0  # how long /readyz waits for the database and for a sandbox worker
log = logging.getLogger("bpm_livechat.requests")
bp = Blueprint("ops", __name__)


def init_app(app: Flask) -> None:
    """Request ids, request logs and metrics for every request; the probe and metrics routes."""
    factory = app.extensions["bpm_livechat.session_factory"]
    app.extensions[_METRICS] = Metrics(lambda: _figures(factory))
    app.extensions[_READINESS] = SandboxProbe()
    app.before_request(_begin)
    app.after_request(_finish)
    app.register_blueprint(bp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)


def _begin() -> None:
    g.started = time.perf_counter()
    sent = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = sent if _CLIENT_ID.fullmatch(sent) else uuid.uuid4().hex


def _finish(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = g.get("request_id") or uuid.uuid4().hex
    if response.status_code == 503 and "Retry-After" not in response.headers:
        response.headers["Retry-After"] = str(current_app.config.get("RETRY_AFTER_SECONDS", 5))
    seconds = time.perf_counter() - g.get("started", time.perf_counter())
    user = _user_name()
    if user:
        g.log_user = user
    metrics: Metrics = current_app.extensions[_METRICS]
    metrics.observe_request(request.method, request.endpoint, response.status_code, seconds)
    pool = _pool()
    if pool is not None:
        metrics.observe_pool(pool.stats)
    if request.endpoint not in ("ops.livez", "ops.readyz", "ops.metrics"):
        log.info(
            "%s %s %s %.1f ms",
            request.method,
            request.path,
            response.status_code,
            seconds * 1000,
            extra={"status": response.status_code, "latency_ms": round(seconds * 1000, 1)},
        )
    return response


def _user_name() -> str | None:
    """The user the request acted as, when it was loaded anyway (never a query of its own)."""
    named = g.get("log_user")
    if named:
        return str(named)
    loaded = g.get("_login_user")  # Flask-Login's per-request cache
    user = getattr(loaded, "user", None)
    return getattr(user, "username", None)


def _pool() -> ScriptPool | None:
    runner = process_engine().scripts
    return runner if isinstance(runner, ScriptPool) else None


def _figures(factory: sessionmaker[Session]) -> Figures | None:
    from datetime import UTC, datetime

    try:
        with factory() as db:
            return read_figures(db, datetime.now(UTC))
    except Exception as exc:  # the database is down: the scrape says so instead of failing
        logging.getLogger(__name__).warning(
            "metrics: database figures unavailable: %s", _first_line(exc)
        )
        return None


@bp.get("/livez")
def livez() -> Response:
    """The process is alive and serving (no database, no sandbox: restart only on a hang)."""
    return Response("ok\n", 200, mimetype="text/plain")


@bp.get("/readyz")
def readyz() -> Response:
    """Ready for traffic: the database answers and a sandbox worker runs a script."""
    problems = []
    try:
        with session_maker()() as db:
            db.execute(text("SELECT 1"))
    except Exception as exc:  # any failure: not ready, and say why in one line
        problems.append(f"database: {_first_line(exc)}")
    probe: SandboxProbe = current_app.extensions[_READINESS]
    pool = _pool()
    if pool is not None:
        trouble = probe.check(pool)
        if trouble:
            problems.append(f"sandbox: {trouble}")
    if problems:
        log.warning("not ready: %s", "; ".join(problems))
        body = "not ready\n" + "".join(f"{p}\n" for p in problems)
        return Response(body, 503, mimetype="text/plain")
    return Response("ready\n", 200, mimetype="text/plain")


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics in the text exposition format."""
    exposition: Metrics = current_app.extensions[_METRICS]
    return Response(exposition.exposition(), 200, mimetype="text/plain; version=0.0.4")


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0][:200]


class SandboxProbe:
    """Runs `1 + 1` in the pool, waiting at most PROBE_SECONDS; one probe in flight at a time, so
    a stuck pool does not collect probe threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: threading.Thread | None = None

    def check(self, pool: ScriptPool) -> str | None:
        """None when a worker answered in time, else what went wrong."""
        with self._lock:
            if self._running is not None and self._running.is_alive():
                return "the previous probe is still waiting for a worker"
            outcome: list[str | None] = []
            thread = threading.Thread(
                target=self._run, args=(pool, outcome), name="readyz-sandbox", daemon=True
            )
            self._running = thread
            thread.start()
        thread.join(PROBE_SECONDS)
        if thread.is_alive():
            return f"no worker answered within {PROBE_SECONDS:g} s"
        return outcome[0] if outcome else "the probe ended without an answer"

    @staticmethod
    def _run(pool: ScriptPool, outcome: list[str | None]) -> None:
        try:
            answer = pool.evaluate("1 + 1", data={})
        except Exception as exc:  # a pool that cannot run scripts: not ready
            outcome.append(_first_line(exc))
            return
        outcome.append(None if answer == 2 else f"1 + 1 gave {answer!r}")
