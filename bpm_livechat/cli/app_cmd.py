"""`bpm-livechat app ...`: apps, their fields and items, live chat binding and read access."""

from __future__ import annotations

import json
from typing import Any

import click

from bpm_livechat.apps.items import (
    add_app,
    add_field,
    create_item,
    find_app,
    item_fields,
    list_apps,
)
from bpm_livechat.apps.items import list_items as find_items
from bpm_livechat.apps.links import bind_app
from bpm_livechat.apps.reading import grant_read_access, readers, revoke_read_access
from bpm_livechat.desk.livechats import get_live_chat
from bpm_livechat.desk.users import get_user
from bpm_livechat.errors import ValidationError
from bpm_livechat.json_input import JsonTooDeepError, loads_bounded
from bpm_livechat.models import App, AppItem

from .common import emit, handles_errors, json_option, transaction


@click.group("app")
def app_group() -> None:
    """Apps: typed collections whose items sessions link to."""


def _describe(app: App) -> dict[str, Any]:
    fields = [
        {"key": f.key, "label": f.label, "type": f.type, "options": f.options} for f in app.fields
    ]
    return {"id": app.id, "name": app.name, "fields": fields}


def _item(item: AppItem) -> dict[str, Any]:
    values = {f.key: f.value for f in item_fields(item) if f.value is not None}
    return {"id": item.id, "app": item.app.name, "title": item.title, "values": values}


@app_group.command("list")
@json_option
@handles_errors
def list_(as_json: bool) -> None:
    """List apps with their fields."""
    with transaction() as db:
        apps = [_describe(a) for a in list_apps(db)]
    emit(apps, as_json, lambda: "\n".join(f"{a['id']:>4}  {a['name']}" for a in apps))


@app_group.command("create")
@click.argument("name")
@json_option
@handles_errors
def create(name: str, as_json: bool) -> None:
    """Create an empty app."""
    with transaction() as db:
        data = _describe(add_app(db, name))
    emit(data, as_json, f"app {name!r} created")


@app_group.command("add-field")
@click.argument("app_name")
@click.argument("key")
@click.argument("type_name", metavar="TYPE")
@click.option("--label", required=True)
@click.option("--option", "options", multiple=True, help="An option of a choice field (repeat).")
@json_option
@handles_errors
def add_field_cmd(
    app_name: str, key: str, type_name: str, label: str, options: tuple[str, ...], as_json: bool
) -> None:
    """Add a typed field to an app (the types of custom parameters)."""
    with transaction() as db:
        app = find_app(db, app_name)
        add_field(db, app, key, type_name, label, options)
        data = _describe(app)
    emit(data, as_json, f"field {key!r} added to {app_name!r}")


@app_group.command("add-item")
@click.argument("app_name")
@click.option("--values", "values_json", required=True, help='JSON object, e.g. {"name": "Acme"}.')
@json_option
@handles_errors
def add_item(app_name: str, values_json: str, as_json: bool) -> None:
    """Add an item; values are validated against the fields' types."""
    try:
        values = loads_bounded(values_json)
    except (json.JSONDecodeError, JsonTooDeepError) as exc:
        raise ValidationError(f"--values is not JSON: {exc.msg}", {"values": "not JSON"}) from None
    if not isinstance(values, dict):
        raise ValidationError("--values must be a JSON object", {"values": "not an object"})
    with transaction() as db:
        data = _item(create_item(db, find_app(db, app_name), values))
    emit(data, as_json, lambda: f"item {data['id']} added to {app_name!r}")


@app_group.command("items")
@click.argument("app_name")
@click.option("--search", default="", help="Only items whose values contain this text.")
@json_option
@handles_errors
def items(app_name: str, search: str, as_json: bool) -> None:
    """List an app's items, newest first."""
    with transaction() as db:
        data = [_item(i) for i in find_items(db, find_app(db, app_name), search)]
    emit(data, as_json, lambda: "\n".join(f"{i['id']:>6}  {i['title']}" for i in data))


@app_group.command("bind")
@click.argument("live_chat")
@click.argument("app_name", required=False)
@json_option
@handles_errors
def bind(live_chat: str, app_name: str | None, as_json: bool) -> None:
    """Bind a live chat to an app (no APP_NAME: unbind)."""
    with transaction() as db:
        bind_app(db, get_live_chat(db, live_chat), find_app(db, app_name) if app_name else None)
    emit({"live_chat": live_chat, "app": app_name}, as_json, f"{live_chat!r} bound to {app_name!r}")


@app_group.command("grant")
@click.argument("live_chat")
@click.argument("username")
@click.option("--revoke", is_flag=True, help="Take the read grant back.")
@json_option
@handles_errors
def grant(live_chat: str, username: str, revoke: bool, as_json: bool) -> None:
    """Let a user read the live chat's sessions on app item pages (or --revoke)."""
    with transaction() as db:
        chat = get_live_chat(db, live_chat)
        change = revoke_read_access if revoke else grant_read_access
        change(db, chat, get_user(db, username))
        data = {"live_chat": live_chat, "readers": [u.username for u in readers(db, chat)]}
    emit(data, as_json, f"readers of {live_chat!r}: {', '.join(data['readers']) or 'none'}")
