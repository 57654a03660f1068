"""`bpm-livechat script check FILE` and `script run FILE --session ID --dry-run`: the script bench."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import click

from bpm_livechat.desk.users import get_user
from bpm_livechat.errors import ValidationError
from bpm_livechat.json_input import JsonTooDeepError, loads_bounded
from bpm_livechat.processes.script_bench import DryRun, check_script, dry_run

from .common import cli_state, dry_transaction, emit, handles_errors, json_option


def _source(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.UsageError(f"cannot read {path}: {exc}") from None


def _data(text: str) -> dict[str, object]:
    try:
        data = loads_bounded(text)
    except (json.JSONDecodeError, JsonTooDeepError) as exc:
        raise ValidationError(
            f"--data is not valid JSON: {exc}", {"data": "invalid JSON"}
        ) from None
    if not isinstance(data, dict):
        raise ValidationError("--data must be a JSON object", {"data": "not an object"})
    return data


@click.group()
def script() -> None:
    """Check scripts and dry-run them against a session (nothing is stored)."""


@script.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
def check_cmd(file: Path, as_json: bool) -> None:
    """List a script's compile and policy problems by line and column; exit 1 if any."""
    problems = check_script(cli_state().processes.scripts, _source(file))
    data = {"ok": not problems, "problems": [asdict(p) for p in problems]}
    lines = [f"{file}:{p.line}:{p.column}: {p.message}" for p in problems]
    emit(data, as_json, "\n".join(lines) or f"{file}: no problems")
    if problems:
        sys.exit(1)


def _text(result: DryRun) -> str:
    wall = "?" if result.duration_ms is None else f"{result.duration_ms:.1f}"
    cpu = "?" if result.cpu_ms is None else f"{result.cpu_ms:.1f}"
    lines = [f"dry run on session {result.session_id} ({wall} ms, CPU {cpu} ms)"]
    if result.failure is not None:
        where = f" at line {result.failure.line}" if result.failure.line else ""
        lines.append(f"failed ({result.failure.kind}){where}: {result.failure.message}")
    lines.append(f"data: {json.dumps(result.data, default=str, ensure_ascii=False)}")
    for change in result.changes:
        verdict = "ok" if change.valid else f"INVALID: {change.reason}"
        lines.append(f"  {change.key}: {change.old_text!r} -> {change.new_text!r} [{verdict}]")
    if result.priority is not None:
        p = result.priority
        verdict = "ok" if p.valid else f"INVALID: {p.reason}"
        lines.append(f"priority: {p.old_text} -> {p.new_text} [{verdict}]")
    lines.extend(f"reply: {text}" for text in result.replies)
    if result.log:
        lines.append("log:")
        lines.extend(f"  {line}" for line in result.log.rstrip("\n").split("\n"))
    return "\n".join(lines)


@script.command("run")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--session", "session_id", type=int, required=True, help="Session id.")
@click.option("--data", "data_json", default="{}", help="Sample task data as a JSON object.")
@click.option(
    "--dry-run",
    "dry_run_flag",
    is_flag=True,
    help="Required: show what would change, store nothing.",
)
@click.option("--as", "as_user", default="admin", show_default=True, help="Acting user.")
@json_option
@handles_errors
def run_cmd(
    file: Path, session_id: int, data_json: str, dry_run_flag: bool, as_user: str, as_json: bool
) -> None:
    """Run a script against a session with sample data; exit 1 if it fails or a change is invalid."""
    if not dry_run_flag:
        raise click.UsageError("only --dry-run is supported: scripts change sessions in processes")
    source, data = _source(file), _data(data_json)
    scripts = cli_state().processes.scripts
    with dry_transaction() as db:
        result = dry_run(db, scripts, source, session_id, get_user(db, as_user), data)
    emit({**asdict(result), "ok": result.ok}, as_json, lambda: _text(result))
    if not result.ok:
        sys.exit(1)
