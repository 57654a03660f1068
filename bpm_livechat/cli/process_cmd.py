"""`bpm-livechat process|task|instance ...`: deploy BPMN, start processes, work tasks, retry failures."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import click
from sqlalchemy.orm import Session

from bpm_livechat.desk.livechats import get_live_chat
from bpm_livechat.desk.users import get_user
from bpm_livechat.errors import ValidationError
from bpm_livechat.json_input import JsonTooDeepError, loads_bounded
from bpm_livechat.processes.deployments import (
    BpmnFile,
    DeploymentRejected,
    bind,
    deactivate,
    deploy_files,
    get_process,
    list_processes,
    process_details,
    process_summary,
    unbind,
)
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.failures import StepFailure, run_or_record
from bpm_livechat.processes.instances import (
    complete_task,
    get_instance,
    session_instances,
    start_process,
)
from bpm_livechat.processes.library import ProcessInUseError
from bpm_livechat.processes.steps import StepOutcome
from bpm_livechat.processes.supervision import cancel_instance, failed_instances, retry_instance
from bpm_livechat.processes.tasks import my_tasks
from bpm_livechat.processes.views import failure_view, instance_view, step_view, task_view
from bpm_livechat.sessions.lifecycle import get_session

from .common import cli_state, emit, fail, handles_errors, json_option, transaction

MAX_BPMN_BYTES = 2 * 1024 * 1024
as_option = click.option("--as", "as_user", default="admin", show_default=True, help="Acting user.")


@click.group()
def process() -> None:
    """Deployed BPMN processes."""


@process.command("deploy")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--live-chat", "live_chats", multiple=True, help="Offer it in this live chat.")
@as_option
@json_option
@handles_errors
def deploy_(
    files: tuple[Path, ...], live_chats: tuple[str, ...], as_user: str, as_json: bool
) -> None:
    """Validate and deploy BPMN files as one deployment, all or nothing (a new version only
    when the content changed); their call activities may call each other's processes."""
    uploads = []
    for file in files:
        with file.open("rb") as handle:
            uploads.append(BpmnFile(file.name, handle.read(MAX_BPMN_BYTES + 1)))
    try:
        with transaction() as db:
            chats = [get_live_chat(db, name) for name in live_chats]
            scripts, user = cli_state().processes.scripts, get_user(db, as_user)
            result = deploy_files(db, scripts, uploads, user, chats)
    except DeploymentRejected as exc:
        if not as_json:
            for p in exc.problems:
                click.echo(f"{p.where()}: {p.message}")
        fail(exc.message, {"errors": [p.to_dict() for p in exc.problems]})
    data_out = {
        "processes": [{"id": p.id, "name": p.name, "version": p.version} for p in result.processes],
        "warnings": [w.to_dict() for w in result.warnings],
    }

    def text() -> str:
        lines = [
            f"{p.id} v{p.version}{'' if p.created else ' (unchanged)'}" for p in result.processes
        ]
        lines += [f"warning: {w.where()}: {w.message}" for w in result.warnings]
        return "\n".join(lines)

    emit(data_out, as_json, text)


@process.command("list")
@json_option
@handles_errors
def list_(as_json: bool) -> None:
    """List deployed processes."""
    with transaction() as db:
        items = [process_summary(db, p) for p in list_processes(db)]

    def text() -> str:
        return "\n".join(
            f"{i['id']:<30} v{i['latest_version']} {'active' if i['active'] else 'inactive':<8} {i['name']}"
            for i in items
        )

    emit({"processes": items}, as_json, text)


@process.command("show")
@click.argument("process_id")
@json_option
@handles_errors
def show(process_id: str, as_json: bool) -> None:
    """Show a process with its versions and live chats."""
    with transaction() as db:
        data = process_details(db, get_process(db, process_id))
    emit(data, as_json, None)


@process.command("deactivate")
@click.argument("process_id")
@click.option("--version", "number", type=int, help="Only this version (default: the process).")
@as_option
@json_option
@handles_errors
def deactivate_(process_id: str, number: int | None, as_user: str, as_json: bool) -> None:
    """Stop offering a process or one version; running instances go on."""
    try:
        with transaction() as db:
            target = get_process(db, process_id)
            deactivate(db, target, get_user(db, as_user), number)
            data = process_details(db, target)
    except ProcessInUseError as exc:
        fail(exc.message, {"callers": [asdict(c) for c in exc.callers]})
    emit(data, as_json, f"{process_id} deactivated" + (f" (version {number})" if number else ""))


@process.command("bind")
@click.argument("process_id")
@click.option("--live-chat", required=True)
@click.option("--remove", is_flag=True, help="Unbind instead.")
@as_option
@json_option
@handles_errors
def bind_(process_id: str, live_chat: str, remove: bool, as_user: str, as_json: bool) -> None:
    """Offer a process in a live chat's sessions (or stop offering it, with --remove)."""
    with transaction() as db:
        target = get_process(db, process_id)
        action = unbind if remove else bind
        action(db, target, get_live_chat(db, live_chat), get_user(db, as_user))
        data = process_summary(db, target)
        names = ", ".join(chat.name for chat in target.live_chats)
    emit(data, as_json, f"{process_id}: {names or 'no live chat'}")


def _form(text: str | None) -> dict[str, object]:
    if not text:
        return {}
    try:
        value = loads_bounded(text)
    except (json.JSONDecodeError, JsonTooDeepError) as exc:
        raise ValidationError(
            f"--form is not valid JSON: {exc.msg}", {"form": "invalid JSON"}
        ) from None
    if not isinstance(value, dict):
        raise ValidationError("--form must be a JSON object", {"form": "not an object"})
    return value


def _run(step: Callable[[Session, ProcessEngine], StepOutcome], as_json: bool) -> None:
    """Run a step in one transaction; a failure is recorded instead, printed, and exits 1."""
    engine = cli_state().processes
    with transaction() as db:
        result = run_or_record(db, lambda: step(db, engine))
    if isinstance(result, StepFailure):
        cause = result.failed.cause
        line = f", line {cause.line}" if cause.line else ""
        named = cause.element_name and cause.element_name != cause.element_id
        name = f" {cause.element_name!r}" if named else ""
        summary = f"instance {result.instance.id}: failed at {cause.element_id or '?'}{name}{line}"
        if not as_json:
            click.echo(summary)
        fail(result.message, failure_view(result))
    data = step_view(result)

    def text() -> str:
        lines = [f"instance {data['instance_id']}: {data['status']}"]
        lines += [f"  {k}: {c['old']!r} -> {c['new']!r}" for k, c in data["changes"].items()]
        lines += [f"  task {t['id']}: {t['name']}" for t in data["tasks"]]
        return "\n".join(lines)

    emit(data, as_json, text)


@process.command("start")
@click.argument("process_id")
@click.option("--session", "session_id", type=int, required=True)
@click.option("--as", "as_user", required=True, help="The user starting the process.")
@click.option("--form", "form", help="Start form values as a JSON object.")
@json_option
@handles_errors
def start(process_id: str, session_id: int, as_user: str, form: str | None, as_json: bool) -> None:
    """Start a process from a session with its start form."""
    values = _form(form)

    def step(db: Session, engine: ProcessEngine) -> StepOutcome:
        user = get_user(db, as_user)
        session = get_session(db, session_id, user)
        return start_process(db, engine, session, process_id, values, user)

    _run(step, as_json)


@click.group()
def task() -> None:
    """User tasks of process instances."""


@task.command("list")
@click.option("--as", "as_user", required=True, help="Whose tasks.")
@json_option
@handles_errors
def task_list(as_user: str, as_json: bool) -> None:
    """The ready tasks assigned or offered to a user."""
    with transaction() as db:
        items = [task_view(t) for t in my_tasks(db, get_user(db, as_user))]

    def text() -> str:
        return "\n".join(f"{i['instance_id']:>6} {i['id']} {i['name']}" for i in items)

    emit({"tasks": items}, as_json, text)


@task.command("complete")
@click.argument("instance_id", type=int)
@click.argument("task_id")
@click.option("--as", "as_user", required=True, help="The user completing the task.")
@click.option("--form", "form", help="Task form values as a JSON object.")
@json_option
@handles_errors
def task_complete(
    instance_id: int, task_id: str, as_user: str, form: str | None, as_json: bool
) -> None:
    """Complete a user task with its form."""
    values = _form(form)

    def step(db: Session, engine: ProcessEngine) -> StepOutcome:
        user = get_user(db, as_user)
        instance = get_instance(db, instance_id, user)
        return complete_task(db, engine, instance, task_id, values, user)

    _run(step, as_json)


@click.group()
def instance() -> None:
    """Process instances."""


@instance.command("list")
@click.option("--session", "session_id", type=int, help="The instances of this session.")
@click.option("--failed", is_flag=True, help="Failed instances the user supervises.")
@click.option("--as", "as_user", required=True, help="The user looking.")
@json_option
@handles_errors
def instance_list(session_id: int | None, failed: bool, as_user: str, as_json: bool) -> None:
    """List a session's instances, or the failed ones a supervisor can retry."""
    if (session_id is None) == (not failed):
        raise click.UsageError("give exactly one of --session ID or --failed")
    with transaction() as db:
        user = get_user(db, as_user)
        if session_id is not None:
            found = session_instances(db, get_session(db, session_id, user).id)
        else:
            found = failed_instances(db, user)
        items = [instance_view(i) for i in found]

    def text() -> str:
        return "\n".join(
            f"{i['instance_id']:>6} {i['status']:<10} {i['process']} v{i['version']}" for i in items
        )

    emit({"instances": items}, as_json, text)


@instance.command("show")
@click.argument("instance_id", type=int)
@json_option
@handles_errors
def instance_show(instance_id: int, as_json: bool) -> None:
    """Show an instance: status, ready tasks, last failure."""
    with transaction() as db:
        data = instance_view(get_instance(db, instance_id))
    emit(data, as_json, None)


@instance.command("retry")
@click.argument("instance_id", type=int)
@click.option("--as", "as_user", required=True, help="A supervisor of the live chat, or an admin.")
@json_option
@handles_errors
def instance_retry(instance_id: int, as_user: str, as_json: bool) -> None:
    """Run a failed step again."""

    def step(db: Session, engine: ProcessEngine) -> StepOutcome:
        return retry_instance(db, engine, get_instance(db, instance_id), get_user(db, as_user))

    _run(step, as_json)


@instance.command("cancel")
@click.argument("instance_id", type=int)
@click.option("--as", "as_user", required=True, help="A supervisor of the live chat, or an admin.")
@json_option
@handles_errors
def instance_cancel(instance_id: int, as_user: str, as_json: bool) -> None:
    """Cancel an instance and its ready tasks."""
    with transaction() as db:
        instance = get_instance(db, instance_id)
        done = cancel_instance(db, cli_state().processes, instance, get_user(db, as_user))
        data = instance_view(done)
    emit(data, as_json, f"instance {instance_id}: {data['status']}")
