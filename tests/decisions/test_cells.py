"""DMN cells as the engine evaluates them: FEEL's simple tests rewritten, the rest refused."""

from __future__ import annotations

import pytest

from bpm_livechat.processes.decisions.cells import CellError, input_test, output_value
from bpm_livechat.processes.decisions.evaluation import DecisionOutcome, MatchedRule
from script_runtime import ScriptPool


@pytest.mark.parametrize(
    ("cell", "expression"),
    [
        ("", None),
        ("-", None),
        ('"Fall"', '? == ("Fall")'),
        ('"a", "b,c"', '(? == ("a")) or (? == ("b,c"))'),
        ("<= 8", "? <= (8)"),
        ("[5..8]", "(5) <= ? <= (8)"),
        ("]5..8[", "(5) < ? < (8)"),
        ("(0..limit]", "(0) < ? <= (limit)"),
        ('not("x", "y")', 'not ((? == ("x")) or (? == ("y")))'),
        ("true", "? == True"),
        ("null", "? is None"),
        ('in ("a", "b")', '? in ("a", "b")'),
        ("? % 2 == 0", "? % 2 == 0"),
        ('session.params["segment"]', '? == (session.params["segment"])'),
    ],
)
def test_input_cells_in_the_engines_syntax(
    script_pool: ScriptPool, cell: str, expression: str | None
) -> None:
    assert input_test(cell, script_pool) == expression


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ('date and time("2020-01-01T00:00:00")', "calls a FEEL function; write it in Python"),
        ("#{risk}", "is a JUEL expression; write it in Python"),
        ("= 3", "is not a Python expression the sandbox accepts"),
        ('"a", ', "has an empty entry in its list"),
    ],
)
def test_cells_that_cannot_run_are_refused(
    script_pool: ScriptPool, cell: str, message: str
) -> None:
    with pytest.raises(CellError) as caught:
        input_test(cell, script_pool, "string")
    assert message in str(caught.value)


def test_output_cells() -> None:
    class Nothing:
        def check(self, source: str, *, mode: str = "exec") -> list[object]:
            return []

    checker = Nothing()
    assert output_value("", checker) == "None"  # type: ignore[arg-type]
    assert output_value("false", checker, "boolean") == "False"  # type: ignore[arg-type]
    assert output_value("2.5", checker, "double") == "2.5"  # type: ignore[arg-type]
    with pytest.raises(CellError, match="is a boolean, but the column is typed integer"):
        output_value("true", checker, "integer")  # type: ignore[arg-type]


def _outcome(*outputs: dict[str, object], policy: str = "COLLECT") -> DecisionOutcome:
    rules = [MatchedRule(n, f"r{n}", "", out) for n, out in enumerate(outputs, start=1)]
    return DecisionOutcome("d", policy, rules, {})


def test_results_map_as_camunda_maps_them() -> None:
    two = _outcome({"segment": "vip"}, {"segment": "gold"})
    assert two.mapped("resultList") == [{"segment": "vip"}, {"segment": "gold"}]
    assert two.mapped("collectEntries") == ["vip", "gold"]
    assert two.as_data() == {"segment": ["vip", "gold"]}
    with pytest.raises(ValueError, match="2 rules matched; singleResult takes at most one"):
        two.mapped("singleResult")
    with pytest.raises(ValueError, match="2 rules matched; singleEntry takes at most one"):
        two.mapped("singleEntry")
    one = _outcome({"segment": "vip", "priority": 2}, policy="FIRST")
    assert one.mapped("singleResult") == {"segment": "vip", "priority": 2}
    assert one.as_data() == {"segment": "vip", "priority": 2}
    with pytest.raises(
        ValueError, match="singleEntry needs a single output column; the table has 2"
    ):
        one.mapped("singleEntry")
    assert _outcome(policy="UNIQUE").mapped("singleEntry") is None
