"""`bpm-livechat decision ...`: deploy DMN decision tables, list them, export a version, try one."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bpm_livechat.desk.users import get_user
from bpm_livechat.errors import BpmLivechatError
from bpm_livechat.processes.bpmn.xml import MAX_BPMN_BYTES
from bpm_livechat.processes.decisions.bench import try_decision
from bpm_livechat.processes.decisions.store import (
    DecisionRejected,
    decision_summary,
    deploy_decisions,
    get_decision,
    get_decision_version,
    latest_decision_version,
    list_decisions,
    set_version_active,
)

from .common import cli_state, dry_transaction, emit, fail, handles_errors, json_option, transaction

as_option = click.option("--as", "as_user", default="admin", show_default=True, help="Acting user.")


@click.group()
def decision() -> None:
    """Deployed DMN decision tables (what business rule tasks evaluate)."""


@decision.command("deploy")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@as_option
@json_option
@handles_errors
def deploy_(file: Path, as_user: str, as_json: bool) -> None:
    """Validate and deploy a DMN file (a new version per decision when the content changed)."""
    with file.open("rb") as handle:
        data = handle.read(MAX_BPMN_BYTES + 1)
    try:
        with transaction() as db:
            scripts = cli_state().processes.scripts
            result = deploy_decisions(db, scripts, data, get_user(db, as_user))
    except DecisionRejected as exc:
        if not as_json:
            for p in exc.problems:
                click.echo(f"{p.where()}: {p.message}")
        fail(exc.message, {"errors": [p.to_dict() for p in exc.problems]})
    out = [
        {"id": d.id, "name": d.name, "version": d.version, "hit_policy": d.hit_policy,
         "created": d.created}
        for d in result.decisions
    ]  # fmt: skip

    def text() -> str:
        return "\n".join(
            f"{d['id']} v{d['version']} {d['hit_policy']}{'' if d['created'] else ' (unchanged)'}"
            for d in out
        )

    emit({"decisions": out}, as_json, text)


@decision.command("list")
@json_option
@handles_errors
def list_(as_json: bool) -> None:
    """List deployed decisions with their latest version and hit policy."""
    with transaction() as db:
        items = [decision_summary(db, d) for d in list_decisions(db)]
    for item in items:
        if not as_json:
            item.pop("versions")

    def text() -> str:
        return "\n".join(
            f"{i['id']:<30} v{i['latest_version']} {i['hit_policy']:<8} {i['name']}" for i in items
        )

    emit({"decisions": items}, as_json, text)


@decision.command("deactivate")
@click.argument("decision_id")
@click.option("--version", "number", type=int, required=True)
@as_option
@handles_errors
def deactivate(decision_id: str, number: int, as_user: str) -> None:
    """Stop business rule tasks from using a version (unpinned ones fall back to the previous)."""
    with transaction() as db:
        found = get_decision(db, decision_id)
        set_version_active(db, found, number, False, get_user(db, as_user))
    click.echo(f"{decision_id} v{number} is inactive")


@decision.command("activate")
@click.argument("decision_id")
@click.option("--version", "number", type=int, required=True)
@as_option
@handles_errors
def activate(decision_id: str, number: int, as_user: str) -> None:
    """Let business rule tasks use a version again."""
    with transaction() as db:
        found = get_decision(db, decision_id)
        set_version_active(db, found, number, True, get_user(db, as_user))
    click.echo(f"{decision_id} v{number} is active")


@decision.command("export")
@click.argument("decision_id")
@click.option("--version", "number", type=int, default=None, help="Default: the latest.")
@handles_errors
def export(decision_id: str, number: int | None) -> None:
    """Print the DMN file of a decision version, as deployed."""
    with transaction() as db:
        found = get_decision(db, decision_id)
        version = (
            get_decision_version(db, found, number)
            if number is not None
            else latest_decision_version(db, found, active_only=False)
        )
        assert version is not None  # a decision exists only with a version
        data = version.dmn
    sys.stdout.buffer.write(data)


@decision.command("try")
@click.argument("decision_id")
@click.option("--session", "session_id", type=int, required=True, help="Session to read.")
@click.option("--data", "raw", default="{}", show_default=True, help="Task data as JSON.")
@click.option("--version", "number", type=int, default=None, help="Default: the latest.")
@as_option
@json_option
@handles_errors
def try_(
    decision_id: str, session_id: int, raw: str, number: int | None, as_user: str, as_json: bool
) -> None:
    """Evaluate a decision for a session and task data; nothing is stored."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        fail(f"--data is not JSON: {exc}")
    if not isinstance(data, dict):
        fail("--data must be a JSON object (task data by variable name)")
    try:
        with dry_transaction() as db:
            runner = cli_state().processes.scripts
            tried = try_decision(db, runner, decision_id, session_id, get_user(db, as_user),
                                 data, number)  # fmt: skip
    except BpmLivechatError as exc:
        fail(exc.message)
    out = {
        "decision": tried.decision_id,
        "version": tried.version,
        "session_id": tried.session_id,
        "matched": [
            {"rule": r.number, "id": r.id, "description": r.description, "outputs": r.outputs}
            for r in tried.matched
        ],
        "result": tried.result,
        "required": tried.required,
        "failure": tried.failure,
    }
    if tried.failure is not None:
        fail(tried.failure, out)

    def text() -> str:
        rules = ", ".join(str(r.number) for r in tried.matched) or "none"
        return f"{decision_id} v{tried.version}: rules matched: {rules}\nresult: {json.dumps(tried.result)}"

    emit(out, as_json, text)
