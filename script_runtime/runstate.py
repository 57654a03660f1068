"""State of the one run a worker is executing: limits, captured log, and sticky breaches.

A breach (limit or policy) is recorded on first sight and reported when the script ends, even if
the script caught the exception: a bare `except:` cannot swallow a limit.
"""

from __future__ import annotations

import sys
from typing import TypeVar

from script_runtime.policy import Limits, Policy

SCRIPT_FILENAME = "<script>"


class SandboxAbort(BaseException):
    """Raised inside the sandbox to stop a script; BaseException so `except Exception` misses it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LimitBreach(SandboxAbort):
    """A limit was exceeded inside the worker; `limit` names the Limits or Policy field."""

    def __init__(self, limit: str, value: object, detail: str = "") -> None:
        super().__init__(
            f"script exceeded the {limit} limit ({value})" + (f": {detail}" if detail else "")
        )
        self.limit = limit
        self.value = value
        self.detail = detail


class PolicyBreach(SandboxAbort):
    """The script reached for something the policy forbids; `name` is the name or attribute."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


_Breach = TypeVar("_Breach", bound=SandboxAbort)


class RunState:
    """Limits, log and first breach of the current run."""

    def __init__(self, policy: Policy, limits: Limits) -> None:
        self.policy = policy
        self.limits = limits
        self.log_parts: list[str] = []
        self.log_bytes = 0
        self.breach: SandboxAbort | None = None
        self.breach_line: int | None = None

    def record(self, breach: _Breach) -> _Breach:
        """Remember the first breach and return it, so callers can `raise state.record(...)`."""
        if self.breach is None:
            self.breach = breach
            self.breach_line = script_line()
        return breach

    def write_log(self, text: str) -> None:
        """Append printed text, refusing to grow past output_bytes."""
        size = len(text.encode("utf-8", "surrogatepass"))
        if self.log_bytes + size > self.limits.output_bytes:
            raise self.record(
                LimitBreach("output_bytes", self.limits.output_bytes, "too much printed")
            )
        self.log_bytes += size
        self.log_parts.append(text)

    def note(self, text: str) -> None:
        """Append a line from the sandbox itself (not the script's print), even past the limit."""
        if self.log_parts and not self.log_parts[-1].endswith("\n"):
            text = "\n" + text
        self.log_parts.append(text + "\n")
        self.log_bytes += len(text.encode("utf-8", "surrogatepass")) + 1

    @property
    def log(self) -> str:
        """Everything printed so far."""
        return "".join(self.log_parts)


def script_line() -> int | None:
    """Return the script line currently executing (the innermost frame of the user's code)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename == SCRIPT_FILENAME:
            return frame.f_lineno
        frame = frame.f_back  # type: ignore[assignment]
    return None


_current: RunState | None = None


def begin(state: RunState) -> None:
    """Make `state` the current run (the worker runs one script at a time)."""
    global _current
    _current = state


def current() -> RunState:
    """Return the current run's state."""
    if _current is None:
        raise RuntimeError("no script is running")
    return _current
