"""The REST API under /api/v1 (issue 7): registered on the app by `init_api`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from .dispatch import make_view
from .docs import render_docs
from .errors import API_PREFIX, ApiError, http_error, is_api_request, register
from .spec import Operation, openapi_document

DEFAULT_MAX_BODY = 1024 * 1024  # 1 MiB: sessions, messages and values are small
_DOC_KEY = "bpm_livechat.openapi"


def operations() -> list[Operation]:
    """Every declared operation, in document order."""
    from . import (
        automation,
        console,
        decisions,
        events,
        health,
        monitoring,
        parameters,
        processes,
        routing,
        sessions,
        supervision,
        tokens,
    )

    modules = (
        sessions,
        console,
        parameters,
        processes,
        decisions,
        monitoring,
        supervision,
        events,
        automation,
        routing,
        tokens,
        health,
    )
    return [op for module in modules for op in module.api.operations]


def init_api(app: Flask) -> None:
    """Register the REST API blueprint on `app` (its routes, errors, body limit and documents)."""
    bp = Blueprint("api", __name__, url_prefix=API_PREFIX)
    ops = operations()
    for op in ops:
        bp.add_url_rule(op.rule, op.operation_id, make_view(op), methods=[op.method])
    bp.add_url_rule("/openapi.json", "openapi", _openapi)
    bp.add_url_rule("/docs", "docs", _docs)
    bp.add_url_rule(
        "/<path:anything>", "unknown", _unknown, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]
    )
    bp.before_request(_limit_body)
    bp.before_app_request(_routing_error)
    register(bp)
    app.extensions[_DOC_KEY] = openapi_document(ops, "bpm_livechat REST API", "1.0.0")
    app.register_blueprint(bp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:  # token-authenticated JSON calls carry no cookies to forge
        csrf.exempt(bp)


def _routing_error() -> Response | None:
    """A URL under /api/v1 that no rule matches still gets a JSON error, not the UI's page."""
    exc = request.routing_exception
    if isinstance(exc, HTTPException) and (exc.code or 500) >= 400 and is_api_request():
        return http_error(exc)
    return None


def _limit_body() -> None:
    request.max_content_length = current_app.config.get("API_MAX_CONTENT_LENGTH", DEFAULT_MAX_BODY)


def _openapi() -> Response:
    document: dict[str, Any] = current_app.extensions[_DOC_KEY]
    return jsonify(document)


def _docs() -> Response:
    return Response(render_docs(current_app.extensions[_DOC_KEY]), mimetype="text/html")


def _unknown(anything: str) -> Response:
    allowed = _methods_of(request.path)
    if allowed:  # the endpoint exists, with other methods
        error = http_error(MethodNotAllowed(valid_methods=allowed))
        error.headers["Allow"] = ", ".join(allowed)
        return error
    raise ApiError(404, "not_found", f"no API endpoint {request.method} {request.path}")


def _methods_of(path: str) -> list[str]:
    """The methods the API's own endpoints answer at `path` (not the catch-all's)."""
    adapter = current_app.url_map.bind("localhost")
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        try:
            endpoint, _args = adapter.match(path, method=method)
        except HTTPException:
            continue
        if endpoint != "api.unknown":
            allowed.append(method)
    if "GET" in allowed:
        allowed.append("HEAD")
    return sorted(allowed)
