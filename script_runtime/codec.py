"""Values that cross the process boundary: JSON data plus tagged date, datetime and Decimal."""

from __future__ import annotations

import datetime as _dt
import json
import json.encoder
import math
from decimal import Decimal, InvalidOperation
from typing import Any, cast

_SCALARS = frozenset({type(None), bool, int, str})
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, check_circular=False, allow_nan=False, separators=(",", ":")
)
# The C encoder behind _ENCODER, built once: JSONEncoder.encode builds it (and a float
# formatter closure) again on every call, a third of the cost of a small reply.
_C_ENCODER = getattr(json.encoder, "c_make_encoder", None)
_ITERENCODE = (
    _C_ENCODER(None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",",
               False, False, False)
    if _C_ENCODER is not None
    else None
)  # fmt: skip
ALLOWED_TYPES = "None, bool, int, float, str, list, dict with str keys, date, datetime, Decimal"


class NotPlainData(TypeError):
    """A value is not plain data; `path` says where (e.g. `items[2]['when']`)."""

    def __init__(self, path: str, type_name: str) -> None:
        super().__init__(f"{path} holds a {type_name}, which is not plain data ({ALLOWED_TYPES})")
        self.path = path
        self.type_name = type_name


class DataTooLarge(ValueError):
    """A value is nested too deeply or has too many items; `limit` names the policy field."""

    def __init__(self, path: str, limit: str, value: int) -> None:
        shown = path if len(path) <= 60 else path[:57] + "..."
        super().__init__(f"{shown} exceeds {limit}={value}")
        self.path = path
        self.limit = limit
        self.value = value


class _Bad(Exception):
    """Internal: a value failed; `parts` collects the path while the stack unwinds."""

    def __init__(self, kind: str, detail: str, value: int = 0) -> None:
        self.kind = kind
        self.detail = detail
        self.value = value
        self.parts: list[str] = []


class _Budget:
    __slots__ = ("items", "max_depth", "max_items")

    def __init__(self, max_depth: int, max_items: int) -> None:
        self.max_depth = max_depth
        self.max_items = max_items
        self.items = 0


def is_wire_scalar(value: object) -> bool:
    """True for a value that is its own wire form: None, bool, int, str or a finite float."""
    kind = type(value)
    return kind in _SCALARS or (kind is float and math.isfinite(value))  # type: ignore[arg-type]


def encode(
    value: object, path: str = "value", *, max_depth: int = 64, max_items: int = 10**7
) -> Any:
    """Turn a plain-data value into its JSON wire form, or raise NotPlainData / DataTooLarge."""
    if is_wire_scalar(value):
        return value
    try:
        return _encode(value, 0, _Budget(max_depth, max_items))
    except _Bad as bad:
        where = path + "".join(reversed(bad.parts))
        if bad.kind == "type":
            raise NotPlainData(where, bad.detail) from None
        raise DataTooLarge(where, bad.kind, bad.value) from None


def encode_named(
    value: object, label: str, name: str, *, max_depth: int = 64, max_items: int = 10**7
) -> Any:
    """`encode` with the path `label.format(name)`, formatted only if the value is refused."""
    try:
        return encode(value, "", max_depth=max_depth, max_items=max_items)
    except NotPlainData as exc:
        raise NotPlainData(label.format(name) + exc.path, exc.type_name) from None
    except DataTooLarge as exc:
        raise DataTooLarge(label.format(name) + exc.path, exc.limit, exc.value) from None


def dumps(wire: Any) -> str:
    """Serialize wire values compactly (one shared encoder: this is on the hot path)."""
    if _ITERENCODE is None:
        return _ENCODER.encode(wire)
    return "".join(_ITERENCODE(wire, 0))


def _encode(value: object, depth: int, budget: _Budget) -> Any:
    budget.items += 1
    if budget.items > budget.max_items:
        raise _Bad("result_items", "", budget.max_items)
    kind = type(value)
    if kind is dict or kind is list or kind is tuple:  # containers first: the costly case
        if depth >= budget.max_depth:
            raise _Bad("result_depth", "", budget.max_depth)
        if kind is dict:
            return _encode_dict(value, depth, budget)  # type: ignore[arg-type]
        items: list[Any] = []
        for index, item in enumerate(cast("list[Any]", value)):
            try:
                items.append(_encode(item, depth + 1, budget))
            except _Bad as bad:
                bad.parts.append(f"[{index}]")
                raise
        return items
    if kind in _SCALARS:
        return value
    if kind is float:
        if not math.isfinite(value):  # type: ignore[arg-type]
            raise _Bad("type", f"non-finite float ({value!r})")
        return value
    if kind is _dt.datetime:
        return {"$datetime": value.isoformat()}  # type: ignore[attr-defined]
    if kind is _dt.date:
        return {"$date": value.isoformat()}  # type: ignore[attr-defined]
    if kind is Decimal:
        if not value.is_finite():  # type: ignore[attr-defined]
            raise _Bad("type", f"non-finite Decimal ({value})")
        return {"$decimal": str(value)}
    raise _Bad("type", _type_label(value))


def _encode_dict(value: dict[Any, Any], depth: int, budget: _Budget) -> Any:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if type(key) is not str:
            raise _Bad("type", f"dict with a key of type {type(key).__name__} ({key!r})")
        if is_wire_scalar(item) and budget.items < budget.max_items:
            budget.items += 1  # inline leaf: saves a call per field on the hot path
            out[key] = item
            continue
        try:
            if (
                type(item) is dict
                and depth + 1 < budget.max_depth
                and budget.items < budget.max_items
            ):
                budget.items += 1  # a nested dict within the limits: what _encode would do
                out[key] = _encode_dict(item, depth + 1, budget)
            else:
                out[key] = _encode(item, depth + 1, budget)
        except _Bad as bad:
            bad.parts.append(f"[{key!r}]")
            raise
    if len(out) == 1 and next(iter(out)).startswith("$"):
        return {"$dict": out}
    return out


def _type_label(value: object) -> str:
    name = type(value).__name__
    if name in ("generator", "function", "builtin_function_or_method", "method"):
        return name
    return f"{name!r} object" if name.isidentifier() else "object"


def decode(wire: Any) -> Any:
    """Turn a wire value back into Python values (date, datetime and Decimal restored)."""
    kind = type(wire)
    if kind is list:
        return [decode(item) for item in wire]
    if kind is dict:
        if len(wire) == 1:
            tag, inner = next(iter(wire.items()))
            if tag.startswith("$"):
                return _decode_tagged(tag, inner)
        return {key: decode(item) for key, item in wire.items()}
    return wire


def _decode_tagged(tag: str, inner: Any) -> Any:
    try:
        if tag == "$date":
            return _dt.date.fromisoformat(inner)
        if tag == "$datetime":
            return _dt.datetime.fromisoformat(inner)
        if tag == "$decimal":
            return Decimal(inner)
        if tag == "$dict" and type(inner) is dict:
            return {key: decode(item) for key, item in inner.items()}
    except (TypeError, ValueError, InvalidOperation) as exc:
        raise ValueError(f"invalid {tag} value {inner!r}") from exc
    return {tag: decode(inner)}


def same_wire(a: Any, b: Any) -> bool:
    """Compare two wire values strictly (True is not 1, 1.0 is not 1)."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(same_wire(v, b[k]) for k, v in a.items())
    if type(a) is list:
        return len(a) == len(b) and all(same_wire(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
