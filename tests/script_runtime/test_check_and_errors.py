"""Static checks (`check`), the exception family's shape, and unit tests of codec and policy."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from script_runtime import (
    Limits,
    Policy,
    Problem,
    ScriptCompileError,
    ScriptLimitExceeded,
    ScriptPolicyViolation,
    ScriptPool,
    ScriptRuntimeError,
)
from script_runtime.codec import NotPlainData, decode, encode


def test_check_clean_script_has_no_problems(pool: ScriptPool) -> None:
    assert pool.check("x = 1\nprint(x)") == []
    assert pool.check("a > 1 and b", mode="eval") == []


def test_check_reports_every_policy_problem_with_line_and_column(pool: ScriptPool) -> None:
    problems = pool.check("import os\nx = 1\ny = x.__class__\nz = open('f')")
    assert problems == [
        Problem(1, 0, problems[0].message, "policy", "os"),
        Problem(3, 6, problems[1].message, "policy", "__class__"),
        Problem(4, 4, '"open" is not allowed in scripts.', "policy", "open"),
    ]
    assert "importing this module is not allowed" in problems[0].message


def test_check_reports_syntax_errors_as_compile_problems(pool: ScriptPool) -> None:
    assert pool.check("x = (1,\ny = 2") == [
        Problem(1, 4, "SyntaxError: '(' was never closed", "compile")
    ]
    assert pool.check("x = 1", mode="eval")[0].kind == "compile"


def test_check_survives_compile_bombs(pool: ScriptPool) -> None:
    problems = pool.check("x = " + "-" * 100000 + "1")
    assert [(p.kind, p.name) for p in problems] == [("compile", "recursion_depth")]


def test_compile_error_carries_all_problems(pool: ScriptPool) -> None:
    with pytest.raises(ScriptCompileError) as caught:
        pool.run("x = = 1", data={})
    error = caught.value
    assert (error.kind, error.line) == ("compile", 1)
    assert error.problems[0].message == "SyntaxError: invalid syntax"
    assert str(error) == "line 1, column 4: SyntaxError: invalid syntax"


def test_policy_violation_names_the_forbidden_thing(pool: ScriptPool) -> None:
    with pytest.raises(ScriptPolicyViolation) as caught:
        pool.run("a = 1\nimport socket", data={})
    error = caught.value
    assert (error.kind, error.name, error.line) == ("policy", "socket", 2)
    assert str(error).startswith('line 2: "socket": importing this module is not allowed')


def test_runtime_error_shows_user_frames_only(pool: ScriptPool) -> None:
    source = "def inner(v):\n    return 10 / v\n\ndef outer():\n    return inner(0)\n\nx = outer()"
    with pytest.raises(ScriptRuntimeError) as caught:
        pool.run(source, data={})
    error = caught.value
    assert (error.kind, error.type_name, error.message, error.line) == (
        "runtime",
        "ZeroDivisionError",
        "division by zero",
        2,
    )
    assert error.traceback_lines == [
        "line 7, in script: x = outer()",
        "line 5, in outer: return inner(0)",
        "line 2, in inner: return 10 / v",
    ]
    assert str(error) == "line 2: ZeroDivisionError: division by zero"


def test_runtime_error_keeps_the_partial_log(pool: ScriptPool) -> None:
    with pytest.raises(ScriptRuntimeError) as caught:
        pool.run("print('step 1')\nraise ValueError('bad input')", data={})
    assert caught.value.log == "step 1\n"
    assert str(caught.value) == "line 2: ValueError: bad input"


def test_limit_error_names_limit_and_value(pool: ScriptPool) -> None:
    with pytest.raises(ScriptLimitExceeded) as caught:
        pool.run("x = 'a' * 10**10", data={})
    error = caught.value
    assert (error.kind, error.limit, error.value, error.line) == (
        "limit",
        "value_bytes",
        16 * 2**20,
        1,
    )
    assert str(error) == (
        "line 1: script exceeded the value_bytes limit (16777216): repetition too large"
    )


def test_limits_above_policy_maxima_are_refused(pool: ScriptPool) -> None:
    with pytest.raises(ValueError, match=r"cpu_seconds=100 is above the policy maximum 30\.0"):
        pool.run("x = 1", data={}, limits=Limits(cpu_seconds=100))
    with pytest.raises(ValueError, match="must be positive"):
        pool.run("x = 1", data={}, limits=Limits(memory_mb=0))


def test_host_data_that_is_not_plain_is_refused_before_running(pool: ScriptPool) -> None:
    with pytest.raises(NotPlainData, match="task data 'x' holds a 'set' object"):
        pool.run("y = 1", data={"x": {1}})


def test_policy_round_trips_through_dict() -> None:
    policy = Policy(modules=("math",), defaults=Limits(cpu_seconds=1))
    assert Policy.from_dict(policy.to_dict()) == policy


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -5,
        1.25,
        "text",
        [1, [2, "x"]],
        {"a": {"b": [None]}},
        dt.date(2026, 11, 24),
        dt.datetime(2026, 11, 24, 10, 30, 5, 123),
        dt.datetime(2026, 11, 24, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        Decimal("12.50"),
        {"amount": Decimal("-0.01"), "currency": "EUR"},
        {"$date": "literal dollar key"},
        {"$dict": 1},
    ],
)
def test_codec_round_trip_keeps_types(value: object) -> None:
    back = decode(encode(value))
    assert back == value
    assert type(back) is type(value)
    assert repr(back) == repr(value)


def test_codec_tags() -> None:
    assert encode(Decimal("1.50")) == {"$decimal": "1.50"}
    assert encode(dt.date(2026, 1, 2)) == {"$date": "2026-01-02"}
    assert encode({"$x": 1}) == {"$dict": {"$x": 1}}


@pytest.mark.parametrize("value", [{1, 2}, b"x", object(), float("inf"), Decimal("NaN"), {1: 2}])
def test_codec_refuses_other_values(value: object) -> None:
    with pytest.raises(NotPlainData):
        encode(value)
