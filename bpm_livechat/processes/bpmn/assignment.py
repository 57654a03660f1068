"""Who a user task is for: the syntax of camunda:assignee, candidateUsers and candidateGroups.

A value is a comma-separated list of entries. An assignee or candidate user is a username
(`olga`, matched without regard to case) or an expression naming a person of the session:
`${operator}` (the session's operator when the task is created) or `${starter}` (who started
the instance; `${initiator}`, Camunda's name, means the same). A candidate group is a
role: `operator(s)`, `supervisor(s)` or `admin(s)`, offered to users of that role who work the
session's live chat. Anything else with `${` or `#{` is refused at deploy, naming the element.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EXPRESSIONS = ("operator", "starter")
ALIASES = {"initiator": "starter"}  # Camunda's name for who started the instance
ROLE_GROUPS = {
    "operator": "operator",
    "operators": "operator",
    "supervisor": "supervisor",
    "supervisors": "supervisor",
    "admin": "admin",
    "admins": "admin",
}
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_EXPRESSION = re.compile(r"^\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}$")


@dataclass(frozen=True)
class Person:
    """One assignee or candidate user entry: a username, or the name of an expression."""

    username: str | None = None
    expression: str | None = None

    def to_text(self) -> str:
        """The entry as it is stored in the task spec's extensions."""
        return f"${{{self.expression}}}" if self.expression else str(self.username)


class AssignmentSyntaxError(ValueError):
    """An assignment attribute that names nobody this product can resolve."""


def entries(value: str | None) -> list[str]:
    """The non-empty comma-separated entries of an attribute."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def parse_person(entry: str) -> Person:
    """A username or `${operator}` / `${starter}`; AssignmentSyntaxError for anything else."""
    match = _EXPRESSION.match(entry)
    if match:
        name = ALIASES.get(match.group(1), match.group(1))
        if name not in EXPRESSIONS:
            known = ", ".join(f"${{{e}}}" for e in EXPRESSIONS)
            raise AssignmentSyntaxError(f"unknown expression {entry!r} (use {known})")
        return Person(expression=name)
    if "${" in entry or "#{" in entry or "}" in entry:
        raise AssignmentSyntaxError(f"{entry!r} is not an expression this product evaluates")
    if not _USERNAME.match(entry.lower()):
        raise AssignmentSyntaxError(
            f"{entry!r} is not a username (letters, digits, '.', '_' or '-')"
        )
    return Person(username=entry.lower())  # usernames are lower-case here


def parse_people(value: str | None) -> list[Person]:
    """Every entry of an assignee or candidateUsers attribute, parsed."""
    return [parse_person(entry) for entry in entries(value)]


def parse_groups(value: str | None) -> list[str]:
    """The entries of a candidateGroups attribute; expressions are refused."""
    groups = entries(value)
    for group in groups:
        if "${" in group or "#{" in group:
            raise AssignmentSyntaxError(f"candidate group {group!r} cannot be an expression")
    return groups


def group_role(group: str) -> str | None:
    """The user role a candidate group names, or None when it names no role."""
    return ROLE_GROUPS.get(group.strip().lower())
