"""`python -m script_runtime check FILE` and `run FILE`: try a script outside any database.

Exit status: 0 success, 1 the script has problems or failed (run still prints its JSON), 2 usage.
JSON values use the wire tags for non-JSON types: {"$decimal": "1.50"}, {"$date": "2026-11-24"},
{"$datetime": "2026-11-24T10:00:00+00:00"}.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from script_runtime.codec import decode, encode
from script_runtime.errors import ScriptError, ScriptRuntimeError
from script_runtime.policy import DEFAULT_POLICY, Limits
from script_runtime.pool import ScriptPool


class UsageError(Exception):
    """Bad command-line input: exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m script_runtime", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="list compile and policy problems (runs nothing)")
    check.add_argument("file")
    check.add_argument("--mode", choices=("exec", "eval"), default="exec")
    run = commands.add_parser(
        "run", help="run the script in the sandbox and print one JSON document"
    )
    run.add_argument("file")
    run.add_argument("--data", default="{}", help="task data as a JSON object")
    run.add_argument("--session", default=None, help="session snapshot as a JSON object")
    run.add_argument("--timeout", type=float, default=None, help="wall-clock limit in seconds")
    run.add_argument("--memory-mb", type=int, default=None, help="memory limit in MiB")
    return parser


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"cannot read {path}: {reason}") from None


def _json_object(text: str | None, option: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = decode(json.loads(text))
    except ValueError as exc:
        raise UsageError(f"{option} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise UsageError(f"{option} must be a JSON object")
    return value


def _limits(timeout: float | None, memory_mb: int | None) -> Limits:
    limits = DEFAULT_POLICY.defaults
    if timeout is not None:
        cpu = min(timeout, DEFAULT_POLICY.maxima.cpu_seconds)
        limits = replace(limits, wall_seconds=timeout, cpu_seconds=cpu)
    if memory_mb is not None:
        limits = replace(limits, memory_mb=memory_mb)
    try:
        return DEFAULT_POLICY.resolve(limits)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _check(args: argparse.Namespace) -> int:
    source = _read(args.file)
    with ScriptPool(1) as pool:
        problems = pool.check(source, mode=args.mode)
    for problem in problems:
        print(
            f"{args.file}:{problem.line or 0}:{problem.column or 0}: {problem.kind}: {problem.message}"
        )
    if not problems:
        print(f"{args.file}: no problems found")
    return 1 if problems else 0


def _error_json(exc: ScriptError) -> dict[str, Any]:
    type_name = exc.type_name if isinstance(exc, ScriptRuntimeError) else type(exc).__name__
    return {"kind": exc.kind, "type": type_name, "message": exc.message, "line": exc.line}


def _run(args: argparse.Namespace) -> int:
    source = _read(args.file)
    data = _json_object(args.data, "--data") or {}
    session = _json_object(args.session, "--session")
    limits = _limits(args.timeout, args.memory_mb)
    document: dict[str, Any] = {"ok": True, "data": {}, "changes": {}, "log": "", "duration_ms": 0}
    try:
        with ScriptPool(1) as pool:
            result = pool.run(source, data=data, session=session, limits=limits)
    except TypeError as exc:
        raise UsageError(str(exc)) from None
    except ScriptError as exc:
        document.update(ok=False, log=exc.log, error=_error_json(exc))
    else:
        document.update(
            data=encode(result.data, "data"),
            changes=encode(result.changes, "changes"),
            log=result.log,
            duration_ms=round(result.duration_ms, 3),
            error=None,
        )
    print(json.dumps(document, ensure_ascii=False, indent=2))
    return 0 if document["ok"] else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    args = _parser().parse_args(argv)
    try:
        return _check(args) if args.command == "check" else _run(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
