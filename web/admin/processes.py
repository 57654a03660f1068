"""Processes for designers (admins): upload BPMN, versions, activation, bindings, forms and scripts."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from bpm_livechat.desk.livechats import list_live_chats
from bpm_livechat.errors import NotFoundError, ValidationError
from bpm_livechat.models import LiveChat, Process
from bpm_livechat.processes.autostart import (
    SESSION_SOURCES,
    bind_event,
    event_bindings,
    unbind_event,
)
from bpm_livechat.processes.bpmn.xml import MAX_BPMN_BYTES
from bpm_livechat.processes.catalog import activate, version_contents
from bpm_livechat.processes.deployments import (
    BpmnFile,
    DeploymentRejected,
    bind,
    deactivate,
    deploy_files,
    get_process,
    get_version,
    list_processes,
    process_summary,
    unbind,
)
from bpm_livechat.processes.library import ProcessInUseError, callers_of
from bpm_livechat.processes.monitoring import (
    STATUSES,
    InstanceFilter,
    parse_instance_filter,
    process_instances,
    version_counts,
)
from bpm_livechat.sessions.events import BINDABLE_EVENTS
from web.admin import admin_blueprint
from web.admin.process_view import mapping_text, parse_mapping, preview_svg
from web.auth import acting_user
from web.confirm import confirmation
from web.db import form_post, get_db, writes
from web.engine import process_engine

MAX_FILES = 20  # files deployed together in one upload
bp = admin_blueprint("process_admin", __name__, "/admin/processes")


def _index(status: int = 200, **context: Any) -> ResponseReturnValue:
    db = get_db()
    rows = [process_summary(db, p) for p in list_processes(db)]
    context.setdefault("problems", [])
    context.setdefault("warnings", [])
    page = render_template(
        "processes_index.html",
        processes=rows,
        live_chats=list_live_chats(db),
        max_bytes=MAX_BPMN_BYTES,
        **context,
    )
    return page, status


@bp.get("")
def index() -> ResponseReturnValue:
    """Every process with its latest version and live chats, and the upload form."""
    return _index()


def _chosen_chats() -> list[LiveChat]:
    db = get_db()
    chats = []
    for raw in request.form.getlist("live_chat"):
        chat = db.get(LiveChat, int(raw)) if raw.isdigit() and len(raw) < 18 else None
        if chat is None:
            raise NotFoundError("live chat", raw)
        chats.append(chat)
    return chats


def _uploaded() -> list[BpmnFile]:
    """The uploaded files' bytes (at most one past the cap each) and names; read again from the
    start on every call (the refused page shows a single file's diagram)."""
    files = [f for f in request.files.getlist("bpmn") if f.filename]
    if not files:
        raise ValidationError("no file", {"bpmn": "Choose a BPMN file to upload."})
    uploads = []
    for file in files[:MAX_FILES]:
        file.stream.seek(0)
        uploads.append(BpmnFile(file.filename or "", file.stream.read(MAX_BPMN_BYTES + 1)))
    return uploads


def _names(files: list[BpmnFile]) -> str:
    return ", ".join(f"“{f.name}”" for f in files)


def _preview(files: list[BpmnFile]) -> Markup | None:
    if len(files) != 1 or len(files[0].data) > MAX_BPMN_BYTES:
        return None
    return preview_svg(files[0].data, files[0].name, "upload")


def _upload_refused(exc: ValidationError) -> ResponseReturnValue:
    if not isinstance(exc, DeploymentRejected):
        return _index(422, upload_error=exc.fields.get("bpmn", exc.message))
    files = _uploaded()
    preview = _preview(files)
    several = len(files) > 1
    return _index(
        422, problems=exc.problems, filenames=_names(files), several=several, preview=preview
    )


@bp.post("/upload")
@form_post(_upload_refused)
def upload() -> ResponseReturnValue:
    """Validate and deploy uploaded BPMN files, together as one deployment; list every problem
    (by file, element and line) when they are refused."""
    files = _uploaded()
    scripts, user = process_engine().scripts, acting_user()
    result = deploy_files(get_db(), scripts, files, user, _chosen_chats())
    context = {"result": result, "filenames": _names(files), "preview": _preview(files)}
    return render_template("processes_uploaded.html", **context)


def _instances(process: Process) -> dict[str, Any]:
    """The process's instances as the page's filters (in the URL) ask, or the filter's errors."""
    try:
        wanted = parse_instance_filter(request.args)
        found = process_instances(get_db(), acting_user(), process, wanted)
    except ValidationError as exc:
        listed: dict[str, Any] = {"instances": None, "filter_errors": exc.fields}
        listed["wanted"] = InstanceFilter()
    else:
        listed = {"instances": found, "filter_errors": {}, "wanted": wanted}
    listed["counts"] = version_counts(get_db(), acting_user(), process)
    return listed


def _detail(process: Process, status: int = 200, **context: Any) -> ResponseReturnValue:
    db = get_db()
    listed = _instances(process)
    if listed["filter_errors"] and status == 200:
        status = 422
    bound = {chat.id for chat in process.live_chats}
    bindings = [b for b in event_bindings(db) if b.process_id == process.id]
    context.setdefault("errors", {})
    context.setdefault("form", {})
    page = render_template(
        "processes_detail.html",
        process=process,
        versions=sorted(process.versions, key=lambda v: v.number, reverse=True),
        live_chats=list_live_chats(db),
        bound=bound,
        event_bindings=[(b, mapping_text(dict(b.input_mapping))) for b in bindings],
        events=list(BINDABLE_EVENTS),
        sources=SESSION_SOURCES,
        called_by=callers_of(db, process),
        statuses=STATUSES,
        args=request.args,
        **listed,
        **context,
    )
    return page, status


@bp.get("/<process_id>")
def detail(process_id: str) -> ResponseReturnValue:
    """A process: versions (who, when), activation, live chat and session event bindings,
    and its instances filtered by status, version and session (`?status=&version=&session=`)."""
    return _detail(get_process(get_db(), process_id))


def _back(process: Process, anchor: str) -> ResponseReturnValue:
    return redirect(url_for(".detail", process_id=process.bpmn_id, _anchor=anchor), 303)


@bp.post("/<process_id>/active")
@writes
def set_active(process_id: str) -> ResponseReturnValue:
    """Activate or deactivate the process, or one version of it."""
    db, user = get_db(), acting_user()
    process = get_process(db, process_id)
    raw = request.form.get("version", "")
    number = int(raw) if raw.isdigit() and len(raw) < 10 else None
    if raw and number is None:
        raise NotFoundError("process version", raw)
    turn_on = request.form.get("active") == "1"
    if not turn_on:
        what = f"“{process.name}”"
        if number is not None:
            what = f"version {get_version(db, process, number).number} of {what}"
        asked = confirmation(
            f"Deactivate {what}?",
            "Operators can no longer start it and automatic starts stop; instances already "
            "running go on to their end. It can be activated again.",
            "Deactivate",
            url_for(".detail", process_id=process.bpmn_id, _anchor="versions"),
        )
        if asked is not None:
            return asked
    try:
        (activate if turn_on else deactivate)(db, process, user, number)
    except ProcessInUseError as exc:
        flash(f"Not deactivated: {exc.message}.", "error")
        return _back(process, "versions")
    what = f"Version {number}" if number is not None else process.name
    flash(f"{what} is now {'active' if turn_on else 'inactive'}.")
    return _back(process, "versions")


@bp.post("/<process_id>/live-chats")
@writes
def live_chats(process_id: str) -> ResponseReturnValue:
    """Offer the process in a live chat's sessions, or stop offering it."""
    db, user = get_db(), acting_user()
    process = get_process(db, process_id)
    chats = _chosen_chats()
    if len(chats) != 1:
        raise ValidationError("choose one live chat", {"live_chat": "choose one live chat"})
    chat = chats[0]
    if request.form.get("action") == "unbind":
        unbind(db, process, chat, user)
        flash(f"{process.name} is no longer offered in {chat.name}.")
    else:
        bind(db, process, chat, user)
        flash(f"{process.name} is offered in {chat.name}.")
    return _back(process, "live-chats")


def _events_refused(exc: ValidationError, process_id: str) -> ResponseReturnValue:
    form = {"event": request.form.get("event", ""), "mapping": request.form.get("mapping", "")}
    process = get_process(get_db(), process_id)
    return _detail(process, 422, errors=_mapping_errors(exc), form=form)


@bp.post("/<process_id>/events")
@form_post(_events_refused)
def events(process_id: str) -> ResponseReturnValue:
    """Start the process on a session event with an input mapping, or stop doing so."""
    db, user = get_db(), acting_user()
    process = get_process(db, process_id)
    event = request.form.get("event", "")
    if request.form.get("action") == "remove":
        unbind_event(db, process, event, user)
        flash(f"{process.name} no longer starts on {event}.")
        return _back(process, "events")
    bind_event(db, process, event, user, parse_mapping(request.form.get("mapping", "")))
    flash(f"{process.name} starts on {event}.")
    return _back(process, "events")


def _mapping_errors(exc: ValidationError) -> dict[str, str]:
    """Errors at the form's fields: the event, or the mapping (one message per variable)."""
    fields = dict(exc.fields)
    errors = {"event": fields.pop("event")} if "event" in fields else {}
    if "mapping" in fields:
        errors["mapping"] = fields.pop("mapping")
    elif fields:
        errors["mapping"] = "; ".join(f"{var}: {msg}" for var, msg in fields.items())
    return errors


@bp.get("/<process_id>/versions/<int:number>.bpmn")
def download(process_id: str, number: int) -> ResponseReturnValue:
    """The version's BPMN file exactly as it was deployed, to open in a modeller."""
    db = get_db()
    found = get_version(db, get_process(db, process_id), number)
    response = Response(found.bpmn, mimetype="application/xml")
    filename = f"{process_id}-v{found.number}.bpmn"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/<process_id>/versions/<int:number>")
def version(process_id: str, number: int) -> ResponseReturnValue:
    """A version read-only: its diagram, forms (fields, types, constraints) and scripts."""
    db = get_db()
    process = get_process(db, process_id)
    found = get_version(db, process, number)
    contents = version_contents(found.bpmn)
    preview = preview_svg(found.bpmn, f"{found.name} v{found.number}", f"v{found.number}")
    context = {"process": process, "version": found, "contents": contents, "preview": preview}
    return render_template("processes_version.html", **context)
