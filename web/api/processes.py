"""Processes (deploy, list, versions, live chat bindings) and their instances and tasks."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from bpm_livechat.desk.livechats import get_live_chat
from bpm_livechat.errors import NotFoundError, ValidationError
from bpm_livechat.models import LiveChat, Process, ProcessInstance, TaskState, User, UserTask
from bpm_livechat.params.types import to_json
from bpm_livechat.processes.deployments import (
    BpmnFile,
    bind,
    deactivate,
    deploy_files,
    get_process,
    latest_version,
    list_processes,
    unbind,
)
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.failures import StepFailure, run_or_record
from bpm_livechat.processes.instances import complete_task, get_instance, start_process
from bpm_livechat.processes.steps import StepOutcome
from bpm_livechat.processes.supervision import cancel_instance, retry_instance
from bpm_livechat.processes.tasks import find_task, my_tasks
from bpm_livechat.sessions.lifecycle import get_session
from web.engine import process_engine

from .convert import param_types
from .process_schemas import (
    BindingChange,
    DeployedProcessOut,
    DeployOut,
    InstanceOut,
    InstanceStart,
    ProblemOut,
    ProcessDeactivate,
    ProcessDeploy,
    ProcessList,
    ProcessOut,
    StepError,
    StepOut,
    TaskComplete,
    TaskList,
    TaskOut,
    ValueChange,
    VersionList,
    VersionOut,
)
from .spec import Registry

api = Registry()
PROCESSES, INSTANCES = "processes", "instances"


def _process_out(db: Session, process: Process) -> ProcessOut:
    latest = latest_version(db, process, active_only=False)
    return ProcessOut(
        id=process.bpmn_id,
        name=process.name,
        active=process.active,
        latest_version=latest.number if latest else None,
        live_chats=[chat.name for chat in process.live_chats],
    )


def _task_out(task: UserTask) -> TaskOut:
    return TaskOut(
        id=task.task_id,
        instance_id=task.instance_id,
        element_id=task.element_id,
        name=task.name,
        state=task.state,
        assignee=task.assignee.username if task.assignee else None,
        candidate_roles=list(task.candidate_roles),
        form=list(task.form),
    )


def _instance_out(instance: ProcessInstance) -> InstanceOut:
    version = instance.process_version
    return InstanceOut(
        id=instance.id,
        process=version.process.bpmn_id,
        version=version.number,
        session_id=instance.session_id,
        status=instance.status,
        started_by=instance.started_by.username if instance.started_by else None,
        started_at=instance.started_at,
        finished_at=instance.finished_at,
        tasks=[_task_out(t) for t in instance.tasks if t.state == TaskState.READY.value],
        error=StepError.model_validate(instance.error) if instance.error else None,
    )


def _step_out(db: Session, outcome: StepOutcome) -> StepOut:
    types = param_types(db)
    return StepOut(
        instance_id=outcome.instance.id,
        status=outcome.instance.status,
        tasks=[_task_out(t) for t in outcome.tasks],
        changes={
            key: ValueChange(old=to_json(types[key], c.old), new=to_json(types[key], c.new))
            for key, c in outcome.changes.items()
        },
        error=None,
    )


def _run(db: Session, step: Callable[[ProcessEngine], StepOutcome]) -> StepOut:
    """Run a process step; a failure is rolled back and recorded (and committed) instead."""
    engine = process_engine()
    result = run_or_record(db, lambda: step(engine))
    if isinstance(result, StepFailure):
        return StepOut(
            instance_id=result.instance.id,
            status="failed",
            tasks=[],
            changes={},
            error=StepError.model_validate(result.error),
        )
    return _step_out(db, result)


def _chat(db: Session, name: str) -> LiveChat:
    try:
        return get_live_chat(db, name)
    except NotFoundError:
        raise ValidationError(f"unknown live chat {name!r}", {"live_chat": "unknown"}) from None


# -- processes -------------------------------------------------------------------------------


@api.operation(
    "POST", "/processes", summary="Deploy a BPMN file (admins); 422 lists every problem",
    tag=PROCESSES, body=ProcessDeploy, response=DeployOut, status=201, idempotent=True,
)  # fmt: skip
def deploy_process_api(db: Session, user: User, body: ProcessDeploy) -> DeployOut:
    """Validate and store; a new version per changed process, bound to the given live chats."""
    chats = [_chat(db, name) for name in body.live_chats]
    files = [BpmnFile(f.name, f.bpmn.encode("utf-8")) for f in body.files]
    if body.bpmn is not None:
        files = [BpmnFile("", body.bpmn.encode("utf-8"))]
    result = deploy_files(db, process_engine().scripts, files, user, chats)
    return DeployOut(
        processes=[
            DeployedProcessOut(id=p.id, name=p.name, version=p.version, created=p.created)
            for p in result.processes
        ],
        warnings=[
            ProblemOut(element=w.element, line=w.line, message=w.message, file=w.file)
            for w in result.warnings
        ],
    )


@api.operation(
    "GET", "/processes", summary="Deployed processes", tag=PROCESSES, response=ProcessList
)
def list_processes_api(db: Session) -> ProcessList:
    """Every deployed process with its latest version and live chats."""
    return ProcessList(items=[_process_out(db, p) for p in list_processes(db)])


@api.operation(
    "GET", "/processes/<string:process_id>/versions", summary="A process's versions",
    tag=PROCESSES, response=VersionList,
)  # fmt: skip
def list_versions_api(db: Session, process_id: str) -> VersionList:
    """Every version, oldest first (without the BPMN text)."""
    process = get_process(db, process_id)
    return VersionList(
        process=process.bpmn_id,
        items=[
            VersionOut(
                version=v.number,
                name=v.name,
                active=v.active,
                content_hash=v.content_hash,
                deployed_by=v.deployed_by.username if v.deployed_by else None,
                deployed_at=v.deployed_at,
            )
            for v in process.versions
        ],
    )


@api.operation(
    "POST", "/processes/<string:process_id>/bind", summary="Offer a process in a live chat",
    tag=PROCESSES, body=BindingChange, response=ProcessOut,
)  # fmt: skip
def bind_process_api(db: Session, user: User, process_id: str, body: BindingChange) -> ProcessOut:
    """Its sessions' Start process menu lists it (admins)."""
    process = get_process(db, process_id)
    bind(db, process, _chat(db, body.live_chat), user)
    return _process_out(db, process)


@api.operation(
    "POST", "/processes/<string:process_id>/unbind", summary="Stop offering it in a live chat",
    tag=PROCESSES, body=BindingChange, response=ProcessOut,
)  # fmt: skip
def unbind_process_api(db: Session, user: User, process_id: str, body: BindingChange) -> ProcessOut:
    """Running instances go on (admins)."""
    process = get_process(db, process_id)
    unbind(db, process, _chat(db, body.live_chat), user)
    return _process_out(db, process)


@api.operation(
    "POST", "/processes/<string:process_id>/deactivate", tag=PROCESSES,
    body=ProcessDeactivate, response=ProcessOut,
    summary="Deactivate a process or one version (409 while an active process calls it)",
)  # fmt: skip
def deactivate_process_api(
    db: Session, user: User, process_id: str, body: ProcessDeactivate
) -> ProcessOut:
    """Running instances go on (admins)."""
    process = get_process(db, process_id)
    deactivate(db, process, user, body.version)
    return _process_out(db, process)


# -- instances and tasks ---------------------------------------------------------------------


@api.operation(
    "POST", "/sessions/<int:session_id>/instances", tag=INSTANCES, body=InstanceStart,
    response=StepOut, status=201, idempotent=True, runs_step=True,
    summary="Start a process for a session with its start form (422: form errors by field)",
)  # fmt: skip
def start_instance_api(db: Session, user: User, session_id: int, body: InstanceStart) -> StepOut:
    """Runs until the process waits on a user task or ends; a failed step is recorded as failed."""
    session = get_session(db, session_id, user)
    return _run(db, lambda e: start_process(db, e, session, body.process, body.data, user))


@api.operation(
    "GET", "/instances/<int:instance_id>", summary="A process instance: status, tasks, error",
    tag=INSTANCES, response=InstanceOut,
)  # fmt: skip
def get_instance_api(db: Session, user: User, instance_id: int) -> InstanceOut:
    """Visible to whoever may see its session."""
    return _instance_out(get_instance(db, instance_id, user))


@api.operation(
    "POST", "/instances/<int:instance_id>/tasks/<string:task_id>/complete", tag=INSTANCES,
    body=TaskComplete, response=StepOut, idempotent=True, runs_step=True,
    summary="Complete a user task with its form (409 when someone else did first)",
)  # fmt: skip
def complete_task_api(
    db: Session, user: User, instance_id: int, task_id: str, body: TaskComplete
) -> StepOut:
    """Validates the form, then runs the process on until it waits again or ends."""
    instance = get_instance(db, instance_id, user)
    if find_task(db, instance, task_id) is None:
        raise NotFoundError("task", task_id)
    return _run(db, lambda e: complete_task(db, e, instance, task_id, body.data, user))


@api.operation(
    "POST", "/instances/<int:instance_id>/retry", summary="Retry a failed step (supervisors)",
    tag=INSTANCES, response=StepOut, idempotent=True, runs_step=True,
)  # fmt: skip
def retry_instance_api(db: Session, user: User, instance_id: int) -> StepOut:
    """Runs the failed step again with its input, on the newest version when it can."""
    instance = get_instance(db, instance_id, user)
    return _run(db, lambda e: retry_instance(db, e, instance, user))


@api.operation(
    "POST", "/instances/<int:instance_id>/cancel", summary="Cancel an instance (supervisors)",
    tag=INSTANCES, response=InstanceOut,
)  # fmt: skip
def cancel_instance_api(db: Session, user: User, instance_id: int) -> InstanceOut:
    """Stops it for good; its ready tasks are cancelled."""
    instance = get_instance(db, instance_id, user)
    return _instance_out(cancel_instance(db, process_engine(), instance, user))


@api.operation("GET", "/tasks", summary="My ready tasks", tag=INSTANCES, response=TaskList)
def my_tasks_api(db: Session, user: User) -> TaskList:
    """Tasks assigned to me or offered to my role in live chats I work."""
    return TaskList(items=[_task_out(t) for t in my_tasks(db, user)])
