"""What a worker answers: reply dicts for results, compile problems, breaches and failures.

Every reply is serialized once, as compact JSON, with the run's log and duration appended; host
paths are scrubbed from messages before they leave the worker.
"""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType
from typing import Any

from script_runtime import runstate
from script_runtime.codec import DataTooLarge, NotPlainData, dumps
from script_runtime.errors import Problem
from script_runtime.policy import Limits
from script_runtime.runstate import SCRIPT_FILENAME, LimitBreach, PolicyBreach, RunState

Reply = dict[str, Any]
DEFAULT_RECURSION = sys.getrecursionlimit()
_LIMIT_PROBLEMS = ("source_bytes", "recursion_depth")


def _host_paths() -> list[str]:
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.expanduser("~")}
    paths.add(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    paths.update(p for p in sys.path if p)
    return sorted((p for p in paths if len(p) > 1), key=len, reverse=True)


_HOST_PATHS = _host_paths()


def scrub(text: str) -> str:
    """Remove host paths from a message before it leaves the worker."""
    for path in _HOST_PATHS:
        if path in text:
            text = text.replace(path, "<host>")
    return text


def finish(
    reply: Reply, state: RunState, started: float, limits: Limits, cpu_started: float = 0.0
) -> tuple[bytes, bool]:
    """Serialize the reply once, with the run's wall and CPU time; a sticky breach wins;
    refuse results above result_bytes."""
    if state.breach is not None:
        reply = _breach_reply(state.breach, state.breach_line)
    body = dumps(reply)
    if reply["ok"] and len(body) > limits.result_bytes:
        error = _limit_error("result_bytes", limits.result_bytes, "result too large", None)
        body = dumps({"ok": False, "error": error, "recycle": False})
    elapsed = (time.perf_counter() - started) * 1000.0 if started else 0.0
    cpu = (time.process_time() - cpu_started) * 1000.0 if started else 0.0
    times = f'"duration_ms":{elapsed!r},"cpu_ms":{cpu!r}}}'
    if state.log_parts:  # absent means empty
        body = f'{body[:-1]},"log":{dumps(state.log)},{times}'
    else:
        body = f"{body[:-1]},{times}"
    return body.encode("utf-8", "surrogatepass"), bool(reply.get("recycle"))


def problem_list(problems: list[Problem]) -> list[dict[str, Any]]:
    """Problems as plain dicts, for a JSON reply."""
    return [
        {"line": p.line, "column": p.column, "message": p.message, "kind": p.kind, "name": p.name}
        for p in problems
    ]


def compile_reply(problems: list[Problem]) -> Reply:
    first = problems[0]
    if first.kind == "compile" and first.name in _LIMIT_PROBLEMS:
        policy = runstate.current().policy
        value = policy.source_bytes if first.name == "source_bytes" else DEFAULT_RECURSION
        error = _limit_error(first.name or "", value, first.message, None)
    elif any(p.kind == "compile" for p in problems):
        error = {"kind": "compile", "type": "ScriptCompileError", "message": str(first)}
        error["line"] = first.line
    else:
        name = next((p.name for p in problems if p.name and p.line == first.line), None)
        error = {"kind": "policy", "type": "ScriptPolicyViolation", "message": first.message}
        error.update(line=first.line, name=name)
    error["problems"] = problem_list(problems)
    return {"ok": False, "error": error, "recycle": False}


def _limit_error(limit: str, value: object, detail: str, line: int | None) -> dict[str, Any]:
    message = f"script exceeded the {limit} limit ({value})" + (f": {detail}" if detail else "")
    return {
        "kind": "limit",
        "type": "ScriptLimitExceeded",
        "message": message,
        "line": line,
        "limit": limit,
        "value": value,
        "detail": detail,
    }


def _breach_reply(breach: runstate.SandboxAbort, line: int | None) -> Reply:
    if isinstance(breach, LimitBreach):
        error = _limit_error(breach.limit, breach.value, breach.detail, line)
        return {"ok": False, "error": error, "recycle": False}
    name = breach.name if isinstance(breach, PolicyBreach) else None
    error = {"kind": "policy", "type": "ScriptPolicyViolation", "message": breach.message}
    error.update(line=line, name=name)
    return {"ok": False, "error": error, "recycle": False}


def _user_frames(tb: TracebackType | None, source: str) -> list[tuple[int, str, str]]:
    lines = source.splitlines()
    frames: list[tuple[int, str, str]] = []
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == SCRIPT_FILENAME:
            lineno = tb.tb_lineno
            text = lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""
            frames.append((lineno, "script" if code.co_name == "<module>" else code.co_name, text))
        tb = tb.tb_next
    return frames[-10:]


def failure_reply(exc: BaseException, source: str) -> Reply:
    frames = _user_frames(exc.__traceback__, source)
    line = frames[-1][0] if frames else None
    if isinstance(exc, RecursionError):
        depth = runstate.current().limits.recursion_depth
        error = _limit_error("recursion_depth", depth, "too deeply nested calls or data", line)
        return {"ok": False, "error": error, "recycle": True}
    if isinstance(exc, MemoryError):
        memory = runstate.current().limits.memory_mb
        error = _limit_error("memory_mb", memory, "out of memory", line)
        return {"ok": False, "error": error, "recycle": True}
    if isinstance(exc, DataTooLarge):
        error = _limit_error(exc.limit, exc.value, scrub(str(exc)), None)
        return {"ok": False, "error": error, "recycle": False}
    type_name = "TypeError" if isinstance(exc, NotPlainData) else type(exc).__name__
    if isinstance(exc, NotPlainData):
        line = None
    error = {
        "kind": "runtime",
        "type": type_name,
        "message": scrub(_message(exc)),
        "line": line,
        "traceback": [f"line {n}, in {where}: {text}" for n, where, text in frames],
    }
    return {"ok": False, "error": error, "recycle": False}


def _message(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # a script's exception may have a broken __str__
        text = ""
    return text if len(text) <= 2000 else text[:1997] + "..."
