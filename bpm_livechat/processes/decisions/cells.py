"""DMN table cells as the engine evaluates them: FEEL's simple unary tests become Python.

SpiffWorkflow's DMN engine evaluates every cell with the workflow's script engine (our sandbox)
as a Python expression, where `?` stands for the column's input value (`5 <= ? <= 8`). Tables
drawn in Camunda's modeler hold FEEL instead. The forms whose meaning is plain are rewritten into
that syntax once, when the table is read:

    "Fall"              ? == ("Fall")
    "Fall","Winter"     (? == ("Fall")) or (? == ("Winter"))
    < 8   >= 2          ? < (8)        ? >= (2)
    [5..8]   ]5..8[     (5) <= ? <= (8)  (5) < ? < (8)
    not("Fall")         not ((? == ("Fall")))
    true false null     ? == True  ? == False  ? is None
    - or empty          any value

Anything else must already be a Python expression (`in ("a", "b")`, `? % 2 == 0`,
`len(?) > 3`, `session.params["segment"] == "vip"`); FEEL functions and JUEL are refused with
"write it in Python", naming the cell.
"""

from __future__ import annotations

import ast
import re

from script_runtime import ScriptChecker

INPUT_NAME = "dmninputexpr"  # what the engine puts in place of `?`
# The engine finds `?` with a regular expression that is quadratic in the cell's length.
MAX_CELL = 2000
_OUTSIDE_QUOTES = r"(?=(?:[^'\"]|'[^']*'|\"[^\"]*\")*$)"
_QUESTION = re.compile(r"\?" + _OUTSIDE_QUOTES)
_RANGE = re.compile(r"^([\[\]\(])\s*(.+?)\s*\.\.\s*(.+?)\s*([\[\]\)])$", re.S)
_COMPARISON = re.compile(r"^(<=|>=|!=|==|<|>)\s*(.+)$", re.S)
_NOT = re.compile(r"^not\s*\((.*)\)$", re.S)
_FEEL_FUNCTION = re.compile(
    r"^(date and time|date|time|duration|years and months duration|number|string|"
    r"contains|starts with|ends with|matches|string length|upper case|lower case)\s*\(",
    re.I,
)
_LITERALS = {"true": "True", "false": "False", "null": "None"}
TYPE_NAMES = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "double": (int, float),
    "number": (int, float),
    "boolean": (bool,),
}

_KINDS = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}


class CellError(ValueError):
    """A cell that cannot be evaluated as written; the message quotes it and says why."""


def input_test(text: str | None, checker: ScriptChecker, type_ref: str = "") -> str | None:
    """The engine's expression for an input cell (None: any value), or CellError."""
    cell = (text or "").strip()
    if cell in ("", "-"):
        return None
    _refuse_foreign(cell)
    expression = cell if _QUESTION.search(cell) else _tests(cell, type_ref)
    _check(expression, cell, checker)
    return expression


def output_value(text: str | None, checker: ScriptChecker, type_ref: str = "") -> str:
    """The engine's expression for an output cell (empty: None), or CellError."""
    cell = (text or "").strip()
    if not cell:
        return "None"
    _refuse_foreign(cell)
    expression = _LITERALS.get(cell, cell)
    _check(expression, cell, checker)
    _check_type(expression, cell, type_ref)
    return expression


def input_expression(text: str | None, checker: ScriptChecker) -> str:
    """A column's input expression (a variable name, `session.params["x"]`...), or CellError."""
    cell = (text or "").strip()
    if not cell:
        raise CellError("has no input expression; name the task data variable it reads")
    _refuse_foreign(cell)
    _check(cell, cell, checker)
    return cell


def _tests(cell: str, type_ref: str) -> str:
    negated = _NOT.match(cell)
    if negated:
        return f"not ({_tests(negated.group(1).strip(), type_ref)})"
    parts = _split(cell)
    if len(parts) == 1:
        return _single(parts[0], type_ref)
    return " or ".join(f"({_single(part, type_ref)})" for part in parts)


def _single(part: str, type_ref: str) -> str:
    if not part:
        raise CellError("has an empty entry in its list")
    _refuse_foreign(part)
    if part in _LITERALS:
        return f"? is {_LITERALS[part]}" if part == "null" else f"? == {_LITERALS[part]}"
    ranged = _RANGE.match(part)
    if ranged:
        low_bracket, low, high, high_bracket = ranged.groups()
        low_op = "<=" if low_bracket == "[" else "<"
        high_op = "<=" if high_bracket == "]" else "<"
        return f"({low}) {low_op} ? {high_op} ({high})"
    compared = _COMPARISON.match(part)
    if compared:
        return f"? {compared.group(1)} ({compared.group(2)})"
    if re.match(r"^(not\s+in|in|is)\b", part):
        return f"? {part}"
    _check_type(part, part, type_ref)
    return f"? == ({part})"


def _split(cell: str) -> list[str]:
    """The comma-separated entries of a cell, ignoring commas inside quotes and brackets."""
    parts, depth, quote, start = [], 0, "", 0
    for index, char in enumerate(cell):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(cell[start:index].strip())
            start = index + 1
    parts.append(cell[start:].strip())
    return parts


def _refuse_foreign(cell: str) -> None:
    if len(cell) > MAX_CELL:
        raise CellError(f"is {len(cell)} characters long; the limit is {MAX_CELL}")
    if cell.startswith(("${", "#{")):
        raise CellError(f"{cell!r} is a JUEL expression; write it in Python")
    if _FEEL_FUNCTION.match(cell):
        raise CellError(f"{cell!r} calls a FEEL function; write it in Python")


def _check(expression: str, cell: str, checker: ScriptChecker) -> None:
    """Compile the expression as the sandbox will (with `?` as the input value)."""
    source = _QUESTION.sub(INPUT_NAME, expression)
    problems = checker.check(source, mode="eval")
    if problems:
        reason = problems[0].message
        raise CellError(f"{cell!r} is not a Python expression the sandbox accepts ({reason}); "
                        "write it in Python")  # fmt: skip


def _check_type(expression: str, cell: str, type_ref: str) -> None:
    """A literal that cannot have the column's type (typeRef) is a mistake in the table."""
    expected = TYPE_NAMES.get(type_ref.strip().lower())
    if expected is None:
        return
    try:
        value = ast.literal_eval(expression)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return  # not a literal: its type is known only when it runs
    if value is None:
        return
    wrong_bool = isinstance(value, bool) and bool not in expected
    if wrong_bool or not isinstance(value, expected):
        kind = _KINDS.get(type(value), f"a {type(value).__name__}")
        raise CellError(f"{cell!r} is {kind}, but the column is typed {type_ref}")
