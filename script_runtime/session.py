"""The `session` object a script sees: read-only fields, recorded `params` writes, recent messages.

Built from a plain-data snapshot inside the worker; nothing else of the host is reachable from it.
Writes are recorded in a changeset, never applied: the caller validates and commits them. The
changeset is its own object so later requests (e.g. `session.link_item(app, item_id)`) can join it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import partial
from keyword import iskeyword
from typing import Any

from script_runtime.codec import decode, encode, same_wire
from script_runtime.facades import Facade
from script_runtime.runstate import LimitBreach, current

_HINT = "session fields are read-only; write custom parameters with session.params['key'] = value"
_RECORDS = {
    "live_chat": ("name",),
    "channel": ("name",),
    "client": ("name", "email", "phone"),
    "operator": ("name",),
}
_MISSING = object()


class ReadOnlyRecord(Facade):
    """A read-only record (session, session.client, a message...)."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot set {self._label}.{name}: {_HINT}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete {self._label}.{name}: {_HINT}")


class Params:
    """`session.params`: read values, record writes (key -> new value) without applying them."""

    __slots__ = ("_changes", "_read", "_values", "_wire")

    def __init__(self, wire: Mapping[str, Any]) -> None:
        self._wire = dict(wire)
        self._values: dict[str, object] = {k: decode(v) for k, v in self._wire.items()}
        self._changes: dict[str, object] = {}
        self._read: set[str] = set()

    def __getitem__(self, key: str) -> object:
        if key in self._changes:
            return self._changes[key]
        if key not in self._values:
            raise KeyError(key)
        value = self._values[key]
        if type(value) in (dict, list):
            self._read.add(key)
        return value

    def get(self, key: str, default: object = None) -> object:
        """Return the parameter's value, or `default` when the session has no such parameter."""
        if key in self:
            return self[key]
        return default

    def __contains__(self, key: object) -> bool:
        return key in self._changes or key in self._values

    def __setitem__(self, key: str, value: object) -> None:
        if type(key) is not str or not key.isidentifier() or iskeyword(key) or key[0] == "_":
            raise ValueError(
                f"parameter keys must be identifiers not starting with '_', got {key!r}"
            )
        limits = current().limits
        if key not in self._changes and len(self._changes) >= limits.max_changes:
            raise current().record(
                LimitBreach("max_changes", limits.max_changes, "too many writes")
            )
        self._changes[key] = value

    def __delitem__(self, key: str) -> None:
        self[key] = None

    def keys(self) -> list[str]:
        """Parameter keys (existing and newly written)."""
        return list(dict.fromkeys([*self._values, *self._changes]))

    def items(self) -> list[tuple[str, object]]:
        """(key, value) pairs with written values in place of the old ones."""
        return [(k, self[k]) for k in self.keys()]

    def values(self) -> list[object]:
        """Values with written values in place of the old ones."""
        return [self[k] for k in self.keys()]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __repr__(self) -> str:
        return f"<session.params {self.keys()!r}>"

    def collect_changes(self) -> dict[str, object]:
        """Return the writes: explicit assignments plus read dicts/lists changed in place."""
        changes = dict(self._changes)
        if not self._read:
            return changes  # nothing read that could have been changed in place
        for key in self._read - changes.keys():
            try:
                changed = not same_wire(encode(self._values[key]), self._wire[key])
            except (TypeError, ValueError):
                changed = True
            if changed:
                changes[key] = self._values[key]
        return changes


def _text(raw: Mapping[str, Any], key: str) -> object:
    value = raw.get(key)
    return "" if value is None else decode(value)


def _record(label: str, raw: object, fields: tuple[str, ...]) -> ReadOnlyRecord:
    source = raw if isinstance(raw, Mapping) else {}
    return ReadOnlyRecord(label, {f: _text(source, f) for f in fields})


def _message(index: int, raw: object) -> ReadOnlyRecord:
    source = raw if isinstance(raw, Mapping) else {}
    fields = {f: _text(source, f) for f in ("author", "kind", "text")}
    fields["sent_at"] = decode(source.get("sent_at"))
    return ReadOnlyRecord(f"session.messages[{index}]", fields)


MAX_REPLY_LENGTH = 20_000  # the product's longest message
PRIORITIES = ("low", "normal", "high", "urgent")
# The session's methods that ask the host for something (besides writing session.params).
_REQUESTS = ("link_item", "reply", "set_priority")


class SessionFacade(ReadOnlyRecord):
    """The script's `session`: each field is built from the snapshot on first use."""

    __slots__ = ("_links", "_params", "_priority", "_replies", "_snapshot")
    _links: list[tuple[str, int]]
    _params: Params | None
    _priority: str | None
    _replies: list[str]
    _snapshot: Mapping[str, Any]

    def __init__(self, snapshot: Mapping[str, Any]) -> None:
        # Slot descriptors directly: one per run, and object.__setattr__ costs more per field.
        _set_label(self, "session")
        _set_members(self, {})
        _set_snapshot(self, snapshot)
        _set_params(self, None)
        _set_links(self, [])
        _set_replies(self, [])
        _set_priority(self, None)

    @property
    def params(self) -> Params:
        """`session.params` (its own property: most scripts use it, so it is kept short)."""
        params = self._params
        if params is None:
            params = _params(self._snapshot)
            self._members["params"] = params
            _set_params(self, params)
        return params

    @property
    def link_item(self) -> Callable[[object, object], None]:
        """`session.link_item(app, item_id)`."""
        return self._request_link

    @property
    def reply(self) -> Callable[[object], None]:
        """`session.reply(text)`: a message to the client, sent if the step succeeds."""
        return self._request_reply

    @property
    def set_priority(self) -> Callable[[object], None]:
        """`session.set_priority(level)`: low, normal, high or urgent, set if the step succeeds."""
        return self._request_priority

    def _field(self, name: str) -> object:
        """Build field `name` from the snapshot once (the class's field properties call this)."""
        members = self._members
        value = members.get(name, _MISSING)
        if value is _MISSING:
            value = members[name] = _BUILDERS[name](self._snapshot)
        return value

    def __dir__(self) -> list[str]:
        return sorted([*_BUILDERS, *_REQUESTS])

    def _request_link(self, app: object, item_id: object) -> None:
        """`session.link_item(app, item_id)`: ask the host to link an app item (recorded only)."""
        if type(app) is not str or not app or len(app) > 255:
            raise ValueError(f"link_item: the app must be a name (text), got {app!r}")
        if type(item_id) is not int:
            raise ValueError(f"link_item: the item id must be a whole number, got {item_id!r}")
        limits = current().limits
        if (app, item_id) not in self._links:
            if len(self._links) >= limits.max_changes:
                raise current().record(
                    LimitBreach("max_changes", limits.max_changes, "too many link requests")
                )
            self._links.append((app, item_id))

    def _request_reply(self, text: object) -> None:
        """`session.reply(text)`: ask the host to send the client a message (recorded only)."""
        if type(text) is not str or not text.strip():
            raise ValueError(f"reply: the text must be non-empty text, got {text!r}")
        limits = current().limits
        if len(text) > MAX_REPLY_LENGTH:
            raise ValueError(f"reply: the text is longer than {MAX_REPLY_LENGTH} characters")
        if len(self._replies) >= limits.max_changes:
            raise current().record(
                LimitBreach("max_changes", limits.max_changes, "too many replies")
            )
        self._replies.append(text)

    def _request_priority(self, level: object) -> None:
        """`session.set_priority(level)`: ask the host to change the session's priority."""
        if level not in PRIORITIES:
            raise ValueError(
                f"set_priority: the level must be one of {', '.join(PRIORITIES)}, got {level!r}"
            )
        _set_priority(self, level)

    def collect_replies(self) -> list[str]:
        """The recorded replies to the client, in order."""
        return list(self._replies)

    def collect_priority(self) -> str | None:
        """The priority the script asked for last, if any."""
        return self._priority

    def collect_links(self) -> list[tuple[str, int]]:
        """The recorded link requests, in order."""
        return list(self._links)

    def collect_changes(self) -> dict[str, object]:
        """The recorded parameter writes (empty when the script never used `session.params`)."""
        return {} if self._params is None else self._params.collect_changes()


def _params(snapshot: Mapping[str, Any]) -> Params:
    raw = snapshot.get("params")
    return Params(raw if type(raw) is dict or isinstance(raw, Mapping) else {})


def _messages(snapshot: Mapping[str, Any]) -> tuple[ReadOnlyRecord, ...]:
    raw = snapshot.get("messages")
    return tuple(_message(i, m) for i, m in enumerate(raw if isinstance(raw, list) else []))


def _builders() -> dict[str, Callable[[Mapping[str, Any]], object]]:
    table: dict[str, Callable[[Mapping[str, Any]], object]] = {
        "id": lambda s: decode(s.get("id")),
        "priority": lambda s: decode(s.get("priority")),
        "created_at": lambda s: decode(s.get("created_at")),
        "params": _params,
        "messages": _messages,
    }
    for key in ("name", "subject", "status"):
        table[key] = partial(_text_field, key)
    for key, fields in _RECORDS.items():
        table[key] = partial(_record_field, key, fields)
    return table


def _text_field(key: str, snapshot: Mapping[str, Any]) -> object:
    return _text(snapshot, key)


def _record_field(key: str, fields: tuple[str, ...], snapshot: Mapping[str, Any]) -> object:
    return _record(f"session.{key}", snapshot.get(key), fields)


_BUILDERS = _builders()
# The slots' own descriptors: setting through them skips object.__setattr__'s lookup, once per
# field per run (SessionFacade refuses ordinary attribute writes).
_set_label = vars(Facade)["_label"].__set__
_set_members = vars(Facade)["_members"].__set__
_set_snapshot = vars(SessionFacade)["_snapshot"].__set__
_set_params = vars(SessionFacade)["_params"].__set__
_set_links = vars(SessionFacade)["_links"].__set__
_set_replies = vars(SessionFacade)["_replies"].__set__
_set_priority = vars(SessionFacade)["_priority"].__set__


def _field_property(name: str) -> property:
    # A property per field: a plain attribute lookup, where falling back to __getattr__ first
    # raises and formats an AttributeError inside CPython (session.params is on the hot path).
    return property(lambda session: session._field(name), doc=f"session.{name}")


for _name in _BUILDERS.keys() - {"params"}:
    setattr(SessionFacade, _name, _field_property(_name))
del _name
