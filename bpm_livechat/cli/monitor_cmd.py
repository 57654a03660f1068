"""`bpm-livechat process instances` and `instance steps`: a process's instances, filtered, and
what one instance did (its steps and parameter changes)."""

from __future__ import annotations

import click

from bpm_livechat.desk.users import get_user
from bpm_livechat.processes.deployments import get_process
from bpm_livechat.processes.instances import get_instance
from bpm_livechat.processes.monitoring import (
    MAX_PER_PAGE,
    PER_PAGE,
    STATUSES,
    InstanceFilter,
    instance_changes,
    process_instances,
)
from bpm_livechat.processes.step_log import instance_steps

from .common import emit, handles_errors, json_option, transaction


@click.command("instances")
@click.argument("process_id")
@click.option("--status", type=click.Choice(STATUSES), help="Only instances in this status.")
@click.option("--version", "number", type=click.IntRange(1, 2**31 - 1), help="Only this version.")
@click.option(
    "--session",
    "session_id",
    type=click.IntRange(1, 2**63 - 1),
    help="Only this session's instances.",
)
@click.option("--page", type=click.IntRange(1, 1_000_000), default=1, show_default=True)
@click.option(
    "--per-page", type=click.IntRange(1, MAX_PER_PAGE), default=PER_PAGE, show_default=True
)
@click.option("--as", "as_user", default="admin", show_default=True, help="The user looking.")
@json_option
@handles_errors
def process_instances_cmd(
    process_id: str,
    status: str | None,
    number: int | None,
    session_id: int | None,
    page: int,
    per_page: int,
    as_user: str,
    as_json: bool,
) -> None:
    """A process's instances (in the live chats the user works), newest first."""
    wanted = InstanceFilter(status, number, session_id, page, per_page)
    with transaction() as db:
        process = get_process(db, process_id)
        found = process_instances(db, get_user(db, as_user), process, wanted)
        items = [row.to_dict() for row in found.items]
        data = {
            "process": process.bpmn_id,
            "instances": items,
            "page": {"total": found.total, "page": page, "per_page": per_page},
        }

    def text() -> str:
        lines = [
            f"{i['id']:>6} {i['status']:<10} v{i['version']:<3} session {i['session_id']:<6} "
            f"{', '.join(i['current']) or '-'}"
            for i in items
        ]
        shown = f"{len(items)} of {found.total}" if found.total > len(items) else str(found.total)
        return "\n".join([*lines, f"{shown} instance(s), page {page} of {found.pages}"])

    emit(data, as_json, text)


@click.command("steps")
@click.argument("instance_id", type=click.IntRange(1, 2**63 - 1))
@click.option("--as", "as_user", default="admin", show_default=True, help="The user looking.")
@json_option
@handles_errors
def instance_steps_cmd(instance_id: int, as_user: str, as_json: bool) -> None:
    """An instance's steps (who or which job, when, the elements run) and parameter changes."""
    with transaction() as db:
        instance = get_instance(db, instance_id, get_user(db, as_user))
        steps = [step.to_dict() for step in instance_steps(db, instance.id)]
        changes = [
            {
                "key": c.key,
                "old": c.old_value,
                "new": c.new_value,
                "task": c.task_name or c.task_id,
                "changed_at": c.changed_at,
            }
            for c in instance_changes(db, instance)
        ]
    data = {"instance_id": instance_id, "steps": steps, "changes": changes}

    def text() -> str:
        lines = []
        for step in steps:
            ran = ", ".join(e["id"] for e in step["elements"]) or "-"
            job = f" (job {step['job_id']})" if step["job_id"] else ""
            lines.append(
                f"{step['at']} {step['kind']:<9} by {step['by']}{job}: {ran} -> {step['status']}"
            )
        lines += [f"  {c['key']}: {c['old']!r} -> {c['new']!r}" for c in changes]
        return "\n".join(lines) or "no steps recorded"

    emit(data, as_json, text)
