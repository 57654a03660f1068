"""The guards `compile_restricted` code calls: attribute, item, iteration, writes, in-place
operators, sized operators, imports, print; and the per-run builtins dict built from them."""

from __future__ import annotations

import _string
import importlib
import operator
import re as _re
import string
from collections.abc import Callable, Mapping
from typing import Any

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import INSPECT_ATTRIBUTES

from script_runtime.facades import Facade
from script_runtime.policy import Policy
from script_runtime.runstate import LimitBreach, PolicyBreach, current
from script_runtime.session import Params

DENIED_ATTRIBUTES = INSPECT_ATTRIBUTES | {"mro", "format_field", "vformat", "get_field"}
_DENIED_BY_TYPE: dict[type, frozenset[str]] = {_re.Match: frozenset({"re"})}
_WRITABLE = (dict, list)
_NUMBERS = frozenset({int, float, bool})
_INTERNAL_IMPORTS = frozenset({"_strptime", "time"})

_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": lambda x, y: _mul_(x, y),
    "/=": operator.itruediv,
    "%=": operator.imod,
    "**=": lambda x, y: _pow_(x, y),
    "<<=": lambda x, y: _lshift_(x, y),
    ">>=": operator.irshift,
    "|=": operator.ior,
    "^=": operator.ixor,
    "&=": operator.iand,
    "//=": operator.ifloordiv,
    "@=": operator.imatmul,
}


def _deny(name: str, message: str) -> PolicyBreach:
    return current().record(PolicyBreach(name, message))


def guarded_getattr(obj: object, name: str) -> Any:
    """Attribute access from scripts: no `_` names, no frames/code, no str.format walks."""
    if type(name) is not str:
        raise TypeError("attribute name must be a string")
    if name.startswith("_") or name in DENIED_ATTRIBUTES:
        raise _deny(name, f'access to attribute "{name}" is not allowed')
    if name in ("format", "format_map"):
        if isinstance(obj, str):
            return _safe_format(obj, name)
        if isinstance(obj, type) and issubclass(obj, str):
            raise _deny(name, f'access to attribute "str.{name}" is not allowed; use "...".{name}')
    denied = _DENIED_BY_TYPE.get(type(obj))
    if denied and name in denied:
        raise _deny(name, f'access to attribute "{name}" is not allowed')
    return getattr(obj, name)


class _SafeFormatter(string.Formatter):
    """str.format whose field lookups (`{0.attr}`, `{0[key]}`) go through the guards."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        first, rest = _string.formatter_field_name_split(field_name)
        obj = self.get_value(first, args, kwargs)
        for is_attr, key in rest:
            obj = guarded_getattr(obj, key) if is_attr else guarded_getitem(obj, key)
        return obj, first


_FORMATTER = _SafeFormatter()


def _safe_format(text: str, name: str) -> Callable[..., str]:
    if name == "format":

        def format(*args: object, **kwargs: object) -> str:
            return _FORMATTER.vformat(text, args, kwargs)

        return format

    def format_map(mapping: Mapping[str, object]) -> str:
        return _FORMATTER.vformat(text, (), mapping)

    return format_map


def guarded_getitem(obj: Any, key: Any) -> Any:
    """Item access from scripts (plain: everything reachable is already safe to index)."""
    return obj[key]


def guarded_getiter(obj: Any) -> Any:
    """Iteration from scripts."""
    return obj


class _Refused:
    """What `_write_` returns for objects scripts may not change: every write raises."""

    __slots__ = ("_what",)
    _what: str

    def __init__(self, what: str) -> None:
        object.__setattr__(self, "_what", what)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot set attribute {name!r} of {self._what}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete attribute {name!r} of {self._what}")

    def __setitem__(self, key: object, value: object) -> None:
        raise TypeError(f"cannot assign items of {self._what}")

    def __delitem__(self, key: object) -> None:
        raise TypeError(f"cannot delete items of {self._what}")


def write_guard(obj: Any) -> Any:
    """Scripts may change dicts, lists and session.params; any other write raises."""
    kind = type(obj)
    if kind in _WRITABLE or kind is Params:
        return obj
    if isinstance(obj, Facade):
        return obj  # facades refuse writes themselves, naming the field
    hint = "scripts may only change dicts and lists"
    return _Refused(f"a {kind.__name__} object ({hint})")


def _too_big(detail: str) -> LimitBreach:
    cap = current().policy.value_bytes
    return current().record(LimitBreach("value_bytes", cap, detail))


def _mul_(left: Any, right: Any) -> Any:
    """`*` that refuses sequence repetitions larger than value_bytes."""
    if type(left) in _NUMBERS and type(right) in _NUMBERS:
        return left * right  # the common case, and never a repetition
    for seq, count in ((left, right), (right, left)):
        if isinstance(seq, (str, bytes, list, tuple)) and isinstance(count, int) and count > 0:
            width = 1 if isinstance(seq, (str, bytes)) else 8
            if len(seq) * count * width > current().policy.value_bytes:
                raise _too_big("repetition too large")
    return left * right


def _pow_(base: Any, exponent: Any, modulo: Any = None) -> Any:
    """`**` and pow() that refuse integer results larger than value_bytes."""
    if (
        modulo is None
        and isinstance(base, int)
        and isinstance(exponent, int)
        and exponent > 0
        and abs(base) > 1
        and base.bit_length() * exponent > current().policy.value_bytes * 8
    ):
        raise _too_big("integer power too large")
    return pow(base, exponent) if modulo is None else pow(base, exponent, modulo)


def _lshift_(value: Any, shift: Any) -> Any:
    """`<<` that refuses integer results larger than value_bytes."""
    if (
        isinstance(value, int)
        and isinstance(shift, int)
        and value
        and shift > 0
        and value.bit_length() + shift > current().policy.value_bytes * 8
    ):
        raise _too_big("integer shift too large")
    return value << shift


def inplacevar(op: str, target: Any, value: Any) -> Any:
    """Augmented assignment on names (`n += 1`)."""
    try:
        function = _INPLACE[op]
    except KeyError:
        raise _deny(op, f'operator "{op}" is not allowed') from None
    return function(target, value)


def inplace_item(container: Any, key: Any, op: str, value: Any) -> None:
    """Augmented assignment on items (`counts[k] += 1`), with the write guard."""
    writable = write_guard(container)
    writable[key] = inplacevar(op, guarded_getitem(container, key), value)


def safe_range(*args: int) -> range:
    """range() refusing more than range_items items."""
    cap = current().policy.range_items
    result = range(*args)
    try:
        size = len(result)
    except OverflowError:
        size = cap + 1
    if size > cap:
        raise current().record(LimitBreach("range_items", cap, "range too large"))
    return result


def apply(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Calls with `*args` / `**kwargs`."""
    return function(*args, **kwargs)


class PrintCollector:
    """print() for scripts: text goes to the run's capped log; `printed` reads it back."""

    def __init__(self, _getattr_: object = None) -> None:
        self._state = current()

    def _call_print(self, *objects: object, sep: str | None = " ", end: str | None = "\n",
                    file: object = None, flush: bool = False) -> None:  # fmt: skip
        if file is not None:
            raise TypeError("print(file=...) is not supported in scripts")
        sep = " " if sep is None else sep
        end = "\n" if end is None else end
        self._state.write_log(str(sep).join(str(o) for o in objects) + str(end))

    def __call__(self) -> str:
        return self._state.log


def base_builtins(policy: Policy, modules: Mapping[str, Facade]) -> dict[str, Any]:
    """The builtins dict for scripts under `policy` (copied for every run)."""
    import builtins

    table: dict[str, Any] = {n: getattr(builtins, n) for n in policy.builtins}
    if "range" in table:
        table["range"] = safe_range
    if "pow" in table:
        table["pow"] = _pow_

    def guarded_import(name: str, globals: object = None, locals: object = None,
                       fromlist: object = (), level: int = 0) -> Facade:  # fmt: skip
        if type(fromlist) is list and name in _INTERNAL_IMPORTS:
            # C code of an allowed type imports helpers through the current builtins
            # (datetime.strptime -> _strptime, date.strftime -> time) and passes a list as
            # fromlist; import statements pass None or a tuple, and the script cannot call
            # __import__ itself, so the real module goes to the C caller only.
            return importlib.import_module(name)  # type: ignore[return-value]
        if level or name not in modules:
            raise _deny(name, f'importing "{name}" is not allowed')
        return modules[name]

    table["__import__"] = guarded_import
    return table


def guard_globals() -> dict[str, Any]:
    """The `_name_` helpers compiled restricted code expects in its globals."""
    return {
        "_getattr_": guarded_getattr,
        "_getitem_": guarded_getitem,
        "_getiter_": guarded_getiter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": write_guard,
        "_inplacevar_": inplacevar,
        "_inplace_item_": inplace_item,
        "_mul_": _mul_,
        "_pow_": _pow_,
        "_lshift_": _lshift_,
        "_apply_": apply,
        "_print_": PrintCollector,
    }
