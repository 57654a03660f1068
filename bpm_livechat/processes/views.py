"""Plain-data views of process instances, steps and tasks for the CLI, the API and templates."""

from __future__ import annotations

from typing import Any

from bpm_livechat.models import ProcessInstance, UserTask
from bpm_livechat.processes.failures import StepFailure
from bpm_livechat.processes.steps import StepOutcome


def task_view(task: UserTask) -> dict[str, Any]:
    """A user task as a task list and a task form need it."""
    return {
        "id": task.task_id,
        "instance_id": task.instance_id,
        "element_id": task.element_id,
        "name": task.name,
        "state": task.state,
        "assignee": task.assignee.username if task.assignee else None,
        "candidate_roles": list(task.candidate_roles),
        "form": list(task.form),
    }


def instance_view(instance: ProcessInstance) -> dict[str, Any]:
    """An instance: process, version, session, status, ready tasks and the last failure."""
    version = instance.process_version
    return {
        "instance_id": instance.id,
        "process": version.process.bpmn_id,
        "version": version.number,
        "session_id": instance.session_id,
        "status": instance.status,
        "started_by": instance.started_by.username if instance.started_by else None,
        "started_at": instance.started_at,
        "finished_at": instance.finished_at,
        "tasks": [task_view(t) for t in instance.tasks if t.state == "ready"],
        "error": instance.error,
    }


def step_view(outcome: StepOutcome) -> dict[str, Any]:
    """What a successful step did: status, the next tasks and the parameters it changed."""
    return {
        "instance_id": outcome.instance.id,
        "status": outcome.instance.status,
        "tasks": [{"id": t.task_id, "name": t.name, "form": list(t.form)} for t in outcome.tasks],
        "changes": {k: {"old": c.old, "new": c.new} for k, c in outcome.changes.items()},
        "error": None,
    }


def failure_view(failure: StepFailure) -> dict[str, Any]:
    """A failed step, shaped like step_view: nothing changed, and the error."""
    return {
        "instance_id": failure.instance.id,
        "status": "failed",
        "tasks": [],
        "changes": {},
        "error": failure.error,
    }
