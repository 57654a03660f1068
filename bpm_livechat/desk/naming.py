"""Session name templates: parse and check once when saved, render safely for every new session.

A template is scanned by hand, never by str.format: placeholders name a fixed set of fields and are
looked up in explicit tables, so no user text ever reaches getattr, format specs or eval.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bpm_livechat.errors import TemplateError

MAX_NAME_LENGTH = 255
MAX_TEMPLATE_LENGTH = 1000
MAX_DATE_FORMAT_LENGTH = 64
DEFAULT_TEMPLATE = "{client.name} — {subject}"
FALLBACK_NAME = "Session"
DEFAULT_DATE_FORMAT = "%Y-%m-%d %H:%M"

FIELDS = frozenset(
    {
        "client.name",
        "client.email",
        "client.phone",
        "created_at",
        "live_chat.name",
        "channel.name",
        "subject",
        "operator.name",
    }
)
PARAM_PREFIX = "param."
_PARAM_KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")  # as parameters.KEY_PATTERN
# Characters trimmed from the ends of a rendered name, left dangling when a value is missing.
_EDGE_SEPARATORS = " -–—:|,;/·"

_MONTHS = "January February March April May June July August September October November December"
_DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday"
# The allowed date directives, rendered in English whatever the server locale.
_DIRECTIVES: dict[str, Callable[[datetime], str]] = {
    "d": lambda d: f"{d.day:02d}",
    "m": lambda d: f"{d.month:02d}",
    "Y": lambda d: f"{d.year:04d}",
    "y": lambda d: f"{d.year % 100:02d}",
    "H": lambda d: f"{d.hour:02d}",
    "M": lambda d: f"{d.minute:02d}",
    "S": lambda d: f"{d.second:02d}",
    "b": lambda d: _MONTHS.split()[d.month - 1][:3],
    "B": lambda d: _MONTHS.split()[d.month - 1],
    "a": lambda d: _DAYS.split()[d.weekday()][:3],
    "A": lambda d: _DAYS.split()[d.weekday()],
    "j": lambda d: f"{d.timetuple().tm_yday:03d}",
    "p": lambda d: "AM" if d.hour < 12 else "PM",
    "%": lambda d: "%",
}


@dataclass(frozen=True)
class Placeholder:
    """One `{...}` field: a name from FIELDS or "param" with `key`; `date_format` for created_at."""

    name: str
    key: str | None = None
    date_format: str | None = None


@dataclass(frozen=True)
class NameTemplate:
    """A parsed, checked template: literal text and placeholders in order."""

    source: str
    parts: tuple[str | Placeholder, ...] = field(default=())

    @property
    def param_keys(self) -> frozenset[str]:
        """The custom parameter keys the template uses."""
        return frozenset(p.key for p in self.parts if isinstance(p, Placeholder) and p.key)


@dataclass(frozen=True)
class NameContext:
    """The values a template can show; None renders empty.

    `created_at` is shown in its own timezone (UTC as stored); `params` maps each custom parameter
    key to its display text (param_types.format_value).
    """

    client_name: str | None = None
    client_email: str | None = None
    client_phone: str | None = None
    created_at: datetime | None = None
    live_chat_name: str | None = None
    channel_name: str | None = None
    subject: str | None = None
    operator_name: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)


def parse_template(
    template: str,
    param_keys: Collection[str] | None = None,
    max_length: int = MAX_TEMPLATE_LENGTH,
) -> NameTemplate:
    """Parse and check `template`; TemplateError with the 0-based position of the first problem.

    With `param_keys`, every `{param.KEY}` must name one of them.
    """
    if len(template) > max_length:
        raise TemplateError(f"template longer than {max_length} characters", max_length)
    parts: list[str | Placeholder] = []
    literal: list[str] = []
    i = 0
    while i < len(template):
        char = template[i]
        if char in "{}" and template[i + 1 : i + 2] == char:
            literal.append(char)
            i += 2
        elif char == "}":
            raise TemplateError("single '}' without an opening '{' (write '}}' for a brace)", i)
        elif char == "{":
            end = _field_end(template, i)
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(_parse_field(template[i + 1 : end], i + 1, param_keys))
            i = end + 1
        else:
            literal.append(char)
            i += 1
    if literal:
        parts.append("".join(literal))
    return NameTemplate(template, tuple(parts))


def _field_end(template: str, start: int) -> int:
    """The offset of the '}' closing the field opened at `start`."""
    for j in range(start + 1, len(template)):
        if template[j] == "{":
            raise TemplateError("nested braces are not allowed", j)
        if template[j] == "}":
            return j
    raise TemplateError("'{' is never closed (write '{{' for a brace)", start)


def _parse_field(text: str, offset: int, param_keys: Collection[str] | None) -> Placeholder:
    """Check one field's text (between the braces) that starts at `offset` in the template."""
    name, colon, spec = text.partition(":")
    for bad, problem in (("!", "conversions such as !r are"), ("[", "indexing is")):
        if bad in name:
            raise TemplateError(f"{problem} not allowed", offset + name.index(bad))
    if not name:
        raise TemplateError("empty placeholder '{}'", offset - 1)
    if name.isdigit():
        raise TemplateError("positional placeholders are not allowed", offset)
    placeholder = _resolve_name(name, offset, param_keys)
    if not colon:
        return placeholder
    if name != "created_at":
        raise TemplateError("only created_at takes a format", offset + len(name))
    _check_date_format(spec, offset + len(name) + 1)
    return Placeholder(name, date_format=spec)


def _resolve_name(name: str, offset: int, param_keys: Collection[str] | None) -> Placeholder:
    if name in FIELDS:
        return Placeholder(name)
    if name.startswith(PARAM_PREFIX):
        key = name[len(PARAM_PREFIX) :]
        key_offset = offset + len(PARAM_PREFIX)
        if "." in key:
            raise TemplateError("attribute access is not allowed", key_offset + key.index("."))
        if not _PARAM_KEY_RE.fullmatch(key):
            raise TemplateError(f"invalid parameter key {key!r}", key_offset)
        if param_keys is not None and key not in param_keys:
            raise TemplateError(f"unknown parameter {key!r}", key_offset)
        return Placeholder("param", key=key)
    for known in FIELDS:
        if name.startswith(known + "."):
            raise TemplateError("attribute access is not allowed", offset + len(known))
    raise TemplateError(f"unknown placeholder {{{name}}}", offset)


def _check_date_format(spec: str, offset: int) -> None:
    """Only allowlisted % directives, at least one of them, and a bounded length."""
    if len(spec) > MAX_DATE_FORMAT_LENGTH:
        raise TemplateError(f"date format longer than {MAX_DATE_FORMAT_LENGTH} characters", offset)
    directives = 0
    j = 0
    while j < len(spec):
        if spec[j] == "%":
            directive = spec[j + 1 : j + 2]
            if directive not in _DIRECTIVES:
                shown = f"%{directive}" if directive else "a lone %"
                raise TemplateError(f"date directive {shown} is not allowed", offset + j)
            directives += directive != "%"
            j += 2
        else:
            j += 1
    if not directives:
        raise TemplateError("a date format needs a directive such as %d, %m or %Y", offset)


def _format_date(value: datetime, date_format: str) -> str:
    out: list[str] = []
    j = 0
    while j < len(date_format):
        if date_format[j] == "%":
            out.append(_DIRECTIVES[date_format[j + 1]](value))
            j += 2
        else:
            out.append(date_format[j])
            j += 1
    return "".join(out)


def _value(placeholder: Placeholder, context: NameContext) -> str | None:
    if placeholder.key is not None:
        return context.params.get(placeholder.key)
    if placeholder.name == "created_at":
        if context.created_at is None:
            return None
        return _format_date(context.created_at, placeholder.date_format or DEFAULT_DATE_FORMAT)
    fields: dict[str, str | None] = {
        "client.name": context.client_name,
        "client.email": context.client_email,
        "client.phone": context.client_phone,
        "live_chat.name": context.live_chat_name,
        "channel.name": context.channel_name,
        "subject": context.subject,
        "operator.name": context.operator_name,
    }
    return fields[placeholder.name]


def render_name(template: NameTemplate, context: NameContext) -> str:
    """The session name: missing values empty, whitespace collapsed, at most 255 characters.

    Separators left dangling at either end by missing values are trimmed ("— Subject" becomes
    "Subject"), and a name that comes out empty is FALLBACK_NAME, so a session always has a name.
    """
    pieces = [
        part if isinstance(part, str) else (_value(part, context) or "") for part in template.parts
    ]
    text = "".join(" " if unicodedata.category(c) == "Cc" else c for c in "".join(pieces))
    name = " ".join(text.split()).strip(_EDGE_SEPARATORS)
    return name[:MAX_NAME_LENGTH].rstrip(_EDGE_SEPARATORS) or FALLBACK_NAME


def render_text(template: NameTemplate, context: NameContext) -> str:
    """A longer text from the same placeholders (a quick reply): missing values empty, line
    breaks kept, other control characters blanked, outer whitespace trimmed."""
    pieces = [
        part if isinstance(part, str) else (_value(part, context) or "") for part in template.parts
    ]
    text = "".join(pieces)
    kept = "\n\t"
    return "".join(
        " " if unicodedata.category(c) == "Cc" and c not in kept else c for c in text
    ).strip()
