"""Custom parameter types: every type valid, invalid and normalised; JSON, index, display, conversion."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bpm_livechat.errors import ParameterValueError, ValidationError
from bpm_livechat.params.types import (
    CHOICE_TYPES,
    Money,
    ParamType,
    convert,
    format_value,
    from_json,
    index_text,
    index_values,
    normalize,
    to_json,
    validate_options,
)

T = ParamType
OPTIONS = ("gold", "silver", "bronze")
CET = timezone(timedelta(hours=1))


def test_param_type_names_and_choice_types() -> None:
    assert [t.value for t in ParamType] == [
        "string", "text", "integer", "decimal", "money", "boolean", "date", "datetime",
        "email", "phone", "url", "choice", "multichoice",
    ]  # fmt: skip
    assert frozenset({T.CHOICE, T.MULTICHOICE}) == CHOICE_TYPES


VALID = [
    # string and text
    (T.STRING, "  Acme Ltd  ", "Acme Ltd"),
    (T.STRING, "x" * 255, "x" * 255),
    (T.STRING, "Zoë — ünïcode", "Zoë — ünïcode"),
    (T.TEXT, "line one\r\nline two\n\tindented\n", "line one\nline two\n\tindented"),
    (T.TEXT, "y" * 10_000, "y" * 10_000),
    # integer
    (T.INTEGER, 42, 42),
    (T.INTEGER, " -17 ", -17),
    (T.INTEGER, "+8", 8),
    (T.INTEGER, "007", 7),
    (T.INTEGER, str(2**63 - 1), 2**63 - 1),
    (T.INTEGER, -(2**63), -(2**63)),
    (T.INTEGER, "0" * 30 + "5", 5),
    # decimal
    (T.DECIMAL, Decimal("12.50"), Decimal("12.50")),
    (T.DECIMAL, "12.50", Decimal("12.50")),
    (T.DECIMAL, 3, Decimal(3)),
    (T.DECIMAL, 0.1, Decimal("0.1")),
    (T.DECIMAL, "-.5", Decimal("-0.5")),
    (T.DECIMAL, "1e3", Decimal("1000")),
    (T.DECIMAL, "-0.00", Decimal("0.00")),
    (T.DECIMAL, "9" * 28, Decimal("9" * 28)),
    # money
    (T.MONEY, "12.50 EUR", Money(Decimal("12.50"), "EUR")),
    (T.MONEY, "usd 3", Money(Decimal(3), "USD")),
    (T.MONEY, "EUR12.5", Money(Decimal("12.5"), "EUR")),
    (T.MONEY, "-0.0001 CHF", Money(Decimal("-0.0001"), "CHF")),
    (T.MONEY, {"amount": "99.99", "currency": "gbp"}, Money(Decimal("99.99"), "GBP")),
    (T.MONEY, {"amount": 5, "currency": "JPY"}, Money(Decimal(5), "JPY")),
    (T.MONEY, Money(Decimal("1.500000"), "eur"), Money(Decimal("1.5000"), "EUR")),
    (T.MONEY, "999999999999999.9999 EUR", Money(Decimal("999999999999999.9999"), "EUR")),
    # boolean
    (T.BOOLEAN, True, True),
    (T.BOOLEAN, False, False),
    (T.BOOLEAN, "YES", True),
    (T.BOOLEAN, "off", False),
    (T.BOOLEAN, "1", True),
    (T.BOOLEAN, "False", False),
    (T.BOOLEAN, 0, False),
    # date
    (T.DATE, date(2026, 11, 24), date(2026, 11, 24)),
    (T.DATE, "2026-11-24", date(2026, 11, 24)),
    (T.DATE, "2024-02-29", date(2024, 2, 29)),
    # datetime
    (T.DATETIME, "2026-11-24T10:30:00Z", datetime(2026, 11, 24, 10, 30, tzinfo=UTC)),
    (T.DATETIME, "2026-11-24 11:30+01:00", datetime(2026, 11, 24, 10, 30, tzinfo=UTC)),
    (
        T.DATETIME,
        datetime(2026, 1, 1, 0, 15, tzinfo=CET),
        datetime(2025, 12, 31, 23, 15, tzinfo=UTC),
    ),
    (
        T.DATETIME,
        "2026-11-24T10:30:00.250-05:00",
        datetime(2026, 11, 24, 15, 30, 0, 250_000, tzinfo=UTC),
    ),
    # email
    (T.EMAIL, " Jane.Doe+vip@Example.COM ", "Jane.Doe+vip@example.com"),
    (T.EMAIL, "o'brien@mail.example.co.uk", "o'brien@mail.example.co.uk"),
    (T.EMAIL, "a@b.io", "a@b.io"),
    # phone
    (T.PHONE, "+49 (30) 1234-5678", "+493012345678"),
    (T.PHONE, "0049 30 123.456", "+4930123456"),
    (T.PHONE, "030 1234567", "0301234567"),
    (T.PHONE, "1234567", "1234567"),
    (T.PHONE, "+49\u00a030\t1234567", "+49301234567"),
    (T.PHONE, "+123456789012345", "+123456789012345"),
    # url
    (T.URL, "https://example.com", "https://example.com"),
    (T.URL, "HTTP://Example.com:8080/a?b=c#d", "http://Example.com:8080/a?b=c#d"),
    (T.URL, "https://user@[::1]/x", "https://user@[::1]/x"),
    # choice and multichoice
    (T.CHOICE, " silver ", "silver"),
    (T.MULTICHOICE, ["bronze", "gold", "bronze"], ["gold", "bronze"]),
    (T.MULTICHOICE, ("silver",), ["silver"]),
    (T.MULTICHOICE, "gold", ["gold"]),
]


@pytest.mark.parametrize(("type_", "raw", "expected"), VALID)
def test_normalize_valid(type_: ParamType, raw: object, expected: object) -> None:
    value = normalize("k", type_, raw, OPTIONS)
    assert value == expected
    assert type(value) is type(expected)
    if isinstance(expected, Decimal):  # same digits and exponent, not just equal
        assert str(value) == str(expected)
    if isinstance(expected, Money):
        assert isinstance(value, Money)
        assert str(value.amount) == str(expected.amount)


@pytest.mark.parametrize("type_", list(ParamType))
@pytest.mark.parametrize("raw", [None, "", "   \n"])
def test_empty_values_are_none(type_: ParamType, raw: object) -> None:
    assert normalize("k", type_, raw, OPTIONS) is None


@pytest.mark.parametrize("raw", [[], ()])
def test_empty_multichoice_is_none(raw: object) -> None:
    assert normalize("k", T.MULTICHOICE, raw, OPTIONS) is None


INVALID = [
    (T.STRING, "x" * 256, "longer than 255 characters"),
    (T.STRING, "two\nlines", "contains control characters or line breaks"),
    (T.STRING, "bell\x07", "contains control characters or line breaks"),
    (T.STRING, 12, "not text"),
    (T.TEXT, "y" * 10_001, "longer than 10,000 characters"),
    (T.TEXT, "nul\x00", "contains control characters"),
    (T.TEXT, ["a"], "not text"),
    (T.INTEGER, "abc", "not a whole number"),
    (T.INTEGER, "1.0", "not a whole number"),
    (T.INTEGER, "1 000", "not a whole number"),
    (T.INTEGER, "١٢", "not a whole number"),
    (T.INTEGER, True, "not a whole number"),
    (T.INTEGER, 1.0, "not a whole number"),
    (T.INTEGER, 2**63, "outside the 64-bit integer range"),
    (T.INTEGER, str(-(2**63) - 1), "outside the 64-bit integer range"),
    (T.INTEGER, "9" * 5000, "outside the 64-bit integer range"),
    (T.DECIMAL, "abc", "not a number"),
    (T.DECIMAL, "1_000", "not a number"),
    (T.DECIMAL, "NaN", "not a number"),
    (T.DECIMAL, float("inf"), "not a number"),
    (T.DECIMAL, Decimal("Infinity"), "not a finite number"),
    (T.DECIMAL, Decimal("NaN"), "not a finite number"),
    (T.DECIMAL, False, "not a number"),
    (T.DECIMAL, "1" * 29, "more than 28 digits before the decimal point"),
    (T.DECIMAL, "1e9999", "more than 28 digits before the decimal point"),
    (T.DECIMAL, "0." + "1" * 29, "more than 28 significant digits"),
    (T.DECIMAL, "1e-29", "more than 28 decimal places"),
    (T.MONEY, "12.50", "not an amount with a currency, such as 12.50 EUR"),
    (T.MONEY, "12.50 EURO", "not an amount with a currency, such as 12.50 EUR"),
    (T.MONEY, "EUR 1.2.3", "not a number"),
    (T.MONEY, {"amount": "1"}, "not an amount with a currency, such as 12.50 EUR"),
    (T.MONEY, {"amount": "1", "currency": "E1R"}, "currency is not a three-letter code"),
    (T.MONEY, {"amount": "1", "currency": 978}, "currency is not a three-letter code"),
    (T.MONEY, "1.00001 EUR", "more than 4 decimal places"),
    (T.MONEY, "1000000000000000 EUR", "amount too large"),
    (T.MONEY, Money(Decimal("NaN"), "EUR"), "not a finite number"),
    (T.BOOLEAN, "maybe", "not a yes/no value"),
    (T.BOOLEAN, 2, "not a yes/no value"),
    (T.BOOLEAN, "y", "not a yes/no value"),
    (T.DATE, "24.11.2026", "not a date (YYYY-MM-DD)"),
    (T.DATE, "20261124", "not a date (YYYY-MM-DD)"),
    (T.DATE, "2026-02-30", "not a valid calendar date"),
    (T.DATE, datetime(2026, 1, 1, tzinfo=UTC), "a date and time, not a date"),
    (T.DATE, 20261124, "not a date (YYYY-MM-DD)"),
    (T.DATETIME, "2026-11-24T10:30:00", "needs a timezone offset"),
    (T.DATETIME, datetime(2026, 11, 24, 10, 30), "needs a timezone offset"),
    (T.DATETIME, "2026-11-24", "not an ISO 8601 date and time"),
    (T.DATETIME, "yesterday", "not an ISO 8601 date and time"),
    (T.DATETIME, "2026-11-24T25:00:00Z", "not a valid ISO 8601 date and time"),
    (T.DATETIME, date(2026, 11, 24), "not an ISO 8601 date and time"),
    (T.DATETIME, datetime(1, 1, 1, tzinfo=CET), "out of range"),
    (T.EMAIL, "jane.example.com", "not a valid email address"),
    (T.EMAIL, "a@b@example.com", "not a valid email address"),
    (T.EMAIL, "jane@localhost", "not a valid email address"),
    (T.EMAIL, "jane@example..com", "not a valid email address"),
    (T.EMAIL, "jane@-example.com", "not a valid email address"),
    (T.EMAIL, "jane@127.0.0.1", "not a valid email address"),
    (T.EMAIL, ".jane@example.com", "not a valid email address"),
    (T.EMAIL, "ja ne@example.com", "not a valid email address"),
    (T.EMAIL, "x" * 65 + "@example.com", "not a valid email address"),
    (T.EMAIL, "a@" + "b" * 250 + ".com", "longer than 254 characters"),
    (T.PHONE, "123456", "not a valid phone number (7 to 15 digits, optionally after +)"),
    (T.PHONE, "+1234567890123456", "not a valid phone number (7 to 15 digits, optionally after +)"),
    (T.PHONE, "+49 30 CALL-NOW", "not a valid phone number (7 to 15 digits, optionally after +)"),
    (T.PHONE, "49++301234567", "not a valid phone number (7 to 15 digits, optionally after +)"),
    (T.PHONE, 4930123456, "not a valid phone number"),
    (T.URL, "ftp://example.com/file", "not a URL this product opens: ftp: (use http or https)"),
    (T.URL, "javascript:alert(1)", "not a URL this product opens: javascript: (use http or https)"),
    (T.URL, "example.com", "not a URL: missing scheme (start with https://)"),
    (T.URL, "https:///path-only", "not a URL: missing host (https://example.com/...)"),
    (T.URL, "https://exa mple.com", "not a URL: contains spaces or control characters"),
    (T.URL, "https://example.com:99999/", "not a URL: Port out of range 0-65535"),
    (T.URL, "https://[::1/", "not a URL: Invalid IPv6 URL"),
    (T.URL, "https://e.com/" + "a" * 2035, "longer than 2048 characters"),
    (T.CHOICE, "platinum", "not one of: gold, silver, bronze"),
    (T.CHOICE, "Gold", "not one of: gold, silver, bronze"),
    (T.CHOICE, ["gold"], "not one of: gold, silver, bronze"),
    (T.MULTICHOICE, ["gold", "tin"], "not one of: gold, silver, bronze"),
    (T.MULTICHOICE, [1, 2], "not a list of options"),
    (T.MULTICHOICE, {"gold": True}, "not a list of options"),
]


@pytest.mark.parametrize(("type_", "raw", "reason"), INVALID)
def test_normalize_invalid(type_: ParamType, raw: object, reason: str) -> None:
    with pytest.raises(ParameterValueError) as caught:
        normalize("k", type_, raw, OPTIONS)
    error = caught.value
    assert (error.key, error.type_name, error.value, error.reason) == (
        "k",
        type_.value,
        raw,
        reason,
    )
    assert error.fields == {"k": reason}


def test_error_message_names_key_type_value_and_reason() -> None:
    with pytest.raises(ParameterValueError) as caught:
        normalize("order_total", T.MONEY, "twelve euros", OPTIONS)
    assert str(caught.value) == (
        "parameter 'order_total' (money): not an amount with a currency, such as 12.50 EUR: "
        "'twelve euros'"
    )


def test_type_may_be_given_by_name() -> None:
    assert normalize("k", "integer", "12") == 12  # type: ignore[arg-type]


def test_choice_without_options_says_so() -> None:
    with pytest.raises(ParameterValueError, match="no options are defined"):
        normalize("k", T.CHOICE, "gold")


JSON_CASES = [
    (T.STRING, "Acme", "Acme"),
    (T.TEXT, "a\nb", "a\nb"),
    (T.INTEGER, -5, -5),
    (T.DECIMAL, Decimal("12.50"), "12.50"),
    (T.DECIMAL, Decimal("0.0000001"), "0.0000001"),
    (T.DECIMAL, Decimal(0), "0"),
    (T.MONEY, Money(Decimal("12.50"), "EUR"), {"amount": "12.50", "currency": "EUR"}),
    (T.BOOLEAN, False, False),
    (T.DATE, date(2026, 11, 24), "2026-11-24"),
    (T.DATETIME, datetime(2026, 11, 24, 10, 30, tzinfo=UTC), "2026-11-24T10:30:00+00:00"),
    (
        T.DATETIME,
        datetime(2026, 11, 24, 10, 30, 0, 5, tzinfo=UTC),
        "2026-11-24T10:30:00.000005+00:00",
    ),
    (T.EMAIL, "a@b.io", "a@b.io"),
    (T.PHONE, "+4930123456", "+4930123456"),
    (T.URL, "https://e.com", "https://e.com"),
    (T.CHOICE, "gold", "gold"),
    (T.MULTICHOICE, ["gold", "bronze"], ["gold", "bronze"]),
    (T.INTEGER, None, None),
]


@pytest.mark.parametrize(("type_", "value", "data"), JSON_CASES)
def test_json_round_trip(type_: ParamType, value: object, data: object) -> None:
    assert to_json(type_, value) == data
    back = from_json(type_, data)
    assert back == value
    assert type(back) is type(value)
    assert repr(back) == repr(value)  # exact: same Decimal exponent, same tzinfo


@pytest.mark.parametrize(("type_", "raw"), [(t, r) for t, r, _ in VALID])
def test_every_normalised_value_round_trips(type_: ParamType, raw: object) -> None:
    value = normalize("k", type_, raw, OPTIONS)
    assert repr(from_json(type_, to_json(type_, value))) == repr(value)


@pytest.mark.parametrize(
    ("type_", "data"),
    [
        (T.INTEGER, "12"),
        (T.INTEGER, True),
        (T.BOOLEAN, 1),
        (T.MONEY, "12.50 EUR"),
        (T.MULTICHOICE, "gold"),
        (T.STRING, 5),
        (T.DATE, 20261124),
    ],
)
def test_from_json_rejects_data_of_the_wrong_shape(type_: ParamType, data: object) -> None:
    with pytest.raises(ValueError, match=f"stored data does not fit type {type_.value}"):
        from_json(type_, data)


INDEX_CASES = [
    (T.STRING, "Acme LTD", ("acme ltd", None)),
    (T.TEXT, "Hello\nWORLD " + "z" * 300, (("hello\nworld " + "z" * 300)[:255], None)),
    (T.INTEGER, -42, (None, Decimal(-42))),
    (T.DECIMAL, Decimal("12.50"), (None, Decimal("12.50"))),
    (T.MONEY, Money(Decimal("12.50"), "EUR"), ("eur", Decimal("12.50"))),
    (T.BOOLEAN, True, (None, Decimal(1))),
    (T.BOOLEAN, False, (None, Decimal(0))),
    (T.DATE, date(2026, 11, 24), ("2026-11-24", None)),
    (
        T.DATETIME,
        datetime(2026, 11, 24, 10, 30, tzinfo=UTC),
        ("2026-11-24T10:30:00.000000+00:00", None),
    ),
    (T.EMAIL, "Jane@example.com", ("jane@example.com", None)),
    (T.PHONE, "+4930123456", ("+4930123456", None)),
    (T.URL, "https://E.com/Path", ("https://e.com/path", None)),
    (T.CHOICE, "Gold", ("gold", None)),
    (T.MULTICHOICE, ["Gold", "bronze"], ("gold\nbronze", None)),
    (T.STRING, None, (None, None)),
]


@pytest.mark.parametrize(("type_", "value", "expected"), INDEX_CASES)
def test_index_values(type_: ParamType, value: object, expected: object) -> None:
    assert index_values(type_, value) == expected


def test_datetime_index_text_sorts_chronologically() -> None:
    moments = [
        datetime(2026, 11, 24, 10, 30, 0, 1, tzinfo=UTC),
        datetime(999, 1, 1, tzinfo=UTC),
        datetime(2026, 11, 24, 10, 30, tzinfo=UTC),
        datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
    ]
    texts = [index_values(T.DATETIME, m)[0] or "" for m in moments]
    assert sorted(texts) == [index_values(T.DATETIME, m)[0] for m in sorted(moments)]
    assert len(set(map(len, texts))) == 1


def test_index_text_lowers_and_caps() -> None:
    assert index_text("ÄBC" * 100) == ("äbc" * 100)[:255]


FORMAT_CASES = [
    (T.STRING, "Acme", "Acme"),
    (T.INTEGER, 1234567, "1,234,567"),
    (T.DECIMAL, Decimal("1234.50"), "1,234.50"),
    (T.DECIMAL, Decimal("0.0000001"), "0.0000001"),
    (T.MONEY, Money(Decimal("1234.5"), "EUR"), "1,234.50 EUR"),
    (T.MONEY, Money(Decimal("3"), "JPY"), "3.00 JPY"),
    (T.MONEY, Money(Decimal("0.1234"), "USD"), "0.1234 USD"),
    (T.BOOLEAN, True, "Yes"),
    (T.BOOLEAN, False, "No"),
    (T.DATE, date(2026, 11, 24), "2026-11-24"),
    (T.DATETIME, datetime(2026, 11, 24, 10, 30, 59, tzinfo=UTC), "2026-11-24 10:30 UTC"),
    (T.MULTICHOICE, ["gold", "bronze"], "gold, bronze"),
    (T.CHOICE, None, ""),
]


@pytest.mark.parametrize(("type_", "value", "shown"), FORMAT_CASES)
def test_format_value(type_: ParamType, value: object, shown: str) -> None:
    assert format_value(type_, value) == shown


CONVERTIBLE = [
    (T.STRING, T.INTEGER, "12", 12),
    (T.INTEGER, T.DECIMAL, 12, Decimal(12)),
    (T.DECIMAL, T.INTEGER, Decimal("12.00"), 12),
    (T.INTEGER, T.STRING, 12, "12"),
    (T.DECIMAL, T.STRING, Decimal("0.0000001"), "0.0000001"),
    (T.MONEY, T.STRING, Money(Decimal("12.50"), "EUR"), "12.50 EUR"),
    (T.STRING, T.MONEY, "12.50 EUR", Money(Decimal("12.50"), "EUR")),
    (T.BOOLEAN, T.TEXT, True, "true"),
    (T.INTEGER, T.BOOLEAN, 1, True),
    (T.DATE, T.STRING, date(2026, 11, 24), "2026-11-24"),
    (
        T.DATETIME,
        T.TEXT,
        datetime(2026, 11, 24, 10, 30, tzinfo=UTC),
        "2026-11-24T10:30:00+00:00",
    ),
    (T.STRING, T.DATE, "2026-11-24", date(2026, 11, 24)),
    (T.EMAIL, T.STRING, "a@b.io", "a@b.io"),
    (T.STRING, T.EMAIL, "Jane@EXAMPLE.com", "Jane@example.com"),
    (T.TEXT, T.STRING, "one line", "one line"),
    (T.STRING, T.CHOICE, "gold", "gold"),
    (T.CHOICE, T.MULTICHOICE, "silver", ["silver"]),
    (T.MULTICHOICE, T.CHOICE, ["silver"], "silver"),
    (T.MULTICHOICE, T.TEXT, ["gold", "bronze"], "gold, bronze"),
    (T.CHOICE, T.CHOICE, "gold", "gold"),
    (T.INTEGER, T.EMAIL, None, None),
]


@pytest.mark.parametrize(("from_type", "to_type", "value", "expected"), CONVERTIBLE)
def test_convert(from_type: ParamType, to_type: ParamType, value: object, expected: object) -> None:
    converted = convert("k", from_type, to_type, value, OPTIONS)
    assert converted == expected
    assert type(converted) is type(expected)


NOT_CONVERTIBLE = [
    (T.STRING, T.INTEGER, "abc", "not a whole number"),
    (T.DECIMAL, T.INTEGER, Decimal("12.50"), "not a whole number"),
    (T.DECIMAL, T.MONEY, Decimal("12.50"), "not an amount with a currency, such as 12.50 EUR"),
    (T.MONEY, T.DECIMAL, Money(Decimal("1"), "EUR"), "not a number"),
    (T.TEXT, T.STRING, "two\nlines", "contains control characters or line breaks"),
    (T.TEXT, T.STRING, "z" * 256, "longer than 255 characters"),
    (T.INTEGER, T.BOOLEAN, 2, "not a yes/no value"),
    (T.DATE, T.DATETIME, date(2026, 11, 24), "not an ISO 8601 date and time"),
    (T.STRING, T.CHOICE, "tin", "not one of: gold, silver, bronze"),
    (T.MULTICHOICE, T.CHOICE, ["gold", "silver"], "more than one option chosen"),
    (T.CHOICE, T.CHOICE, "gone", "not one of: gold, silver, bronze"),
    (T.STRING, T.URL, "not a url", "not a URL: missing scheme (start with https://)"),
    (T.BOOLEAN, T.INTEGER, True, "not a whole number"),
    (T.DATETIME, T.DATE, datetime(2026, 1, 1, tzinfo=UTC), "not a date (YYYY-MM-DD)"),
]


@pytest.mark.parametrize(("from_type", "to_type", "value", "reason"), NOT_CONVERTIBLE)
def test_convert_failure(
    from_type: ParamType, to_type: ParamType, value: object, reason: str
) -> None:
    with pytest.raises(ParameterValueError) as caught:
        convert("k", from_type, to_type, value, OPTIONS)
    assert (caught.value.type_name, caught.value.reason) == (to_type.value, reason)


@pytest.mark.parametrize(
    ("type_", "options", "expected"),
    [
        (T.CHOICE, [" gold ", "silver"], ["gold", "silver"]),
        (T.MULTICHOICE, ("a",), ["a"]),
        (T.STRING, [], []),
        (T.INTEGER, (), []),
    ],
)
def test_validate_options_valid(type_: ParamType, options: list[str], expected: list[str]) -> None:
    assert validate_options(type_, options) == expected


@pytest.mark.parametrize(
    ("type_", "options", "reason"),
    [
        (T.CHOICE, [], "at least one option is needed"),
        (T.MULTICHOICE, ["a", "  "], "options must be non-empty text"),
        (T.CHOICE, ["a", 3], "options must be non-empty text"),
        (T.CHOICE, ["a", "b", "a "], "duplicate option: 'a'"),
        (T.CHOICE, ["Gold", "gold"], "duplicate option: 'gold'"),
        (T.CHOICE, ["x" * 256], "option longer than 255 characters: 'xxxxxxxxxxxxxxxxxxxx'..."),
        (T.CHOICE, ["a\nb"], "option contains control characters: 'a\\nb'"),
        (T.STRING, ["a"], "only choice and multichoice parameters have options"),
    ],
)
def test_validate_options_invalid(type_: ParamType, options: list[object], reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_options(type_, options)  # type: ignore[arg-type]
    assert caught.value.fields == {"options": reason}
    assert caught.value.message == f"invalid options for a {type_.value} parameter: {reason}"
