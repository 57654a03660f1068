"""Ordinary scripts and expressions that must work, with their exact results."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from script_runtime import ScriptPool

UTC = dt.UTC
SESSION: dict[str, Any] = {
    "id": 7,
    "name": "Order question",
    "subject": "Where is my order?",
    "priority": "high",
    "status": "open",
    "created_at": dt.datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
    "live_chat": {"name": "Support"},
    "channel": {"name": "Telegram"},
    "client": {"name": "Ann Lee", "email": "ann@example.com", "phone": "+100"},
    "operator": {"name": "Bob"},
    "params": {"price": {"amount": Decimal("12.50"), "currency": "EUR"}, "segment": "gold"},
    "messages": [
        {
            "author": "Ann Lee",
            "kind": "client",
            "text": "Order 4711 is late",
            "sent_at": dt.datetime(2026, 11, 24, 9, 31),
        },
        {
            "author": "Bob",
            "kind": "operator",
            "text": "Checking",
            "sent_at": dt.datetime(2026, 11, 24, 9, 32),
        },
    ],
}


@dataclass(frozen=True)
class Ordinary:
    id: str
    source: str
    data: dict[str, Any]
    expect: dict[str, Any]  # variables created or changed (exact values)
    changes: dict[str, Any] = field(default_factory=dict)
    log: str = ""


ORDINARY = [
    Ordinary(
        "f-string",
        "msg = f'Hello {name.upper()}! {n:>4}|{x:.2f}'",
        {"name": "ann", "n": 7, "x": 1.5},
        {"msg": "Hello ANN!    7|1.50"},
    ),
    Ordinary(
        "str-format",
        "a = '{} {name}'.format(1, name='x')\nb = '{0[k]}'.format({'k': 'v'})\nc = '{p[a]}'.format_map({'p': {'a': 2}})",
        {},
        {"a": "1 x", "b": "v", "c": "2"},
    ),
    Ordinary(
        "comprehensions",
        "sq = [n * n for n in nums if n % 2]\nby = {str(n): n for n in nums}\nuniq = sorted({n % 3 for n in nums})",
        {"nums": [1, 2, 3, 4, 5]},
        {
            "sq": [1, 9, 25],
            "by": {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5},
            "uniq": [0, 1, 2],
        },
    ),
    Ordinary(
        "dict-list-updates",
        "d['b'] = 2\nitems.append(3)\nitems[0] = 9\ndel d['a']\nd.update({'c': 3})",
        {"d": {"a": 1}, "items": [1, 2]},
        {"d": {"b": 2, "c": 3}, "items": [9, 2, 3]},
    ),
    Ordinary(
        "augmented-items",
        "counts = {}\nfor w in words:\n    counts[w] = counts.get(w, 0)\n    counts[w] += 1\nm = {'a': {'b': 1}}\nm['a']['b'] += 10\nl = [5, 5]\nl[1] -= 2\nl[0] *= 3\nn = 1\nn += 1",
        {"words": ["a", "b", "a"]},
        {"counts": {"a": 2, "b": 1}, "m": {"a": {"b": 11}}, "l": [15, 3], "n": 2, "w": "a"},
    ),
    Ordinary(
        "datetime-arithmetic",
        "due = start + datetime.timedelta(days=3)\nparsed = datetime.datetime.strptime('2026-11-24 10:00', '%Y-%m-%d %H:%M')\nutc = parsed.replace(tzinfo=datetime.timezone.utc)\ndays = (end - start).days\nwd = start.weekday()",
        {"start": dt.date(2026, 11, 24), "end": dt.date(2026, 12, 1)},
        {
            "due": dt.date(2026, 11, 27),
            "parsed": dt.datetime(2026, 11, 24, 10, 0),
            "utc": dt.datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
            "days": 7,
            "wd": 1,
        },
    ),
    Ordinary(
        "datetime-formatting",
        "s = d.strftime('%d.%m.%Y %A')\nt = list(d.timetuple())[:3]\niso = datetime.datetime.fromisoformat('2026-11-24T10:00:00+02:00')\nback = iso.isoformat()",
        {"d": dt.date(2026, 11, 24)},
        {
            "s": "24.11.2026 Tuesday",
            "t": [2026, 11, 24],
            "iso": dt.datetime(2026, 11, 24, 10, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "back": "2026-11-24T10:00:00+02:00",
        },
    ),
    Ordinary(
        "from-imports",
        "from datetime import date, timedelta\nimport math as m\nfrom decimal import Decimal as D, ROUND_HALF_UP\nd = date(2026, 1, 1) + timedelta(days=1)\nr = m.floor(2.7)\nq = D('2.675').quantize(D('0.01'), rounding=ROUND_HALF_UP)",
        {},
        {"d": dt.date(2026, 1, 2), "r": 2, "q": Decimal("2.68")},
    ),
    Ordinary(
        "json",
        "s = json.dumps({'b': 1, 'a': [1, 2]}, sort_keys=True)\nback = json.loads(s)\nbad = None\ntry:\n    json.loads('{')\nexcept json.JSONDecodeError:\n    bad = 'invalid'",
        {},
        {"s": '{"a": [1, 2], "b": 1}', "back": {"a": [1, 2], "b": 1}, "bad": "invalid"},
    ),
    Ordinary(
        "math",
        "r = math.sqrt(16) + math.ceil(1.2)\nh = round(math.hypot(3, 4))\np = math.pi > 3",
        {},
        {"r": 6.0, "h": 5, "p": True},
    ),
    Ordinary(
        "re",
        "m = re.search(r'(\\d+)', text)\norder = m.group(1) if m else None\npat = re.compile(r'\\s+')\nwords = pat.split(text.strip())\nclean = re.sub('[^a-z]', '', 'a1b2', flags=re.I)",
        {"text": " Order 4711 late "},
        {"order": "4711", "words": ["Order", "4711", "late"], "clean": "ab"},
    ),
    Ordinary(
        "try-except",
        "try:\n    x = 1 / 0\nexcept ZeroDivisionError as e:\n    x = str(e)\nfinally:\n    done = True\ntry:\n    y = {}['k']\nexcept (KeyError, ValueError):\n    y = -1",
        {},
        {"x": "division by zero", "done": True, "y": -1},
    ),
    Ordinary(
        "functions-lambdas",
        "def add(a, b=2, *rest, **kw):\n    return a + b + sum(rest) + len(kw)\nr1 = add(1)\nr2 = add(1, 2, 3, 4, z=1)\nargs = [1, 1]\nr3 = add(*args, **{'q': 0})\nkey = lambda p: -p\nr4 = sorted([1, 3, 2], key=key)",
        {},
        {"r1": 3, "r2": 11, "r3": 3, "args": [1, 1], "r4": [3, 2, 1]},
    ),
    Ordinary(
        "aggregates",
        "hi = max(scores)\nlo = min(scores, key=abs)\ntot = sum(scores)\nsrt = sorted(scores, reverse=True)\nany_neg = any(s < 0 for s in scores)\npairs = list(zip(['a', 'b'], scores))\nidx = [i for i, s in enumerate(scores) if s > 0]\nrev = list(reversed(scores))",
        {"scores": [3, -1, 2]},
        {
            "hi": 3,
            "lo": -1,
            "tot": 4,
            "srt": [3, 2, -1],
            "any_neg": True,
            "pairs": [["a", 3], ["b", -1]],
            "idx": [0, 2],
            "rev": [2, -1, 3],
        },
    ),
    Ordinary(
        "unpacking",
        "a, (b, c) = 1, (2, 3)\nfirst, *rest = [1, 2, 3]\ntotal = 0\nfor k, v in d.items():\n    total += v",
        {"d": {"x": 1, "y": 2}},
        {"a": 1, "b": 2, "c": 3, "first": 1, "rest": [2, 3], "total": 3, "k": "y", "v": 2},
    ),
    Ordinary(
        "loops",
        "i = 0\nwhile True:\n    i += 1\n    if i >= 5:\n        break\nevens = []\nfor n in range(10):\n    if n % 2:\n        continue\n    evens.append(n)",
        {},
        {"i": 5, "evens": [0, 2, 4, 6, 8], "n": 9},
    ),
    Ordinary(
        "decimal-money",
        "price = session.params['price']\ntotal = price['amount'] * qty\nsession.params['total'] = {'amount': total, 'currency': price['currency']}",
        {"qty": 3},
        {"price": {"amount": Decimal("12.50"), "currency": "EUR"}, "total": Decimal("37.50")},
        {"total": {"amount": Decimal("37.50"), "currency": "EUR"}},
    ),
    Ordinary(
        "session-read",
        "who = session.client.name\nmail = session.client.email\nchat = session.live_chat.name + '/' + session.channel.name\nfirst = session.messages[0].text\nn = len(session.messages)\nlate = 'late' in first\nwhen = session.created_at\nop = session.operator.name\nsid = session.id\nanswered = [m.author for m in session.messages if m.kind == 'operator']",
        {},
        {
            "who": "Ann Lee",
            "mail": "ann@example.com",
            "chat": "Support/Telegram",
            "first": "Order 4711 is late",
            "n": 2,
            "late": True,
            "when": dt.datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
            "op": "Bob",
            "sid": 7,
            "answered": ["Bob"],
        },
    ),
    Ordinary(
        "params-read-write",
        "before = session.params.get('segment')\nsession.params['segment'] = 'platinum'\nafter = session.params['segment']\nmissing = session.params.get('nope', 'default')\nhas = 'segment' in session.params\nhas_not = 'nope' in session.params\nsession.params['new_key'] = [1, 2]",
        {},
        {
            "before": "gold",
            "after": "platinum",
            "missing": "default",
            "has": True,
            "has_not": False,
        },
        {"segment": "platinum", "new_key": [1, 2]},
    ),
    Ordinary(
        "params-mutated-in-place",
        "session.params['price']['amount'] += 1",
        {},
        {},
        {"price": {"amount": Decimal("13.50"), "currency": "EUR"}},
    ),
    Ordinary(
        "print-log",
        "print('a', 1, sep='-')\nprint('b', end='')\nfor i in range(2):\n    print(i)",
        {},
        {"i": 1},
        log="a-1\nb0\n1\n",
    ),
    Ordinary(
        "delete-input-variable", "tmp2 = tmp * 2\ndel tmp", {"tmp": 4, "keep": 1}, {"tmp2": 8}
    ),
    Ordinary("unchanged-input-not-resent", "x = 1", {"big": list(range(1000))}, {"x": 1}),
    Ordinary(
        "dollar-keys-roundtrip",
        "d2 = dict(d)\nd2['n'] = 1",
        {"d": {"$date": "not a date"}},
        {"d2": {"$date": "not a date", "n": 1}},
    ),
    Ordinary(
        "tuple-becomes-list",
        "t = (1, 2)\nnested = {'p': (3, (4,))}",
        {},
        {"t": [1, 2], "nested": {"p": [3, [4]]}},
    ),
    Ordinary(
        "conversions",
        "i = int('42')\nf = float('1.5')\ns = str(3)\nb = bool(0)\nl = list('ab')\nt = tuple([1])\nh = hex(255)\nisn = isinstance(i, int)",
        {},
        {
            "i": 42,
            "f": 1.5,
            "s": "3",
            "b": False,
            "l": ["a", "b"],
            "t": [1],
            "h": "0xff",
            "isn": True,
        },
    ),
]


@pytest.mark.parametrize("case", ORDINARY, ids=[o.id for o in ORDINARY])
def test_ordinary_script(pool: ScriptPool, case: Ordinary) -> None:
    result = pool.run(case.source, data=case.data, session=SESSION)
    expected = {
        k: v
        for k, v in case.data.items()
        if k not in ("tmp",) or case.id != "delete-input-variable"
    }
    expected.update(case.expect)
    assert result.data == expected
    for key, value in result.data.items():  # exact types survive the round trip
        assert type(value) is type(expected[key]), key
    assert result.changes == case.changes
    assert result.log == case.log
    assert result.duration_ms >= 0


def test_result_keeps_hidden_keys_untouched(pool: ScriptPool) -> None:
    data = {"x": 1, "not-an-identifier": "kept", "_private": 2, "session": "kept too"}
    result = pool.run("x = x + 1", data=data)
    assert result.data == {
        "x": 2,
        "not-an-identifier": "kept",
        "_private": 2,
        "session": "kept too",
    }


def test_missing_session_keys_default_to_empty(pool: ScriptPool) -> None:
    source = "v = [session.name, session.client.email, session.operator.name, session.id]\nn = len(session.messages)\np = len(session.params)"
    result = pool.run(source, data={})
    assert result.data == {"v": ["", "", "", None], "n": 0, "p": 0}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("amount > 100 and session.priority == 'high'", True),
        ("session.params['price']['amount'] * 2", Decimal("25.00")),
        ("session.created_at.date()", dt.date(2026, 11, 24)),
        ("[n for n in range(3)]", [0, 1, 2]),
        ("session.params.get('segment') in ('gold', 'platinum')", True),
        ("math.floor(amount / 3)", 50),
        ("re.match(r'\\d+', '12a') is not None", True),
    ],
)
def test_evaluate(pool: ScriptPool, expression: str, expected: object) -> None:
    value = pool.evaluate(expression, data={"amount": 150}, session=SESSION)
    assert value == expected
    assert type(value) is type(expected)
