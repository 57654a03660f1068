"""Fixtures for script_runtime tests: one real warm pool shared by the whole module tree."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from script_runtime import ScriptPool


@pytest.fixture(scope="session")
def pool() -> Iterator[ScriptPool]:
    """A real two-worker pool (the production size on this machine)."""
    with ScriptPool(2) as shared:
        yield shared
