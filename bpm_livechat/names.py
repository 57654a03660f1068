"""Names people give things (live chats, channels, apps, sessions, webhooks, quick replies):
kept exactly as sent, or refused with a reason, never quietly changed. A name stored changed
(a leading tab dropped, spaces collapsed) no longer finds what it named."""

from __future__ import annotations

import unicodedata

from bpm_livechat.errors import ValidationError

MAX_NAME_LENGTH = 255


def name_problem(name: str, limit: int = MAX_NAME_LENGTH) -> str | None:
    """Why `name` cannot be a name (None when it can)."""
    if not name.strip():
        return "must not be empty"
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in name):
        return "must not contain tabs, line breaks or other control characters"
    if name != name.strip():
        return "must not begin or end with a space"
    if len(name) > limit:
        return f"must have at most {limit} characters ({len(name)} now)"
    return None


def check_name(name: str, what: str, field: str = "name", limit: int = MAX_NAME_LENGTH) -> str:
    """`name` unchanged, or a ValidationError on `field` saying what is wrong with it."""
    problem = name_problem(name, limit)
    if problem is not None:
        raise ValidationError(f"{what} {problem}", {field: problem})
    return name
