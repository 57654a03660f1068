"""Built-in apps: typed collections (Clients, Requests...), their typed fields and their items."""

from __future__ import annotations

import keyword
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bpm_livechat.errors import NotFoundError, ParameterValueError, ValidationError
from bpm_livechat.models import App, AppField, AppItem, User
from bpm_livechat.names import check_name
from bpm_livechat.params.catalogue import KEY_PATTERN, parse_type
from bpm_livechat.params.types import (
    ParamType,
    format_value,
    from_json,
    index_text,
    normalize,
    to_json,
)
from bpm_livechat.params.types import validate_options as check_options

MAX_SEARCH_RESULTS = 20


@dataclass(frozen=True)
class FieldValue:
    """One field of an item, typed and formatted for display."""

    key: str
    label: str
    type: str
    value: object
    text: str


def _check_name(name: str, what: str, field: str) -> str:
    return check_name(name, f"the {what}", field)


def list_apps(db: Session) -> list[App]:
    """All apps by name."""
    return list(db.scalars(select(App).order_by(App.name)))


def get_app(db: Session, app_id: int) -> App:
    """The app `app_id`, or NotFoundError."""
    app = db.get(App, app_id)
    if app is None:
        raise NotFoundError("app", app_id)
    return app


def find_app(db: Session, name: str) -> App:
    """The app called `name`, or NotFoundError."""
    app = db.scalar(select(App).where(App.name == name))
    if app is None:
        raise NotFoundError("app", name)
    return app


def add_app(db: Session, name: str) -> App:
    """Create an empty app; its name is unique."""
    name = _check_name(name, "app name", "name")
    if db.scalar(select(App.id).where(App.name == name)) is not None:
        raise ValidationError(f"app {name!r} already exists", {"name": "already exists"})
    app = App(name=name)
    db.add(app)
    db.flush()
    return app


def add_field(
    db: Session, app: App, key: str, type_name: str, label: str, options: Sequence[str] = ()
) -> AppField:
    """Add a typed field to an app (the types of custom parameters, with their validation)."""
    key = key.strip()
    if not KEY_PATTERN.match(key) or keyword.iskeyword(key):
        raise ValidationError(
            f"invalid key {key!r}: use a lower-case identifier (letters, digits, '_'), up to 64 characters",
            {"key": "not a lower-case identifier"},
        )
    if any(f.key == key for f in app.fields):
        raise ValidationError(
            f"field {key!r} already exists in {app.name!r}", {"key": "already exists"}
        )
    type_ = parse_type(type_name)
    last = db.scalar(select(func.max(AppField.position)).where(AppField.app_id == app.id)) or 0
    field = AppField(
        app=app,
        key=key,
        label=_check_name(label, "label", "label"),
        type=type_.value,
        options=check_options(type_, options),
        position=last + 1,
    )
    db.add(field)
    db.flush()
    return field


def _normalized(app: App, raw: Mapping[str, object]) -> dict[str, object]:
    unknown = sorted(set(raw) - {f.key for f in app.fields})
    if unknown:
        raise ValidationError(
            f"unknown fields of {app.name!r}: {', '.join(unknown)}",
            {key: "unknown field" for key in unknown},
        )
    values: dict[str, object] = {}
    problems: dict[str, str] = {}
    for field in app.fields:
        try:
            value = normalize(field.key, ParamType(field.type), raw.get(field.key), field.options)
        except ParameterValueError as exc:
            problems[field.key] = exc.reason
            continue
        if value is not None:
            values[field.key] = value
    if problems:
        listed = "; ".join(f"{key}: {reason}" for key, reason in problems.items())
        raise ValidationError(f"invalid item values: {listed}", problems)
    return values


def create_item(
    db: Session, app: App, raw: Mapping[str, object], user: User | None = None
) -> AppItem:
    """Add an item; every value is validated against its field's type (all problems at once)."""
    values = _normalized(app, raw)
    if not values:
        raise ValidationError(
            "an item needs at least one value", {"": "an item needs at least one value"}
        )
    texts = [format_value(ParamType(f.type), values.get(f.key)) for f in app.fields]
    title = next((t for t in texts if t), "")[:255]
    item = AppItem(
        app_id=app.id,
        title=title,
        search_text=index_text(" ".join(t for t in texts if t))[:1000],
        values={
            f.key: to_json(ParamType(f.type), values[f.key]) for f in app.fields if f.key in values
        },
        created_by_id=user.id if user else None,
    )
    db.add(item)
    db.flush()
    return item


def get_item(db: Session, item_id: int) -> AppItem:
    """The item `item_id`, or NotFoundError."""
    item = db.get(AppItem, item_id)
    if item is None:
        raise NotFoundError("app item", item_id)
    return item


def item_fields(item: AppItem) -> list[FieldValue]:
    """The item's fields in order, typed and formatted (empty ones included)."""
    rows = []
    for field in item.app.fields:
        type_ = ParamType(field.type)
        value = from_json(type_, item.values.get(field.key))
        rows.append(
            FieldValue(field.key, field.label, field.type, value, format_value(type_, value))
        )
    return rows


def list_items(db: Session, app: App, query: str = "", limit: int = 200) -> list[AppItem]:
    """The app's items, newest first; with `query`, those whose values contain it (any case)."""
    select_items = select(AppItem).where(AppItem.app_id == app.id)
    words = index_text(query).split()
    for word in words:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        select_items = select_items.where(AppItem.search_text.like(f"%{escaped}%", escape="\\"))
    return list(db.scalars(select_items.order_by(AppItem.id.desc()).limit(limit)))
