"""The sessions list: table or tiles, chosen columns, typed filters, search, sort, pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bpm_livechat.desk.preferences import list_columns, list_view, save_list_columns, save_list_view
from bpm_livechat.errors import ValidationError
from bpm_livechat.sessions.assignment import operator_chats
from bpm_livechat.sessions.search import SessionQuery, search_sessions
from web.auth import acting_user, require_staff
from web.db import get_db, writes
from web.redirects import local_path
from web.sessions.columns import catalogue, parse_filters, row_cells
from web.sessions.tabs import list_tabs, parse_view

bp = Blueprint("sessions", __name__)
bp.before_request(require_staff)
PER_PAGE_CHOICES = (25, 50, 100)
MAX_PAGE = 1_000_000


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, "")
    value = int(raw) if raw.isdigit() and len(raw) < 10 else default
    return max(low, min(value, high))


@bp.get("/")
def index() -> ResponseReturnValue:
    """The start page is the sessions list."""
    return redirect(url_for("sessions.list_sessions"))


@bp.get("/sessions")
def list_sessions() -> ResponseReturnValue:
    """One page of the sessions the user works, as a table or as tiles."""
    db, user = get_db(), acting_user()
    columns = catalogue(db)
    chosen = [columns[key] for key in list_columns(db, user)]
    filters, entered = parse_filters(request.args, columns.values())
    per_page = _int_arg("per_page", current_app.config["SESSIONS_PER_PAGE"], 1, 100)
    tab = parse_view(request.args.get("tab"))
    query = SessionQuery(
        filters=filters,
        search=request.args.get("q", "").strip()[:200] or None,
        sort=request.args.get("sort", "-created_at")[:80] or "-created_at",
        page=_int_arg("page", 1, 1, MAX_PAGE),
        per_page=per_page,
        view=tab,
    )
    errors: dict[str, str] = {}
    status = 200
    try:
        page = search_sessions(db, user, query)
    except ValidationError as exc:
        errors = dict(exc.fields) or {"filter": exc.message}
        errors.setdefault("_message", exc.message)
        status = 422
        page = None
    context: dict[str, Any] = {
        "view": list_view(db, user),
        "columns": chosen,
        "all_columns": columns,
        "page": page,
        "query": query,
        "entered": entered,
        "errors": errors,
        "rows": [
            (item, row_cells(item, page.params.get(item.id, {}), chosen)) for item in page.items
        ]
        if page
        else [],
        "per_page_choices": PER_PAGE_CHOICES,
        "args": request.args.to_dict(),
        "tab": tab.value if tab else "",
        "tabs": list_tabs(db, user, tab, request.args.to_dict()),
        "may_take_in": operator_chats(db, user),
    }
    return render_template("sessions_list.html", **context), status


@bp.post("/sessions/view")
@writes
def switch_view() -> ResponseReturnValue:
    """Save the table/tiles choice and go back to the same list."""
    save_list_view(get_db(), acting_user(), request.form.get("view", ""))
    return redirect(_back_to_list())


def _back_to_list() -> str:
    return local_path(request.form.get("back"), url_for("sessions.list_sessions"), "/sessions")


@bp.route("/sessions/columns", methods=["GET", "POST"])
@writes
def choose_columns() -> ResponseReturnValue:
    """Choose the shown properties and their order (move buttons work without JavaScript)."""
    db, user = get_db(), acting_user()
    columns = catalogue(db)
    if request.method == "GET":
        order = list_columns(db, user)
        return _columns_page(columns, order, set(order), {}, 200)
    order = [key for key in request.form.getlist("order") if key in columns]
    shown = {key for key in request.form.getlist("show") if key in columns}
    move = request.form.get("move", "")
    if move:
        order = _moved(order, move)
        return _columns_page(columns, order, shown, {}, 200)
    try:
        save_list_columns(db, user, [key for key in order if key in shown])
    except ValidationError as exc:
        return _columns_page(columns, order, shown, exc.fields, 422)
    return redirect(_back_to_list())


def _moved(order: list[str], move: str) -> list[str]:
    key, _sep, direction = move.rpartition(":")
    if key not in order:
        return order
    index = order.index(key)
    target = index - 1 if direction == "up" else index + 1
    if 0 <= target < len(order):
        order[index], order[target] = order[target], order[index]
    return order


def _columns_page(
    columns: dict[str, Any],
    order: list[str],
    shown: set[str],
    errors: dict[str, str],
    status: int,
) -> ResponseReturnValue:
    rest = [key for key in columns if key not in order]
    items = [columns[key] for key in [*order, *rest]]
    back = request.values.get("back", "")
    context = {"items": items, "shown": shown, "errors": errors, "back": back}
    return render_template("columns.html", **context), status
