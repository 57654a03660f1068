"""Form Settings (admins): system parameters locked, custom parameters added, edited, ordered."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bpm_livechat.errors import ValidationError
from bpm_livechat.params.catalogue import (
    SYSTEM_PARAMETERS,
    add_parameter,
    archive_parameter,
    get_definition,
    restore_parameter,
    split_option_labels,
    update_parameter,
)
from bpm_livechat.params.constraints import NAMES as CONSTRAINT_NAMES
from bpm_livechat.params.definitions import definitions
from bpm_livechat.params.types import ParamType
from web.admin import admin_blueprint, field_errors, saved
from web.confirm import confirmation
from web.db import form_post, get_db, writes

bp = admin_blueprint("admin_params", __name__, "/admin/parameters")

TYPES = [t.value for t in ParamType]


def _page(**context: Any) -> str:
    every = definitions(get_db(), include_archived=True)
    return render_template(
        "admin_params.html",
        system=SYSTEM_PARAMETERS,
        active=[d for d in every if d.archived_at is None],
        archived=[d for d in every if d.archived_at is not None],
        types=TYPES,
        **{"errors": {}, **context},
    )


def _form_values() -> dict[str, Any]:
    form = request.form
    return {
        "key": form.get("key", "").strip(),
        "type": form.get("type", ""),
        "label": form.get("label", ""),
        "description": form.get("description", ""),
        "options": form.get("options", ""),
        "read_only": form.get("read_only") == "on",
        "required_to_close": form.get("required_to_close") == "on",
        "constraints": {name: form.get(name, "").strip() for name in CONSTRAINT_NAMES},
    }


def _options(text: str) -> tuple[list[str], dict[str, str]]:
    """The options textarea: one option per line, `key` or `key = Label`."""
    return split_option_labels([line for line in text.splitlines() if line.strip()])


@bp.get("")
def index() -> ResponseReturnValue:
    """The session form's fields and the palette of types; `?type=` opens the add form."""
    chosen = request.args.get("type")
    adding = None
    if chosen in TYPES:
        adding = {
            "type": chosen,
            "key": "",
            "label": "",
            "description": "",
            "options": "",
            "constraints": {},
        }
    return _page(adding=adding)


def _create_refused(exc: ValidationError) -> ResponseReturnValue:
    return _page(adding=_form_values(), errors=field_errors(exc, "key")), 422


@bp.post("")
@form_post(_create_refused)
def create() -> ResponseReturnValue:
    """Add a custom parameter; errors go back to their fields with the values kept."""
    values = _form_values()
    definition = add_parameter(
        get_db(),
        values["key"],
        values["type"],
        values["label"],
        description=values["description"],
        options=_options(values["options"])[0],
        option_labels=_options(values["options"])[1],
        read_only=values["read_only"],
        required_to_close=values["required_to_close"],
        constraints=values["constraints"],
    )
    return saved(f"Parameter “{definition.label}” added.", ".index")


@bp.get("/<key>/edit")
def edit(key: str) -> ResponseReturnValue:
    """The edit form of one custom parameter (system ones are refused by the core)."""
    definition = get_definition(get_db(), key)
    values = {
        "key": definition.key,
        "type": definition.type,
        "label": definition.label,
        "description": definition.description,
        "options": "\n".join(
            f"{o} = {definition.option_labels[o]}" if o in definition.option_labels else o
            for o in definition.options
        ),
        "read_only": definition.read_only,
        "required_to_close": definition.required_to_close,
        "constraints": definition.constraints,
    }
    return _page(editing=values)


def _update_refused(exc: ValidationError, key: str) -> ResponseReturnValue:
    return _page(editing={**_form_values(), "key": key}, errors=field_errors(exc, "label")), 422


@bp.post("/<key>/edit")
@form_post(_update_refused)
def update(key: str) -> ResponseReturnValue:
    """Save a parameter's label, description, type, options and flags."""
    values = _form_values()
    update_parameter(
        get_db(),
        key,
        label=values["label"],
        description=values["description"],
        type_name=values["type"],
        options=_options(values["options"])[0],
        option_labels=_options(values["options"])[1],
        read_only=values["read_only"],
        required_to_close=values["required_to_close"],
        constraints=values["constraints"],
    )
    return saved(f"Parameter “{values['label'].strip()}” saved.", ".index")


@bp.post("/<key>/move")
@writes
def move(key: str) -> ResponseReturnValue:
    """Move a parameter up or down, or to a `position` among the listed ones (drag and drop)."""
    db = get_db()
    get_definition(db, key)
    every = definitions(db, include_archived=True)
    # Positions count the listed (active) parameters; archived ones keep their slots.
    slots = [i for i, d in enumerate(every, start=1) if d.archived_at is None]
    listed = [d.key for d in every if d.archived_at is None]
    direction = request.form.get("direction")
    raw = request.form.get("position", "")
    if key not in listed:
        raise ValidationError("restore the parameter before moving it", {"position": "archived"})
    if direction in {"up", "down"}:
        target = listed.index(key) + (0 if direction == "up" else 2)
    elif raw.isdigit():
        target = int(raw)
    else:
        raise ValidationError("say where to move the parameter", {"position": "missing"})
    target = min(max(target, 1), len(slots))
    update_parameter(db, key, position=slots[target - 1])
    return redirect(url_for(".index"), 303)


@bp.post("/<key>/archive")
@writes
def archive(key: str) -> ResponseReturnValue:
    """Hide a parameter from forms and lists (after confirming); its values are kept."""
    definition = get_definition(get_db(), key, "archived")
    asked = confirmation(
        f"Archive the parameter “{definition.label}”?",
        f"“{definition.label}” ({definition.key}) disappears from forms, the session page, lists "
        "and filters, and scripts can no longer write it. Its values are kept: restoring it "
        "brings them back.",
        "Archive the parameter",
        url_for(".index"),
    )
    if asked is not None:
        return asked
    definition = archive_parameter(get_db(), key)
    return saved(f"Parameter “{definition.label}” archived; its values are kept.", ".index")


@bp.post("/<key>/restore")
@writes
def restore(key: str) -> ResponseReturnValue:
    """Bring an archived parameter back with its values."""
    definition = restore_parameter(get_db(), key)
    return saved(f"Parameter “{definition.label}” restored.", ".index")
