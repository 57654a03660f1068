"""Custom parameters: the catalogue (admins define it) and each session's values and history."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bpm_livechat.errors import AccessDeniedError, NotFoundError
from bpm_livechat.models import Role, User
from bpm_livechat.params.catalogue import (
    add_parameter,
    archive_parameter,
    info,
    list_parameters,
    restore_parameter,
    update_parameter,
)
from bpm_livechat.params.values import get_parameters, parameter_history
from bpm_livechat.sessions.editing import edit_parameters
from bpm_livechat.sessions.lifecycle import get_session
from bpm_livechat.sessions.stale import latest_change_ids
from web.engine import process_engine

from .convert import history_out, param_types, parameter_out, values_json
from .schemas import (
    HistoryOut,
    ParameterCreate,
    ParameterList,
    ParameterListQuery,
    ParameterOut,
    ParameterUpdate,
    ValuesOut,
    ValuesPatch,
    ValuesPatched,
)
from .spec import Registry

api = Registry()
TAG = "parameters"


def _require_admin(user: User) -> None:
    if user.role != Role.ADMIN.value:
        raise AccessDeniedError("only admins change the parameter catalogue")


@api.operation(
    "GET", "/parameters", summary="The parameter catalogue: system, then custom", tag=TAG,
    query=ParameterListQuery, response=ParameterList,
)  # fmt: skip
def list_parameters_api(db: Session, query: ParameterListQuery) -> ParameterList:
    """Every parameter a session has; archived custom ones only when asked."""
    entries = list_parameters(db, include_archived=query.include_archived)
    return ParameterList(items=[parameter_out(e) for e in entries])


@api.operation(
    "POST", "/parameters", summary="Define a custom parameter (admins)", tag=TAG,
    body=ParameterCreate, response=ParameterOut, status=201, idempotent=True,
)  # fmt: skip
def create_parameter_api(db: Session, user: User, body: ParameterCreate) -> ParameterOut:
    """A new custom parameter on every session."""
    _require_admin(user)
    definition = add_parameter(
        db,
        body.key,
        body.type,
        body.label,
        description=body.description,
        options=body.options,
        read_only=body.read_only,
        required_to_close=body.required_to_close,
        constraints=body.constraints,
        option_labels=body.option_labels,
    )
    return parameter_out(info(definition))


@api.operation(
    "PATCH", "/parameters/<key>", summary="Change a custom parameter (admins)", tag=TAG,
    body=ParameterUpdate, response=ParameterOut,
)  # fmt: skip
def update_parameter_api(db: Session, user: User, key: str, body: ParameterUpdate) -> ParameterOut:
    """Label, description, type (stored values must convert), options, position, flags."""
    _require_admin(user)
    definition = update_parameter(
        db,
        key,
        label=body.label,
        description=body.description,
        type_name=body.type,
        options=body.options,
        position=body.position,
        read_only=body.read_only,
        required_to_close=body.required_to_close,
        constraints=body.constraints,
        option_labels=body.option_labels,
    )
    return parameter_out(info(definition))


@api.operation(
    "POST", "/parameters/<key>/archive", summary="Archive a custom parameter (admins)",
    tag=TAG, response=ParameterOut,
)  # fmt: skip
def archive_parameter_api(db: Session, user: User, key: str) -> ParameterOut:
    """Hide it from forms and lists; values are kept."""
    _require_admin(user)
    return parameter_out(info(archive_parameter(db, key)))


@api.operation(
    "POST", "/parameters/<key>/restore", summary="Restore an archived parameter (admins)",
    tag=TAG, response=ParameterOut,
)  # fmt: skip
def restore_parameter_api(db: Session, user: User, key: str) -> ParameterOut:
    """Bring it back with its values."""
    _require_admin(user)
    return parameter_out(info(restore_parameter(db, key)))


@api.operation(
    "GET", "/sessions/<int:session_id>/parameters", summary="A session's parameter values",
    tag=TAG, response=ValuesOut,
)  # fmt: skip
def get_values_api(db: Session, user: User, session_id: int) -> ValuesOut:
    """Typed values of the session's custom parameters."""
    session = get_session(db, session_id, user)
    values = values_json(param_types(db), get_parameters(db, session.id))
    return ValuesOut(session_id=session.id, values=values, seen=latest_change_ids(db, session.id))


@api.operation(
    "PATCH", "/sessions/<int:session_id>/parameters", tag=TAG, body=ValuesPatch,
    response=ValuesPatched, summary="Set several values at once, all or nothing",
)  # fmt: skip
def patch_values_api(db: Session, user: User, session_id: int, body: ValuesPatch) -> ValuesPatched:
    """Every value is validated first; one problem and nothing is written (422 naming each)."""
    session = get_session(db, session_id, user)
    clock = process_engine().clock
    applied = edit_parameters(db, clock, session, body.values, user, body.seen or None)
    values = values_json(param_types(db), get_parameters(db, session.id))
    seen = latest_change_ids(db, session.id)
    return ValuesPatched(session_id=session.id, values=values, seen=seen, changed=sorted(applied))


@api.operation(
    "GET", "/sessions/<int:session_id>/parameters/<key>/history", tag=TAG,
    response=HistoryOut, summary="One parameter's changes in a session, oldest first",
)  # fmt: skip
def history_api(db: Session, user: User, session_id: int, key: str) -> HistoryOut:
    """Who or what changed it, when, from what to what."""
    session = get_session(db, session_id, user)
    if key not in param_types(db):
        raise NotFoundError("parameter", key)
    entries = parameter_history(db, session.id, key)
    return HistoryOut(session_id=session.id, key=key, items=[history_out(e) for e in entries])
