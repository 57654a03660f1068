"""Template helpers: list URLs that keep the current query, dates, initials."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, url_for

from bpm_livechat.params.types import ParamType, format_value
from web.auth import home_url


def list_url(args: dict[str, str], **changes: Any) -> str:
    """The sessions list URL with the current arguments, some changed (None or "" drops one)."""
    merged = {**args, **{k.replace("__", "."): v for k, v in changes.items()}}
    kept = {k: v for k, v in merged.items() if v not in (None, "")}
    return url_for("sessions.list_sessions", **kept)


def sort_url(args: dict[str, str], key: str) -> str:
    """Sort by `key`; clicking the current sort column again reverses it (page back to 1)."""
    current = args.get("sort", "-created_at")
    new = f"-{key}" if current == key else key
    return list_url(args, sort=new, page=None)


def sort_state(args: dict[str, str], key: str) -> str:
    """The aria-sort value of a column header: ascending, descending or none."""
    current = args.get("sort", "-created_at")
    if current == key:
        return "ascending"
    return "descending" if current == f"-{key}" else "none"


def when(value: datetime | None) -> str:
    """A timestamp as the product shows it: "2026-11-24 10:30 UTC"."""
    return format_value(ParamType.DATETIME, value)


def init_app(app: Flask) -> None:
    """Register the helpers with Jinja."""
    app.jinja_env.globals.update(
        list_url=list_url,
        sort_url=sort_url,
        sort_state=sort_state,
        has_endpoint=lambda name: name in app.view_functions,
        home_url=home_url,
    )
    app.jinja_env.filters["when"] = when
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
