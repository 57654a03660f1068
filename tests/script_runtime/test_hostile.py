"""Hostile scripts: each technique ends in one exact, clean outcome, and the pool survives it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from script_runtime import (
    Limits,
    ScriptCompileError,
    ScriptError,
    ScriptLimitExceeded,
    ScriptPolicyViolation,
    ScriptPool,
    ScriptRuntimeError,
)
from tests.script_runtime.support import SMALL, assert_pool_serves


@dataclass(frozen=True)
class Hostile:
    id: str
    source: str
    kind: str  # compile | policy | runtime | limit
    detail: str | None  # policy: name; limit: limit; runtime: exception type
    text: str = ""  # a substring the message must contain
    limits: Limits = SMALL


GEN_CHAIN = (
    "g = (x for x in [1])\nfor i in range(100000):\n    g = (x for x in g)\nfor v in g:\n    pass\n"
)

HOSTILE = [
    # attribute walks to the host
    Hostile(
        "class-mro-subclasses",
        "x = ''.__class__.__mro__[1].__subclasses__()",
        "policy",
        "__class__",
    ),
    Hostile("tuple-bases", "x = ().__class__.__bases__[0]", "policy", "__class__"),
    Hostile("function-globals", "f = lambda: 0\nx = f.__globals__", "policy", "__globals__"),
    Hostile("builtin-self", "x = len.__self__", "policy", "__self__"),
    Hostile("builtins-name", "x = __builtins__['open']", "policy", "__builtins__"),
    Hostile("dunder-import", "os = __import__('os')", "policy", "__import__"),
    Hostile("generator-frame", "g = (x for x in [1])\nf = g.gi_frame", "policy", "gi_frame"),
    Hostile("generator-code", "g = (x for x in [1])\nc = g.gi_code", "policy", "gi_code"),
    Hostile(
        "traceback-frame",
        "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    t = e.__traceback__",
        "policy",
        "__traceback__",
    ),
    Hostile("frame-back-attr", "def f():\n    pass\nx = f.f_back", "policy", "f_back"),
    Hostile("rebind-guard", "_getattr_ = lambda o, n: 1", "policy", "_getattr_"),
    Hostile("walrus-guard", "y = (_write_ := 1)", "policy", "_write_"),
    Hostile("mro-method", "x = int.mro()", "runtime-policy", "mro"),
    Hostile("facade-internals", "x = math._members", "policy", "_members"),
    Hostile(
        "facade-module-walk",
        "x = json.codecs.builtins",
        "runtime",
        "AttributeError",
        "has no attribute 'codecs'",
    ),
    Hostile(
        "datetime-sys", "x = datetime.sys", "runtime", "AttributeError", "has no attribute 'sys'"
    ),
    Hostile("session-internals", "x = session._members", "policy", "_members"),
    Hostile("params-internals", "x = session.params._wire", "policy", "_wire"),
    Hostile("match-re-attribute", "m = re.match('a', 'a')\nx = m.re", "runtime-policy", "re"),
    Hostile("reduce-protocol", "x = datetime.date.today().__reduce__()", "policy", "__reduce__"),
    # str.format walks
    Hostile("format-class-walk", "x = '{0.__class__}'.format(1)", "runtime-policy", "__class__"),
    Hostile(
        "format-globals-walk",
        "f = lambda: 0\nx = '{0.__globals__}'.format(f)",
        "runtime-policy",
        "__globals__",
    ),
    Hostile(
        "format-map-walk",
        "x = '{a.__class__.__mro__}'.format_map({'a': 1})",
        "runtime-policy",
        "__class__",
    ),
    Hostile(
        "format-item-then-attr", "x = '{0[0].__class__}'.format([1])", "runtime-policy", "__class__"
    ),
    Hostile("str-type-format", "x = str.format('{0.__class__}', 1)", "runtime-policy", "format"),
    Hostile(
        "format-swallowed",
        "try:\n    x = '{0.__class__}'.format(1)\nexcept BaseException:\n    x = 'caught'",
        "runtime-policy",
        "__class__",
    ),
    # imports in all spellings
    Hostile("import-os", "import os", "policy", "os"),
    Hostile("import-dotted-as", "import os.path as p", "policy", "os.path"),
    Hostile("from-import", "from subprocess import run", "policy", "subprocess"),
    Hostile("relative-import", "from . import secrets", "policy", "."),
    Hostile("star-import", "from math import *", "policy", "*"),
    Hostile("import-time-sleep", "import time\ntime.sleep(10)", "policy", "time"),
    Hostile("import-sys-frames", "import sys\nf = sys._getframe()", "policy", "sys"),
    Hostile("importlib", "import importlib", "policy", "importlib"),
    # forbidden builtins and statements
    Hostile("open-file", "x = open('/etc/passwd').read()", "policy", "open"),
    Hostile("exec-call", "exec('import os')", "policy", "exec"),
    Hostile("eval-call", "x = eval('1')", "policy", "eval"),
    Hostile("compile-call", "c = compile('1', 'f', 'eval')", "policy", "compile"),
    Hostile("type-call", "t = type(1)", "policy", "type"),
    Hostile("globals-call", "g = globals()", "policy", "globals"),
    Hostile("vars-call", "v = vars()", "policy", "vars"),
    Hostile("getattr-string", "x = getattr('', '__cl' + 'ass__')", "policy", "getattr"),
    Hostile("system-exit", "raise SystemExit(0)", "policy", "SystemExit"),
    Hostile("keyboard-interrupt", "raise KeyboardInterrupt", "policy", "KeyboardInterrupt"),
    Hostile("try-star", "try:\n    pass\nexcept* ValueError:\n    pass", "policy", None, "TryStar"),
    Hostile(
        "match-class-pattern",
        "match 1:\n    case int(__class__=c):\n        pass",
        "policy",
        None,
        "Match",
    ),
    Hostile(
        "decorator",
        "def deco(f):\n    return f\n@deco\ndef g():\n    pass",
        "policy",
        "g",
        "decorators",
    ),
    Hostile("class-definition", "class A:\n    pass", "policy", "A", "class definitions"),
    Hostile("async-def", "async def f():\n    pass", "policy", None, "AsyncFunctionDef"),
    Hostile(
        "nonlocal",
        "def f():\n    x = 1\n    def g():\n        nonlocal x\n    g()",
        "policy",
        None,
        "Nonlocal",
    ),
    # writes outside the script's own data
    Hostile(
        "session-field-write",
        "session.name = 'x'",
        "runtime",
        "AttributeError",
        "session fields are read-only",
    ),
    Hostile(
        "session-client-write",
        "session.client.email = 'x'",
        "runtime",
        "AttributeError",
        "session.client.email",
    ),
    Hostile(
        "message-write", "session.messages[0].text = 'x'", "runtime", "AttributeError", "read-only"
    ),
    Hostile("messages-append", "session.messages.append(1)", "runtime", "AttributeError", "append"),
    Hostile("facade-write", "math.pi = 3", "runtime", "AttributeError", "read-only"),
    Hostile(
        "function-attribute-write",
        "f = lambda: 0\nf.x = 1",
        "runtime",
        "AttributeError",
        "may only change dicts and lists",
    ),
    Hostile("bad-param-key", "session.params['a b'] = 1", "runtime", "ValueError", "identifiers"),
    # resource attacks
    Hostile("busy-loop", "while True:\n    pass", "limit", "cpu_seconds"),
    Hostile(
        "bare-except-swallow",
        "while True:\n    try:\n        while True:\n            pass\n    except:\n        pass",
        "limit",
        "cpu_seconds",
    ),
    Hostile(
        "wall-clock",
        "while True:\n    pass",
        "limit",
        "wall_seconds",
        limits=Limits(cpu_seconds=5, wall_seconds=1, memory_mb=128),
    ),
    Hostile(
        "infinite-generator",
        "def g():\n    while True:\n        yield 1\nn = 0\nfor v in g():\n    n += 1",
        "limit",
        "cpu_seconds",
    ),
    Hostile("iter-sentinel", "for x in iter(int, 1):\n    pass", "limit", "cpu_seconds"),
    Hostile("catastrophic-regex", "m = re.match('(a+)+$', 'a' * 40 + 'b')", "limit", "cpu_seconds"),
    Hostile("huge-string-repeat", "x = 'a' * 10**10", "limit", "value_bytes"),
    Hostile("huge-list-repeat", "x = [0] * 10**9", "limit", "value_bytes"),
    Hostile("huge-power", "x = 10 ** 10 ** 10", "limit", "value_bytes"),
    Hostile("huge-pow-builtin", "x = pow(7, 10**10)", "limit", "value_bytes"),
    Hostile("huge-shift", "x = 1 << 10**10", "limit", "value_bytes"),
    Hostile("augmented-repeat", "x = 'ab'\nx *= 10**10", "limit", "value_bytes"),
    Hostile(
        "repeat-swallowed",
        "try:\n    x = 'a' * 10**10\nexcept:\n    x = 'caught'",
        "limit",
        "value_bytes",
    ),
    Hostile("huge-range", "x = list(range(10**12))", "limit", "range_items"),
    Hostile(
        "memory-growth", "x = []\nwhile True:\n    x.append('a' * 10**6)", "limit", "memory_mb"
    ),
    Hostile("format-width", "x = '{:>999999999}'.format(1)", "limit", "memory_mb"),
    Hostile("fstring-width", "x = f'{1:>999999999}'", "limit", "memory_mb"),
    Hostile("regex-input-cap", "m = re.search('a', 'b' * 2000000)", "limit", "regex_input_chars"),
    Hostile("regex-pattern-cap", "p = re.compile('a' * 5000)", "limit", "regex_pattern_chars"),
    Hostile("recursion", "def f(n):\n    return f(n + 1)\nf(0)", "limit", "recursion_depth"),
    Hostile("deep-json", "x = json.loads('[' * 100000 + ']' * 100000)", "limit", "recursion_depth"),
    Hostile("nested-generators-segfault", GEN_CHAIN, "limit", "recursion_depth", "SIGSEGV"),
    Hostile(
        "compile-bomb-unary", "x = " + "-" * 100000 + "1", "limit", "recursion_depth", "to compile"
    ),
    Hostile(
        "compile-bomb-attributes", "x = a" + ".b" * 50000, "limit", "recursion_depth", "to compile"
    ),
    Hostile(
        "nested-parentheses",
        "x = " + "(" * 300 + "1" + ")" * 300,
        "compile",
        None,
        "too many nested parentheses",
    ),
    Hostile("source-too-long", "x = 1\n" * 50000, "limit", "source_bytes"),
    Hostile("deep-result", "x = []\nfor i in range(1000):\n    x = [x]", "limit", "result_depth"),
    Hostile("print-flood", "while True:\n    print('x' * 1000)", "limit", "output_bytes"),
    Hostile(
        "print-flood-swallowed",
        "for i in range(1000):\n    try:\n        print('x' * 1000)\n    except:\n        pass",
        "limit",
        "output_bytes",
    ),
    Hostile("result-too-large", "x = 'a' * 2000000", "limit", "result_bytes"),
    Hostile(
        "too-many-writes",
        "for i in range(1000):\n    session.params['k' + str(i)] = i",
        "limit",
        "max_changes",
    ),
    Hostile("write-too-large", "session.params['k'] = 'a' * 100000", "limit", "change_bytes"),
    # task data rebound to values that are not plain data (new helpers are left out instead)
    Hostile("generator-result", "a = (x for x in [1])", "runtime", "TypeError", "variable 'a'"),
    Hostile("set-result", "a = {1, 2}", "runtime", "TypeError", "variable 'a'"),
    Hostile("int-key-result", "a = {1: 'a'}", "runtime", "TypeError", "variable 'a'"),
    Hostile("nan-result", "a = float('nan')", "runtime", "TypeError", "non-finite"),
    Hostile(
        "param-generator",
        "session.params['k'] = (x for x in [1])",
        "runtime",
        "TypeError",
        "session.params['k']",
    ),
]

SESSION = {"name": "S", "client": {"email": "a@b.c"}, "messages": [{"author": "a", "text": "t"}]}


def test_table_has_forty_distinct_techniques() -> None:
    assert len({h.id for h in HOSTILE}) == len(HOSTILE) >= 40


@pytest.mark.parametrize("case", HOSTILE, ids=[h.id for h in HOSTILE])
def test_hostile_script(pool: ScriptPool, case: Hostile) -> None:
    with pytest.raises(ScriptError) as caught:
        pool.run(case.source, data={"a": 1}, session=SESSION, limits=case.limits)
    error = caught.value
    kind = "policy" if case.kind == "runtime-policy" else case.kind
    assert error.kind == kind, str(error)
    if kind == "policy":
        assert isinstance(error, ScriptPolicyViolation)
        assert error.name == case.detail
        assert error.line is not None
    elif kind == "limit":
        assert isinstance(error, ScriptLimitExceeded)
        assert error.limit == case.detail, str(error)
        assert case.detail in str(error)
    elif kind == "runtime":
        assert isinstance(error, ScriptRuntimeError)
        assert error.type_name == case.detail, str(error)
    else:
        assert isinstance(error, ScriptCompileError)
    assert case.text in str(error)
    assert "/work" not in str(error) and "site-packages" not in str(error)
    assert_pool_serves(pool)


# Each write is refused (AttributeError) or only recorded, then the shared names are rebound.
POLLUTER = """
refused = 0
for write in range(5):
    try:
        if write == 0:
            datetime.date.today = None
        elif write == 1:
            sorted.key = None
        elif write == 2:
            re.compile('a').pattern = 'b'
        elif write == 3:
            datetime.timezone.utc = None
        else:
            decimal.ROUND_UP = None
    except AttributeError:
        refused += 1
session.params['tier'] = 'changed'
math = len = json = Decimal = range = sorted = None
secret = 'left behind'
"""
CHECKER = """
try:
    leftover = secret
except NameError:
    leftover = 'none'
fine = (
    len([1, 2]) == 2
    and math.pi > 3.14
    and json.dumps([1]) == '[1]'
    and Decimal('1.5') * 2 == Decimal('3.0')
    and list(range(2)) == [0, 1]
    and sorted([2, 1]) == [1, 2]
    and datetime.timezone.utc is not None
    and decimal.ROUND_UP == 'ROUND_UP'
    and session.params['tier'] == 'gold'
)
"""


def test_a_run_cannot_change_what_the_next_run_on_its_worker_sees() -> None:
    session = {"params": {"tier": "gold"}}
    with ScriptPool(1) as single:  # one worker: the checker runs where the polluter ran
        polluted = single.run(POLLUTER, data={}, session=session)
        checked = single.run(CHECKER, data={}, session=session)
    assert polluted.data["refused"] == 5
    assert polluted.data["secret"] == "left behind"
    assert polluted.changes == {"tier": "changed"}
    assert checked.data == {"leftover": "none", "fine": True}
    assert checked.changes == {}
