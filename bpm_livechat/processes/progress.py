"""Where an instance stands, by BPMN element: completed, current (waiting) and failed elements."""

from __future__ import annotations

from dataclasses import dataclass, field

from SpiffWorkflow.util.task import TaskState

from bpm_livechat.errors import ProcessStepError
from bpm_livechat.models import InstanceStatus, ProcessInstance
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.instances import load_workflow


@dataclass(frozen=True)
class Progress:
    """Element ids by state, for marking a diagram; `current` are where a waiting instance
    waits (nothing for an instance that is not waiting)."""

    completed: frozenset[str] = field(default_factory=frozenset)
    current: frozenset[str] = field(default_factory=frozenset)
    failed: frozenset[str] = field(default_factory=frozenset)


def instance_progress(engine: ProcessEngine, instance: ProcessInstance) -> Progress:
    """The elements an instance has completed, waits at and failed at (from its saved workflow)."""
    error = instance.error or {}
    failed_at = error.get("element_id") if instance.status == InstanceStatus.FAILED.value else None
    failed = frozenset([str(failed_at)] if failed_at else [])
    if not instance.workflow_json:
        return Progress(failed=failed)
    try:
        workflow = load_workflow(engine, instance)
    except ProcessStepError:
        return Progress(failed=failed)
    completed: set[str] = set()
    current: set[str] = set()
    for task in workflow.get_tasks():
        element = getattr(task.task_spec, "bpmn_id", None)
        if not element:
            continue
        if task.state == TaskState.COMPLETED:
            completed.add(element)
        elif task.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED):
            current.add(element)
    if instance.status != InstanceStatus.WAITING.value:
        # Only a waiting instance stands somewhere: a completed or cancelled one stands
        # nowhere, and a failed one is marked where it failed (its saved workflow still has
        # the step it failed in as ready).
        current.clear()
    return Progress(frozenset(completed), frozenset(current - completed), failed)
