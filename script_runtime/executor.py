"""Runs one compiled script inside a worker: namespace, limits, result checks, error reports."""

from __future__ import annotations

import math
import os
import re
import resource
import signal
import sys
import time
from types import TracebackType
from typing import Any

from script_runtime import runstate
from script_runtime.codec import DataTooLarge, NotPlainData, decode, dumps, encode, same_wire
from script_runtime.compiler import CodeCache, Compiled, CompileFailure, Mode
from script_runtime.errors import Problem
from script_runtime.facades import Facade, SafePattern, build_modules
from script_runtime.guards import base_builtins, guard_globals
from script_runtime.policy import Limits, Policy
from script_runtime.runstate import SCRIPT_FILENAME, LimitBreach, PolicyBreach, RunState
from script_runtime.session import Params, SessionFacade

Reply = dict[str, Any]
_MISSING = object()
_SKIPPED_TYPES = (Facade, Params, SafePattern, re.Match)
_LIMIT_PROBLEMS = ("source_bytes", "recursion_depth")
_DEFAULT_RECURSION = sys.getrecursionlimit()


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


class Executor:
    """Compiles (cached), runs and reports scripts for one worker process."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.cache = CodeCache(policy)
        self.modules = build_modules(policy.modules)
        self.builtins = base_builtins(policy, self.modules)
        self.guards = guard_globals()
        self.injected: dict[str, object] = dict(self.modules)
        if "decimal" in self.modules:
            self.injected["Decimal"] = self.modules["decimal"].Decimal
        self._base: dict[str, object] = {**self.guards, **self.injected}
        self._memory_base = _address_space()
        self._memory_soft: int | None = None
        self._cpu_soft = 0
        self._depth: int | None = None

    def check(self, source: str, mode: Mode) -> list[Problem]:
        """Return every problem of `source` (uses and fills the cache)."""
        try:
            self.cache.get(source, mode)
        except CompileFailure as failure:
            return failure.problems
        return []

    def execute(self, request: dict[str, Any]) -> tuple[bytes, bool]:
        """Run one `run`/`eval` request; return the serialized reply and whether to recycle."""
        limits = Limits(**request["limits"])
        state = RunState(self.policy, limits)
        runstate.begin(state)
        mode: Mode = "eval" if request["op"] == "eval" else "exec"
        before = self.cache.compilations
        try:
            compiled = self.cache.get(request["source"], mode)
        except CompileFailure as failure:
            return _finish(_compile_reply(failure.problems), state, 0.0, limits)
        data_wire: dict[str, Any] = request.get("data") or {}
        namespace, session = self._namespace(data_wire, request.get("session") or {})
        reply: Reply
        started = time.perf_counter()
        self._arm(limits)
        try:
            if mode == "eval":
                value = eval(compiled.code, namespace)
                reply = {"ok": True, "value": self._encode(value, "the expression's value")}
            else:
                exec(compiled.code, namespace)
                reply = self._collect(namespace, session, data_wire, limits, compiled)
            if self.cache.compilations != before:
                reply["compiled"] = True
            return _finish(reply, state, started, limits)
        except BaseException as exc:
            reply = _failure_reply(exc, request["source"])
            return _finish(reply, state, started, limits)
        finally:
            namespace.clear()  # drop script objects here, inside the limits, not after replying
            self._disarm()

    def _namespace(
        self, data_wire: dict[str, Any], session_wire: Any
    ) -> tuple[dict[str, Any], SessionFacade]:
        namespace: dict[str, Any] = dict(self._base)
        namespace["__builtins__"] = dict(self.builtins)
        namespace["__name__"] = "script"
        session = SessionFacade(session_wire if isinstance(session_wire, dict) else {})
        namespace["session"] = session
        for key, wire in data_wire.items():
            namespace[key] = decode(wire)
        return namespace, session

    def _encode(self, value: object, path: str) -> Any:
        return encode(
            value, path, max_depth=self.policy.result_depth, max_items=self.policy.result_items
        )

    def _collect(
        self,
        namespace: dict[str, Any],
        session: SessionFacade,
        data_wire: dict[str, Any],
        limits: Limits,
        compiled: Compiled,
    ) -> Reply:
        changed: dict[str, Any] = {}
        base = self._base
        # New or data names, plus base names (math, json...) the script may have rebound.
        for name in (namespace.keys() - base.keys()) | (compiled.bound & base.keys()):
            value = namespace.get(name, _MISSING)
            if value is _MISSING or base.get(name, _MISSING) is value:
                continue
            if name[0] == "_" or value is session:
                continue
            if name in compiled.imported and _is_module_member(value, self.modules.values()):
                continue
            if callable(value) or isinstance(value, _SKIPPED_TYPES):
                continue
            wire = self._encode(value, f"variable {name!r}")
            if name not in data_wire or not same_wire(wire, data_wire[name]):
                changed[name] = wire
        deleted = [name for name in data_wire if name not in namespace]
        changes: dict[str, Any] = {}
        for key, value in session.collect_changes().items():
            wire = self._encode(value, f"session.params[{key!r}]")
            small = type(wire) in (int, float, bool, type(None))
            if not small and len(dumps(wire)) > limits.change_bytes:
                raise runstate.current().record(
                    LimitBreach("change_bytes", limits.change_bytes, f"session.params[{key!r}]")
                )
            changes[key] = wire
        links = [[app, item_id] for app, item_id in session.collect_links()]
        return {"ok": True, "set": changed, "deleted": deleted, "changes": changes, "links": links}

    def _arm(self, limits: Limits) -> None:
        used = resource.getrusage(resource.RUSAGE_SELF)
        spent = used.ru_utime + used.ru_stime
        if spent + limits.cpu_seconds + 1 > self._cpu_soft:  # backstop behind the timer below
            self._cpu_soft = math.ceil(spent + limits.cpu_seconds) + 2
            resource.setrlimit(resource.RLIMIT_CPU, (self._cpu_soft, resource.RLIM_INFINITY))
        soft = self._memory_base + limits.memory_mb * 1024 * 1024
        if soft != self._memory_soft:
            resource.setrlimit(resource.RLIMIT_AS, (soft, resource.RLIM_INFINITY))
            self._memory_soft = soft
        if self._depth is None:
            self._depth = _frame_depth()
        sys.setrecursionlimit(self._depth + limits.recursion_depth + 50)
        signal.setitimer(signal.ITIMER_PROF, limits.cpu_seconds)

    def _disarm(self) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0)
        sys.setrecursionlimit(_DEFAULT_RECURSION)


def _finish(reply: Reply, state: RunState, started: float, limits: Limits) -> tuple[bytes, bool]:
    """Serialize the reply once; a sticky breach wins; refuse results above result_bytes."""
    if state.breach is not None:
        reply = _breach_reply(state.breach, state.breach_line)
    body = dumps(reply)
    if reply["ok"] and len(body) > limits.result_bytes:
        error = _limit_error("result_bytes", limits.result_bytes, "result too large", None)
        body = dumps({"ok": False, "error": error, "recycle": False})
    elapsed = (time.perf_counter() - started) * 1000.0 if started else 0.0
    tail = f',"log":{dumps(state.log)},"duration_ms":{elapsed!r}}}'
    return (body[:-1] + tail).encode("utf-8", "surrogatepass"), bool(reply.get("recycle"))


def _is_module_member(value: object, modules: Any) -> bool:
    return any(
        value is m or any(value is v for v in object.__getattribute__(m, "_members").values())
        for m in modules
    )


def _address_space() -> int:
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[0])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def _frame_depth() -> int:
    depth = 0
    frame = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back  # type: ignore[assignment]
    return depth


def _problem_list(problems: list[Problem]) -> list[dict[str, Any]]:
    return [
        {"line": p.line, "column": p.column, "message": p.message, "kind": p.kind, "name": p.name}
        for p in problems
    ]


def _compile_reply(problems: list[Problem]) -> Reply:
    first = problems[0]
    if first.kind == "compile" and first.name in _LIMIT_PROBLEMS:
        policy = runstate.current().policy
        value = policy.source_bytes if first.name == "source_bytes" else _DEFAULT_RECURSION
        error = _limit_error(first.name or "", value, first.message, None)
    elif any(p.kind == "compile" for p in problems):
        error = {"kind": "compile", "type": "ScriptCompileError", "message": str(first)}
        error["line"] = first.line
    else:
        name = next((p.name for p in problems if p.name and p.line == first.line), None)
        error = {"kind": "policy", "type": "ScriptPolicyViolation", "message": first.message}
        error.update(line=first.line, name=name)
    error["problems"] = _problem_list(problems)
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


def _failure_reply(exc: BaseException, source: str) -> Reply:
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
