"""Conditions: validated on save naming the field, evaluated over every parameter type."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from bpm_livechat.errors import ValidationError
from bpm_livechat.params.types import Money, ParamType
from bpm_livechat.routing.conditions import (
    SYSTEM_SUBJECTS,
    Subject,
    holds,
    parse_cli_condition,
    parse_condition,
    typed,
)

KNOWN = {
    **SYSTEM_SUBJECTS,
    "segment": Subject("segment", ParamType.CHOICE, ("enterprise", "smb")),
    "tags": Subject("tags", ParamType.MULTICHOICE, ("billing", "bug", "vip")),
    "seats": Subject("seats", ParamType.INTEGER),
    "budget": Subject("budget", ParamType.MONEY),
    "ratio": Subject("ratio", ParamType.DECIMAL),
    "vip": Subject("vip", ParamType.BOOLEAN),
    "renewal": Subject("renewal", ParamType.DATE),
    "seen": Subject("seen", ParamType.DATETIME),
    "order": Subject("order", ParamType.STRING),
    "notes": Subject("notes", ParamType.TEXT),
    "contact": Subject("contact", ParamType.EMAIL),
}


def check(raw: dict[str, Any], actual: object) -> bool:
    condition = parse_condition(raw, KNOWN, "conditions.0")
    subject = KNOWN[condition.key]
    return holds(subject, condition, typed(subject, condition), actual)


CASES = [
    ({"key": "segment", "op": "equals", "value": "enterprise"}, "enterprise", True),
    ({"key": "segment", "op": "equals", "value": "enterprise"}, "smb", False),
    ({"key": "segment", "op": "one_of", "value": ["smb", "enterprise"]}, "smb", True),
    ({"key": "segment", "op": "empty"}, None, True),
    ({"key": "segment", "op": "not_empty"}, None, False),
    ({"key": "tags", "op": "contains", "value": "vip"}, ["bug", "vip"], True),
    ({"key": "tags", "op": "contains", "value": "vip"}, ["bug"], False),
    ({"key": "tags", "op": "one_of", "value": ["vip", "billing"]}, ["billing"], True),
    ({"key": "tags", "op": "equals", "value": ["vip", "bug"]}, ["bug", "vip"], True),
    ({"key": "seats", "op": "range", "value": "100..500"}, 500, True),
    ({"key": "seats", "op": "range", "value": "100..500"}, 501, False),
    ({"key": "seats", "op": "range", "value": "100.."}, 10_000, True),
    ({"key": "seats", "op": "equals", "value": "7"}, 7, True),
    (
        {"key": "budget", "op": "range", "value": ["1000 EUR", ""]},
        Money(Decimal("1500"), "EUR"),
        True,
    ),
    ({"key": "ratio", "op": "range", "value": "..0.5"}, Decimal("0.75"), False),
    ({"key": "vip", "op": "equals", "value": "yes"}, True, True),
    ({"key": "vip", "op": "equals", "value": "yes"}, False, False),
    ({"key": "renewal", "op": "range", "value": "2026-01-01..2026-12-31"}, date(2026, 6, 1), True),
    (
        {"key": "seen", "op": "range", "value": "2026-01-01T00:00:00Z.."},
        datetime(2025, 1, 1, tzinfo=UTC),
        False,
    ),
    ({"key": "order", "op": "contains", "value": "ACME"}, "order acme-42", True),
    ({"key": "notes", "op": "contains", "value": "refund"}, "no money back", False),
    ({"key": "contact", "op": "equals", "value": "Ann@Example.com"}, "ann@example.com", True),
    ({"key": "priority", "op": "one_of", "value": "high|urgent"}, "urgent", True),
    ({"key": "channel", "op": "equals", "value": "telegram"}, "Telegram", True),
    ({"key": "client_email_domain", "op": "equals", "value": "acme.com"}, "acme.com", True),
    ({"key": "created_time", "op": "range", "value": "09:00..17:30"}, "17:31", False),
    ({"key": "created_time", "op": "range", "value": "09:00..17:30"}, "09:00", True),
    ({"key": "created_weekday", "op": "one_of", "value": ["sat", "sun"]}, "sun", True),
]


@pytest.mark.parametrize(("raw", "actual", "expected"), CASES)
def test_condition_holds(raw: dict[str, Any], actual: object, expected: bool) -> None:
    assert check(raw, actual) is expected


REJECTED = [
    (
        {"key": "segmnt", "op": "equals", "value": "x"},
        "conditions.0.key",
        "unknown parameter 'segmnt'",
    ),
    (
        {"key": "segment", "op": "equals", "value": "startup"},
        "conditions.0.value",
        "'segment' (choice)",
    ),
    ({"key": "seats", "op": "equals", "value": "many"}, "conditions.0.value", "'seats' (integer)"),
    (
        {"key": "seats", "op": "range", "value": "500..100"},
        "conditions.0.value",
        "low bound is above",
    ),
    (
        {"key": "seats", "op": "contains", "value": "1"},
        "conditions.0.op",
        "cannot be tested with contains",
    ),
    ({"key": "vip", "op": "bigger", "value": "1"}, "conditions.0.op", "unknown operator 'bigger'"),
    (
        {"key": "tags", "op": "contains", "value": "refund"},
        "conditions.0.value",
        "'tags' (multichoice)",
    ),
    (
        {"key": "priority", "op": "equals", "value": "asap"},
        "conditions.0.value",
        "'priority' (choice)",
    ),
    ({"key": "created_time", "op": "equals", "value": "25:00"}, "conditions.0.value", "HH:MM"),
    (
        {"key": "created_weekday", "op": "equals", "value": "funday"},
        "conditions.0.value",
        "created_weekday",
    ),
]


@pytest.mark.parametrize(("raw", "field", "message"), REJECTED)
def test_bad_condition_is_refused_naming_the_field(
    raw: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_condition(raw, KNOWN, "conditions.0")
    assert field in caught.value.fields
    assert message in caught.value.message


def test_cli_forms() -> None:
    assert parse_cli_condition("segment=enterprise") == {
        "key": "segment",
        "op": "equals",
        "value": "enterprise",
    }
    assert parse_cli_condition("seats=10..20")["op"] == "range"
    assert parse_cli_condition("priority=high|urgent") == {
        "key": "priority",
        "op": "one_of",
        "value": ["high", "urgent"],
    }
    assert parse_cli_condition("subject~refund") == {
        "key": "subject",
        "op": "contains",
        "value": "refund",
    }
    assert parse_cli_condition("segment=") == {"key": "segment", "op": "empty"}
    assert parse_cli_condition("segment!=") == {"key": "segment", "op": "not_empty"}
    with pytest.raises(ValidationError, match="expected KEY=VALUE"):
        parse_cli_condition("segment")
