"""JSON typed in by people (the script bench's task data, CLI options): parsed with a bound on
nesting, so a hostile 100,000-deep document is a clear refusal rather than a RecursionError."""

from __future__ import annotations

import json
from typing import Any

MAX_JSON_DEPTH = 64


class JsonTooDeepError(ValueError):
    """The document nests arrays and objects deeper than MAX_JSON_DEPTH."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"nested deeper than {limit} levels")
        self.limit = limit
        self.msg = str(self)  # as json.JSONDecodeError names its problem


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text` (brackets inside strings ignored)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def loads_bounded(text: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads`, refusing documents nested deeper than `max_depth` (JsonTooDeepError)."""
    if json_depth(text) > max_depth:
        raise JsonTooDeepError(max_depth)
    return json.loads(text)
