"""Every API failure becomes `{"error": {"code", "message", "fields"}}`: mapped here, in one place."""

from __future__ import annotations

import logging
import math

from flask import Blueprint, Response, jsonify, request
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from bpm_livechat.errors import (
    AccessDeniedError,
    BpmLivechatError,
    BpmnDocumentError,
    CapacityError,
    ConflictError,
    NotFoundError,
    OperatorOfflineError,
    SessionClosedError,
    SessionTakenError,
    StaleEditError,
    ValidationError,
)
from bpm_livechat.processes.deployments import DeploymentRejected

API_PREFIX = "/api/v1"
log = logging.getLogger(__name__)


class ApiError(Exception):
    """An HTTP-level refusal raised by the API layer itself (bad header, bad JSON, no token)."""

    def __init__(
        self, status: int, code: str, message: str, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}


def error_response(
    status: int,
    code: str,
    message: str,
    fields: dict[str, str] | None = None,
    extra: dict[str, object] | None = None,
) -> Response:
    """The JSON error body with its status (`extra`: more keys of the error object)."""
    error = {"code": code, "message": message, "fields": fields or {}, **(extra or {})}
    response = jsonify({"error": error})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="bpm_livechat"'
    return response


def _pydantic_location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def from_pydantic(exc: PydanticValidationError, where: str) -> ApiError:
    """400 for a body that is not JSON at all, 422 naming each field for one that does not fit."""
    problems = exc.errors(include_url=False, include_input=False)
    if any(p["type"] == "json_invalid" for p in problems):
        return ApiError(
            400, "malformed_json", f"the {where} is not valid JSON: {problems[0]['msg']}"
        )
    fields = {_pydantic_location(p["loc"]): p["msg"] for p in problems}
    return ApiError(422, "validation_error", f"invalid {where}", fields)


def _domain(exc: BpmLivechatError) -> Response:
    if isinstance(exc, CapacityError):
        response = error_response(503, "busy", exc.message)
        response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        return response
    if isinstance(exc, NotFoundError):
        return error_response(404, "not_found", exc.message)
    if isinstance(exc, AccessDeniedError):
        return error_response(403, "forbidden", exc.message, exc.fields)
    if isinstance(exc, SessionTakenError):
        return error_response(409, "already_taken", exc.message, {"operator": exc.holder})
    if isinstance(exc, SessionClosedError):
        return error_response(409, "session_closed", exc.message)
    if isinstance(exc, OperatorOfflineError):
        return error_response(409, "offline", exc.message)
    if isinstance(exc, StaleEditError):
        who = f"changed by {exc.changed_by}" if exc.changed_by else "changed"
        return error_response(409, "conflict", exc.message, {exc.field: f"{who} since"})
    if isinstance(exc, ConflictError):
        return error_response(409, "conflict", exc.message)
    if isinstance(exc, DeploymentRejected):
        problems = [p.to_dict() for p in exc.problems]
        return error_response(
            422, "validation_error", exc.message, exc.fields, {"problems": problems}
        )
    if isinstance(exc, ValidationError):
        return error_response(422, "validation_error", exc.message, exc.fields)
    if isinstance(exc, BpmnDocumentError):
        return error_response(422, "invalid_bpmn", exc.message, {"bpmn": exc.reason})
    return error_response(422, "unprocessable", exc.message)


def _api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.code, exc.message, exc.fields)


def http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = {413: "payload_too_large", 404: "not_found", 405: "method_not_allowed"}.get(
        status, "bad_request" if status < 500 else "server_error"
    )
    return error_response(status, code, exc.description or exc.name)


def _integrity(exc: IntegrityError) -> Response:
    # A unique constraint lost to a concurrent writer: the same thing was created meanwhile.
    return error_response(409, "conflict", "a conflicting change was made at the same time; retry")


def _operational(exc: OperationalError) -> Response:
    log.warning("database busy or unavailable: %s", exc.orig)
    return error_response(503, "unavailable", "the database is busy; retry shortly")


def _unexpected(exc: Exception) -> Response:
    log.exception("unexpected error in %s %s", request.method, request.path)
    return error_response(500, "internal_error", "unexpected server error; it has been logged")


def register(bp: Blueprint) -> None:
    """Attach the handlers to the API blueprint (they apply to its routes only)."""
    bp.register_error_handler(Exception, _unexpected)
    bp.register_error_handler(ApiError, _api_error)
    bp.register_error_handler(BpmLivechatError, _domain)
    bp.register_error_handler(HTTPException, http_error)
    bp.register_error_handler(IntegrityError, _integrity)
    bp.register_error_handler(OperationalError, _operational)


def is_api_request() -> bool:
    """True while serving a path under /api/v1."""
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")
