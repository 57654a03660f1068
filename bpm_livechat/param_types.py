"""Custom parameter types: the one validation and normalisation path for every writer."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TypeAlias
from urllib.parse import urlsplit

from .errors import ParameterValueError, ValidationError


class ParamType(StrEnum):
    """The type of a custom parameter; the value is the name stored and shown."""

    STRING = "string"
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    MONEY = "money"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"
    CHOICE = "choice"
    MULTICHOICE = "multichoice"


CHOICE_TYPES = frozenset({ParamType.CHOICE, ParamType.MULTICHOICE})
JSONValue: TypeAlias = str | int | bool | list[str] | dict[str, str] | None

MAX_STRING_LENGTH = 255
MAX_TEXT_LENGTH = 10_000
MAX_EMAIL_LENGTH = 254
MAX_URL_LENGTH = 2048
MAX_DECIMAL_DIGITS = 28
MAX_MONEY_PLACES = 4
MONEY_LIMIT = Decimal(10) ** 15
INDEX_TEXT_LENGTH = 255
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class Money:
    """An amount in a currency (a three-letter code in upper case)."""

    amount: Decimal
    currency: str


class _Reject(Exception):
    """Internal: the value does not fit its type; `reason` is the short human explanation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_INT_RE = re.compile(r"[+-]?[0-9]+")
_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")
_MONEY_RE = re.compile(r"([A-Za-z]{3})\s*([+-]?[0-9.]+)|([+-]?[0-9.]+)\s*([A-Za-z]{3})")
_CURRENCY_RE = re.compile(r"[A-Za-z]{3}")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}\S*")
_EMAIL_LOCAL_RE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
)
_DOMAIN_LABEL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_PHONE_RE = re.compile(r"\+?[0-9]{7,15}")
_PHONE_NOISE_RE = re.compile(r"[\s().-]")
_TRUE_WORDS = frozenset({"true", "yes", "1", "on"})
_FALSE_WORDS = frozenset({"false", "no", "0", "off"})


def _has_control(text: str, allowed: str = "") -> bool:
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in text)


def _require_str(raw: object, reason: str) -> str:
    if not isinstance(raw, str):
        raise _Reject(reason)
    return raw


def _string(raw: object, options: Sequence[str]) -> str:
    text = _require_str(raw, "not text")
    if len(text) > MAX_STRING_LENGTH:
        raise _Reject(f"longer than {MAX_STRING_LENGTH} characters")
    if _has_control(text):
        raise _Reject("contains control characters or line breaks")
    return text


def _text(raw: object, options: Sequence[str]) -> str:
    text = _require_str(raw, "not text").replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_TEXT_LENGTH:
        raise _Reject(f"longer than {MAX_TEXT_LENGTH:,} characters")
    if _has_control(text, allowed="\n\t"):
        raise _Reject("contains control characters")
    return text


def _integer(raw: object, options: Sequence[str]) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and _INT_RE.fullmatch(raw):
        if len(raw.lstrip("+-").lstrip("0")) > 19:  # also keeps int() away from huge strings
            raise _Reject("outside the 64-bit integer range")
        value = int(raw)
    else:
        raise _Reject("not a whole number")
    if not INT64_MIN <= value <= INT64_MAX:
        raise _Reject("outside the 64-bit integer range")
    return value


def _to_decimal(raw: object) -> Decimal:
    """A finite Decimal from a Decimal, int, float (via its repr) or plain numeric text."""
    if isinstance(raw, float):
        raw = str(raw)
    if isinstance(raw, Decimal):
        value = raw
    elif (isinstance(raw, int) and not isinstance(raw, bool)) or (
        isinstance(raw, str) and _DECIMAL_RE.fullmatch(raw)
    ):
        value = Decimal(raw)
    else:
        raise _Reject("not a number")
    if not value.is_finite():
        raise _Reject("not a finite number")
    if value.adjusted() >= MAX_DECIMAL_DIGITS:
        raise _Reject(f"more than {MAX_DECIMAL_DIGITS} digits before the decimal point")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite, checked above
    if exponent > 0:  # 1E+3 -> 1000, so the stored text is always plain notation
        value = Decimal((sign, digits + (0,) * exponent, 0))
    return abs(value) if value == 0 else value  # no negative zero


def _decimal(raw: object, options: Sequence[str]) -> Decimal:
    value = _to_decimal(raw)
    _sign, digits, exponent = value.as_tuple()
    if len(digits) > MAX_DECIMAL_DIGITS:
        raise _Reject(f"more than {MAX_DECIMAL_DIGITS} significant digits")
    if isinstance(exponent, int) and exponent < -MAX_DECIMAL_DIGITS:
        raise _Reject(f"more than {MAX_DECIMAL_DIGITS} decimal places")
    return value


def _money(raw: object, options: Sequence[str]) -> Money:
    amount: object
    currency: object
    if isinstance(raw, Money):
        amount, currency = raw.amount, raw.currency
    elif isinstance(raw, dict) and set(raw) == {"amount", "currency"}:
        amount, currency = raw["amount"], raw["currency"]
    elif isinstance(raw, str) and (match := _MONEY_RE.fullmatch(raw)):
        currency = match.group(1) or match.group(4)
        amount = match.group(2) or match.group(3)
    else:
        raise _Reject("not an amount with a currency, such as 12.50 EUR")
    if not isinstance(currency, str) or not _CURRENCY_RE.fullmatch(currency):
        raise _Reject("currency is not a three-letter code")
    value = _to_decimal(amount)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_MONEY_PLACES:
        rounded = value.quantize(Decimal(1).scaleb(-MAX_MONEY_PLACES))
        if rounded != value:
            raise _Reject(f"more than {MAX_MONEY_PLACES} decimal places")
        value = rounded
    if abs(value) >= MONEY_LIMIT:
        raise _Reject("amount too large")
    return Money(value, currency.upper())


def _boolean(raw: object, options: Sequence[str]) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    word = raw.lower() if isinstance(raw, str) else None
    if word in _TRUE_WORDS or word in _FALSE_WORDS:
        return word in _TRUE_WORDS
    raise _Reject("not a yes/no value")


def _date(raw: object, options: Sequence[str]) -> date:
    if isinstance(raw, datetime):
        raise _Reject("a date and time, not a date")
    if isinstance(raw, date):
        return raw
    if not isinstance(raw, str) or not _DATE_RE.fullmatch(raw):
        raise _Reject("not a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise _Reject("not a valid calendar date") from None


def _datetime(raw: object, options: Sequence[str]) -> datetime:
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, str) and _DATETIME_RE.fullmatch(raw):
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            raise _Reject("not a valid ISO 8601 date and time") from None
    else:
        raise _Reject("not an ISO 8601 date and time")
    if value.utcoffset() is None:
        raise _Reject("needs a timezone offset")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise _Reject("out of range") from None


def _email(raw: object, options: Sequence[str]) -> str:
    text = _require_str(raw, "not a valid email address")
    if len(text) > MAX_EMAIL_LENGTH:
        raise _Reject(f"longer than {MAX_EMAIL_LENGTH} characters")
    local, _at, domain = text.partition("@")
    labels = domain.split(".")
    if (
        text.count("@") != 1
        or len(local) > 64
        or not _EMAIL_LOCAL_RE.fullmatch(local)
        or len(labels) < 2
        or not all(_DOMAIN_LABEL_RE.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise _Reject("not a valid email address")
    return f"{local}@{domain.lower()}"


def _phone(raw: object, options: Sequence[str]) -> str:
    text = _PHONE_NOISE_RE.sub("", _require_str(raw, "not a valid phone number"))
    if text.startswith("00"):
        text = "+" + text[2:]
    if not _PHONE_RE.fullmatch(text):
        raise _Reject("not a valid phone number (7 to 15 digits, optionally after +)")
    return text


def _url(raw: object, options: Sequence[str]) -> str:
    text = _require_str(raw, "not a valid URL")
    if len(text) > MAX_URL_LENGTH:
        raise _Reject(f"longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or unicodedata.category(c) == "Cc" for c in text):
        raise _Reject("contains whitespace or control characters")
    try:
        parts = urlsplit(text)
        host, _port = parts.hostname, parts.port
    except ValueError:
        raise _Reject("not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise _Reject("not an http or https URL")
    if not host:
        raise _Reject("has no host")
    return parts.scheme.lower() + text[len(parts.scheme) :]


def _not_one_of(options: Sequence[str]) -> _Reject:
    return _Reject("not one of: " + ", ".join(options) if options else "no options are defined")


def _choice(raw: object, options: Sequence[str]) -> str:
    if not isinstance(raw, str) or raw not in options:
        raise _not_one_of(options)
    return raw


def _multichoice(raw: object, options: Sequence[str]) -> list[str]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise _Reject("not a list of options")
    chosen = {item.strip() for item in items}
    if not chosen <= set(options):
        raise _not_one_of(options)
    return [option for option in options if option in chosen]


_NORMALIZERS: dict[ParamType, Callable[[object, Sequence[str]], object]] = {
    ParamType.STRING: _string,
    ParamType.TEXT: _text,
    ParamType.INTEGER: _integer,
    ParamType.DECIMAL: _decimal,
    ParamType.MONEY: _money,
    ParamType.BOOLEAN: _boolean,
    ParamType.DATE: _date,
    ParamType.DATETIME: _datetime,
    ParamType.EMAIL: _email,
    ParamType.PHONE: _phone,
    ParamType.URL: _url,
    ParamType.CHOICE: _choice,
    ParamType.MULTICHOICE: _multichoice,
}


def normalize(
    key: str, type_: ParamType, raw: object, options: Sequence[str] = ()
) -> object | None:
    """The canonical value of `raw` for parameter `key`, None when empty; else ParameterValueError."""
    type_ = ParamType(type_)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if type_ is ParamType.MULTICHOICE and isinstance(raw, list | tuple) and not raw:
        return None
    try:
        return _NORMALIZERS[type_](raw.strip() if isinstance(raw, str) else raw, options)
    except _Reject as rejected:
        raise ParameterValueError(key, type_.value, raw, rejected.reason) from None


def _plain(value: Decimal) -> str:
    return format(value, "f")


def to_json(type_: ParamType, value: object | None) -> JSONValue:
    """The JSON form of a normalised value: Decimal as text, Money as a dict, dates as ISO text."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, Money):
        return {"amount": _plain(value.amount), "currency": value.currency}
    if isinstance(value, Decimal):
        return _plain(value)
    if isinstance(value, date):  # datetime included
        return value.isoformat()
    if isinstance(value, list):
        return [str(item) for item in value]
    raise TypeError(f"not a normalised {type_.value} value: {value!r}")


def from_json(type_: ParamType, data: object) -> object | None:
    """The Python value of stored JSON `data`: the exact inverse of to_json."""
    match type_, data:
        case _, None:
            return None
        case ParamType.MONEY, {"amount": str(amount), "currency": str(currency)}:
            return Money(Decimal(amount), currency)
        case ParamType.MULTICHOICE, list(items) if all(isinstance(i, str) for i in items):
            return list(items)
        case ParamType.BOOLEAN, bool():
            return data
        case ParamType.INTEGER, int() if not isinstance(data, bool):
            return data
        case ParamType.DECIMAL, str():
            return Decimal(data)
        case ParamType.DATE, str():
            return date.fromisoformat(data)
        case ParamType.DATETIME, str():
            return datetime.fromisoformat(data)
        case ((ParamType.STRING | ParamType.TEXT | ParamType.EMAIL), str()):
            return data
        case ((ParamType.PHONE | ParamType.URL | ParamType.CHOICE), str()):
            return data
    raise ValueError(f"stored data does not fit type {type_.value}: {data!r}")


def index_text(text: str) -> str:
    """How text is indexed: lower-cased, first 255 characters; apply it to filter operands too."""
    return text.lower()[:INDEX_TEXT_LENGTH]


def index_values(type_: ParamType, value: object | None) -> tuple[str | None, Decimal | None]:
    """The (text, number) index columns for a normalised value, used to filter and sort sessions.

    Numbers sort by the number column: integer, decimal, boolean (0/1) and money (its amount; the
    currency code goes in the text column, so money can be filtered by currency). Dates and
    datetimes index as fixed-width ISO text in UTC, so text order is chronological. Everything
    else indexes as `index_text` (lower-cased, first 255 characters) for case-insensitive equals,
    contains and sorting; multichoice joins its options with "\\n", so "has option X" is a match of
    "\\nX\\n" against "\\n" + text + "\\n". Long text is searchable only in its first 255 characters.
    """
    if value is None:
        return None, None
    if isinstance(value, Money):
        return value.currency.lower(), value.amount
    if isinstance(value, bool):
        return None, Decimal(int(value))
    if isinstance(value, int | Decimal):
        return None, Decimal(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds"), None
    if isinstance(value, date):
        return value.isoformat(), None
    if isinstance(value, list):
        return index_text("\n".join(value)), None
    if isinstance(value, str):
        return index_text(value), None
    raise TypeError(f"not a normalised {type_.value} value: {value!r}")


def format_value(type_: ParamType, value: object | None) -> str:
    """Human display text: "1,234.50 EUR", "2026-11-24 10:30 UTC", "Yes", "a, b"; "" when empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Money):
        places = max(2, -int(value.amount.as_tuple().exponent))
        return f"{value.amount:,.{places}f} {value.currency}"
    if isinstance(value, int | Decimal):
        return f"{value:,}" if isinstance(value, int) else f"{value:,f}"
    if isinstance(value, datetime):
        v = value.astimezone(UTC)
        return f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d} UTC"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(value)
    return str(value)


def _text_form(value: object) -> object:
    """The value as text another type can parse: "true", "12.50", "12.50 EUR", ISO dates, "a, b"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Money):
        return f"{_plain(value.amount)} {value.currency}"
    if isinstance(value, list):
        return ", ".join(value)
    json_form = to_json(ParamType.STRING, value)
    return json_form if isinstance(json_form, str) else str(json_form)


def convert(
    key: str,
    from_type: ParamType,
    to_type: ParamType,
    value: object,
    options: Sequence[str] = (),
) -> object | None:
    """`value` (normalised as `from_type`) as a `to_type` value, or ParameterValueError."""
    if value is None or from_type == to_type:
        return normalize(key, to_type, value, options)
    if to_type == ParamType.INTEGER and isinstance(value, Decimal) and value % 1 == 0:
        return normalize(key, to_type, int(value), options)  # 12.00 -> 12
    if to_type == ParamType.CHOICE and isinstance(value, list):
        if len(value) > 1:
            raise ParameterValueError(key, to_type.value, value, "more than one option chosen")
        value = value[0]
    return normalize(key, to_type, _text_form(value), options)


def validate_options(type_: ParamType, options: Sequence[str]) -> list[str]:
    """The cleaned option list of a definition, or ValidationError with an "options" field."""
    cleaned = [o.strip() if isinstance(o, str) else o for o in options]
    reason = _options_problem(type_, cleaned)
    if reason:
        raise ValidationError(
            f"invalid options for a {type_.value} parameter: {reason}", {"options": reason}
        )
    return [str(o) for o in cleaned]


def _options_problem(type_: ParamType, options: Sequence[object]) -> str | None:
    if type_ not in CHOICE_TYPES:
        return "only choice and multichoice parameters have options" if options else None
    if not options:
        return "at least one option is needed"
    seen: set[str] = set()
    for option in options:
        if not isinstance(option, str) or not option:
            return "options must be non-empty text"
        if len(option) > MAX_STRING_LENGTH:
            return f"option longer than {MAX_STRING_LENGTH} characters: {option[:20]!r}..."
        if _has_control(option):
            return f"option contains control characters: {option!r}"
        if option.lower() in seen:
            return f"duplicate option: {option!r}"
        seen.add(option.lower())
    return None
