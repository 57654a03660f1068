"""Runs one compiled script inside a worker: fresh namespace, limits armed, results collected."""

from __future__ import annotations

import math
import os
import re
import resource
import signal
import sys
import time
from collections.abc import Iterable
from itertools import islice
from typing import Any

from script_runtime import host_limits, runstate
from script_runtime.codec import (
    NotPlainData,
    decode,
    dumps,
    encode_named,
    is_wire_scalar,
    same_wire,
)
from script_runtime.compiler import CodeCache, Compiled, CompileFailure, Mode
from script_runtime.errors import Problem
from script_runtime.facades import Facade, SafePattern, build_modules
from script_runtime.guards import base_builtins, guard_globals
from script_runtime.policy import Limits, Policy
from script_runtime.replies import (
    DEFAULT_RECURSION,
    Reply,
    compile_reply,
    failure_reply,
    finish,
)
from script_runtime.runstate import LimitBreach, RunState
from script_runtime.session import Params, SessionFacade

_MISSING = object()
_SKIPPED_TYPES = (Facade, Params, SafePattern, re.Match)
_DATA_TYPES = frozenset({type(None), bool, int, float, str, list, tuple, dict})
_SMALL = frozenset({type(None), bool, int, float})  # wire values whose JSON is a few bytes


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
        self._given = frozenset({*self._base, "__builtins__", "__name__", "session"})
        # _namespace puts the given names first: what follows is task data and script variables.
        self._prefix = len(self._given)
        self._memory_base = _address_space()
        self._memory_soft: int | None = None
        # Hard limits the host set stay as they are: a worker may lower limits, not raise them.
        self._memory_hard = host_limits.hard_limit(resource.RLIMIT_AS)
        self._cpu_hard = host_limits.hard_limit(resource.RLIMIT_CPU)
        self._cpu_soft = 0
        self._cpu_spent = 0.0
        self._cpu_read_at = 0.0
        self._depth: int | None = None
        self._limits = policy.defaults
        self._limits_wire = policy.defaults.to_wire()

    @property
    def memory_base(self) -> int:
        """The worker's address space before any script runs, in bytes."""
        return self._memory_base

    def check(self, source: str, mode: Mode) -> list[Problem]:
        """Return every problem of `source` (uses and fills the cache)."""
        # Compiling spends CPU too: the backstop must not fall due during a check.
        self._keep_cpu_backstop_above(self.policy.maxima.cpu_seconds)
        try:
            self.cache.get(source, mode)
        except CompileFailure as failure:
            return failure.problems
        return []

    def execute(self, request: tuple[Any, ...]) -> tuple[bytes, bool]:
        """Run one `run`/`eval` request; return the serialized reply and whether to recycle."""
        op, source, data_wire, session_wire, limits_wire = request
        limits = self._limits_for(limits_wire)
        self._keep_cpu_backstop_above(limits.cpu_seconds)  # before compiling, which spends CPU
        state = RunState(self.policy, limits)
        runstate.begin(state)
        mode: Mode = "eval" if op == "eval" else "exec"
        before = self.cache.compilations
        try:
            compiled = self.cache.get(source, mode)
        except CompileFailure as failure:
            return finish(compile_reply(failure.problems), state, 0.0, limits)
        namespace, session = self._namespace(data_wire, session_wire)
        reply: Reply
        started = time.perf_counter()
        cpu_started = time.process_time()
        self._arm(limits)
        try:
            if mode == "eval":
                value = eval(compiled.code, namespace)
                reply = {"ok": True, "value": self._encode(value, "{}", "the expression's value")}
            else:
                exec(compiled.code, namespace)
                reply = self._collect(namespace, session, data_wire, limits, compiled)
            if self.cache.compilations != before:
                reply["compiled"] = True
            return finish(reply, state, started, limits, cpu_started)
        except BaseException as exc:
            reply = failure_reply(exc, source)
            return finish(reply, state, started, limits, cpu_started)
        finally:
            namespace.clear()  # drop script objects here, inside the limits, not after replying
            self._disarm()

    def _limits_for(self, wire: tuple[Any, ...] | None) -> Limits:
        """Rebuild the Limits only when they differ from the previous request's."""
        if wire is None:
            return self.policy.defaults  # the parent leaves the defaults out of the request
        if wire != self._limits_wire:
            self._limits = Limits(*wire)
            self._limits_wire = wire
        return self._limits

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

    def _encode(self, value: object, label: str, name: str) -> Any:
        return encode_named(
            value,
            label,
            name,
            max_depth=self.policy.result_depth,
            max_items=self.policy.result_items,
        )

    def _collect(
        self,
        namespace: dict[str, Any],
        session: SessionFacade,
        data_wire: dict[str, Any],
        limits: Limits,
        compiled: Compiled,
    ) -> Reply:
        changed = self._changed_variables(namespace, session, data_wire, compiled)
        deleted = [name for name in data_wire if name not in namespace]
        changes = self._param_changes(session, limits)
        reply: Reply = {"ok": True, "set": changed}
        # Empty parts are left out (the parent reads them with a default): less to encode.
        if deleted:
            reply["deleted"] = deleted
        if changes:
            reply["changes"] = changes
        links = session.collect_links()
        if links:
            reply["links"] = [[app, item_id] for app, item_id in links]
        replies = session.collect_replies()
        if replies:
            reply["replies"] = replies
        priority = session.collect_priority()
        if priority is not None:
            reply["priority"] = priority
        return reply

    def _changed_variables(
        self,
        namespace: dict[str, Any],
        session: SessionFacade,
        data_wire: dict[str, Any],
        compiled: Compiled,
    ) -> dict[str, Any]:
        """Wire values of the variables the script created or changed."""
        changed: dict[str, Any] = {}
        imported = compiled.imported
        # Given names (math, session...) the script deleted or rebound, which moves them in the
        # dict, and given names that task data shadows (data called `json`), which stay in place.
        unusual = (compiled.bound & self._given) | (self._given & data_wire.keys())
        items: Iterable[tuple[str, Any]]
        if unusual:
            # Look at every name that is not given, and at those given names.
            names = (namespace.keys() - self._given) | unusual
            items = ((name, namespace.get(name, _MISSING)) for name in names)
        else:
            # The given names come first in the namespace (dict order) and are all still there:
            # task data and new names are what follows them.
            items = islice(namespace.items(), self._prefix, None)
        for name, value in items:
            old = data_wire.get(name, _MISSING)
            if value is old:
                continue  # a data scalar left alone (containers are fresh copies: compared below)
            if is_wire_scalar(value) and not (name[0] == "_" or name in imported):
                wire = value  # the common case: a plain scalar is its own wire form
            elif self._is_result(name, value, session, compiled):
                try:
                    wire = self._encode(value, "variable {!r}", name)
                except NotPlainData as exc:
                    if old is not _MISSING:
                        raise  # task data the script rebound: the step means to write it
                    runstate.current().note(f"[left out of task data] {exc}")
                    continue  # a helper the script kept (`by_id = {o["id"]: o ...}`)
            else:
                continue
            if old is _MISSING or not same_wire(wire, old):
                changed[name] = wire
        return changed

    def _param_changes(self, session: SessionFacade, limits: Limits) -> dict[str, Any]:
        """Wire values of the session.params writes, each within change_bytes."""
        changes: dict[str, Any] = {}
        for key, value in session.collect_changes().items():
            if is_wire_scalar(value):
                wire = value  # a plain scalar is its own wire form
            else:
                wire = self._encode(value, "session.params[{!r}]", key)
            if type(wire) not in _SMALL and _json_size_over(wire, limits.change_bytes):
                raise runstate.current().record(
                    LimitBreach("change_bytes", limits.change_bytes, f"session.params[{key!r}]")
                )
            changes[key] = wire
        return changes

    def _is_result(
        self, name: str, value: object, session: SessionFacade, compiled: Compiled
    ) -> bool:
        """True for a variable the script set that belongs in the result (not a tool it used)."""
        if value is _MISSING or name[0] == "_" or self._base.get(name, _MISSING) is value:
            return False
        if name in compiled.imported and _is_module_member(value, self.modules.values()):
            return False  # `from math import pi`: a tool, even though it is a float
        if type(value) in _DATA_TYPES:
            return True  # the common case: no callable or facade checks needed
        return not (value is session or callable(value) or isinstance(value, _SKIPPED_TYPES))

    def _arm(self, limits: Limits) -> None:
        soft = self._memory_base + limits.memory_mb * 1024 * 1024
        if soft != self._memory_soft:
            host_limits.set_soft(resource.RLIMIT_AS, soft, self._memory_hard)
            self._memory_soft = soft
        if self._depth is None:
            self._depth = _frame_depth()
        sys.setrecursionlimit(self._depth + limits.recursion_depth + 50)
        signal.setitimer(signal.ITIMER_PROF, limits.cpu_seconds)

    def _keep_cpu_backstop_above(self, cpu_seconds: float) -> None:
        """Keep RLIMIT_CPU, the backstop behind the per-run timer, above this run's budget.

        getrusage runs only when the backstop could be near: this process has one thread, so
        its CPU time grows no faster than wall-clock time since the last reading.
        """
        now = time.monotonic()
        if self._cpu_spent + (now - self._cpu_read_at) + cpu_seconds + 1 <= self._cpu_soft:
            return
        used = resource.getrusage(resource.RUSAGE_SELF)
        self._cpu_spent, self._cpu_read_at = used.ru_utime + used.ru_stime, now
        if self._cpu_spent + cpu_seconds + 1 > self._cpu_soft:
            wanted = math.ceil(self._cpu_spent + cpu_seconds) + 2
            self._cpu_soft = host_limits.set_soft(resource.RLIMIT_CPU, wanted, self._cpu_hard)

    def _disarm(self) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0)
        sys.setrecursionlimit(DEFAULT_RECURSION)


def _json_size_over(wire: Any, limit: int) -> bool:
    """True when the JSON text of `wire` is longer than `limit` characters."""
    if type(wire) is str and 6 * len(wire) + 2 <= limit:
        return False  # JSON escapes a character into at most 6: no need to serialize it
    return len(dumps(wire)) > limit


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
