"""The script bench (admins): check a script, and dry-run it against a session; nothing is stored."""

from __future__ import annotations

import json

from flask import render_template, request
from flask.typing import ResponseReturnValue

from bpm_livechat.errors import NotFoundError
from bpm_livechat.json_input import JsonTooDeepError, loads_bounded
from bpm_livechat.processes.script_bench import check_script, dry_run, script_reference
from web.admin import admin_blueprint
from web.auth import acting_user
from web.db import discard, get_db
from web.engine import process_engine

bp = admin_blueprint("script_bench", __name__, "/admin/script-bench")

SAMPLE = 'print("Hello from", session.client.name)\n# session.params["summary"] = "..."\n'


def _form() -> dict[str, str]:
    return {
        "source": request.form.get("source", ""),
        "session_id": request.form.get("session_id", "").strip(),
        "data": request.form.get("data", "").strip() or "{}",
    }


def _parse(form: dict[str, str]) -> tuple[int | None, dict[str, object] | None, dict[str, str]]:
    """The session id and sample data of the form, or field errors."""
    errors: dict[str, str] = {}
    session_id: int | None = None
    data: dict[str, object] | None = None
    if not form["session_id"].isdigit() or not 0 < int(form["session_id"]) < 2**63:
        errors["session_id"] = "Enter a session id (a positive whole number)."
    else:
        session_id = int(form["session_id"])
    try:
        parsed = loads_bounded(form["data"])
    except json.JSONDecodeError as exc:
        errors["data"] = f"Not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
    except JsonTooDeepError as exc:
        errors["data"] = f"The data is {exc}; task data is a flat object of values."
    else:
        if isinstance(parsed, dict):
            data = parsed
        else:
            errors["data"] = 'Task data must be a JSON object, like {"name": "Ada"}.'
    return session_id, data, errors


def _reference() -> dict[str, object]:
    """What the page's "What a script sees" lists, from the sandbox's own policy."""
    return {"reference": script_reference(process_engine().scripts)}


@bp.route("", methods=["GET", "POST"])
def bench() -> ResponseReturnValue:
    """The bench: GET shows the editor; POST checks or dry-runs the script (never commits)."""
    if request.method == "GET":
        form = {"source": SAMPLE, "session_id": request.args.get("session", ""), "data": "{}"}
        return render_template("script_bench.html", form=form, errors={}, **_reference())
    form, action = _form(), request.form.get("action", "check")
    context: dict[str, object] = {"form": form, "errors": {}, "action": action, **_reference()}
    if action == "run":
        session_id, data, errors = _parse(form)
        if errors or session_id is None or data is None:
            context["errors"] = errors
            return render_template("script_bench.html", **context), 422
        scripts = process_engine().scripts
        try:
            result = dry_run(get_db(), scripts, form["source"], session_id, acting_user(), data)
        except NotFoundError:
            context["errors"] = {"session_id": f"There is no session {session_id}."}
            return render_template("script_bench.html", **context), 422
        finally:
            discard()  # a dry run never commits
        context["result"] = result
        context["data_json"] = json.dumps(result.data, indent=2, default=str, ensure_ascii=False)
    else:
        context["problems"] = check_script(process_engine().scripts, form["source"])
    return render_template("script_bench.html", **context)
