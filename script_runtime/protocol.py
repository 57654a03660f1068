"""What parent and worker say to each other: request building and reply -> result or exception."""

from __future__ import annotations

import json
import marshal
from collections.abc import Mapping
from dataclasses import dataclass
from keyword import iskeyword
from typing import Any

from script_runtime.codec import decode, encode, encode_named, is_wire_scalar
from script_runtime.errors import (
    Problem,
    ScriptCompileError,
    ScriptError,
    ScriptLimitExceeded,
    ScriptPolicyViolation,
    ScriptRuntimeError,
)

RESERVED_NAMES = frozenset({"session"})
_DECODER = json.JSONDecoder()
_KEYS_CACHED = 4096  # a workflow passes the same few task-data keys call after call
_key_visible: dict[str, bool] = {}  # is_script_variable(key), by key


@dataclass(frozen=True)
class ScriptResult:
    """What a script produced: new task data, recorded parameter writes, printed log, duration."""

    data: dict[str, object]
    changes: dict[str, object]
    log: str
    duration_ms: float
    links: tuple[tuple[str, int], ...] = ()  # session.link_item(app, item_id) requests
    replies: tuple[str, ...] = ()  # session.reply(text) requests, in order
    priority: str | None = None  # the last session.set_priority(level) request
    cpu_ms: float = 0.0  # CPU time the run spent in its worker


def is_script_variable(key: object) -> bool:
    """True when a task-data key is visible to scripts as a variable."""
    return (
        type(key) is str
        and key.isidentifier()
        and not iskeyword(key)
        and not key.startswith("_")
        and key not in RESERVED_NAMES
    )


def build_request(
    op: str,
    source: str,
    data: Mapping[str, object],
    session: Mapping[str, object] | None,
    limits: tuple[Any, ...] | None,
) -> bytes:
    """Encode a run/eval request; raise TypeError naming the variable if data is not plain."""
    if not isinstance(source, str):
        raise TypeError("source must be a str")
    visible = _visible_data(data)
    if session:
        snapshot = encode(session if type(session) is dict else dict(session), "session snapshot")
    else:
        snapshot = {}
    # Parent -> worker only (the parent is trusted); replies come back as JSON, never marshal.
    # A tuple, not a dict: half the marshal work on both sides of the hot path.
    return marshal.dumps((op, source, visible, snapshot, limits))


def _visible_data(data: Mapping[str, object]) -> dict[str, Any]:
    """The wire values of the task data scripts see as variables."""
    visible = {}
    for key, value in data.items():
        if type(key) is not str:
            raise TypeError(f"task data keys must be str, got {key!r}")
        shown = _key_visible.get(key)
        if shown is None:
            shown = is_script_variable(key)
            if len(_key_visible) >= _KEYS_CACHED:
                _key_visible.clear()
            _key_visible[key] = shown
        if not shown:
            continue
        if is_wire_scalar(value):
            visible[key] = value  # the common case, without encode's calls
        else:
            visible[key] = encode_named(value, "task data {!r}", key)
    return visible


def build_check(source: str, mode: str) -> bytes:
    """Encode a check request (compile only)."""
    return marshal.dumps(("check", source, mode))


def parse_reply(raw: bytes) -> dict[str, Any]:
    """Decode a worker reply (JSON, never pickle or marshal: the worker runs untrusted code)."""
    text = raw.decode("utf-8", "surrogatepass")
    # raw_decode skips json.loads' two whitespace scans; the worker writes none.
    reply, end = _DECODER.raw_decode(text)
    if end != len(text) or type(reply) is not dict:
        raise ValueError("the worker reply is not one JSON object")
    return reply


def run_result(reply: dict[str, Any], data: Mapping[str, object]) -> ScriptResult:
    """Build the ScriptResult of a successful run: input data plus created/changed variables."""
    merged = dict(data)
    for name in reply.get("deleted", ()):
        merged.pop(name, None)
    for name, wire in reply["set"].items():
        merged[name] = decode(wire)
    changes = {key: decode(wire) for key, wire in reply.get("changes", {}).items()}
    raw_links = reply.get("links")
    links = tuple((str(app), int(item_id)) for app, item_id in raw_links) if raw_links else ()
    duration = float(reply.get("duration_ms", 0.0))
    replies = tuple(str(text) for text in reply.get("replies", ()))
    priority = reply.get("priority")
    return ScriptResult(
        merged,
        changes,
        reply.get("log", ""),
        duration,
        links,
        replies,
        None if priority is None else str(priority),
        float(reply.get("cpu_ms", 0.0)),
    )


def _problems(raw: list[dict[str, Any]]) -> list[Problem]:
    return [Problem(p["line"], p["column"], p["message"], p["kind"], p.get("name")) for p in raw]


def error_from_reply(reply: dict[str, Any]) -> ScriptError:
    """Turn a failed reply into the matching exception of the family, with the run's times."""
    error = _error_of(reply)
    error.duration_ms = float(reply.get("duration_ms", 0.0))
    error.cpu_ms = float(reply.get("cpu_ms", 0.0))
    return error


def _error_of(reply: dict[str, Any]) -> ScriptError:
    error: dict[str, Any] = reply["error"]
    log: str = reply.get("log", "")
    kind = error["kind"]
    line = error.get("line")
    if kind == "compile":
        return ScriptCompileError(_problems(error.get("problems", [])), log=log)
    if kind == "policy":
        problems = _problems(error.get("problems", []))
        return ScriptPolicyViolation(
            error.get("name"), error["message"], line=line, problems=problems, log=log
        )
    if kind == "limit":
        return ScriptLimitExceeded(
            error["limit"], error["value"], error.get("detail", ""), line=line, log=log
        )
    return ScriptRuntimeError(
        error["type"],
        error["message"],
        line=line,
        traceback_lines=error.get("traceback", []),
        log=log,
    )
