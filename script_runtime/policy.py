"""The sandbox policy as data: allowed builtins and modules, forbidden names, default and max limits."""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from typing import Any

KIB = 1024
MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Per-run limits; any field may be lowered per call, or raised up to the policy maxima."""

    cpu_seconds: float = 2.0
    wall_seconds: float = 5.0
    memory_mb: int = 256
    output_bytes: int = 64 * KIB
    result_bytes: int = 1 * MIB
    recursion_depth: int = 200
    max_changes: int = 100
    change_bytes: int = 64 * KIB

    def to_wire(self) -> tuple[Any, ...]:
        """Return the field values in order (for the worker protocol: `Limits(*wire)`)."""
        return tuple(self.__dict__.values())


SAFE_BUILTINS: tuple[str, ...] = (
    "None", "False", "True", "abs", "all", "any", "bin", "bool", "callable", "chr", "dict",
    "divmod", "enumerate", "filter", "float", "format", "frozenset", "hash", "hex", "int",
    "isinstance", "issubclass", "iter", "len", "list", "map", "max", "min", "next", "oct", "ord",
    "pow", "range", "repr", "reversed", "round", "set", "slice", "sorted", "str", "sum", "tuple",
    "zip",
    "ArithmeticError", "AssertionError", "AttributeError", "Exception", "IndexError", "KeyError",
    "LookupError", "NameError", "NotImplementedError", "OverflowError", "RuntimeError",
    "StopIteration", "TypeError", "UnicodeError", "ValueError", "ZeroDivisionError",
)  # fmt: skip

FORBIDDEN_NAMES: tuple[str, ...] = (
    "open", "exec", "eval", "compile", "type", "vars", "globals", "locals", "dir", "getattr",
    "setattr", "delattr", "hasattr", "input", "help", "exit", "quit", "breakpoint", "memoryview",
    "bytearray", "object", "super", "classmethod", "staticmethod", "property", "id",
    "SystemExit", "KeyboardInterrupt", "GeneratorExit", "BaseExceptionGroup", "ExceptionGroup",
    "copyright", "credits", "license",
)  # fmt: skip


@dataclass(frozen=True)
class Policy:
    """Everything the sandbox allows, in one place: read this to know what a script can do."""

    builtins: tuple[str, ...] = SAFE_BUILTINS
    modules: tuple[str, ...] = ("math", "datetime", "decimal", "json", "re")
    forbidden_names: tuple[str, ...] = FORBIDDEN_NAMES
    defaults: Limits = field(default_factory=Limits)
    maxima: Limits = field(
        default_factory=lambda: Limits(
            cpu_seconds=30.0,
            wall_seconds=60.0,
            memory_mb=2048,
            output_bytes=1 * MIB,
            result_bytes=16 * MIB,
            recursion_depth=1000,
            max_changes=1000,
            change_bytes=1 * MIB,
        )
    )
    source_bytes: int = 256 * KIB
    value_bytes: int = 16 * MIB
    range_items: int = 10_000_000
    regex_pattern_chars: int = 1000
    regex_input_chars: int = 1_000_000
    result_depth: int = 32
    result_items: int = 100_000

    def resolve(self, limits: Limits | None) -> Limits:
        """Return `limits` (or the defaults) after refusing any value above the policy maxima."""
        chosen = self.defaults if limits is None else limits
        return _validated(self, chosen)

    def wire_of(self, limits: Limits) -> tuple[Any, ...] | None:
        """`limits` as sent to workers: None for the defaults, which workers already know."""
        return None if limits == self.defaults else limits.to_wire()

    def to_dict(self) -> dict[str, Any]:
        """Return the policy as a plain dict (sent to each worker when it starts)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Policy:
        """Rebuild a policy from `to_dict` output."""
        values = dict(raw)
        values["defaults"] = Limits(**values["defaults"])
        values["maxima"] = Limits(**values["maxima"])
        for key in ("builtins", "modules", "forbidden_names"):
            values[key] = tuple(values[key])
        return cls(**values)


@functools.lru_cache(maxsize=256)
def _validated(policy: Policy, chosen: Limits) -> Limits:
    """Refuse non-positive values and values above the policy maxima (cached: hot path)."""
    for f in dataclasses.fields(Limits):
        value = getattr(chosen, f.name)
        ceiling = getattr(policy.maxima, f.name)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ValueError(f"limit {f.name} must be a number, got {value!r}")
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"limit {f.name} must be positive, got {value!r}")
        if value > ceiling:
            raise ValueError(f"limit {f.name}={value} is above the policy maximum {ceiling}")
    return chosen


DEFAULT_POLICY = Policy()
