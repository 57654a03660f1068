"""`session.link_item(app, item_id)`: recorded like parameter writes, never reaching the host."""

from __future__ import annotations

import pytest

from script_runtime import ScriptPolicyViolation, ScriptPool, ScriptRuntimeError


def test_link_requests_come_back_in_order_without_duplicates(pool: ScriptPool) -> None:
    source = 'session.link_item("Clients", 7)\nsession.link_item("Clients", 7)\nsession.link_item("Requests", 2)'
    result = pool.run(source, data={}, session={"params": {}})
    assert result.links == (("Clients", 7), ("Requests", 2))
    assert result.changes == {}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("session.link_item(7, 1)", "link_item: the app must be a name (text), got 7"),
        (
            'session.link_item("Clients", "7")',
            "link_item: the item id must be a whole number, got '7'",
        ),
        (
            'session.link_item("Clients", True)',
            "link_item: the item id must be a whole number, got True",
        ),
    ],
)
def test_bad_link_requests_are_runtime_errors(pool: ScriptPool, source: str, message: str) -> None:
    with pytest.raises(ScriptRuntimeError) as caught:
        pool.run(source, data={}, session={})
    assert (caught.value.type_name, caught.value.message, caught.value.line) == (
        "ValueError",
        message,
        1,
    )


def test_the_method_leads_nowhere(pool: ScriptPool) -> None:
    with pytest.raises(ScriptPolicyViolation) as caught:
        pool.run("x = session.link_item.__self__", data={}, session={})
    assert caught.value.name == "__self__"
