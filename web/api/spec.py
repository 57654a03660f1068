"""A small operation registry: pydantic models validate requests and make the OpenAPI document."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from .schemas import ErrorResponse

Handler = Callable[..., Any]
_PATH_PARAM = re.compile(r"<(?:(?P<conv>int|string):)?(?P<name>\w+)>")
INT64_MAX = 2**63 - 1
ERROR_TEXT = {
    400: "Malformed request (not JSON, invalid UTF-8, too deeply nested, bad header)",
    401: "Missing, unknown or revoked API token",
    403: "The token's user may not do this",
    404: "No such resource, or not visible to this user",
    409: "Someone else changed the same thing first; reload and retry",
    413: "Request body too large",
    422: "Well-formed but invalid input; `fields` names each problem",
    503: "The database is unavailable or busy; retry after the `Retry-After` seconds",
}
READ_ERRORS = (400, 401, 403, 404, 422)
WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 422)


PathKind = Literal["int", "key", "name"]
_KINDS: dict[str, PathKind] = {"int": "int", "string": "name"}
_PARAM_SCHEMAS: dict[str, dict[str, Any]] = {
    "int": {"type": "integer", "minimum": 1, "maximum": INT64_MAX},
    "key": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,63}$"},
    "name": {"type": "string", "pattern": "^[^/]{1,255}$"},
}


@dataclass(frozen=True)
class PathParam:
    """A path parameter: integers are ids (1 to 2^63-1), `<key>` a parameter key, `<string:x>` any
    name without a slash (BPMN and task ids)."""

    name: str
    kind: PathKind


@dataclass(frozen=True)
class KeyedResult:
    """What a one-statement handler returns: its response, and whether its write also stored
    the keyed request's answer (the dispatcher refuses to answer a key left unrecorded)."""

    response: BaseModel
    key_recorded: bool


@dataclass
class Operation:
    """One endpoint: its route, the models it validates and returns, and its documentation."""

    method: str
    rule: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = READ_ERRORS
    auth: bool = True
    idempotent: bool = False
    writes: bool = False
    # The handler's write also stores a keyed request's response (it is handed a `KeyedWrite`,
    # body = the response model of the written row, and returns a KeyedResult saying it did):
    # on PostgreSQL that is one statement, so the request runs in autocommit, with no BEGIN and
    # COMMIT round trips.
    one_statement: bool = False
    # A channel account (role "channel") may call it: creating sessions, posting and reading
    # their messages. Everything else is the desk's.
    channel: bool = False
    # It runs a process step: the step's scripts run before it writes, holding no lock, so the
    # request queues for SQLite's single writer only when the step is about to write (see
    # `one_writer(lazily=True)` and `processes.step_phases`), not around the whole handler.
    runs_step: bool = False
    params: list[PathParam] = field(default_factory=list)

    @property
    def path(self) -> str:
        """The OpenAPI form of the Flask rule: `<int:session_id>` becomes `{session_id}`."""
        return _PATH_PARAM.sub(lambda m: "{" + m["name"] + "}", self.rule)

    @property
    def operation_id(self) -> str:
        """A stable id: the handler's name."""
        return self.handler.__name__


class Registry:
    """Collects operations as modules declare them; `init_api` turns them into Flask routes."""

    def __init__(self) -> None:
        self.operations: list[Operation] = []

    def operation(
        self,
        method: str,
        rule: str,
        *,
        summary: str,
        tag: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        errors: tuple[int, ...] | None = None,
        auth: bool = True,
        idempotent: bool = False,
        one_statement: bool = False,
        channel: bool = False,
        runs_step: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Declare an endpoint; the decorated function receives validated models, not raw JSON."""
        writes = method != "GET"
        if one_statement and response is None:  # its statement records the response's body
            raise ValueError(f"{rule}: a one-statement operation needs a response model")

        def decorate(handler: Handler) -> Handler:
            params = [
                PathParam(m["name"], _KINDS.get(m["conv"] or "", "key"))
                for m in _PATH_PARAM.finditer(rule)
            ]
            self.operations.append(
                Operation(
                    method=method,
                    rule=rule,
                    handler=handler,
                    summary=summary,
                    tag=tag,
                    body=body,
                    query=query,
                    response=response,
                    status=status,
                    errors=errors or (WRITE_ERRORS if writes else READ_ERRORS),
                    auth=auth,
                    idempotent=idempotent,
                    writes=writes,
                    one_statement=one_statement,
                    channel=channel,
                    runs_step=runs_step,
                    params=params,
                )
            )
            return handler

        return decorate


def _models(operations: list[Operation]) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    seen: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {
        (ErrorResponse, "serialization"): None
    }
    for op in operations:
        if op.body is not None:
            seen[(op.body, "validation")] = None
        if op.response is not None:
            seen[(op.response, "serialization")] = None
    return list(seen)


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": {k: v for k, v in prop.items() if k != "title"},
            **({"description": prop["description"]} if "description" in prop else {}),
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def _path_parameters(op: Operation) -> list[dict[str, Any]]:
    result = []
    for param in op.params:
        schema = _PARAM_SCHEMAS[param.kind]
        result.append({"name": param.name, "in": "path", "required": True, "schema": schema})
    return result


def openapi_document(operations: list[Operation], title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document, assembled from the same models that validate requests."""
    refs, defs = models_json_schema(
        _models(operations), ref_template="#/components/schemas/{model}"
    )
    error_ref = refs[(ErrorResponse, "serialization")]
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        item: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": _path_parameters(op),
            "responses": {},
        }
        if op.query is not None:
            item["parameters"] += _query_parameters(op.query)
        if op.idempotent:
            item["parameters"].append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": "Retry-safe key: the same key and body return the first "
                    "result again; the same key with another body is refused (422).",
                    "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 255,
                        "pattern": "^[!-~]+$",
                    },
                }
            )
        if "if_match" in inspect.signature(op.handler).parameters:
            item["parameters"].append(
                {
                    "name": "If-Match",
                    "in": "header",
                    "required": False,
                    "description": 'The session version the client saw (as `"3"`): the '
                    "write is refused with 409 when the session changed since.",
                    "schema": {"type": "string"},
                }
            )
        if op.body is not None:
            item["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
            }
        success: dict[str, Any] = {"description": "Success"}
        if op.response is not None:
            success["content"] = {
                "application/json": {"schema": refs[(op.response, "serialization")]}
            }
        item["responses"][str(op.status)] = success
        for code in op.errors if op.auth else tuple(c for c in op.errors if c != 401):
            item["responses"][str(code)] = {
                "description": ERROR_TEXT[code],
                "content": {"application/json": {"schema": error_ref}},
            }
        if op.auth:
            item["security"] = [{"bearerAuth": []}]
        paths.setdefault(op.path, {})[op.method.lower()] = item
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Chat channels feed sessions in; integrations read parameters and "
            "drive processes. Authenticate with `Authorization: Bearer <token>` "
            "(`bpm-livechat token create USER`).",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }


def seen_version(body_version: int | None, if_match: int | None) -> int | None:
    """The version the client saw: the body's `version` field, else its If-Match header."""
    return body_version if body_version is not None else if_match
