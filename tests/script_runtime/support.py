"""Helpers of the sandbox tests: small limits, and a check that a pool still serves."""

from __future__ import annotations

from script_runtime import Limits, ScriptPool

SMALL = Limits(cpu_seconds=1, wall_seconds=5, memory_mb=128)  # wall room: a loaded machine


def assert_pool_serves(pool: ScriptPool) -> None:
    """The pool still runs an ordinary script correctly."""
    result = pool.run(
        "total = sum(n * 2 for n in numbers)\nsession.params['seen'] = True\nprint('ok')",
        data={"numbers": [1, 2, 3]},
        session={"params": {}},
    )
    assert result.data == {"numbers": [1, 2, 3], "total": 12}
    assert result.changes == {"seen": True}
    assert result.log == "ok\n"
