"""Parsing raw input (text from forms and the CLI, JSON from the API, typed values from scripts) per type.

Each parser returns the canonical value of its type or raises ValueRejected with a short reason;
`param_types.normalize` turns that into a ParameterValueError naming the parameter.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import urlsplit

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


class ValueRejected(Exception):
    """The value does not fit its type; `reason` is the short human explanation."""

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
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_PHONE_RE = re.compile(r"\+?[0-9]{7,15}")
_PHONE_NOISE_RE = re.compile(r"[\s().-]")
_TRUE_WORDS = frozenset({"true", "yes", "1", "on"})
_FALSE_WORDS = frozenset({"false", "no", "0", "off"})


def has_control(text: str, allowed: str = "") -> bool:
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in text)


def _require_str(raw: object, reason: str) -> str:
    if not isinstance(raw, str):
        raise ValueRejected(reason)
    return raw


def _string(raw: object, options: Sequence[str]) -> str:
    text = _require_str(raw, "not text")
    if len(text) > MAX_STRING_LENGTH:
        raise ValueRejected(f"longer than {MAX_STRING_LENGTH} characters")
    if has_control(text):
        raise ValueRejected("contains control characters or line breaks")
    return text


def _text(raw: object, options: Sequence[str]) -> str:
    text = _require_str(raw, "not text").replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_TEXT_LENGTH:
        raise ValueRejected(f"longer than {MAX_TEXT_LENGTH:,} characters")
    if has_control(text, allowed="\n\t"):
        raise ValueRejected("contains control characters")
    return text


def _integer(raw: object, options: Sequence[str]) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and _INT_RE.fullmatch(raw):
        if len(raw.lstrip("+-").lstrip("0")) > 19:  # also keeps int() away from huge strings
            raise ValueRejected("outside the 64-bit integer range")
        value = int(raw)
    else:
        raise ValueRejected("not a whole number")
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueRejected("outside the 64-bit integer range")
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
        raise ValueRejected("not a number")
    if not value.is_finite():
        raise ValueRejected("not a finite number")
    if value.adjusted() >= MAX_DECIMAL_DIGITS:
        raise ValueRejected(f"more than {MAX_DECIMAL_DIGITS} digits before the decimal point")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite, checked above
    if exponent > 0:  # 1E+3 -> 1000, so the stored text is always plain notation
        value = Decimal((sign, digits + (0,) * exponent, 0))
    return abs(value) if value == 0 else value  # no negative zero


def _decimal(raw: object, options: Sequence[str]) -> Decimal:
    value = _to_decimal(raw)
    _sign, digits, exponent = value.as_tuple()
    if len(digits) > MAX_DECIMAL_DIGITS:
        raise ValueRejected(f"more than {MAX_DECIMAL_DIGITS} significant digits")
    if isinstance(exponent, int) and exponent < -MAX_DECIMAL_DIGITS:
        raise ValueRejected(f"more than {MAX_DECIMAL_DIGITS} decimal places")
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
        raise ValueRejected("not an amount with a currency, such as 12.50 EUR")
    if not isinstance(currency, str) or not _CURRENCY_RE.fullmatch(currency):
        raise ValueRejected("currency is not a three-letter code")
    value = _to_decimal(amount)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_MONEY_PLACES:
        rounded = value.quantize(Decimal(1).scaleb(-MAX_MONEY_PLACES))
        if rounded != value:
            raise ValueRejected(f"more than {MAX_MONEY_PLACES} decimal places")
        value = rounded
    if abs(value) >= MONEY_LIMIT:
        raise ValueRejected("amount too large")
    return Money(value, currency.upper())


def _boolean(raw: object, options: Sequence[str]) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    word = raw.lower() if isinstance(raw, str) else None
    if word in _TRUE_WORDS or word in _FALSE_WORDS:
        return word in _TRUE_WORDS
    raise ValueRejected("not a yes/no value")


def _date(raw: object, options: Sequence[str]) -> date:
    if isinstance(raw, datetime):
        raise ValueRejected("a date and time, not a date")
    if isinstance(raw, date):
        return raw
    if not isinstance(raw, str) or not _DATE_RE.fullmatch(raw):
        raise ValueRejected("not a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueRejected("not a valid calendar date") from None


def _datetime(raw: object, options: Sequence[str]) -> datetime:
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, str) and _DATETIME_RE.fullmatch(raw):
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            raise ValueRejected("not a valid ISO 8601 date and time") from None
    else:
        raise ValueRejected("not an ISO 8601 date and time")
    if value.utcoffset() is None:
        raise ValueRejected("needs a timezone offset")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueRejected("out of range") from None


def _email(raw: object, options: Sequence[str]) -> str:
    text = _require_str(raw, "not a valid email address")
    if len(text) > MAX_EMAIL_LENGTH:
        raise ValueRejected(f"longer than {MAX_EMAIL_LENGTH} characters")
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
        raise ValueRejected("not a valid email address")
    return f"{local}@{domain.lower()}"


def _phone(raw: object, options: Sequence[str]) -> str:
    text = _PHONE_NOISE_RE.sub("", _require_str(raw, "not a valid phone number"))
    if text.startswith("00"):
        text = "+" + text[2:]
    if not _PHONE_RE.fullmatch(text):
        raise ValueRejected("not a valid phone number (7 to 15 digits, optionally after +)")
    return text


def _url(raw: object, options: Sequence[str]) -> str:
    text = _require_str(raw, "not a valid URL")
    if len(text) > MAX_URL_LENGTH:
        raise ValueRejected(f"longer than {MAX_URL_LENGTH} characters")
    scheme = _SCHEME_RE.match(text)
    if scheme is None:
        raise ValueRejected("not a URL: missing scheme (start with https://)")
    if scheme.group(1).lower() not in ("http", "https"):
        raise ValueRejected(f"not a URL this product opens: {scheme.group(1)}: (use http or https)")
    if any(c.isspace() or unicodedata.category(c) == "Cc" for c in text):
        raise ValueRejected("not a URL: contains spaces or control characters")
    try:
        parts = urlsplit(text)
        host, _port = parts.hostname, parts.port
    except ValueError as exc:
        raise ValueRejected(f"not a URL: {exc}") from None
    if not host or not text[scheme.end() :].startswith("//"):
        raise ValueRejected("not a URL: missing host (https://example.com/...)")
    return parts.scheme.lower() + text[len(parts.scheme) :]


def _not_one_of(options: Sequence[str]) -> ValueRejected:
    return ValueRejected(
        "not one of: " + ", ".join(options) if options else "no options are defined"
    )


def _choice(raw: object, options: Sequence[str]) -> str:
    if not isinstance(raw, str) or raw not in options:
        raise _not_one_of(options)
    return raw


def _multichoice(raw: object, options: Sequence[str]) -> list[str]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise ValueRejected("not a list of options")
    chosen = {item.strip() for item in items}
    if not chosen <= set(options):
        raise _not_one_of(options)
    return [option for option in options if option in chosen]


PARSERS: dict[str, Callable[[object, Sequence[str]], object]] = {
    "string": _string,
    "text": _text,
    "integer": _integer,
    "decimal": _decimal,
    "money": _money,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
    "email": _email,
    "phone": _phone,
    "url": _url,
    "choice": _choice,
    "multichoice": _multichoice,
}
