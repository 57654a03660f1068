"""Turns a declared operation into a Flask view, in three parts: authentication (the token and,
for a keyed request, its stored answer), idempotency (record the answer, or replay a race's
winner) and running (the handler in the request's one transaction, then JSON out)."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, get_origin

from flask import Response, g, jsonify, request
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bpm_livechat.desk.idempotency import (
    IdempotencyKeyError,
    IdempotencyKeyReused,
    KeyedWrite,
    authenticate_keyed,
    fingerprint,
    remember,
    replay,
)
from bpm_livechat.desk.presence import note_activity
from bpm_livechat.desk.tokens import authenticate_token
from bpm_livechat.errors import BpmLivechatError
from bpm_livechat.models import Role, User
from bpm_livechat.persistence.transactions import one_writer, reading
from web.db import commit, discard, get_db
from web.engine import process_engine

from .errors import ApiError, from_pydantic
from .spec import INT64_MAX, KeyedResult, Operation


def after_commit(action: Callable[[], object]) -> None:
    """Run `action` once the request's transaction has committed (events fire on saved data)."""
    g.setdefault("api_after_commit", []).append(action)


@dataclass(frozen=True)
class Caller:
    """Who calls, and the keyed request they send (key None: not keyed)."""

    user: User | None
    key: str | None
    print_: str


# -- authentication ---------------------------------------------------------------------------


def _authenticate(db: Session, key: str | None, print_: str) -> tuple[User, Response | None]:
    """The bearer token's user (else a 401) and, for a keyed request answered before, its answer."""
    credentials = _credentials()
    stored = None
    with _key_errors():
        if key is None:
            user = authenticate_token(db, credentials.strip())
        else:
            user, stored = authenticate_keyed(db, credentials.strip(), key, print_)
    if user is None:
        raise ApiError(401, "invalid_token", "unknown or revoked API token")
    return user, None if stored is None else _json(stored.body, stored.status_code, replayed=True)


def _credentials() -> str:
    """The bearer token the request sends; a 401 when it sends none."""
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if not header:
        raise ApiError(401, "unauthenticated", "send Authorization: Bearer <token>")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise ApiError(401, "unauthenticated", "the Authorization header must be 'Bearer <token>'")
    return credentials


def _require_token() -> None:
    """A 401 unless the request carries a live token (checked before reporting bad input)."""
    credentials = _credentials()
    db = get_db()
    with reading(db):
        user = authenticate_token(db, credentials.strip())
    if user is None:
        raise ApiError(401, "invalid_token", "unknown or revoked API token")


# -- parsing ----------------------------------------------------------------------------------


def _query(model: type[BaseModel]) -> BaseModel:
    raw: dict[str, Any] = {}
    for name in request.args:
        info = model.model_fields.get(name)
        repeatable = info is not None and get_origin(info.annotation) is list
        values = request.args.getlist(name)
        # A parameter given twice that takes one value is ambiguous: validation refuses the list.
        raw[name] = values if repeatable or len(values) > 1 else values[0]
    try:
        return model.model_validate(raw)
    except PydanticValidationError as exc:
        raise from_pydantic(exc, "query string") from None


def _body(model: type[BaseModel]) -> BaseModel:
    raw = request.get_data(cache=True)  # 413 past the API's max_content_length
    try:
        body = model.model_validate_json(raw)
    except PydanticValidationError as exc:
        raise from_pydantic(exc, "request body") from None
    if _NUL_ESCAPE.search(raw):  # rare: only then is the body walked to name the field
        field = _nul_field(json.loads(raw))
        if field is not None:
            raise ApiError(
                422, "validation_error", "invalid request body", {field: "contains a NUL character"}
            )
    return body


# JSON writes a NUL character only as the escape \u0000 (an even run of backslashes before it
# escapes the backslashes instead). PostgreSQL cannot store NUL, and it is never meaningful input.
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _nul_field(value: Any, path: tuple[str, ...] = ()) -> str | None:
    """The dotted path of the first key or text in `value` that holds a NUL character."""
    if isinstance(value, str):
        return (".".join(path) or "body") if "\x00" in value else None
    items: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, item in items:
        where = (*path, str(key))
        if isinstance(key, str) and "\x00" in key:
            return ".".join(where)
        found = _nul_field(item, where)
        if found is not None:
            return found
    return None


_ENTITY_TAG = re.compile(r'^\s*(?:W/)?"?(\d{1,10})"?\s*$')


def _if_match() -> int | None:
    """The version named by the If-Match header (`"3"`, `W/"3"` or `3`); None without one or
    for `*`; 400 for anything else."""
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    match = _ENTITY_TAG.match(raw)
    if match is None:
        message = 'If-Match must name the version the client saw, like "3"'
        raise ApiError(400, "bad_header", message, {"If-Match": "a version number"})
    return int(match.group(1))


def _check_ids(op: Operation, path: dict[str, Any]) -> None:
    for param in op.params:
        if param.kind == "int" and not 1 <= path[param.name] <= INT64_MAX:
            raise ApiError(404, "not_found", f"{param.name} {path[param.name]} not found")


def _json(data: Any, status: int, replayed: bool = False) -> Response:
    response = jsonify(data)
    response.status_code = status
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


# -- idempotency ------------------------------------------------------------------------------


def _idempotency_print(op: Operation, body: BaseModel | None) -> str:
    canonical = json.dumps(body.model_dump(mode="json") if body else None, sort_keys=True)
    return fingerprint(op.method, request.path, canonical)


@contextmanager
def _key_errors() -> Iterator[None]:
    try:
        yield
    except IdempotencyKeyReused as exc:
        raise ApiError(
            422, "idempotency_key_reused", f"Idempotency-Key {exc.message}", exc.fields
        ) from None
    except IdempotencyKeyError as exc:
        raise ApiError(400, "bad_header", f"Idempotency-Key {exc.message}", exc.fields) from None


def _keyed(op: Operation, caller: Caller) -> KeyedWrite | None:
    """For a one-statement operation, the keyed request its write records along with it."""
    if not op.one_statement or caller.key is None or caller.user is None or op.response is None:
        return None
    describe = op.response.model_validate
    return KeyedWrite(
        caller.user.id,
        caller.key,
        caller.print_,
        op.status,
        lambda row: describe(row).model_dump(mode="json"),
    )


def _replay_after_race(db: Session, caller: Caller, exc: IntegrityError) -> Response:
    """Undo this request and replay the one that stored the key first; `exc` if none did."""
    # The key was looked up before the writer lock (SQLite) or without one (PostgreSQL), so a
    # concurrent retry may have committed since: the unique constraint tells, exactly.
    discard()
    g.pop("api_after_commit", None)
    assert caller.user is not None and caller.key is not None
    with _key_errors():
        stored = replay(db, caller.user, caller.key, caller.print_)
    if stored is None:
        raise exc  # the constraint broken was not the key's
    return _json(stored.body, stored.status_code, replayed=True)


def _replay_stored(db: Session, caller: Caller) -> Response | None:
    """Undo this request; the stored answer of its key if one was committed meanwhile."""
    discard()
    g.pop("api_after_commit", None)
    assert caller.user is not None and caller.key is not None
    with _key_errors():
        stored = replay(db, caller.user, caller.key, caller.print_)
    return None if stored is None else _json(stored.body, stored.status_code, replayed=True)


def _record_answer(op: Operation, caller: Caller, keyed: KeyedWrite | None, result: Any) -> Any:
    """The answer's JSON, with the key recorded: by the handler's own write, or here."""
    if isinstance(result, KeyedResult):
        if keyed is not None and not result.key_recorded:  # a later record would not be atomic
            raise RuntimeError(f"{op.operation_id} did not store its Idempotency-Key")
        result = result.response
    data = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
    if keyed is None and caller.key is not None and caller.user is not None:
        remember(get_db(), caller.user.id, caller.key, caller.print_, op.status, data)
    return data


# -- running ----------------------------------------------------------------------------------


def _run(
    op: Operation, db: Session, caller: Caller, available: dict[str, Any], wanted: set[str]
) -> Response:
    """The handler in the request's one transaction (SQLite: queued for the single writer; for
    a process step, only once its scripts have run)."""
    keyed = available["keyed"] = _keyed(op, caller)
    available["user"] = caller.user
    with one_writer(db, lazily=op.runs_step):
        try:
            result = op.handler(**{name: available[name] for name in wanted})
            data = _record_answer(op, caller, keyed, result)
        except IntegrityError as exc:
            if caller.key is None or caller.user is None:
                raise
            return _replay_after_race(db, caller, exc)
        except BpmLivechatError:
            # A retry that raced its own first attempt (the task completed meanwhile, a 409):
            # the first attempt's answer, once it is stored, is this request's answer too.
            if caller.key is None or caller.user is None:
                raise
            replayed = _replay_stored(db, caller)
            if replayed is None:
                raise
            return replayed
        if op.writes:
            commit()
            for action in g.pop("api_after_commit", []):
                action()
    return _json(data, op.status)


def _note_activity(db: Session, user: User) -> None:
    """A request is the caller's activity (automatic Away reads it); written once a minute."""
    if note_activity(db, user, process_engine().clock.now()):
        commit()


def make_view(op: Operation) -> Callable[..., Response]:
    """The Flask view function of `op`."""
    wanted = set(inspect.signature(op.handler).parameters)
    uses_db = op.auth or "db" in wanted

    def view(**path: Any) -> Response:
        available: dict[str, Any] = dict(path)
        try:
            _check_ids(op, path)
            if op.query is not None:
                available["query"] = _query(op.query)
            body = available["body"] = _body(op.body) if op.body is not None else None
            if "if_match" in wanted:
                available["if_match"] = _if_match()
        except ApiError:
            if op.auth:  # who may not call at all learns that first, not what their input lacks
                _require_token()
            raise
        if not uses_db:  # the health probe: no token, no database
            result = op.handler(**{name: available[name] for name in wanted})
            return _json(result.model_dump(mode="json"), op.status)
        key = request.headers.get("Idempotency-Key") if op.idempotent else None
        caller = Caller(None, key, _idempotency_print(op, body) if key is not None else "")
        db = available["db"] = get_db()
        if op.one_statement and db.get_bind().engine.dialect.name == "postgresql":
            # The handler's one statement commits itself (and its key's record).
            db.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        if op.auth:
            with reading(db):
                user, replayed = _authenticate(db, key, caller.print_)
            g.log_user = user.username  # the request's log record names who it acted as
            if replayed is not None:
                return replayed
            if user.role == Role.CHANNEL.value and not op.channel:
                raise ApiError(
                    403, "forbidden",
                    "a channel account creates sessions and posts and reads their messages only",
                )  # fmt: skip
            caller = Caller(user, key, caller.print_)
            _note_activity(db, user)
        return _run(op, db, caller, available, wanted)

    view.__name__ = op.operation_id
    return view
