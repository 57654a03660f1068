"""Gunicorn settings for bpm_livechat (README, Production); gunicorn reads this file from the
directory it starts in, and command-line options override it.

    gunicorn 'web:create_app()'

Every setting comes from the environment, with production defaults:

    BPM_LIVECHAT_BIND             127.0.0.1:8000   address to listen on
    BPM_LIVECHAT_WORKERS          2                worker processes (WEB_CONCURRENCY works too);
                                                   set to the final count (`-w` included) for the
                                                   workers, whose sandbox pools share the cores by it
    BPM_LIVECHAT_THREADS          256              request threads per worker (gthread; see README)
    BPM_LIVECHAT_TIMEOUT          60               seconds a silent worker lives before it is killed
    BPM_LIVECHAT_GRACEFUL_TIMEOUT 30               seconds in-flight requests get on SIGTERM/HUP
    BPM_LIVECHAT_KEEPALIVE        5                seconds an idle keep-alive connection stays open
    BPM_LIVECHAT_LOG_FORMAT       json             json (one object per line) or text
    BPM_LIVECHAT_LOG_LEVEL        INFO
    PROMETHEUS_MULTIPROC_DIR      (a fresh temporary folder)  where the workers' metrics meet
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from typing import Any

from web.logs import logging_config


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


bind = [_env("BPM_LIVECHAT_BIND", "127.0.0.1:8000")]
workers = int(os.environ.get("BPM_LIVECHAT_WORKERS") or _env("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(_env("BPM_LIVECHAT_THREADS", "256"))
timeout = int(_env("BPM_LIVECHAT_TIMEOUT", "60"))
graceful_timeout = int(_env("BPM_LIVECHAT_GRACEFUL_TIMEOUT", "30"))
keepalive = int(_env("BPM_LIVECHAT_KEEPALIVE", "5"))
# Gunicorn's control socket lives at one path per user: several servers on one machine (or a
# benchmark beside the service) would take it from each other.
control_socket_disable = True
# The app logs one record per request (with its id, user and latency): gunicorn's access log
# would repeat it.
accesslog = None
logconfig_dict = logging_config(
    _env("BPM_LIVECHAT_LOG_LEVEL", "INFO").upper(),
    json_lines=_env("BPM_LIVECHAT_LOG_FORMAT", "json") == "json",
)
# Several workers answer /metrics in turn: their counters meet in files (prometheus_client's
# multiprocess mode), in a folder made for this server unless one is given.
_OWN_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bpm-livechat-metrics-")


def on_starting(server: Any) -> None:
    """Follow `--log-level` when BPM_LIVECHAT_LOG_LEVEL is not set (benchmarks start gunicorn
    with `--log-level warning`: no line per request); start from empty metric files; tell the
    workers how many of them there are (the default sandbox pool size divides the cores by it,
    see `bpm_livechat.config.default_script_workers`)."""
    os.environ["BPM_LIVECHAT_WORKERS"] = str(server.cfg.workers)
    if not os.environ.get("BPM_LIVECHAT_LOG_LEVEL"):
        level = str(server.cfg.loglevel).upper()
        for name in ("", "gunicorn.error"):
            logging.getLogger(name).setLevel(level)
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith(".db"):
            os.remove(os.path.join(folder, name))


def post_worker_init(worker: Any) -> None:
    """The app is loaded: say so (gunicorn logs only when a worker begins booting), and freeze
    what the worker holds, so that its exit after SIGTERM skips collecting it (seconds
    otherwise; see `bpm_livechat.heap`)."""
    from bpm_livechat.heap import freeze_startup_heap

    freeze_startup_heap()
    worker.log.info("Worker ready (pid: %s)", worker.pid)


def child_exit(server: Any, worker: Any) -> None:
    """A worker that exited (or was killed) no longer counts in the live gauges."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    """Remove the metrics folder this server made."""
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
