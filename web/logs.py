"""Structured logs: one JSON object per line, carrying the request's id, user, route and timing.

`JsonFormatter` is what gunicorn.conf.py installs on the root logger (BPM_LIVECHAT_LOG_FORMAT=json,
the default there). A record made while serving a request gets its request id and, once the
request knows them, its user; a traceback travels inside its record as one field, so a failed
request is one line.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from flask import g, has_request_context, request

# Attributes every LogRecord has; the rest were passed in `extra=` and are logged as fields.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}


def request_fields() -> dict[str, Any]:
    """The current request's id, method, path and user (when known), or nothing outside one."""
    if not has_request_context():
        return {}
    fields: dict[str, Any] = {"request_id": g.get("request_id"), "method": request.method}
    fields["path"] = request.path
    user = g.get("log_user")
    if user:
        fields["user"] = user
    return fields


class JsonFormatter(logging.Formatter):
    """A record as one JSON line: time, level, logger, message, request fields, extras, error."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON (a traceback, if any, as the `error` field of the same line)."""
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(request_fields())
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["error"] = record.exc_text
        return json.dumps(entry, default=str, ensure_ascii=False)


def logging_config(level: str = "INFO", json_lines: bool = True) -> dict[str, Any]:
    """A `logging.config.dictConfig` for a web or job worker: JSON lines (or plain text) to
    stderr, gunicorn's loggers included, its access log off (the app logs each request)."""
    formatter = (
        {"()": "web.logs.JsonFormatter"}
        if json_lines
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "main",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
            # SQLAlchemy reports each connection it drops during an outage with a traceback;
            # the request that met the outage already logged it once.
            "sqlalchemy.pool": {"level": "CRITICAL"},
            "alembic": {"level": "WARNING"},
        },
    }
