"""Where the product keeps its data: the instance folder and the database URL."""

from __future__ import annotations

import os
from pathlib import Path

INSTANCE_ENV = "BPM_LIVECHAT_INSTANCE_PATH"
DATABASE_ENV = "BPM_LIVECHAT_DATABASE_URL"


def instance_path() -> Path:
    """The instance folder: $BPM_LIVECHAT_INSTANCE_PATH or ./instance."""
    return Path(os.environ.get(INSTANCE_ENV) or Path.cwd() / "instance").resolve()


def database_url(explicit: str | None = None) -> str:
    """The database URL: an explicit one, $BPM_LIVECHAT_DATABASE_URL, or the instance's SQLite file."""
    if explicit:
        return explicit
    from_env = os.environ.get(DATABASE_ENV)
    if from_env:
        return from_env
    folder = instance_path()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'bpm_livechat.sqlite3'}"


# How long a login lasts (web pages): it ends after this much inactivity, and in any case this
# long after the password was entered. The web app reads BPM_LIVECHAT_WEB_LOGIN_IDLE_MINUTES and
# BPM_LIVECHAT_WEB_LOGIN_MAX_HOURS (or LOGIN_IDLE_MINUTES / LOGIN_MAX_HOURS in its config).
DEFAULT_LOGIN_IDLE_MINUTES = 480
DEFAULT_LOGIN_MAX_HOURS = 24
