"""Processes from the session page: start forms, task forms, retry and cancel, and "My tasks"."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from bpm_livechat.errors import NotFoundError, ValidationError
from bpm_livechat.models import ProcessInstance, SupportSession, UserTask
from bpm_livechat.processes.deployments import get_process
from bpm_livechat.processes.failures import ProcessFailed, record_failure
from bpm_livechat.processes.instances import (
    StepOutcome,
    complete_task,
    get_instance,
    start_form,
    start_process,
)
from bpm_livechat.processes.supervision import cancel_instance, retry_instance
from bpm_livechat.processes.tasks import find_task, may_work_task, my_tasks
from bpm_livechat.sessions.lifecycle import get_session
from web.auth import acting_user, require_staff
from web.db import commit, get_db, writes
from web.sessions.process_view import (
    entered_values,
    field_views,
    submitted_form,
    task_fields,
    task_view,
)

bp = Blueprint("processes", __name__)
bp.before_request(require_staff)


def _after_step(session: SupportSession, name: str, outcome: StepOutcome) -> ResponseReturnValue:
    changed = sorted(outcome.changes)
    words = {"completed": "is complete", "waiting": "waits for the next task"}
    note = f"{name} {words.get(outcome.instance.status, outcome.instance.status)}."
    note += f" Changed: {len(changed)} parameter(s)." if changed else " No parameter changed."
    flash(note)
    target = url_for(
        "session.show",
        session_id=session.id,
        changed=",".join(changed) or None,
        _anchor=f"instance-{outcome.instance.id}",
    )
    return redirect(target, 303)


def _after_failure(
    db: Session, session_id: int, name: str, failure: ProcessFailed
) -> ResponseReturnValue:
    """Roll the step back, store the failure in a new transaction, and show it."""
    db.rollback()
    record_failure(db, failure)
    commit()
    flash(f"{name} failed; nothing was changed. {failure.cause.reason}", "error")
    anchor = f"instance-{failure.recorded_instance_id}"
    return redirect(url_for("session.show", session_id=session_id, _anchor=anchor), 303)


@bp.route("/sessions/<id:session_id>/start/<process_id>", methods=["GET", "POST"])
@writes
def start(session_id: int, process_id: str) -> ResponseReturnValue:
    """The start form of a process (pre-filled from the session), and starting it."""
    db, user = get_db(), acting_user()
    session = get_session(db, session_id, user)
    process = get_process(db, process_id)
    fields, prefilled = start_form(db, session, process_id, user)
    if request.method == "GET":
        views = field_views(db, fields, prefilled, typed=True)
        return render_template("start.html", s=session, process=process, fields=views, errors={})
    data = submitted_form(db, fields, request.form)
    try:
        outcome = start_process(db, session, process_id, data, user)
    except ValidationError as exc:
        db.rollback()
        session = get_session(db, session_id, user)
        views = field_views(db, fields, entered_values(fields, request.form), typed=False)
        context = {"s": session, "process": process, "fields": views, "errors": exc.fields}
        return render_template("start.html", **context), 422
    except ProcessFailed as failure:
        return _after_failure(db, session_id, process.name, failure)
    return _after_step(session, process.name, outcome)


def _task_of(db: Session, instance_id: int, task_id: str) -> tuple[ProcessInstance, UserTask]:
    user = acting_user()
    instance = get_instance(db, instance_id, user)
    task = find_task(db, instance, task_id)
    if task is None:
        raise NotFoundError("task", task_id)
    return instance, task


@bp.route("/instances/<id:instance_id>/tasks/<task_id>", methods=["GET", "POST"])
@writes
def task(instance_id: int, task_id: str) -> ResponseReturnValue:
    """A task form, and completing the task."""
    db, user = get_db(), acting_user()
    instance, row = _task_of(db, instance_id, task_id)
    session = instance.session
    if request.method == "GET":
        may_work = row.state == "ready" and may_work_task(db, user, row, session)
        view = task_view(db, row)
        context = {
            "s": session,
            "instance": instance,
            "task": view,
            "row": row,
            "may_work": may_work,
            "errors": {},
        }
        return render_template("task.html", **context)
    data = submitted_form(db, task_fields(row), request.form)
    name = instance.process_version.name
    try:
        outcome = complete_task(db, instance, task_id, data, user)
    except ValidationError as exc:
        db.rollback()
        instance, row = _task_of(db, instance_id, task_id)
        view = task_view(db, row, entered_values(task_fields(row), request.form))
        context = {
            "s": instance.session,
            "instance": instance,
            "task": view,
            "row": row,
            "may_work": True,
            "errors": exc.fields,
        }
        return render_template("task.html", **context), 422
    except ProcessFailed as failure:
        return _after_failure(db, session.id, name, failure)
    return _after_step(session, name, outcome)


@bp.post("/instances/<id:instance_id>/retry")
@writes
def retry(instance_id: int) -> ResponseReturnValue:
    """Run a failed step again (supervisors)."""
    db, user = get_db(), acting_user()
    instance = get_instance(db, instance_id, user)
    session, name = instance.session, instance.process_version.name
    try:
        outcome = retry_instance(db, instance, user)
    except ProcessFailed as failure:
        return _after_failure(db, session.id, name, failure)
    return _after_step(session, name, outcome)


@bp.post("/instances/<id:instance_id>/cancel")
@writes
def cancel(instance_id: int) -> ResponseReturnValue:
    """Stop an instance for good (supervisors)."""
    db, user = get_db(), acting_user()
    instance = cancel_instance(db, get_instance(db, instance_id, user), user)
    flash(f"{instance.process_version.name} was cancelled.")
    target = url_for(
        "session.show", session_id=instance.session_id, _anchor=f"instance-{instance.id}"
    )
    return redirect(target, 303)


@bp.get("/tasks")
def my_tasks_page() -> ResponseReturnValue:
    """The logged-in user's ready tasks, each linking to its form."""
    tasks = my_tasks(get_db(), acting_user())
    return render_template("tasks.html", tasks=tasks)
