"""What a caller of the sandbox needs: run, evaluate, check. `ScriptPool` is the real one.

Callers receive a runner from whoever assembles the application (the web app factory, the
CLI, a test fixture) and never start one behind a module-level global, so a test can hand in a
second pool or a fake.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, Protocol

from script_runtime.errors import Problem
from script_runtime.policy import Limits, Policy
from script_runtime.protocol import ScriptResult


class ScriptChecker(Protocol):
    """Compiles a script or expression and lists its problems; runs nothing."""

    policy: Policy  # what scripts may use (modules, builtins) and their limits

    def check(self, source: str, *, mode: Literal["exec", "eval"] = "exec") -> list[Problem]:
        """Every compile and policy problem of `source`."""
        ...


class ScriptRunner(ScriptChecker, Protocol):
    """Runs scripts and expressions in the sandbox (a `ScriptPool`, or a test's fake)."""

    def run(
        self,
        source: str,
        *,
        data: Mapping[str, object],
        session: Mapping[str, object] | None = None,
        limits: Limits | None = None,
        wait: float | None = None,
    ) -> ScriptResult:
        """Run a script task; its new data, parameter changes, log and duration. `wait` caps
        how long to wait for a free worker (ScriptPoolBusy after it)."""
        ...

    def evaluate(
        self,
        expression: str,
        *,
        data: Mapping[str, object],
        session: Mapping[str, object] | None = None,
        limits: Limits | None = None,
        wait: float | None = None,
    ) -> object:
        """The value of an expression (a gateway condition)."""
        ...
