"""Decisions for designers (admins): upload DMN, versions, download, and try a table on a session."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, render_template, request
from flask.typing import ResponseReturnValue

from bpm_livechat.errors import NotFoundError, ValidationError
from bpm_livechat.processes.bpmn.xml import MAX_BPMN_BYTES
from bpm_livechat.processes.decisions.bench import try_decision
from bpm_livechat.processes.decisions.store import (
    DecisionRejected,
    decision_summary,
    deploy_decisions,
    get_decision,
    get_decision_version,
    list_decisions,
)
from web.admin import admin_blueprint
from web.auth import acting_user
from web.db import discard, form_post, get_db
from web.engine import process_engine

bp = admin_blueprint("decision_admin", __name__, "/admin/decisions")


def _index(status: int = 200, **context: Any) -> ResponseReturnValue:
    db = get_db()
    rows = [decision_summary(db, d) for d in list_decisions(db)]
    context.setdefault("problems", [])
    page = render_template("decisions_index.html", decisions=rows, max_bytes=MAX_BPMN_BYTES,
                           **context)  # fmt: skip
    return page, status


@bp.get("")
def index() -> ResponseReturnValue:
    """Every decision with its latest version and hit policy, and the upload form."""
    return _index()


def _uploaded() -> tuple[bytes, str]:
    file = request.files.get("dmn")
    if file is None or not file.filename:
        raise ValidationError("no file", {"dmn": "Choose a DMN file to upload."})
    file.stream.seek(0)
    return file.stream.read(MAX_BPMN_BYTES + 1), file.filename


def _upload_refused(exc: ValidationError) -> ResponseReturnValue:
    if not isinstance(exc, DecisionRejected):
        return _index(422, upload_error=exc.fields.get("dmn", exc.message))
    _data, filename = _uploaded()
    return _index(422, problems=exc.problems, filename=filename)


@bp.post("/upload")
@form_post(_upload_refused)
def upload() -> ResponseReturnValue:
    """Validate and deploy an uploaded DMN file; list every problem when it is refused."""
    data, filename = _uploaded()
    result = deploy_decisions(get_db(), process_engine().scripts, data, acting_user())
    return _index(deployed=result.decisions, filename=filename)


@bp.get("/<decision_id>")
def detail(decision_id: str) -> ResponseReturnValue:
    """A decision: its versions (hit policy, who, when), each downloadable."""
    db = get_db()
    decision = get_decision(db, decision_id)
    summary = decision_summary(db, decision)
    return render_template("decisions_detail.html", decision=summary)


@bp.get("/<decision_id>/versions/<int:number>.dmn")
def download(decision_id: str, number: int) -> ResponseReturnValue:
    """The version's DMN file exactly as it was deployed, to open in a modeller."""
    db = get_db()
    found = get_decision_version(db, get_decision(db, decision_id), number)
    response = Response(found.dmn, mimetype="application/xml")
    filename = f"{decision_id}-v{found.number}.dmn"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _form() -> dict[str, str]:
    source = request.form if request.method == "POST" else request.args
    return {
        "decision": source.get("decision", "").strip(),
        "session_id": source.get("session_id", source.get("session", "")).strip(),
        "data": source.get("data", "").strip() or "{}",
    }


def _parse(form: dict[str, str]) -> tuple[int | None, dict[str, object] | None, dict[str, str]]:
    errors: dict[str, str] = {}
    session_id: int | None = None
    data: dict[str, object] | None = None
    if not form["decision"]:
        errors["decision"] = "Choose a deployed decision."
    if not form["session_id"].isdigit() or not 0 < int(form["session_id"]) < 2**63:
        errors["session_id"] = "Enter a session id (a positive whole number)."
    else:
        session_id = int(form["session_id"])
    try:
        parsed = json.loads(form["data"])
    except json.JSONDecodeError as exc:
        errors["data"] = f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
    else:
        if isinstance(parsed, dict):
            data = parsed
        else:
            errors["data"] = 'Task data must be a JSON object, like {"amount": 1200}.'
    return session_id, data, errors


@bp.route("/try", methods=["GET", "POST"])
def try_page() -> ResponseReturnValue:
    """Try a deployed decision on a session with task data; nothing is stored."""
    db = get_db()
    form = _form()
    context: dict[str, Any] = {
        "form": form,
        "errors": {},
        "decisions": [(d.decision_id, d.name) for d in list_decisions(db)],
    }
    if request.method == "GET":
        return render_template("decisions_try.html", **context)
    session_id, data, errors = _parse(form)
    if errors or session_id is None or data is None:
        context["errors"] = errors
        return render_template("decisions_try.html", **context), 422
    try:
        context["result"] = try_decision(db, process_engine().scripts, form["decision"],
                                         session_id, acting_user(), data)  # fmt: skip
    except NotFoundError as exc:
        field = "decision" if exc.kind.endswith("decision") else "session_id"
        context["errors"] = {field: f"There is no {exc.kind} {exc.ident}."}
        return render_template("decisions_try.html", **context), 422
    finally:
        discard()  # a try never commits
    return render_template("decisions_try.html", **context)


def as_json(value: object) -> str:
    """A value as the page shows it: JSON, as task data will hold it."""
    return json.dumps(value, ensure_ascii=False, default=str)


bp.add_app_template_filter(as_json, "decision_json")
