"""The exception family of script_runtime and the `Problem` record that `check` returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ErrorKind = Literal["compile", "policy", "runtime", "limit", "capacity"]


@dataclass(frozen=True)
class Problem:
    """One compile or policy problem found in a script, with its 1-based line and 0-based column."""

    line: int | None
    column: int | None
    message: str
    kind: Literal["compile", "policy"]
    name: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "script"
        if self.column is not None and self.line is not None:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


class ScriptError(Exception):
    """Base of every error a script or expression can cause; `line` is the script line if known."""

    kind: ErrorKind = "runtime"

    def __init__(self, message: str, *, line: int | None = None, log: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.log = log
        self.duration_ms: float | None = None  # wall time of the run, when it was measured
        self.cpu_ms: float | None = None  # CPU time of the run, when it is known

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        return f"line {self.line}: {self.message}"


class ScriptCompileError(ScriptError):
    """The script does not compile; `problems` lists every problem found."""

    kind: ErrorKind = "compile"

    def __init__(self, problems: list[Problem], *, log: str = "") -> None:
        self.problems = list(problems)
        first = self.problems[0] if self.problems else None
        message = "; ".join(str(p) for p in self.problems) or "the script does not compile"
        super().__init__(message, line=first.line if first else None, log=log)

    def __str__(self) -> str:
        return self.message


class ScriptPolicyViolation(ScriptError):
    """The script used a forbidden name, attribute or import; `name` says which."""

    kind: ErrorKind = "policy"

    def __init__(
        self,
        name: str | None,
        message: str,
        *,
        line: int | None = None,
        problems: list[Problem] | None = None,
        log: str = "",
    ) -> None:
        super().__init__(message, line=line, log=log)
        self.name = name
        self.problems = list(problems or [])


class ScriptRuntimeError(ScriptError):
    """The script raised an exception; `type_name`, `message` and the user frames say where."""

    kind: ErrorKind = "runtime"

    def __init__(
        self,
        type_name: str,
        message: str,
        *,
        line: int | None = None,
        traceback_lines: list[str] | None = None,
        log: str = "",
    ) -> None:
        super().__init__(message, line=line, log=log)
        self.type_name = type_name
        self.traceback_lines = list(traceback_lines or [])

    def __str__(self) -> str:
        text = f"{self.type_name}: {self.message}" if self.message else self.type_name
        return text if self.line is None else f"line {self.line}: {text}"


class ScriptLimitExceeded(ScriptError):
    """The script went over a limit; `limit` names it (a `Limits` or `Policy` field), `value` is it."""

    kind: ErrorKind = "limit"

    def __init__(
        self,
        limit: str,
        value: object,
        detail: str = "",
        *,
        line: int | None = None,
        log: str = "",
    ) -> None:
        message = f"script exceeded the {limit} limit ({value})"
        if detail:
            message += f": {detail}"
        super().__init__(message, line=line, log=log)
        self.limit = limit
        self.value = value
        self.detail = detail


class ScriptCapacityError(ScriptError):
    """No sandbox worker could take the script; nothing ran, so the caller may retry later."""

    kind: ErrorKind = "capacity"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds after which a retry may find a worker


class ScriptPoolBusy(ScriptCapacityError):
    """Every sandbox worker stayed busy for as long as the caller may wait for one; `retry_after`
    is when the first of them is sure to be free (its script's wall-clock limit), at least 1 s."""


class ScriptPoolUnavailable(ScriptCapacityError):
    """Sandbox workers cannot start here (a host limit, a broken install); `reason` says why."""

    def __init__(self, reason: str, *, retry_after: float = 30.0) -> None:
        super().__init__(
            f"the script sandbox cannot start a worker: {reason}", retry_after=retry_after
        )
        self.reason = reason
