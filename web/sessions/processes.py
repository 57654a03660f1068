"""Processes from the session page: start forms, task forms, retry and cancel, and "My tasks"."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from bpm_livechat.errors import NotFoundError, ValidationError
from bpm_livechat.models import ProcessInstance, UserTask
from bpm_livechat.processes.deployments import get_process
from bpm_livechat.processes.failures import StepFailure, run_or_record
from bpm_livechat.processes.instances import complete_task, get_instance, start_with_form
from bpm_livechat.processes.start_forms import StartForm, prefilled, start_form
from bpm_livechat.processes.steps import StepOutcome
from bpm_livechat.processes.supervision import cancel_instance, check_cancel, retry_instance
from bpm_livechat.processes.tasks import find_task, may_work_task, my_tasks
from bpm_livechat.sessions.lifecycle import get_session
from web.auth import acting_user, require_staff
from web.confirm import confirmation
from web.db import form_post, get_db, writes
from web.engine import process_engine
from web.sessions.process_view import (
    entered_values,
    field_views,
    submitted_form,
    task_fields,
    task_view,
)

bp = Blueprint("processes", __name__)
bp.before_request(require_staff)


def _back(session_id: int, instance_id: int) -> str:
    """Where a retry or cancel returns: the instance's own page when it was asked from there
    (`return_to=instance`), else the session page at the instance."""
    if request.form.get("return_to") == "instance":
        return url_for("instance.show", instance_id=instance_id)
    return url_for("session.show", session_id=session_id, _anchor=f"instance-{instance_id}")


def _after(session_id: int, name: str, result: StepOutcome | StepFailure) -> ResponseReturnValue:
    """Back to the session page at the instance (or to the instance's page, see `_back`),
    saying what the step did or why it failed."""
    if isinstance(result, StepFailure):
        flash(f"{name} failed; nothing was changed. {result.failed.cause.reason}", "error")
        return redirect(_back(session_id, result.instance.id), 303)
    changed = sorted(result.changes)
    words = {"completed": "is complete", "waiting": "waits for the next task"}
    note = f"{name} {words.get(result.instance.status, result.instance.status)}."
    note += f" Changed: {len(changed)} parameter(s)." if changed else " No parameter changed."
    flash(note)
    if request.form.get("return_to") == "instance":
        return redirect(_back(session_id, result.instance.id), 303)
    target = url_for(
        "session.show",
        session_id=session_id,
        changed=",".join(changed) or None,
        _anchor=f"instance-{result.instance.id}",
    )
    return redirect(target, 303)


def _start_form(session_id: int, process_id: str) -> StartForm:
    db, user = get_db(), acting_user()
    return start_form(db, process_engine(), get_session(db, session_id, user), process_id, user)


def _start_page(form: StartForm, status: int, **context: object) -> ResponseReturnValue:
    process = get_process(get_db(), form.version.process_id)
    page = render_template("start.html", s=form.session, process=process, **context)
    return page, status


@bp.get("/sessions/<id:session_id>/start/<process_id>")
def start(session_id: int, process_id: str) -> ResponseReturnValue:
    """The start form of a process, pre-filled from the session."""
    form = _start_form(session_id, process_id)
    views = field_views(get_db(), form.fields, prefilled(get_db(), form), typed=True)
    return _start_page(form, 200, fields=views, errors={})


def _start_refused(exc: ValidationError, session_id: int, process_id: str) -> ResponseReturnValue:
    form = _start_form(session_id, process_id)
    entered = entered_values(form.fields, request.form)
    views = field_views(get_db(), form.fields, entered, typed=False)
    return _start_page(form, 422, fields=views, errors=exc.fields)


@bp.post("/sessions/<id:session_id>/start/<process_id>")
@form_post(_start_refused)
def start_submit(session_id: int, process_id: str) -> ResponseReturnValue:
    """Start the process with the submitted start form (its version and form resolved once)."""
    db, user, engine = get_db(), acting_user(), process_engine()
    form = _start_form(session_id, process_id)
    name = get_process(db, process_id).name
    data = submitted_form(db, form.fields, request.form)
    result = run_or_record(db, lambda: start_with_form(db, engine, form, data, user))
    return _after(session_id, name, result)


def _task_of(db: Session, instance_id: int, task_id: str) -> tuple[ProcessInstance, UserTask]:
    instance = get_instance(db, instance_id, acting_user())
    task = find_task(db, instance, task_id)
    if task is None:
        raise NotFoundError("task", task_id)
    return instance, task


def _task_page(
    instance: ProcessInstance,
    row: UserTask,
    may_work: bool,
    status: int = 200,
    errors: Mapping[str, str] | None = None,
) -> ResponseReturnValue:
    """The task form; with `errors`, showing the values just entered."""
    entered = entered_values(task_fields(row), request.form) if errors else None
    context = {"s": instance.session, "instance": instance, "row": row, "may_work": may_work}
    view = task_view(get_db(), row, entered)
    page = render_template("task.html", task=view, errors=dict(errors or {}), **context)
    return page, status


@bp.get("/instances/<id:instance_id>/tasks/<task_id>")
def task(instance_id: int, task_id: str) -> ResponseReturnValue:
    """A task form."""
    db = get_db()
    instance, row = _task_of(db, instance_id, task_id)
    may_work = row.state == "ready" and may_work_task(db, acting_user(), row, instance.session)
    return _task_page(instance, row, may_work)


def _task_refused(exc: ValidationError, instance_id: int, task_id: str) -> ResponseReturnValue:
    instance, row = _task_of(get_db(), instance_id, task_id)
    return _task_page(instance, row, True, 422, errors=exc.fields)


@bp.post("/instances/<id:instance_id>/tasks/<task_id>")
@form_post(_task_refused)
def task_submit(instance_id: int, task_id: str) -> ResponseReturnValue:
    """Complete the task with its submitted form."""
    db, user, engine = get_db(), acting_user(), process_engine()
    instance, row = _task_of(db, instance_id, task_id)
    session_id, name = instance.session_id, instance.process_version.name
    data = submitted_form(db, task_fields(row), request.form)
    result = run_or_record(db, lambda: complete_task(db, engine, instance, task_id, data, user))
    return _after(session_id, name, result)


@bp.post("/instances/<id:instance_id>/retry")
@writes
def retry(instance_id: int) -> ResponseReturnValue:
    """Run a failed step again (supervisors)."""
    db, user, engine = get_db(), acting_user(), process_engine()
    instance = get_instance(db, instance_id, user)
    session_id, name = instance.session_id, instance.process_version.name
    result = run_or_record(db, lambda: retry_instance(db, engine, instance, user))
    return _after(session_id, name, result)


@bp.post("/instances/<id:instance_id>/cancel")
@writes
def cancel(instance_id: int) -> ResponseReturnValue:
    """Stop an instance for good (supervisors, after confirming)."""
    db, user = get_db(), acting_user()
    instance = get_instance(db, instance_id, user)
    target = _back(instance.session_id, instance.id)
    check_cancel(db, user, instance)
    name = instance.process_version.name
    asked = confirmation(
        f"Cancel “{name}” on session {instance.session_id}?",
        f"Instance {instance.id} stops for good: its open tasks, timers and waits are dropped and "
        "it cannot be resumed. Parameters it already wrote stay as they are.",
        "Cancel the process",
        target,
    )
    if asked is not None:
        return asked
    instance = cancel_instance(db, process_engine(), instance, user)
    flash(f"{name} was cancelled.")
    return redirect(target, 303)


@bp.get("/tasks")
def my_tasks_page() -> ResponseReturnValue:
    """The logged-in user's ready tasks, each linking to its form."""
    tasks = my_tasks(get_db(), acting_user())
    return render_template("tasks.html", tasks=tasks)
