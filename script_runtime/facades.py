"""Module facades: the few names a script may use from math, datetime, decimal, json and re.

Never hand a script a module object: ordinary attribute names of modules lead to `os` and the real
builtins (`json.codecs.builtins`), and the attribute guard only stops names starting with `_`.
"""

from __future__ import annotations

import datetime as _datetime
import decimal as _decimal
import json as _json
import math as _math
import re as _re
from collections.abc import Callable, Mapping
from typing import Any

from script_runtime.runstate import LimitBreach, current


class Facade:
    """A read-only namespace that exposes exactly the members it was given."""

    __slots__ = ("_label", "_members")
    _label: str
    _members: dict[str, object]

    def __init__(self, label: str, members: Mapping[str, object]) -> None:
        object.__setattr__(self, "_label", label)
        object.__setattr__(self, "_members", dict(members))

    def __getattr__(self, name: str) -> object:
        try:
            return self._members[name]
        except KeyError:
            raise AttributeError(f"{self._label} has no attribute {name!r}") from None

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot set {self._label}.{name}: it is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete {self._label}.{name}: it is read-only")

    def __dir__(self) -> list[str]:
        return sorted(self._members)

    def __repr__(self) -> str:
        return f"<{self._label}>"


def _math_facade() -> Facade:
    members = {n: getattr(_math, n) for n in dir(_math) if not n.startswith("_")}
    return Facade("module 'math'", members)


def _datetime_facade() -> Facade:
    names = ("date", "datetime", "time", "timedelta", "timezone", "MINYEAR", "MAXYEAR")
    return Facade("module 'datetime'", {n: getattr(_datetime, n) for n in names})


def _decimal_facade() -> Facade:
    names = [n for n in dir(_decimal) if n.startswith("ROUND_")]
    members: dict[str, object] = {n: getattr(_decimal, n) for n in names}
    members["Decimal"] = _decimal.Decimal
    members["InvalidOperation"] = _decimal.InvalidOperation
    return Facade("module 'decimal'", members)


def _dumps(
    obj: object,
    *,
    indent: int | str | None = None,
    sort_keys: bool = False,
    ensure_ascii: bool = True,
    separators: tuple[str, str] | None = None,
    default: Callable[[Any], Any] | None = None,
) -> str:
    """json.dumps with the ordinary options and no custom encoder class."""
    return _json.dumps(
        obj,
        indent=indent,
        sort_keys=sort_keys,
        ensure_ascii=ensure_ascii,
        separators=separators,
        default=default,
    )


def _loads(text: str | bytes) -> Any:
    """json.loads with no hooks."""
    return _json.loads(text)


def _json_facade() -> Facade:
    members = {"dumps": _dumps, "loads": _loads, "JSONDecodeError": _json.JSONDecodeError}
    return Facade("module 'json'", members)


def _check_pattern(pattern: object) -> Any:
    if isinstance(pattern, SafePattern):
        return pattern._inner
    if isinstance(pattern, str) and len(pattern) > current().policy.regex_pattern_chars:
        cap = current().policy.regex_pattern_chars
        raise current().record(
            LimitBreach("regex_pattern_chars", cap, "regular expression too long")
        )
    return pattern


def _check_text(text: object) -> object:
    if isinstance(text, str) and len(text) > current().policy.regex_input_chars:
        cap = current().policy.regex_input_chars
        raise current().record(LimitBreach("regex_input_chars", cap, "text too long for re"))
    return text


class SafePattern:
    """A compiled pattern whose methods check the input size cap."""

    __slots__ = ("_inner",)

    _inner: Any

    def __init__(self, inner: _re.Pattern[str]) -> None:
        self._inner = inner

    @property
    def pattern(self) -> Any:
        """The pattern text."""
        return self._inner.pattern

    @property
    def flags(self) -> Any:
        """The compiled flags."""
        return self._inner.flags

    @property
    def groups(self) -> Any:
        """Number of capturing groups."""
        return self._inner.groups

    def match(self, text: str, *args: int) -> Any:
        """Pattern.match with the input cap."""
        return self._inner.match(_check_text(text), *args)

    def search(self, text: str, *args: int) -> Any:
        """Pattern.search with the input cap."""
        return self._inner.search(_check_text(text), *args)

    def fullmatch(self, text: str, *args: int) -> Any:
        """Pattern.fullmatch with the input cap."""
        return self._inner.fullmatch(_check_text(text), *args)

    def findall(self, text: str, *args: int) -> Any:
        """Pattern.findall with the input cap."""
        return self._inner.findall(_check_text(text), *args)

    def finditer(self, text: str, *args: int) -> Any:
        """Pattern.finditer with the input cap."""
        return self._inner.finditer(_check_text(text), *args)

    def split(self, text: str, maxsplit: int = 0) -> Any:
        """Pattern.split with the input cap."""
        return self._inner.split(_check_text(text), maxsplit)

    def sub(self, repl: Any, text: str, count: int = 0) -> Any:
        """Pattern.sub with the input cap."""
        return self._inner.sub(repl, _check_text(text), count)

    def subn(self, repl: Any, text: str, count: int = 0) -> Any:
        """Pattern.subn with the input cap."""
        return self._inner.subn(repl, _check_text(text), count)

    def __repr__(self) -> Any:
        return f"re.compile({self._inner.pattern!r})"


def _re_function(name: str) -> Callable[..., Any]:
    target = getattr(_re, name)

    def call(pattern: Any, text: Any, *args: Any, **kwargs: Any) -> Any:
        return target(_check_pattern(pattern), _check_text(text), *args, **kwargs)

    call.__name__ = name
    return call


def _re_sub(name: str) -> Callable[..., Any]:
    target = getattr(_re, name)

    def call(pattern: Any, repl: Any, text: Any, *args: Any, **kwargs: Any) -> Any:
        return target(_check_pattern(pattern), repl, _check_text(text), *args, **kwargs)

    call.__name__ = name
    return call


def _re_compile(pattern: Any, flags: int = 0) -> SafePattern:
    """re.compile with the pattern cap, returning a capped pattern."""
    return SafePattern(_re.compile(_check_pattern(pattern), flags))


def _re_facade() -> Facade:
    members: dict[str, object] = {
        n: _re_function(n) for n in ("match", "search", "fullmatch", "findall", "finditer", "split")
    }
    members.update({n: _re_sub(n) for n in ("sub", "subn")})
    members["compile"] = _re_compile
    members["escape"] = _re.escape
    members["error"] = _re.error
    for flag in ("IGNORECASE", "I", "MULTILINE", "M", "DOTALL", "S", "VERBOSE", "X", "ASCII", "A"):
        members[flag] = getattr(_re, flag)
    return Facade("module 're'", members)


def build_modules(allowed: tuple[str, ...]) -> dict[str, Facade]:
    """Return the importable facades by module name, restricted to `allowed`."""
    builders = {
        "math": _math_facade,
        "datetime": _datetime_facade,
        "decimal": _decimal_facade,
        "json": _json_facade,
        "re": _re_facade,
    }
    return {name: builders[name]() for name in allowed if name in builders}
