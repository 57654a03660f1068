"""The hot path's shortcuts (plain scalars, nested dicts, cached key checks) keep the slow path's
answers: the same values, the same refusals, the same error paths and limits."""

from __future__ import annotations

import json
import marshal

import pytest

from script_runtime import Limits, ScriptLimitExceeded, ScriptPool, ScriptRuntimeError
from script_runtime.codec import DataTooLarge, NotPlainData, dumps, encode
from script_runtime.policy import DEFAULT_POLICY
from script_runtime.protocol import build_request, run_result

WIRE = DEFAULT_POLICY.defaults.to_wire()


def test_scalar_results_keep_their_exact_types(pool: ScriptPool) -> None:
    result = pool.run(
        "flag = True\nbig = 10**30 + 0\nsame = 'x'\nnew = None\nf = 2.5",
        data={"flag": 1, "big": 10**30, "same": "x"},
    )
    assert result.data == {"flag": True, "big": 10**30, "same": "x", "new": None, "f": 2.5}
    assert type(result.data["flag"]) is bool


def test_new_variables_come_back_in_assignment_order(pool: ScriptPool) -> None:
    result = pool.run("b = 1\na = 2\nc = 3", data={"z": 0})
    assert list(result.data) == ["z", "b", "a", "c"]


@pytest.mark.parametrize("value", ["float('inf')", "float('nan')", "-float('inf')"])
def test_non_finite_floats_are_refused_as_task_data(pool: ScriptPool, value: str) -> None:
    with pytest.raises(ScriptRuntimeError, match="variable 'x' holds a non-finite float"):
        pool.run(f"x = {value}", data={"x": 1.0})


def test_helper_variables_that_are_not_plain_data_are_left_out_with_a_note(
    pool: ScriptPool,
) -> None:
    source = (
        'orders = [{"id": 7, "total": 3}]\n'
        'by_id = {o["id"]: o for o in orders}\n'
        "seen = {1, 2}\n"
        'print("total", by_id[7]["total"], end="")\n'
        "count = len(by_id)"
    )
    result = pool.run(source, data={})
    assert result.data == {"orders": [{"id": 7, "total": 3}], "count": 1}
    assert result.log.splitlines() == [
        "total 3",
        "[left out of task data] variable 'by_id' holds a dict with a key of type int (7), "
        "which is not plain data (None, bool, int, float, str, list, dict with str keys, date, "
        "datetime, Decimal)",
        "[left out of task data] variable 'seen' holds a 'set' object, which is not plain data "
        "(None, bool, int, float, str, list, dict with str keys, date, datetime, Decimal)",
    ]


def test_imported_and_private_scalars_are_not_results(pool: ScriptPool) -> None:
    result = pool.run("from math import pi\nprint(pi > 3)\nr = round(pi, 2)", data={})
    assert result.data == {"r": 3.14}
    assert result.log == "True\n"


def test_given_names_are_reported_only_when_rebound(pool: ScriptPool) -> None:
    assert pool.run("x = 1", data={"math": 3}).data == {"math": 3, "x": 1}
    assert pool.run("math = 4", data={}).data == {"math": 4}
    assert pool.run("del math\nmath = 5", data={}).data == {"math": 5}
    assert pool.run("session = 1", data={}).data == {"session": 1}


@pytest.mark.parametrize(
    "source",
    [
        "del math\nprice = 2\nx = 3",
        "del session\nprice = 2\nx = 3",
        "del math\nmath = 1\nprice = 2\nx = 3",
        "try:\n    1 / 0\nexcept ZeroDivisionError as json:\n    pass\nprice = 2\nx = 3",
    ],
)
def test_deleting_a_given_name_loses_no_change(pool: ScriptPool, source: str) -> None:
    result = pool.run(source, data={"price": 1})
    assert {k: result.data[k] for k in ("price", "x")} == {"price": 2, "x": 3}


def test_task_data_named_like_a_module_reports_its_changes(pool: ScriptPool) -> None:
    assert pool.run("json.append(2)", data={"json": [1]}).data == {"json": [1, 2]}
    assert pool.run("math = math + 1", data={"math": 1}).data == {"math": 2}
    assert pool.run("x = 1", data={"re": [1]}).data == {"re": [1], "x": 1}


def test_scalar_params_writes_are_still_checked(pool: ScriptPool) -> None:
    with pytest.raises(ScriptRuntimeError, match=r"session.params\['x'\] holds a non-finite"):
        pool.run("session.params['x'] = float('nan')", data={}, session={"params": {}})
    result = pool.run(
        "session.params['n'] = None\nsession.params['b'] = True\nsession.params['i'] = 2**70",
        data={},
        session={"params": {}},
    )
    assert result.changes == {"n": None, "b": True, "i": 2**70}


def test_text_params_writes_are_measured_as_json(pool: ScriptPool) -> None:
    limits = Limits(change_bytes=1000)
    session = {"params": {}}
    ok = pool.run("session.params['s'] = 'a' * 998", data={}, session=session, limits=limits)
    assert ok.changes == {"s": "a" * 998}  # 1000 characters once quoted
    with pytest.raises(ScriptLimitExceeded) as too_long:
        pool.run("session.params['s'] = 'a' * 999", data={}, session=session, limits=limits)
    assert too_long.value.limit == "change_bytes"
    # 200 characters, but each one is escaped as \u0001: 1202 characters of JSON.
    with pytest.raises(ScriptLimitExceeded):
        pool.run("session.params['s'] = '\\x01' * 200", data={}, session=session, limits=limits)


def _visible(data: dict[str, object]) -> dict[str, object]:
    request = marshal.loads(build_request("run", "x = 1", data, None, WIRE))
    visible: dict[str, object] = request[2]
    return visible


def test_build_request_passes_scalars_and_hides_non_variables() -> None:
    data = {"a": True, "b": None, "c": 1.5, "d": "t", "class": 1, "_x": 2}
    assert _visible(data) == {"a": True, "b": None, "c": 1.5, "d": "t"}
    assert _visible(data) == {"a": True, "b": None, "c": 1.5, "d": "t"}  # cached key checks


def test_build_request_still_refuses_bad_scalars_and_keys() -> None:
    with pytest.raises(NotPlainData, match="task data 'x' holds a non-finite float"):
        _visible({"x": float("inf")})

    class Key(str):
        pass

    _visible({"price": 1})  # "price" is now a cached, visible key
    with pytest.raises(TypeError, match="task data keys must be str"):
        _visible({Key("price"): 1})
    with pytest.raises(TypeError, match="task data keys must be str"):
        _visible({1: 1})


def test_run_result_decodes_only_containers() -> None:
    reply = {"set": {"a": 1, "b": {"$date": "2020-01-02"}, "c": [{"$decimal": "1.5"}]}}
    result = run_result(reply, {"z": 0})
    assert repr(result.data) == (
        "{'z': 0, 'a': 1, 'b': datetime.date(2020, 1, 2), 'c': [Decimal('1.5')]}"
    )
    assert result.links == ()


@pytest.mark.parametrize(
    ("value", "depth", "items", "path", "limit"),
    [
        ({"a": {"b": {"c": 1}}}, 2, 100, "value['a']['b']", "result_depth"),
        ({"a": {"b": {"c": 1}}}, 5, 2, "value['a']['b']", "result_items"),
        ({"a": {"b": {"c": 1}}}, 5, 3, "value['a']['b']['c']", "result_items"),
        ({"a": {"b": [1, {"c": 2}]}}, 3, 100, "value['a']['b'][1]", "result_depth"),
        ({"a": 1.5, "b": {"c": 2.5}}, 5, 3, "value['b']['c']", "result_items"),
    ],
)
def test_nested_dicts_keep_their_limits_and_paths(
    value: object, depth: int, items: int, path: str, limit: str
) -> None:
    with pytest.raises(DataTooLarge) as refused:
        encode(value, max_depth=depth, max_items=items)
    assert (refused.value.path, refused.value.limit) == (path, limit)


def test_nested_dicts_keep_their_refusals_and_tags() -> None:
    with pytest.raises(
        NotPlainData, match=r"value\['a'\]\['b'\] holds a dict with a key of type int"
    ):
        encode({"a": {"b": {1: 1}}})
    with pytest.raises(NotPlainData, match=r"value\['a'\]\['b'\]\['c'\] holds a non-finite"):
        encode({"a": {"b": {"c": float("nan")}}})
    assert encode({"a": {"$b": {"c": 1.5}}}) == {"a": {"$dict": {"$b": {"c": 1.5}}}}
    assert encode({"a": 1.5, "b": {"c": 2.5}}, max_items=4) == {"a": 1.5, "b": {"c": 2.5}}


def test_dumps_matches_json_dumps() -> None:
    for wire in [{"a": [1, 2.5, None, True, "é\n\x01"]}, "x", 3, [], {}, "\ud800"]:
        expected = json.dumps(wire, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        assert dumps(wire) == expected
    with pytest.raises(ValueError):
        dumps([float("nan")])


def test_session_fields_are_properties_with_the_old_errors(pool: ScriptPool) -> None:
    result = pool.run(
        "same = session.params is session.params\nname = session.client.name\n"
        "session.link_item('crm', 5)",
        data={},
        session={"client": {"name": "Ann"}, "params": {}},
    )
    assert result.data == {"same": True, "name": "Ann"}
    assert result.links == (("crm", 5),)
    with pytest.raises(ScriptRuntimeError, match="session has no attribute 'nope'"):
        pool.run("x = session.nope", data={})
    with pytest.raises(ScriptRuntimeError, match=r"cannot set session\.params"):
        pool.run("session.params = {}", data={})


def test_default_limits_are_left_out_of_requests(pool: ScriptPool) -> None:
    assert DEFAULT_POLICY.wire_of(Limits()) is None
    assert DEFAULT_POLICY.wire_of(Limits(max_changes=1)) == Limits(max_changes=1).to_wire()
    script = "session.params['a'] = 1\nsession.params['b'] = 2"
    session = {"params": {}}
    for _ in range(2):  # alternate, on the same workers: each request gets its own limits
        assert pool.run(script, data={}, session=session).changes == {"a": 1, "b": 2}
        with pytest.raises(ScriptLimitExceeded, match="max_changes"):
            pool.run(script, data={}, session=session, limits=Limits(max_changes=1))
        assert pool.run(script, data={}, session=session, limits=Limits()).changes["b"] == 2
