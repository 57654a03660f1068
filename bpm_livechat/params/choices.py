"""Parsing a value that must be one of a fixed set (roles, types, priorities...), with a clear error."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from bpm_livechat.errors import ValidationError

E = TypeVar("E", bound=StrEnum)


def parse_choice(choices: type[E], value: str, field: str, label: str | None = None) -> E:
    """The member of `choices` named `value`, or a ValidationError on `field` listing the valid ones."""
    try:
        return choices(value)
    except ValueError:
        valid = ", ".join(c.value for c in choices)
        what = label or field
        raise ValidationError(
            f"unknown {what} {value!r} (one of: {valid})", {field: f"unknown {what}"}
        ) from None
