"""Imports run one way: web -> bpm_livechat -> script_runtime, and inside the core from the higher
packages down to the lower ones (docs/architecture.md)."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("script_runtime", "bpm_livechat", "web")
STDLIB = frozenset(sys.stdlib_module_names)

# The core's packages, lowest first: a module may import its own layer and the layers below it,
# never one above. A module belongs to the layer of the longest prefix that names it.
CORE_LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "bpm_livechat.errors",
        "bpm_livechat.config",
        "bpm_livechat.clock",
        "bpm_livechat.names",
        "bpm_livechat.json_input",
        "bpm_livechat.heap",
    ),
    ("bpm_livechat.models",),
    ("bpm_livechat.persistence",),
    ("bpm_livechat.jobs",),
    ("bpm_livechat.live",),
    ("bpm_livechat.params",),
    ("bpm_livechat.desk",),
    # Routing shares the sessions layer: their write paths call routing.triggers.
    ("bpm_livechat.sessions", "bpm_livechat.routing"),
    ("bpm_livechat.apps",),
    ("bpm_livechat.processes.forms",),
    ("bpm_livechat.processes.bpmn",),
    ("bpm_livechat.processes.engine",),
    ("bpm_livechat.processes",),
    ("bpm_livechat.automation",),
    ("bpm_livechat.demo",),
    ("bpm_livechat.cli", "bpm_livechat.migrations"),
)


def core_layer(module: str) -> tuple[int, str] | None:
    """(layer index, package) of a core module, or None outside the layers (the package root)."""
    best: tuple[int, str] | None = None
    for index, packages in enumerate(CORE_LAYERS):
        for package in packages:
            inside = module == package or module.startswith(package + ".")
            if inside and (best is None or len(package) > len(best[1])):
                best = (index, package)
    return best


def imported_modules(
    source: str, module: str, is_package: bool = False
) -> Iterator[tuple[int, str]]:
    """(line, absolute dotted name) of every import in `source`, relative ones resolved.

    Imports inside functions count, and so do `importlib.import_module("x")` and
    `__import__("x")` with a literal name.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package[: max(len(package) - node.level + 1, 0)] if node.level else []
            for alias in node.names:  # the imported name may itself be a module
                parts = [*base, *([node.module] if node.module else []), alias.name]
                yield node.lineno, ".".join(parts)
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            yield node.lineno, node.args[0].value


def wrong_arrow(importer: str, imported: str) -> str | None:
    """Why `importer` (a module of one of PACKAGES) may not import `imported`, or None."""
    own = importer.split(".")[0]
    top = imported.split(".")[0]
    if own == "script_runtime":
        if top in STDLIB or top in {"script_runtime", "RestrictedPython"}:
            return None
        return "script_runtime imports only the standard library and RestrictedPython"
    if own == "bpm_livechat" and top in {"flask", "werkzeug", "web"}:
        return "bpm_livechat never imports Flask, Werkzeug or web"
    if own == "bpm_livechat" and top == "bpm_livechat":
        return _layer_problem(importer, imported)
    return None


def _layer_problem(importer: str, imported: str) -> str | None:
    mine, theirs = core_layer(importer), core_layer(imported)
    if imported == "bpm_livechat":
        return None if importer == "bpm_livechat" else "import the module, not the core's root"
    if mine is None or theirs is None:
        return f"{importer if mine is None else imported} is in no layer of CORE_LAYERS"
    if theirs[0] > mine[0]:
        return f"{mine[1]} may not import {theirs[1]}, a higher layer"
    return None


def _modules() -> Iterator[tuple[str, Path, bool]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            is_package = parts[-1] == "__init__"
            yield ".".join(parts[:-1] if is_package else parts), path, is_package


def test_every_package_exists() -> None:
    for package in PACKAGES:
        assert (ROOT / package / "__init__.py").is_file(), package


def test_imports_point_one_way() -> None:
    problems = []
    checked = 0
    for module, path, is_package in _modules():
        checked += 1
        source = path.read_text(encoding="utf-8")
        for line, imported in imported_modules(source, module, is_package):
            reason = wrong_arrow(module, imported)
            if reason:
                problems.append(f"{path.relative_to(ROOT)}:{line}: imports {imported}: {reason}")
    assert checked > 20
    assert problems == []


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        (
            "script_runtime.worker",
            "import json, resource\nfrom RestrictedPython import compile_restricted",
            [],
        ),
        ("script_runtime.worker", "from . import policy\nfrom .guards import x", []),
        ("script_runtime.worker", "import sqlalchemy", ["sqlalchemy"]),
        (
            "script_runtime.worker",
            "from bpm_livechat.models import User",
            ["bpm_livechat.models.User"],
        ),
        ("script_runtime.worker", "def f():\n    import requests", ["requests"]),
        ("script_runtime.worker", "import importlib\nimportlib.import_module('os.path')", []),
        ("script_runtime.worker", "__import__('numpy')", ["numpy"]),
        ("script_runtime.worker", "from .. import web", ["web"]),
        ("bpm_livechat.sessions", "from flask import g", ["flask.g"]),
        ("bpm_livechat.sessions", "import werkzeug.exceptions", ["werkzeug.exceptions"]),
        ("bpm_livechat.cli.common", "from ...web import app", ["web.app"]),
        ("bpm_livechat.sessions", "from web.views import x", ["web.views.x"]),
        ("bpm_livechat.sessions", "import sqlalchemy\nfrom script_runtime import run", []),
        (
            "bpm_livechat.params.values",
            "from bpm_livechat.sessions.lifecycle import x",
            ["bpm_livechat.sessions.lifecycle.x"],
        ),
        (
            "bpm_livechat.processes.bpmn.checks",
            "from bpm_livechat.processes.instances import x",
            ["bpm_livechat.processes.instances.x"],
        ),
        (
            "bpm_livechat.processes.bpmn.checks",
            "from bpm_livechat.processes.engine import engine",
            ["bpm_livechat.processes.engine.engine"],
        ),
        (
            "bpm_livechat.processes.engine.engine",
            "from bpm_livechat.processes.bpmn.parser import x",
            [],
        ),
        ("bpm_livechat.processes.instances", "from ..sessions.lifecycle import snapshot", []),
        (
            "bpm_livechat.models.desk",
            "from bpm_livechat.persistence.tx_cache import x",
            ["bpm_livechat.persistence.tx_cache.x"],
        ),
        (
            "bpm_livechat.desk.users",
            "from bpm_livechat.cli.common import x",
            ["bpm_livechat.cli.common.x"],
        ),
        ("bpm_livechat.cli.common", "from bpm_livechat.demo.load import x", []),
        (
            "web.app",
            "from flask import Flask\nfrom bpm_livechat import db\nimport script_runtime",
            [],
        ),
    ],
)
def test_the_checker_catches_wrong_arrows(module: str, source: str, expected: list[str]) -> None:
    flagged = [
        name for _line, name in imported_modules(source, module) if wrong_arrow(module, name)
    ]
    assert flagged == expected


def test_relative_imports_in_a_package_init_resolve_to_the_package() -> None:
    found = [
        name for _line, name in imported_modules("from . import policy", "script_runtime", True)
    ]
    assert found == ["script_runtime.policy"]
    assert wrong_arrow("script_runtime", "script_runtime.policy") is None


def test_every_core_module_is_in_a_layer() -> None:
    unplaced = [
        module
        for module, _path, _is_package in _modules()
        if module.startswith("bpm_livechat.") and core_layer(module) is None
    ]
    assert unplaced == []
