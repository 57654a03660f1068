"""Session name templates: every placeholder rendered, and hostile templates rejected where they fail."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bpm_livechat.desk.naming import (
    DEFAULT_TEMPLATE,
    FALLBACK_NAME,
    MAX_NAME_LENGTH,
    NameContext,
    NameTemplate,
    Placeholder,
    parse_template,
    render_name,
)
from bpm_livechat.errors import TemplateError

CONTEXT = NameContext(
    client_name="Jane Doe",
    client_email="jane@example.com",
    client_phone="+4930123456",
    created_at=datetime(2026, 11, 24, 9, 5, 7, tzinfo=UTC),
    live_chat_name="Support",
    channel_name="Telegram",
    subject="Refund",
    operator_name="Olga",
    params={"order_no": "A-17", "tier": "gold"},
)


def render(template: str, context: NameContext = CONTEXT) -> str:
    return render_name(parse_template(template), context)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{client.name}", "Jane Doe"),
        ("{client.email}", "jane@example.com"),
        ("{client.phone}", "+4930123456"),
        ("{created_at}", "2026-11-24 09:05"),
        ("{live_chat.name}", "Support"),
        ("{channel.name}", "Telegram"),
        ("{subject}", "Refund"),
        ("{operator.name}", "Olga"),
        ("{param.order_no}", "A-17"),
        ("Order #{param.order_no} ({param.tier})", "Order #A-17 (gold)"),
        (DEFAULT_TEMPLATE, "Jane Doe — Refund"),
        ("{{literal}} {subject} }}{{", "{literal} Refund }{"),
        ("{{{subject}}}", "{Refund}"),
        ("plain text", "plain text"),
    ],
)
def test_render_each_placeholder(template: str, expected: str) -> None:
    assert render(template) == expected


@pytest.mark.parametrize(
    ("date_format", "expected"),
    [
        ("%d.%m.%Y", "24.11.2026"),
        ("%y%m%d-%H%M%S", "261124-090507"),
        ("%a %d %b %Y", "Tue 24 Nov 2026"),
        ("%A, %B %d", "Tuesday, November 24"),
        ("day %j, %H:%M %p", "day 328, 09:05 AM"),
        ("100%% on %Y", "100% on 2026"),
    ],
)
def test_render_created_at_formats(date_format: str, expected: str) -> None:
    assert render(f"{{created_at:{date_format}}}") == expected


def test_created_at_renders_in_its_own_timezone_and_pm() -> None:
    context = NameContext(created_at=datetime(2026, 1, 2, 23, 0, tzinfo=UTC))
    assert render("{created_at:%d.%m. %H %p}", context) == "02.01. 23 PM"


def test_missing_values_render_empty_and_dangling_separators_go() -> None:
    context = NameContext(subject="Refund")
    assert render("{client.name} — {subject}", context) == "Refund"
    assert render("{subject}: {param.order_no} / {created_at}", context) == "Refund"
    assert render("Chat {param.order_no} with {client.name} now", context) == "Chat with now"


@pytest.mark.parametrize(
    "template", [DEFAULT_TEMPLATE, "", "   ", "{param.order_no} - {operator.name}"]
)
def test_name_is_never_empty(template: str) -> None:
    assert render(template, NameContext()) == FALLBACK_NAME == "Session"


def test_whitespace_and_control_characters_collapse() -> None:
    context = NameContext(client_name="  Jane \n\t Doe ", subject="Re\x00fund\x1b")
    assert render("  {client.name}   —\n{subject}  ", context) == "Jane Doe — Re fund"


def test_name_is_capped_at_255_characters() -> None:
    context = NameContext(subject="x" * 300)
    name = render("Ticket {subject}", context)
    assert MAX_NAME_LENGTH == 255
    assert name == "Ticket " + "x" * 248
    assert len(name) == 255


def test_cap_does_not_leave_a_trailing_separator() -> None:
    context = NameContext(client_name="a" * 253, subject="Refund")
    assert render("{client.name} — {subject}", context) == "a" * 253


def test_values_are_never_parsed_as_templates() -> None:
    context = NameContext(client_name="{subject.__class__}", subject="{0}")
    assert render("{client.name} {subject}", context) == "{subject.__class__} {0}"


def test_parsed_template_parts_and_param_keys() -> None:
    template = parse_template("#{param.order_no} {created_at:%Y} {{x}}", {"order_no"})
    assert template == NameTemplate(
        "#{param.order_no} {created_at:%Y} {{x}}",
        (
            "#",
            Placeholder("param", key="order_no"),
            " ",
            Placeholder("created_at", date_format="%Y"),
            " {x}",
        ),
    )
    assert template.param_keys == frozenset({"order_no"})


def test_template_of_exactly_1000_characters_is_accepted() -> None:
    assert len(parse_template("x" * 1000).source) == 1000


HOSTILE = [
    # unknown placeholders and attribute walks
    ("{client}", "unknown placeholder {client}", 1),
    ("Hi {client.address}", "unknown placeholder {client.address}", 4),
    ("{client.__class__}", "unknown placeholder {client.__class__}", 1),
    ("{client.name.upper}", "attribute access is not allowed", 12),
    ("ab{subject.__class__.__mro__}", "attribute access is not allowed", 10),
    ("{param.tier.__dict__}", "attribute access is not allowed", 11),
    ("{param.__class__}", "invalid parameter key '__class__'", 7),
    ("{param.}", "invalid parameter key ''", 7),
    ("{param.missing}", "unknown parameter 'missing'", 7),
    ("{ subject }", "unknown placeholder { subject }", 1),
    # indexing, conversions, positional and empty fields
    ("{subject[0]}", "indexing is not allowed", 8),
    ("{params[tier]}", "indexing is not allowed", 7),
    ("x{subject!r}", "conversions such as !r are not allowed", 9),
    ("{created_at!s:%Y}", "conversions such as !r are not allowed", 11),
    ("{}", "empty placeholder '{}'", 0),
    ("abc {}", "empty placeholder '{}'", 4),
    ("{0}", "positional placeholders are not allowed", 1),
    ("{12}", "positional placeholders are not allowed", 1),
    # format specs: only created_at, only allowlisted directives
    ("{subject:>99999999}", "only created_at takes a format", 8),
    ("{client.name:.5}", "only created_at takes a format", 12),
    ("{param.tier:>99999999}", "only created_at takes a format", 11),
    ("{created_at:%Y%n}", "date directive %n is not allowed", 14),
    ("{created_at:>99999999}", "a date format needs a directive such as %d, %m or %Y", 12),
    ("{created_at:}", "a date format needs a directive such as %d, %m or %Y", 12),
    ("{created_at:%%}", "a date format needs a directive such as %d, %m or %Y", 12),
    ("{created_at:%s%Y}", "date directive %s is not allowed", 12),
    ("{created_at:%Y-%m-%d %Z}", "date directive %Z is not allowed", 21),
    ("{created_at:%Y%}", "date directive a lone % is not allowed", 14),
    ("{created_at:%Y" + "x" * 63 + "}", "date format longer than 64 characters", 12),
    # braces
    ("{subject", "'{' is never closed (write '{{' for a brace)", 0),
    ("ok {", "'{' is never closed (write '{{' for a brace)", 3),
    ("a } b", "single '}' without an opening '{' (write '}}' for a brace)", 2),
    ("{subject}}", "single '}' without an opening '{' (write '}}' for a brace)", 9),
    ("{created_at:{fmt}}", "nested braces are not allowed", 12),
    ("{sub{ject}}", "nested braces are not allowed", 4),
    ("{{{subject", "'{' is never closed (write '{{' for a brace)", 2),
    # size
    ("x" * 1001, "template longer than 1000 characters", 1000),
]


@pytest.mark.parametrize(("template", "message", "position"), HOSTILE)
def test_hostile_templates_are_rejected_with_position(
    template: str, message: str, position: int
) -> None:
    with pytest.raises(TemplateError) as caught:
        parse_template(template, param_keys={"order_no", "tier"})
    assert (caught.value.fields["name_template"], caught.value.position) == (message, position)
    assert str(caught.value) == f"{message} at position {position}"


def test_param_keys_are_only_checked_when_given() -> None:
    template = parse_template("{param.anything}")
    assert render_name(template, NameContext(params={"anything": "ok"})) == "ok"
    assert render_name(template, NameContext()) == FALLBACK_NAME
