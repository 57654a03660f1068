"""Set-up commands: `init` (schema) and `demo` (demo data)."""

from __future__ import annotations

import click

from bpm_livechat.demo.load import load_demo
from bpm_livechat.persistence.engines import upgrade

from .common import CliState, emit, handles_errors, json_option, transaction


@click.command()
@json_option
@click.pass_obj
@handles_errors
def init(state: CliState, as_json: bool) -> None:
    """Create or upgrade the database schema to the latest migration."""
    upgrade(state.engine)
    emit(
        {"ok": True, "database": state.engine.url.render_as_string(hide_password=True)},
        as_json,
        f"database ready: {state.engine.url.render_as_string(hide_password=True)}",
    )


@click.command()
@json_option
@click.pass_obj
@handles_errors
def demo(state: CliState, as_json: bool) -> None:
    """Load the demo data (idempotent) and print the demo logins."""
    upgrade(state.engine)
    with transaction() as db:
        summary = load_demo(db, state.processes.scripts)
    data = {
        "users": [{"username": u, "role": r, "password": p} for u, r, p in summary.users],
        "live_chats": summary.live_chats,
        "sessions": summary.sessions,
        "parameters": summary.parameters,
        "processes": list(summary.processes),
    }

    def text() -> str:
        lines = [
            f"demo ready: {summary.live_chats} live chats, {summary.sessions} sessions, "
            f"{summary.parameters} custom parameters, processes: {', '.join(summary.processes)}",
            "demo logins (username / password):",
        ]
        lines += [f"  {u:<11} {p:<22} ({r})" for u, r, p in summary.users]
        return "\n".join(lines)

    emit(data, as_json, text)
