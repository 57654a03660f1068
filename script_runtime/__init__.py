"""script_runtime: run admin-written Python (script tasks, gateway conditions) in a trusted sandbox.

`compile_restricted` with real guards, module facades, a warm pool of isolated worker processes
with CPU, wall-clock, memory and output limits (`ScriptPool`, which is a `ScriptRunner`). Imports
only the standard library and RestrictedPython, and knows nothing of sessions or databases: the
session arrives as data. Nothing starts at import: whoever assembles the application builds a
pool and passes it down.
"""

from script_runtime.codec import ALLOWED_TYPES
from script_runtime.errors import (
    Problem,
    ScriptCapacityError,
    ScriptCompileError,
    ScriptError,
    ScriptLimitExceeded,
    ScriptPolicyViolation,
    ScriptPoolBusy,
    ScriptPoolUnavailable,
    ScriptRuntimeError,
)
from script_runtime.policy import DEFAULT_POLICY, Limits, Policy
from script_runtime.pool import ScriptPool
from script_runtime.protocol import ScriptResult
from script_runtime.runner import ScriptChecker, ScriptRunner

__all__ = [
    "ALLOWED_TYPES",
    "DEFAULT_POLICY",
    "Limits",
    "Policy",
    "Problem",
    "ScriptCapacityError",
    "ScriptChecker",
    "ScriptCompileError",
    "ScriptError",
    "ScriptLimitExceeded",
    "ScriptPolicyViolation",
    "ScriptPool",
    "ScriptPoolBusy",
    "ScriptPoolUnavailable",
    "ScriptResult",
    "ScriptRunner",
    "ScriptRuntimeError",
]
