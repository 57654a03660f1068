"""Supervisor pages: incidents (failed instances) with bulk retry and cancel, the team's tasks."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from bpm_livechat.desk.livechats import members
from bpm_livechat.errors import ValidationError
from bpm_livechat.models import LiveChat, MemberRole, Process, User
from bpm_livechat.processes.incidents import (
    BulkAction,
    IncidentFilter,
    act_on_incidents,
    list_incidents,
    parse_filter,
    parse_ids,
    supervised_chat_ids,
)
from bpm_livechat.processes.team_tasks import (
    UNASSIGNED,
    TaskFilter,
    parse_task_filter,
    reassign_task,
    team_tasks,
)
from web.auth import acting_user, require_staff
from web.confirm import confirmation
from web.db import form_post, get_db, session_maker
from web.engine import process_engine
from web.redirects import local_path

bp = Blueprint("supervision", __name__)
bp.before_request(require_staff)


def _choices(user: User) -> dict[str, Any]:
    """The live chats the user supervises and the processes, for the filter selects."""
    db = get_db()
    chats = supervised_chat_ids(db, user)
    query = select(LiveChat).order_by(LiveChat.name)
    if chats is not None:
        query = query.where(LiveChat.id.in_(chats))
    processes = db.scalars(select(Process).order_by(Process.name))
    return {"chats": list(db.scalars(query)), "processes": list(processes)}


def _incidents_page(
    wanted: IncidentFilter, errors: dict[str, str], status: int = 200, **extra: Any
) -> ResponseReturnValue:
    user = acting_user()
    context = {
        "incidents": list_incidents(get_db(), user, wanted),
        "wanted": wanted,
        "args": request.args,
        "errors": errors,
        **_choices(user),
        **extra,
    }
    return render_template("incidents.html", **context), status


@bp.get("/incidents")
def incidents() -> ResponseReturnValue:
    """Failed instances across the sessions the supervisor may see, with filters."""
    try:
        wanted = parse_filter(request.args)
    except ValidationError as exc:
        return _incidents_page(IncidentFilter(), exc.fields, 422)
    return _incidents_page(wanted, {})


def _bulk_refused(exc: ValidationError) -> ResponseReturnValue:
    return _incidents_page(IncidentFilter(), exc.fields, 422, bulk_error=exc.message)


@bp.post("/incidents/bulk")
@form_post(_bulk_refused)
def incidents_bulk() -> ResponseReturnValue:
    """Retry the selected instances, or cancel them after a confirmation page; each instance
    runs in its own transaction, and the page reports each one's outcome."""
    user = acting_user()
    supervised_chat_ids(get_db(), user)  # operators are refused before anything runs
    ids = parse_ids(request.form.getlist("ids"))
    action = BulkAction.CANCEL if request.form.get("action") == "cancel" else BulkAction.RETRY
    back = local_path(request.form.get("back"), url_for("supervision.incidents"), "/incidents")
    if action is BulkAction.CANCEL:
        chosen = [i for i in list_incidents(get_db(), user) if i.instance_id in ids]
        items = [f"{i.process_name} at {i.element_id or '—'} in “{i.session_name}”" for i in chosen]
        if len(chosen) < len(ids):
            items.append(f"{len(ids) - len(chosen)} more no longer failed or not yours: reported")
        asked = confirmation(
            f"Cancel {len(ids)} process instance(s)?",
            "Cancelled instances stop for good: they cannot be retried, and their open tasks "
            "are withdrawn.",
            f"Yes, cancel {len(ids)} instance(s)",
            back,
            items=items,
            back_label="Keep them",
        )
        if asked is not None:
            return asked
    user_id = user.id
    get_db().rollback()  # the request's reads end here: each instance gets a transaction
    outcomes = act_on_incidents(session_maker(), process_engine(), user_id, ids, action)
    page = render_template("incidents_done.html", outcomes=outcomes, action=action, back=back)
    return page, 200


def _tasks_page(
    wanted: TaskFilter, errors: dict[str, str], status: int = 200
) -> ResponseReturnValue:
    db, user = get_db(), acting_user()
    rows = team_tasks(db, user, wanted)
    operators = {
        row.live_chat.id: members(db, row.live_chat.id, MemberRole.OPERATOR) for row in rows
    }
    context = {
        "rows": rows,
        "operators": operators,
        "wanted": wanted,
        "unassigned": UNASSIGNED,
        "args": request.args,
        "errors": errors,
        **_choices(user),
    }
    return render_template("team_tasks.html", **context), status


@bp.get("/team-tasks")
def team_tasks_page() -> ResponseReturnValue:
    """The open user tasks of the live chats the supervisor supervises, with filters."""
    try:
        wanted = parse_task_filter(request.args)
    except ValidationError as exc:
        return _tasks_page(TaskFilter(), exc.fields, 422)
    return _tasks_page(wanted, {})


def _reassign_refused(exc: ValidationError, instance_id: int, task_id: str) -> ResponseReturnValue:
    flash(f"Not reassigned: {exc.message}.", "error")
    return _tasks_page(TaskFilter(), exc.fields, 422)


@bp.post("/team-tasks/<id:instance_id>/<task_id>/reassign")
@form_post(_reassign_refused)
def reassign(instance_id: int, task_id: str) -> ResponseReturnValue:
    """Give a task to another operator of its live chat."""
    expected = request.form.get("current", "")
    task = reassign_task(
        get_db(),
        acting_user(),
        instance_id,
        task_id,
        request.form.get("assignee", "").strip().lower(),
        int(expected) if expected.isdigit() else None,
    )
    holder = task.assignee.display_name if task.assignee else "nobody"
    flash(f"“{task.name}” is now {holder}’s.")
    return redirect(url_for("supervision.team_tasks_page"), 303)
